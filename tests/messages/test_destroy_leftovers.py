"""destroy says what it leaves on disk (the exported client files, the state backup holding
private keys); --remove-exports deletes the files the stack's exports name, and only those."""

from __future__ import annotations

from pathlib import Path

from mtlsform.leftovers import remove_exports
from tests.engine.conftest import stack_at

EXAMPLE = "stacks/example.yaml"
OUT = Path("stacks/out/client-1")
BACKUP = ("  stacks/.mtlsform/example.state.json.backup (the state before the last run that "
          "changed it; it holds private keys)")


def _tail(err: str, marker: str) -> list[str]:
    lines = err.splitlines()
    return lines[lines.index(marker):]


def test_destroy_lists_what_it_leaves(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    result = cli("destroy", EXAMPLE, "--auto-approve")
    assert result.code == 0, result.text
    assert _tail(result.err, "Left on disk (delete what is no longer needed):") == [
        "Left on disk (delete what is no longer needed):",
        "  stacks/out/client-1/client.crt (the client certificate)",
        "  stacks/out/client-1/client.key (holds a private key)",
        "  stacks/out/client-1/ca.crt (the CA certificate)",
        "  stacks/out/client-1/client.p12 (holds a private key)",
        BACKUP,
        "To delete the exported files: mtlsform destroy stacks/example.yaml --remove-exports",
    ]
    assert (workdir / OUT / "client.key").exists()  # listed, not touched


def test_remove_exports_deletes_only_the_exported_files(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    mine = workdir / OUT / "notes.txt"
    mine.write_text("not the stack's")
    result = cli("destroy", EXAMPLE, "--auto-approve", "--remove-exports")
    assert result.code == 0, result.text
    assert _tail(result.err, "Removed stacks/out/client-1/client.crt") == [
        "Removed stacks/out/client-1/client.crt",
        "Removed stacks/out/client-1/client.key",
        "Removed stacks/out/client-1/ca.crt",
        "Removed stacks/out/client-1/client.p12",
        "",
        "Left on disk (delete what is no longer needed):",
        BACKUP,
    ]
    assert sorted(p.name for p in (workdir / OUT).iterdir()) == ["notes.txt"]


def test_remove_exports_never_leaves_the_allowed_directory(workdir: Path, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    stack = stack_at(workdir / EXAMPLE)
    # the export directory is swapped for a link that leads out of the stack's folder
    away = workdir / "away"
    (workdir / OUT).rename(away)
    (workdir / OUT).symlink_to(away)
    assert remove_exports(stack) == []
    assert (away / "client.key").exists()
    # a file at an exported name that is a link is removed as a link, never what it points to
    (workdir / OUT).unlink()
    (workdir / OUT).mkdir()
    (workdir / OUT / "client.key").symlink_to(away / "client.key")
    assert remove_exports(stack) == [workdir / OUT / "client.key"]
    assert (away / "client.key").exists()
