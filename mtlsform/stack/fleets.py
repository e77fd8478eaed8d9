"""Client fleets: a CA's `clients:` block expanded into one ordinary client certificate per name.

`clients:` on a `type: ca` certificate lists names (`[alice, bob]`) or holds them with shared
settings (`{names: [...]}` or `{names_file: PATH}`, one name per line, `#` comments). Each name
NAME of CA `CA` becomes the client certificate `CA-NAME` of the model, issued by `CA`, with
common name NAME and its own export directory (`{name}` in `export.dir` stands for NAME;
`clients/{name}` by default). Everything after the loader (checks, plan, export, verify,
renewal) sees ordinary certificates. Problems are diagnostics at the name or file that has them.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path as FilePath
from typing import Any

from mtlsform.diagnostics import Diagnostic, Position, error
from mtlsform.stack.model import Certificate, Export, Positions, Subject
from mtlsform.stack.tree import MapNode, Scalar, SeqNode, to_plain

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
MAX_NAMES_FILE_BYTES = 1024 * 1024  # a million bytes is tens of thousands of names
DEFAULT_EXPORT_DIR = "clients/{name}"


def expand_fleets(parts_certificates: dict[str, Certificate],
                  names: dict[str, Position], root: MapNode,
                  stack_path: FilePath) -> list[Diagnostic]:
    """Adds each built CA's clients to `parts_certificates` (and their positions to `names`),
    and returns the problems found (a bad or repeated name, a clash, an unreadable file)."""
    section = root.values.get("certificates")
    if not isinstance(section, MapNode):
        return []
    diagnostics: list[Diagnostic] = []
    declared = dict(names)
    for ca_name, node in section.values.items():
        if ca_name not in parts_certificates or not isinstance(node, MapNode):
            continue  # not built: its shape errors are reported already
        clients = node.values.get("clients")
        if clients is None:
            continue
        path = f"certificates.{ca_name}.clients"
        where = node.keys["clients"]
        if parts_certificates[ca_name].type != "ca":
            diagnostics.append(error(
                "only a certificate of type ca can issue clients", path=path, position=where,
                hint="move `clients:` to the ca that signs them"))
            continue
        entries, settings, found = _names(clients, path, stack_path.parent)
        diagnostics += found
        seen: dict[str, Position] = {}
        for client, pos in entries:
            full = f"{ca_name}-{client}"
            if client in seen:
                diagnostics.append(error(
                    f"client {client} is listed twice (first at {seen[client]})",
                    path=path, position=pos, hint="remove one of them"))
                continue
            seen[client] = pos
            if not NAME.match(full):
                diagnostics.append(error(
                    f"client {client} would be certificate {full}, longer than 63 characters",
                    path=path, position=pos, hint="use a shorter client or CA name"))
                continue
            if full in declared:
                diagnostics.append(error(
                    f"client {client} of {ca_name} would be certificate {full}, which "
                    f"certificates.{full} already declares (at {declared[full]})",
                    path=path, position=pos,
                    hint=f"rename certificates.{full} or the client"))
                continue
            declared[full] = pos
            names[full] = pos
            parts_certificates[full] = _client(full, client, ca_name, settings, pos)
    return diagnostics


def _names(node: Any, path: str, directory: FilePath
           ) -> tuple[list[tuple[str, Position]], dict[str, Any], list[Diagnostic]]:
    """The names of a clients block with where each was written, its shared settings, and its
    problems."""
    if isinstance(node, SeqNode):
        return _listed(node), {}, []
    assert isinstance(node, MapNode)  # the schema allows a list or a mapping
    settings = to_plain(node)
    listed, file = node.values.get("names"), node.values.get("names_file")
    if (listed is None) == (file is None):
        return [], settings, [error(
            "give either names or names_file" if listed is None
            else "give names or names_file, not both",
            path=path, position=node.pos,
            hint="`names: [alice, bob]`, or `names_file: clients.txt` with one name a line")]
    if isinstance(listed, SeqNode):
        return _listed(listed), settings, []
    assert isinstance(file, Scalar) and isinstance(file.value, str)
    entries, found = read_names_file(directory / file.value, f"{path}.names_file", file.pos,
                                     written=file.value)
    return entries, settings, found


def _listed(node: SeqNode) -> list[tuple[str, Position]]:
    return [(str(item.value), item.pos) for item in node.items if isinstance(item, Scalar)]


def read_names_file(path: FilePath, where: str, pos: Position, written: str | None = None
                    ) -> tuple[list[tuple[str, Position]], list[Diagnostic]]:
    """The names of a names file (one a line; blank lines and `#` comments skipped), each with
    its position in that file, or the one problem that stops reading it (naming the file as
    `written` in the stack)."""
    shown = str(path)

    def refuse(why: str, hint: str | None = None) -> tuple[list[tuple[str, Position]],
                                                            list[Diagnostic]]:
        return [], [error(f"cannot read the names file {written or shown}: {why}", path=where,
                          position=pos, hint=hint)]

    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            return refuse("it is a directory" if stat.S_ISDIR(mode) else "not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_NAMES_FILE_BYTES + 1)
    except FileNotFoundError:
        return refuse("no such file", hint="the path is relative to the stack file's folder")
    except PermissionError:
        return refuse("permission denied")
    except (OSError, ValueError) as exc:
        return refuse(str(getattr(exc, "strerror", None) or exc))
    if len(data) > MAX_NAMES_FILE_BYTES:
        return refuse(f"it is larger than {MAX_NAMES_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        return [], [error(f"the names file is not valid UTF-8: byte 0x{data[exc.start]:02x} "
                          "cannot be decoded", path=where,
                          position=Position(shown, bad_line, 1),
                          hint="save the file as UTF-8")]
    entries: list[tuple[str, Position]] = []
    problems: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0]
        name = content.strip()
        if not name:
            continue
        at = Position(shown, number, len(content) - len(content.lstrip()) + 1)
        if not NAME.match(name):
            problems.append(error(
                f"{name!r} is not a valid client name", path=where, position=at,
                hint="a letter, then letters, digits, '_' or '-' (at most 63 characters)"))
            continue
        entries.append((name, at))
    return entries, problems


def _client(full: str, client: str, ca: str, settings: dict[str, Any],
            pos: Position) -> Certificate:
    export = settings.get("export") or {}
    return Certificate(
        name=full,
        type="client",
        subject=Subject(common_name=client),
        key=settings.get("key", "rsa-2048"),
        issuer=ca,
        validity_days=int(settings.get("validity_days", 365)),
        renew_before_days=int(settings.get("renew_before_days", 30)),
        export=Export(
            dir=FilePath(str(export.get("dir", DEFAULT_EXPORT_DIR)).replace("{name}", client)),
            pkcs12=export.get("pkcs12", False),
            legacy_pkcs12=export.get("legacy_pkcs12", False),
            outside_stack_folder=export.get("outside_stack_folder", False)),
        positions=Positions(pos, {}),
    )
