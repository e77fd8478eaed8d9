"""Shell completion: the scripts are generated, and bash, given the script, completes commands
and options by asking `mtlsform` (a real bash and a real mtlsform process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent  # the virtual environment's bin, where `mtlsform` is


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MTLSFORM_", "_MTLSFORM"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None:
        pytest.fail("bash is needed for the completion test")
    assert (BIN / "mtlsform").exists(), "the mtlsform console script is not installed"
    made = subprocess.run([str(BIN / "mtlsform"), "completion", "bash"], capture_output=True,
                          text=True, env=_environment(), timeout=60, check=False)
    assert (made.returncode, made.stderr) == (0, "")
    path = tmp_path_factory.mktemp("completion") / "mtlsform.bash"
    path.write_text(made.stdout)
    return path


def complete_in_bash(script: Path, *words: str) -> list[str]:
    """What bash's completion function for mtlsform offers for the words typed so far (the
    last one being completed)."""
    array = " ".join(f"'{w}'" for w in words)
    program = (f"source '{script}'\n"
               f"COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}\n"
               "_mtlsform_completion mtlsform\n"
               'printf "%s\\n" "${COMPREPLY[@]}"\n')
    run = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True,
                         text=True, env=_environment(), timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.splitlines() if line]


def test_the_bash_script_registers_a_completion_function(bash_script):
    text = bash_script.read_text()
    assert "_MTLSFORM_COMPLETE=complete_bash" in text
    assert text.rstrip().endswith("complete -o default -F _mtlsform_completion mtlsform")


def test_bash_completes_a_command(bash_script):
    assert complete_in_bash(bash_script, "mtlsform", "pl") == ["plan"]


def test_bash_completes_an_option_of_the_command(bash_script):
    assert complete_in_bash(bash_script, "mtlsform", "apply", "--auto") == ["--auto-approve"]
    assert complete_in_bash(bash_script, "mtlsform", "plan", "--auto") == []
    # the global options, accepted anywhere, are offered on every command
    assert complete_in_bash(bash_script, "mtlsform", "plan", "--de") == [
        "--destroy", "--detailed-exitcode", "--debug"]
    assert complete_in_bash(bash_script, "mtlsform", "apply", "--no") == ["--no-color"]


def test_bash_completes_subcommands_and_values(bash_script):
    assert complete_in_bash(bash_script, "mtlsform", "state", "") == [
        "list", "show", "restore", "rm", "mv", "pull", "push", "history", "rollback",
        "migrate"]
    assert complete_in_bash(bash_script, "mtlsform", "completion", "") == ["bash", "zsh", "fish"]
    assert complete_in_bash(bash_script, "mtlsform", "plan", "--format", "m") == ["markdown"]
    assert complete_in_bash(bash_script, "mtlsform", "apply", "--refresh", "") == ["true", "false"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_generated_and_answered(shell, cli):
    result = cli("completion", shell)
    assert result.code == 0
    assert f"_MTLSFORM_COMPLETE=complete_{shell}" in result.out
    env = {**_environment(), "_MTLSFORM_COMPLETE": f"complete_{shell}",
           "_TYPER_COMPLETE_ARGS": "mtlsform apply --auto",
           "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    answer = subprocess.run([str(BIN / "mtlsform")], capture_output=True, text=True, env=env,
                            timeout=60, check=False)
    assert answer.returncode == 0, answer.stderr
    assert "--auto-approve" in answer.stdout


def test_an_unknown_shell_is_refused(cli):
    result = cli("completion", "ksh")
    assert (result.code, result.out) == (1, "")
    assert result.err == ("error: Invalid value for 'bash|zsh|fish': 'ksh' is not one of "
                          "'bash', 'zsh', 'fish'.\n  hint: see `mtlsform completion --help`\n")
