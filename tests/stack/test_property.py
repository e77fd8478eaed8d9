"""Property tests: whatever the input, `validate` answers 0 or 1 with well-formed output, and a
stack broken on purpose always gets at least one positioned error."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlsform.cli.main import run
from mtlsform.stack import load_stack
from tests.stack.conftest import STACKS

SEEDS = {name: yaml.safe_load((STACKS / f"{name}.yaml").read_text(encoding="utf-8"))
         for name in ("example", "sni", "imported")}
# Mappings whose keys are names chosen by the user (adding a key there is not a mistake).
NAME_MAPS = {"variables", "certificates", "load_balancers", "backends", "listeners", "outputs",
             "tags"}
HUMAN_LINE = re.compile(r"^(\S.*:\d+:\d+: |)(error|warning): \S.*$|^\S.*: (valid|invalid) \(.+\)$")
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("property")
    (directory / "certs").symlink_to(STACKS / "certs")  # imported.yaml's test certificates
    return directory


def _validate(path: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = run(["validate", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _check_cli_output(path: Path, capsys) -> None:
    code, out, err = _validate(path, capsys)
    assert code in (0, 1)
    assert "Traceback" not in out + err and "internal error" not in err
    for line in (out + err).splitlines():
        assert HUMAN_LINE.match(line), line
    code_json, out, err = _validate(path, capsys, "--json")
    assert code_json == code and "Traceback" not in err
    diagnostics = json.loads(out)
    assert isinstance(diagnostics, list)
    for d in diagnostics:
        assert set(d) == {"severity", "file", "line", "column", "path", "message", "hint"}
    assert (code == 1) == any(d["severity"] == "error" for d in diagnostics)


@SETTINGS
@given(content=st.binary(max_size=400))
def test_random_bytes(content: bytes, workdir: Path, capsys) -> None:
    path = workdir / "bytes.yaml"
    path.write_bytes(content)
    _check_cli_output(path, capsys)


_yaml_atoms = st.sampled_from([
    "version: 1", "stack: s", "- ", ": ", "{", "}", "[", "]", "&a ", "*a", "<<: *a", "\t", "  ",
    "\n", "'", '"', "${var.x}", "${", "listeners:", "  https:", "    port: ", "443", "---",
    "!!binary ", "? ", "#", "|", ">", "~", "null", "yes", "0x1F", "1e999", "rules:", "domain: "])


@SETTINGS
@given(pieces=st.lists(st.one_of(_yaml_atoms, st.text(max_size=8)), max_size=40))
def test_random_yaml_like_text(pieces: list[str], workdir: Path, capsys) -> None:
    path = workdir / "text.yaml"
    path.write_text("".join(pieces), encoding="utf-8")
    _check_cli_output(path, capsys)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every path into plain YAML data."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _get(data: object, path: tuple) -> object:
    for part in path:
        data = data[part]  # type: ignore[index]
    return data


def _references(data: dict) -> list[tuple]:
    """Paths of every value that names another item of the stack."""
    keys = ("issuer", "load_balancer", "certificate", "client_ca", "backend")
    bound = [p for p in _paths(data) if len(p) >= 2 and p[-2] == "backends"
             and p[0] == "listeners" and isinstance(_get(data, p), str)]
    return [p for p in _paths(data) if p[-1] in keys] + bound


def _required(data: dict) -> list[tuple]:
    required = {"version", "stack", "type", "port", "domain"}
    return [p for p in _paths(data)
            if p[-1] in required and p[0] not in ("variables", "outputs")]


def _break(data: dict, draw) -> dict:
    """The stack with one mistake that can never be valid."""
    data = copy.deepcopy(data)
    kind = draw(st.sampled_from(["drop", "retype", "dangle", "unknown-key"]))
    if kind == "drop":
        path = draw(st.sampled_from(_required(data)))
        del _get(data, path[:-1])[path[-1]]
    elif kind == "retype":
        path = draw(st.sampled_from(_paths(data)))
        value = _get(data, path)
        _get(data, path[:-1])[path[-1]] = 12345 if isinstance(value, dict | list) \
            else [{"garbage": value}]
    elif kind == "dangle":
        path = draw(st.sampled_from(_references(data)))
        _get(data, path[:-1])[path[-1]] = "no-such-thing"
    else:
        objects = [()] + [p for p in _paths(data) if isinstance(_get(data, p), dict)
                          and p[-1] not in NAME_MAPS]
        path = draw(st.sampled_from(objects))
        _get(data, path)["zz_unknown"] = 1
    return data


@SETTINGS
@given(seed=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_a_broken_stack_always_gets_a_positioned_error(seed: str, data, workdir: Path) -> None:
    broken = _break(SEEDS[seed], data.draw)
    path = workdir / f"broken-{seed}.yaml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
    stack, diagnostics = load_stack(path, environ={})
    assert stack is None
    errors = [d for d in diagnostics if d.severity == "error"]
    assert errors and all(d.position is not None for d in errors)


@SETTINGS
@given(seed=st.sampled_from(sorted(SEEDS)), at=st.floats(0, 1), garbage=st.text(max_size=12))
def test_garbage_inserted_anywhere(seed: str, at: float, garbage: str, workdir: Path) -> None:
    text = (STACKS / f"{seed}.yaml").read_text(encoding="utf-8")
    cut = int(len(text) * at)
    path = workdir / f"garbage-{seed}.yaml"
    path.write_text(text[:cut] + garbage + text[cut:], encoding="utf-8")
    stack, diagnostics = load_stack(path, environ={})
    if stack is None:
        errors = [d for d in diagnostics if d.severity == "error"]
        assert errors and all(d.position is not None for d in errors)
