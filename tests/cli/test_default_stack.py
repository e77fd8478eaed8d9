"""The default stack: MTLSFORM_STACK, else the `default_stack:` line of ./mtlsform.yaml, when a
command is run without STACK; a missing or wrong default is one clear message."""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLE = "stacks/example.yaml"

NO_DEFAULT = ("error: no STACK given, and no default stack is set\n"
              "  hint: name the stack file, set MTLSFORM_STACK=PATH, or write "
              "`default_stack: PATH` in ./mtlsform.yaml\n")


def test_mtlsform_stack_names_the_default(workdir, cli, monkeypatch):
    explicit = cli("validate", EXAMPLE)
    assert explicit.code == 0, explicit.text
    monkeypatch.setenv("MTLSFORM_STACK", EXAMPLE)
    by_default = cli("validate")
    assert (by_default.code, by_default.out) == (0, explicit.out)
    assert cli("graph").out == cli("graph", EXAMPLE).out


def test_mtlsform_yaml_names_the_default_of_its_folder(workdir, cli, monkeypatch):
    (workdir / "mtlsform.yaml").write_text(f"default_stack: {EXAMPLE}\n")
    graph = cli("graph")
    assert (graph.code, graph.out) == (0, cli("graph", EXAMPLE).out)
    # the shell's choice wins over the folder's
    shutil.copy(workdir / EXAMPLE, workdir / "stacks/other.yaml")
    monkeypatch.setenv("MTLSFORM_STACK", "stacks/other.yaml")
    assert cli("validate").out.startswith("stacks/other.yaml: valid")


def test_a_stack_named_on_the_line_wins(workdir, cli, monkeypatch):
    monkeypatch.setenv("MTLSFORM_STACK", "stacks/sni.yaml")
    assert cli("validate", EXAMPLE).out.startswith(f"{EXAMPLE}: valid")


def test_without_a_default_the_message_names_both_ways(workdir, cli):
    for args in (("plan",), ("apply",), ("destroy",), ("validate",), ("graph",), ("show",),
                 ("output",), ("verify",), ("state", "list"), ("state", "restore"),
                 ("certs", "status")):
        result = cli(*args)
        assert (result.code, result.out, result.err) == (1, "", NO_DEFAULT), args
    assert not (workdir / "stacks/.mtlsform").exists()


def test_a_default_that_does_not_exist_is_named(workdir, cli, monkeypatch):
    (workdir / "mtlsform.yaml").write_text("default_stack: stacks/gone.yaml\n")
    result = cli("plan")
    assert (result.code, result.err) == (
        1, "error: mtlsform.yaml names stacks/gone.yaml, which does not exist\n"
        "  hint: correct its `default_stack: PATH` line\n")
    monkeypatch.setenv("MTLSFORM_STACK", "stacks/missing.yaml")
    result = cli("plan")
    assert (result.code, result.err) == (
        1, "error: MTLSFORM_STACK names stacks/missing.yaml, which does not exist\n"
        "  hint: set MTLSFORM_STACK to a stack file, or unset it\n")


def test_a_stack_copied_to_mtlsform_yaml_is_not_taken_for_the_default(workdir, cli):
    shutil.copy(workdir / EXAMPLE, workdir / "mtlsform.yaml")
    result = cli("plan")
    assert result.code == 1
    assert result.err.startswith("error: mtlsform.yaml: expected one line "
                                 "`default_stack: PATH` (it holds: version, stack, ")
    assert result.err.endswith("  hint: mtlsform.yaml names the folder's default stack and is "
                               "not a stack; give a stack file another name\n")


def test_mtlsform_yaml_is_not_a_stack(workdir, cli):
    (workdir / "mtlsform.yaml").write_text(f"default_stack: {EXAMPLE}\n")
    result = cli("validate", "mtlsform.yaml")
    assert (result.code, result.out, result.err) == (
        1, "", "error: mtlsform.yaml names the default stack; it is not a stack itself\n"
        f"  hint: run without STACK to use the stack it names, or name that stack ({EXAMPLE})\n")


def test_no_shipped_stack_is_called_mtlsform_yaml():
    stacks = Path(__file__).resolve().parents[2] / "stacks"
    assert list(stacks.rglob("mtlsform.yaml")) == []


def test_one_argument_is_a_name_or_an_address_of_the_default_stack(workdir, cli, monkeypatch):
    monkeypatch.setenv("MTLSFORM_STACK", EXAMPLE)
    applied = cli("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    vip = cli("output", EXAMPLE, "vip")
    assert vip.code == 0 and vip.out.strip()
    assert cli("output", "vip").out == vip.out
    assert cli("output").out == cli("output", EXAMPLE).out
    shown = cli("state", "show", "listener.https")
    assert (shown.code, shown.out) == (0, cli("state", "show", EXAMPLE, "listener.https").out)
    assert cli("state", "list").out == cli("state", "list", EXAMPLE).out
    exported = cli("certs", "export", "client", "--out", "out")
    assert exported.code == 0, exported.text
    assert "wrote out/client.crt" in exported.out
    assert cli("certs", "export", "--out", "out").err == (
        "error: missing argument NAME\n"
        "  hint: the certificate's name in the stack, e.g. client\n")
    assert cli("certs", "export", EXAMPLE, "--out", "out").err == (
        "error: missing argument NAME\n"
        "  hint: the certificate's name in the stack, e.g. client\n")
    assert cli("state", "show", EXAMPLE).err == (
        "error: missing argument ADDRESS\n"
        f"  hint: `mtlsform state list {EXAMPLE}` lists the addresses\n")
    missing = cli("state", "show")
    assert (missing.code, missing.err) == (
        1, "error: missing argument ADDRESS\n"
        "  hint: `mtlsform state list [STACK]` lists the addresses\n")
