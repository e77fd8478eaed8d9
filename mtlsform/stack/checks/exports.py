"""Where exported client files may go: inside the stack file's folder, unless the stack says
otherwise in review (`export.outside_stack_folder: true`).

An export writes a client's private key and PKCS#12. A directory written as `../../x` or
`/some/where` would put them anywhere the applying user can write, so it is refused at its
position. The same rule is checked again just before apply writes (`inside_stack_folder`), so a
symlink swapped in after validate cannot send the key elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.model import Stack
from mtlsform.stack.values import quote

OPT_OUT = "outside_stack_folder"


def inside_stack_folder(stack_directory: Path, directory: Path | str) -> bool:
    """True when `directory` (as written, relative to the stack file) resolves, symlinks and
    `..` included, to the stack file's folder or below it."""
    written = Path(directory)
    if written.is_absolute():
        return False
    base = Path(stack_directory).resolve()
    return (base / written).resolve().is_relative_to(base)


def check_exports(stack: Stack) -> list[Diagnostic]:
    """One positioned error per export directory outside the stack's folder (not opted out)."""
    found = []
    for name, cert in stack.certificates.items():
        export = cert.export
        if export is None or export.outside_stack_folder:
            continue
        if inside_stack_folder(stack.directory, export.dir):
            continue
        how = "is absolute" if export.dir.is_absolute() else "leads outside the stack's folder"
        found.append(error(
            f"{quote(str(export.dir))} {how}: the client's private key would be written "
            f"outside {stack.directory}",
            path=f"certificates.{name}.export.dir", position=cert.positions.at("export.dir"),
            hint=f"use a directory below the stack file, or set `{OPT_OUT}: true` in this "
                 "export to allow it (a reviewer then sees where the key goes)"))
    return found
