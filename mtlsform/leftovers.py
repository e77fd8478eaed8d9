"""What a destroy leaves on disk (the client files the stack's exports wrote, and the state's
backup, which holds the private keys the state had), and removing those exports
(`destroy --remove-exports`).

Only files an export of the stack names are ever removed, and only in an export directory the
export check allows (inside the stack's folder, unless the export says `outside_stack_folder`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mtlsform.stack.model import Stack

__all__ = ["Leftover", "exported_files", "leftovers", "remove_exports"]

PRIVATE = "holds a private key"


@dataclass(frozen=True)
class Leftover:
    """A file left on disk after a destroy, and why it matters."""

    path: Path
    why: str
    export: bool  # written by an export of the stack (what --remove-exports deletes)


def _allowed(stack: Stack, directory: Path, outside_allowed: bool) -> bool:
    from mtlsform.stack.checks.exports import inside_stack_folder

    return outside_allowed or inside_stack_folder(stack.directory, directory)


def exported_files(stack: Stack) -> list[Leftover]:
    """The files the stack's exports write that exist now, in each allowed export directory:
    both PKCS#12 forms are looked for, whatever the export says now (it may have changed)."""
    from mtlsform.pki.export import CA_FILE_NAME, exported_file_names

    found: list[Leftover] = []
    for name, cert in sorted(stack.certificates.items()):
        export = cert.export
        if export is None or not _allowed(stack, export.dir, export.outside_stack_folder):
            continue
        directory = stack.directory / export.dir
        for file_name in exported_file_names(name, pkcs12=True, legacy_pkcs12=True):
            path = directory / file_name
            if not (path.is_file() or path.is_symlink()):
                continue
            secret = file_name.endswith((".key", ".p12"))
            what = (PRIVATE if secret else "the CA certificate" if file_name == CA_FILE_NAME
                    else "the client certificate")
            found.append(Leftover(path, what, export=True))
    return found


def leftovers(stack: Stack, state_path: Path) -> list[Leftover]:
    """What a destroy leaves behind that matters: the exports that exist, the state backup."""
    from mtlsform.state.local import backup_path

    found = exported_files(stack)
    backup = backup_path(state_path)
    if backup.is_file():
        found.append(Leftover(backup, _backup_words(backup), export=False))
    return found


def _backup_words(backup: Path) -> str:
    """What the backup is, and whether it holds private keys in the clear (it does when the
    stack had certificates and the state is not encrypted)."""
    words = "the state before the last run that changed it"
    try:
        clear_keys = b"PRIVATE KEY-----" in backup.read_bytes()
    except OSError:
        return words
    return f"{words}; it holds private keys" if clear_keys else words


def remove_exports(stack: Stack) -> list[Path]:
    """Deletes the files of `exported_files` (a symlink itself, never what it points to) and
    returns their paths; directories are left in place."""
    removed: list[Path] = []
    for leftover in exported_files(stack):
        leftover.path.unlink(missing_ok=True)
        removed.append(leftover.path)
    return removed
