"""--workspace, MTLSFORM_WORKSPACE and --var-file: bad input is one clear message, exit 1,
nothing read or written (no state file, no emulator started)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path("stacks/example.yaml")
DOT = Path("stacks/.mtlsform")


def _nothing_written(workdir: Path) -> bool:
    return not (workdir / DOT).exists()


def test_a_bad_workspace_name_is_one_message(workdir, cli, monkeypatch):
    result = cli("plan", EXAMPLE, "--workspace", "../prod")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "error: --workspace '../prod': '../prod' is not a workspace name; a workspace name is "
        "1 to 63 letters, digits, '-' or '_', starting with a letter or digit (e.g. prod, "
        "staging-2) (hint: e.g. --workspace prod)\n")
    monkeypatch.setenv("MTLSFORM_WORKSPACE", "prod env")
    result = cli("apply", EXAMPLE, "--auto-approve")
    assert result.code == 1
    assert result.err.startswith("error: MTLSFORM_WORKSPACE='prod env': 'prod env' is not a "
                                 "workspace name")
    assert _nothing_written(workdir)


def test_state_and_a_workspace_are_refused_together(workdir, cli):
    result = cli("plan", EXAMPLE, "--workspace", "prod", "--state", "prod.state.json")
    assert result.code == 1
    assert result.err.startswith(
        "error: --state names one state file, and the workspace 'prod' has its own "
        f"({DOT / 'example.prod.state.json'})\n")
    assert "Traceback" not in result.err
    assert not (workdir / "prod.state.json").exists()


def test_bad_variable_files_are_positioned(workdir, cli):
    (workdir / "list.yaml").write_text("- domain\n")
    (workdir / "nested.yaml").write_text("domain:\n  name: x\n")
    (workdir / "unknown.json").write_text('{\n  "domian": "x"\n}\n')
    (workdir / "broken.yaml").write_text("domain: [x\n")
    cases = {
        "list.yaml": "list.yaml:1:1: error: a variable file must be a mapping of variable names "
                     "to values, e.g. `domain: prod.example.com`",
        "nested.yaml": "nested.yaml:2:3: error: variable 'domain': expected a single value, "
                       "found a mapping",
        "unknown.json": "unknown.json:2:3: error: variable 'domian': the stack declares no such "
                        "variable",
        "broken.yaml": "broken.yaml:2:1: error: YAML syntax error",
        "missing.yaml": "error: cannot read missing.yaml: no such file",
    }
    for name, expected in cases.items():
        result = cli("plan", EXAMPLE, "--var-file", name)
        assert result.code == 1, (name, result.text)
        assert result.err.startswith(expected), (name, result.err)
        assert "Traceback" not in result.err
    assert "did you mean 'domain'" in cli("plan", EXAMPLE, "--var-file", "unknown.json").err
    assert _nothing_written(workdir)


def test_later_files_win_and_var_wins_over_files(workdir, cli):
    (workdir / "a.yaml").write_text("domain: a.example.com\n")
    (workdir / "b.json").write_text('{"domain": "b.example.com"}')
    shown = cli("validate", EXAMPLE, "--var-file", "a.yaml", "--var-file", "b.json", "--json")
    assert shown.code == 0, shown.text
    from mtlsform.cli.stackload import load_with_vars

    stack, _ = load_with_vars(EXAMPLE, [], var_files=[Path("a.yaml"), Path("b.json")])
    assert stack is not None and stack.variables["domain"] == "b.example.com"
    stack, _ = load_with_vars(EXAMPLE, ["domain=c.example.com"],
                              var_files=[Path("a.yaml"), Path("b.json")])
    assert stack is not None and stack.variables["domain"] == "c.example.com"
    assert stack.workspace == "default"
    stack, _ = load_with_vars(EXAMPLE, [], workspace="prod")
    assert stack is not None and stack.workspace == "prod"
