"""`certs export` follows the certificate's `export:` in the stack (directory, PKCS#12 forms);
flags override it; without an export and without --out it says what to give."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import edit

EXAMPLE = "stacks/example.yaml"


def test_the_stack_export_is_the_default(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    for written in (workdir / "stacks/out/client-1").iterdir():
        written.unlink()
    result = cli("certs", "export", EXAMPLE, "client")
    assert result.code == 0, result.text
    assert result.out.splitlines() == [
        "wrote stacks/out/client-1/client.crt", "wrote stacks/out/client-1/client.key",
        "wrote stacks/out/client-1/ca.crt", "wrote stacks/out/client-1/client.p12"]


def test_flags_override_the_stack(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    result = cli("certs", "export", EXAMPLE, "client", "--out", "elsewhere", "--no-pkcs12",
                 "--legacy-pkcs12")
    assert result.out.splitlines() == [
        "wrote elsewhere/client.crt", "wrote elsewhere/client.key", "wrote elsewhere/ca.crt",
        "wrote elsewhere/client-legacy.p12"]


def test_without_an_export_or_out(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    result = cli("certs", "export", EXAMPLE, "server")
    assert result.code == 1
    assert result.err == (
        "error: certificate 'server' has no `export:` in the stack, so there is no directory "
        "to write to\n"
        "  hint: give --out DIR, or add export: {dir: ...} to the certificate\n")


def test_a_default_directory_outside_the_stack_folder_is_refused(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    # a symlink swapped in after apply sends the stack's export directory elsewhere
    out = workdir / "stacks/out"
    for written in (out / "client-1").iterdir():
        written.unlink()
    (out / "client-1").rmdir()
    (workdir / "away").mkdir()
    (out / "client-1").symlink_to(workdir / "away")
    result = cli("certs", "export", EXAMPLE, "client")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "error: stacks/example.yaml:33:19: certificates.client.export.dir: 'out/client-1' leads "
        "outside the stack's folder: the client's private key would be written outside stacks")
    assert list((workdir / "away").iterdir()) == []
    edit(workdir / EXAMPLE, "pkcs12: true}", "pkcs12: true, outside_stack_folder: true}")
    assert cli("certs", "export", EXAMPLE, "client").code == 0
    assert (workdir / "away/client.key").exists()


def test_the_default_directory_is_checked_again_when_the_export_runs(workdir: Path):
    from mtlsform.cli.certs import export_choice
    from mtlsform.errors import InputError
    from tests.engine.conftest import stack_at

    stack = stack_at(workdir / EXAMPLE)  # valid when loaded
    (workdir / "stacks/out").mkdir()
    (workdir / "away").mkdir()
    (workdir / "stacks/out/client-1").symlink_to(workdir / "away")  # swapped in afterwards
    spec = stack.certificates["client"]
    try:
        export_choice(spec, stack.directory, None, None, None)
    except InputError as exc:
        assert str(exc) == ("the export directory out/client-1 of certificate 'client' is "
                            "outside the stack's folder")
        assert exc.hint == "give --out DIR, or set `outside_stack_folder: true` in the export"
    else:
        raise AssertionError("an export directory leading outside was accepted")
    chosen = export_choice(spec, stack.directory, workdir / "away", False, None)
    assert (chosen.directory, chosen.pkcs12, chosen.legacy_pkcs12) == (workdir / "away", False,
                                                                      False)
