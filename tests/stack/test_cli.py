"""`mtlsform validate` and `mtlsform graph`: output, exit codes, --json, --var."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mtlsform.cli.main import run
from tests.stack.conftest import MINIMAL, REPO

GOLDEN = REPO / "tests" / "graph" / "golden"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("MTLSFORM_VAR_domain", raising=False)


def test_validate_valid_stack(capsys) -> None:
    assert run(["validate", "stacks/example.yaml"]) == 0
    out, err = capsys.readouterr()
    assert out == "stacks/example.yaml: valid (10 resources)\n"
    assert err == ""


def test_validate_several_stacks(capsys) -> None:
    assert run(["validate", "stacks/example.yaml", "stacks/sni.yaml"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == ["stacks/example.yaml: valid (10 resources)",
                                "stacks/sni.yaml: valid (15 resources)"]


def test_validate_invalid_stack(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL.replace("port: 443", "port: 70000").replace("rs-2]", "rs-1]"))
    assert run(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:14:11: error: listeners.https.port: 70000 is above the maximum 65535",
        f"{path}:18:26: error: listeners.https.rules[0].backends[1]: backend 'rs-1' is listed "
        "twice in this rule (first at line 18) (hint: list each backend once; set its weight "
        "with {backend: NAME, weight: N})",
        f"{path}: invalid (2 errors)",
    ]


def test_one_invalid_stack_fails_the_run(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\nstack: x\n")
    assert run(["validate", "stacks/example.yaml", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == "stacks/example.yaml: valid (10 resources)\n"
    assert "version 2 is not supported" in err


def test_json_output(tmp_path: Path, capsys) -> None:
    assert run(["validate", "--json", "stacks/example.yaml"]) == 0
    assert capsys.readouterr().out == "[]\n"
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL.replace("rs-2]", "rs-3]").replace("  rs-2: {instance: ins-rs2, "
                                                              "port: 80}\n", ""))
    assert run(["validate", str(path), "--json"]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == [{
        "severity": "error", "file": str(path), "line": 17, "column": 26,
        "path": "listeners.https.rules[0].backends[1]", "message": "unknown backend 'rs-3'",
        "hint": "did you mean 'rs-1'?"}]


def test_var_sets_a_variable(capsys) -> None:
    assert run(["validate", "stacks/example.yaml", "--var", "domain=api.example.com"]) == 0
    assert run(["validate", "stacks/example.yaml", "--var", "domain=bad domain"]) == 1
    _, err = capsys.readouterr()
    assert "'bad domain' is not a valid domain" in err


def test_var_from_the_environment(capsys, monkeypatch) -> None:
    monkeypatch.setenv("MTLSFORM_VAR_domain", "*.*")
    assert run(["validate", "stacks/example.yaml"]) == 1
    assert "'*.*' is not a valid domain" in capsys.readouterr().err


@pytest.mark.parametrize("arg", ["domain", "=x", ""])
def test_badly_formed_var(arg: str, capsys) -> None:
    assert run(["validate", "stacks/example.yaml", "--var", arg]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines()[0] == (f"error: --var {arg!r}: expected NAME=VALUE "
                                   "(hint: e.g. --var domain=www.example.com)")


def test_undeclared_var(capsys) -> None:
    assert run(["validate", "stacks/example.yaml", "--var", "domian=x"]) == 1
    assert "the stack declares no variable 'domian'" in capsys.readouterr().err


def test_missing_file(capsys) -> None:
    assert run(["validate", "stacks/nope.yaml"]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines()[0] == ("error: cannot read stacks/nope.yaml: no such file "
                                   "(hint: check the path; stack files usually live in stacks/)")


def test_graph_dot_and_mermaid(capsys) -> None:
    assert run(["graph", "stacks/example.yaml"]) == 0
    assert capsys.readouterr().out == (GOLDEN / "example.dot").read_text()
    assert run(["graph", "stacks/example.yaml", "--format", "mermaid"]) == 0
    assert capsys.readouterr().out == (GOLDEN / "example.mmd").read_text()


def test_graph_of_an_invalid_stack_or_format(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\n")
    assert run(["graph", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "missing required key 'stack'" in err
    assert run(["graph", "stacks/example.yaml", "--format", "png"]) == 1


def _script() -> list[str]:
    script = Path(sys.executable).parent / "mtlsform"
    if script.exists():
        return [str(script)]
    found = shutil.which("mtlsform")
    return [found] if found else [sys.executable, "-m", "mtlsform"]


def test_the_installed_script(tmp_path: Path) -> None:
    done = subprocess.run([*_script(), "validate", "stacks/example.yaml", "stacks/sni.yaml"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "stacks/example.yaml: valid (10 resources)"
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"\x00\xff{[: version\n\t- ]]")
    done = subprocess.run([*_script(), "validate", str(garbage), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [diagnostic] = json.loads(done.stdout)
    assert diagnostic["file"] == str(garbage) and diagnostic["line"] == 1


def test_load_stack_or_exit(tmp_path: Path, capsys) -> None:
    import typer

    from mtlsform.cli.stackload import load_stack_or_exit

    stack = load_stack_or_exit(Path("stacks/example.yaml"), ["domain=api.example.com"])
    assert stack.listeners["https"].rules[0].domain == "api.example.com"
    assert capsys.readouterr() == ("", "")

    warned = tmp_path / "warned.yaml"
    warned.write_text(MINIMAL.replace("rs-1, rs-2]", "rs-1]"))
    assert load_stack_or_exit(warned, [], json_output=True).name == "demo"
    out, err = capsys.readouterr()
    assert out == "" and "warning: backends.rs-2" in err  # stdout stays the command's own

    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("rs-2]", "rs-3]"))
    with pytest.raises(typer.Exit) as info:
        load_stack_or_exit(bad, [])
    assert info.value.exit_code == 1
    assert "unknown backend 'rs-3'" in capsys.readouterr().err
    with pytest.raises(typer.Exit):
        load_stack_or_exit(bad, [], json_output=True)
    out, _ = capsys.readouterr()
    assert [d["message"] for d in json.loads(out) if d["severity"] == "error"] == [
        "unknown backend 'rs-3'"]
    with pytest.raises(typer.Exit):
        load_stack_or_exit(Path("stacks/example.yaml"), ["nonsense"])
    assert "expected NAME=VALUE" in capsys.readouterr().err
