"""EmulatorConfig from MTLSFORM_EMULATOR_* variables and from `serve` flags; spec parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtlsform.cli.emulator import build_config
from mtlsform.emulator import (
    DEFAULT_SECRET_ID,
    EmulatorConfig,
    EmulatorConfigError,
    FaultRule,
    InstanceSpec,
    config,
)
from mtlsform.errors import InputError


def test_defaults(tmp_path: Path) -> None:
    cfg = EmulatorConfig.from_env(tmp_path, environ={})
    assert (cfg.host, cfg.port, cfg.secret_id, cfg.task_delay, cfg.rate_limit, cfg.tls) == (
        "127.0.0.1", 0, DEFAULT_SECRET_ID, 0.2, 20.0, False)
    assert cfg.uses_default_key and "secret" not in repr(cfg).lower().replace("secret_id", "")
    assert [s.instance_id for s in cfg.all_instances()] == ["ins-rs1", "ins-rs2"]


def test_environment(tmp_path: Path) -> None:
    instances = tmp_path / "instances.json"
    instances.write_text(json.dumps([{"InstanceId": "ins-web3", "InstanceName": "web-3"}]))
    env = {"MTLSFORM_EMULATOR_DATA_DIR": str(tmp_path / "env"),
           "MTLSFORM_EMULATOR_PORT": "9100", "MTLSFORM_EMULATOR_TLS": "yes",
           "MTLSFORM_EMULATOR_SECRET_ID": "AKIDx", "MTLSFORM_EMULATOR_SECRET_KEY": "k-1",
           "MTLSFORM_EMULATOR_TASK_DELAY": "0.5", "MTLSFORM_EMULATOR_RATE_LIMIT": "off",
           "MTLSFORM_EMULATOR_FAULTS": "*:RequestLimitExceeded:0.3, CreateRule:InternalError:1",
           "MTLSFORM_EMULATOR_LATENCY": "0.05", "MTLSFORM_EMULATOR_TASK_FAILURES": "DeleteRule:1",
           "MTLSFORM_EMULATOR_CRASH_AFTER": "5", "MTLSFORM_EMULATOR_SEED": "42",
           "MTLSFORM_EMULATOR_INSTANCES": str(instances)}
    cfg = EmulatorConfig.from_env(environ=env)
    assert cfg.data_dir == tmp_path / "env" and cfg.port == 9100 and cfg.tls
    assert (cfg.secret_id, cfg.key(), cfg.task_delay, cfg.rate_limit) == ("AKIDx", "k-1", 0.5,
                                                                          None)
    assert cfg.faults.errors == (FaultRule("*", "RequestLimitExceeded", 0.3),
                                 FaultRule("CreateRule", "InternalError", 1.0))
    assert cfg.faults.latency == (("*", 0.05),)
    assert cfg.faults.task_failures == (("DeleteRule", 1.0),)
    assert (cfg.faults.crash_after, cfg.faults.seed) == (5, 42)
    assert cfg.instances == (InstanceSpec("ins-web3", "web-3"),)
    assert "k-1" not in repr(cfg)
    assert EmulatorConfig.from_env(tmp_path, environ=env, port=1).port == 1


@pytest.mark.parametrize(("env", "message"), [
    ({"MTLSFORM_EMULATOR_PORT": "http"}, "is not a int"),
    ({"MTLSFORM_EMULATOR_TLS": "maybe"}, "expected 1/0"),
    ({"MTLSFORM_EMULATOR_RATE_LIMIT": "-3"}, "must be above 0"),
    ({"MTLSFORM_EMULATOR_FAULTS": "CreateRule:0.5"}, "expected ACTION:CODE:RATE"),
    ({"MTLSFORM_EMULATOR_FAULTS": "CreateRule:InternalError:1.5"}, "from 0 to 1"),
    ({"MTLSFORM_EMULATOR_LATENCY": "slow"}, "expected"),
    ({"MTLSFORM_EMULATOR_INSTANCES": "/nonexistent/x.json"}, "cannot read"),
    ({"MTLSFORM_EMULATOR_SECRET_ID": " AKID "}, "without spaces"),
    ({"MTLSFORM_EMULATOR_TASK_DELAY": "-1"}, "0 or more"),
])
def test_bad_environment(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(EmulatorConfigError, match=message):
        EmulatorConfig.from_env(tmp_path, environ=env)


def test_no_data_directory_anywhere() -> None:
    with pytest.raises(EmulatorConfigError, match="no data directory"):
        EmulatorConfig.from_env(environ={})


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not valid JSON"),
    ('{"x": 1}', "expected a JSON list"),
    ('[{"InstanceId": "web3", "InstanceName": "w"}]', "must look like ins-"),
    ('[{"InstanceId": "ins-a", "InstanceName": "w", "Zone": "z"}]', "unknown key 'Zone'"),
    ('[{"InstanceId": "ins-a", "InstanceName": "w", "PrivateIpAddress": "1.2.3"}]',
     "not an IPv4 address"),
])
def test_bad_instances_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "i.json"
    path.write_text(text)
    with pytest.raises(EmulatorConfigError, match=message):
        config.load_instances_file(path)


def _flags(**changes: object) -> dict:
    base = dict(data_dir=None, host=None, port=None, tls=None, task_delay=None, rate_limit=None,
                faults=[], latency=[], task_failures=[], crash_after=None,
                crash_before_apply=None, seed=None, instances=[], instances_file=None,
                secret_id=None, secret_key=None)
    return {**base, **changes}


def test_flags_beat_environment_beat_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("MTLSFORM_EMULATOR_"):
            monkeypatch.delenv(name)
    cfg = build_config(**_flags())
    assert (cfg.port, cfg.data_dir, cfg.task_delay) == (9000, Path(".mtlsform/emulator"), 0.2)
    monkeypatch.setenv("MTLSFORM_EMULATOR_PORT", "9200")
    monkeypatch.setenv("MTLSFORM_EMULATOR_FAULTS", "*:InternalError:0.1")
    monkeypatch.setenv("MTLSFORM_EMULATOR_DATA_DIR", str(tmp_path / "env"))
    cfg = build_config(**_flags())
    assert cfg.port == 9200 and cfg.data_dir == tmp_path / "env"
    assert cfg.faults.errors == (FaultRule("*", "InternalError", 0.1),)
    cfg = build_config(**_flags(port=9300, faults=["DeleteRule:InternalError:1"],
                                instances=["ins-web3=web-3@127.32.1.1"], rate_limit="5",
                                data_dir=tmp_path / "flag", crash_after=3))
    assert cfg.port == 9300 and cfg.data_dir == tmp_path / "flag" and cfg.rate_limit == 5
    assert cfg.faults.errors == (FaultRule("DeleteRule", "InternalError", 1.0),)
    assert cfg.faults.crash_after == 3
    assert cfg.instances == (InstanceSpec("ins-web3", "web-3", "127.32.1.1"),)
    with pytest.raises(InputError, match="ID=NAME"):
        build_config(**_flags(instances=["nonsense"]))
