"""EmulatorConfig.from_env with flags and defaults, and one spelling of each variable name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mtlsform.emulator import EmulatorConfig, EmulatorConfigError, FaultRule, InstanceSpec
from mtlsform.emulator import environment as names

PACKAGE = Path(__file__).resolve().parents[2] / "mtlsform"


def test_defaults_lose_to_the_environment_which_loses_to_flags(tmp_path: Path) -> None:
    defaults = {"port": 9000, "task_delay": 0.05, "data_dir": tmp_path / "default"}
    cfg = EmulatorConfig.from_env(environ={}, defaults=defaults)
    assert (cfg.port, cfg.task_delay, cfg.data_dir) == (9000, 0.05, tmp_path / "default")
    env = {names.PORT: "9100", names.TASK_DELAY: "0.5", names.DATA_DIR: str(tmp_path / "env"),
           names.FAULTS: "*:InternalError:0.1", names.SEED: "3"}
    cfg = EmulatorConfig.from_env(environ=env, defaults=defaults)
    assert (cfg.port, cfg.task_delay, cfg.data_dir) == (9100, 0.5, tmp_path / "env")
    cfg = EmulatorConfig.from_env(tmp_path / "flag", environ=env, defaults=defaults, port=0,
                                  tls=False, rate_limit="off", faults=["DeleteRule:Busy:1"],
                                  instances=["ins-web3=web-3"])
    assert (cfg.port, cfg.tls, cfg.rate_limit, cfg.data_dir) == (0, False, None,
                                                                 tmp_path / "flag")
    assert cfg.faults.errors == (FaultRule("DeleteRule", "Busy", 1.0),)
    assert cfg.faults.seed == 3  # not given as a flag: the environment's
    assert cfg.instances == (InstanceSpec("ins-web3", "web-3"),)


def test_a_bad_flag_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(EmulatorConfigError, match="expected ACTION:CODE:RATE"):
        EmulatorConfig.from_env(tmp_path, environ={}, faults=["nonsense"])
    with pytest.raises(EmulatorConfigError, match="must be above 0"):
        EmulatorConfig.from_env(tmp_path, environ={}, rate_limit="-1")


def test_each_variable_name_is_spelled_once_in_the_product() -> None:
    spelled = re.compile(r"MTLSFORM_EMULATOR_[A-Z]")
    found = [f"{path.relative_to(PACKAGE.parent)}:{number}"
             for path in sorted(PACKAGE.rglob("*.py")) if path.name != "environment.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if spelled.search(line)]
    assert found == []
    assert len(set(names.ALL)) == len(names.ALL)
    assert all(name.startswith(names.ENV_PREFIX) for name in names.ALL)
