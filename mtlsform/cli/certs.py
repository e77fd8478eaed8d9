"""Commands: `certs inspect FILE...` and `certs export STACK NAME --out DIR`.

cryptography and the pki modules are imported inside the commands so `mtlsform --help` stays
fast. Private keys never reach the terminal: inspect shows certificates only, export prints the
paths it wrote.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mtlsform.cli import console
from mtlsform.cli.helptext import HelpCommand, HelpGroup
from mtlsform.cli.options import STACK, STATE, VAR_FILES, VARS, WORKSPACE
from mtlsform.errors import CertificateError, InputError

if TYPE_CHECKING:
    from mtlsform.pki.material import CertificateMaterial
    from mtlsform.stack.model import Certificate, Stack

INSPECT_JSON_FORMAT = 1


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def inspect_command(
    files: list[Path] = typer.Argument(..., metavar="FILE...",
                                       help="PEM (bundles too), DER or PKCS#12 files."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Describe certificates: subject, issuer, SANs, key, usages, validity, fingerprint."""
    from mtlsform.pki.export import p12_password
    from mtlsform.pki.inspection import inspect_files, render_text

    now = datetime.now(UTC)
    found = inspect_files(files, p12_password=lambda: p12_password(
        os.environ, interactive=_interactive(), confirm=False))
    out = console.out()
    if as_json:
        doc = {"format_version": INSPECT_JSON_FORMAT,
               "certificates": [item.to_json(now) for item in found]}
        out.print(json.dumps(doc, indent=2), markup=False, highlight=False)
    else:
        out.print(render_text(found, now), end="", markup=False, highlight=False)


def export_command(
    stack_arg: str | None = typer.Argument(None, metavar="[STACK]", show_default=False,
                                           help=STACK.help),
    name: str = typer.Argument(None, metavar="NAME", show_default=False,
                               help="The certificate's name in the stack (alone: in the "
                               "default stack)."),
    out_dir: Path = typer.Option(None, "--out", metavar="DIR",
                                 help="Directory for the files (created 0700 if new); default: "
                                 "the certificate's export.dir in the stack."),
    pkcs12: bool = typer.Option(None, "--pkcs12/--no-pkcs12",
                                help="Also write NAME.p12 (AES-256, SHA-256 MAC); default: "
                                "the stack's export.pkcs12."),
    legacy_pkcs12: bool = typer.Option(
        None, "--legacy-pkcs12/--no-legacy-pkcs12",
        help="Also write NAME-legacy.p12 (3DES, SHA-1 MAC) for old macOS and Windows; "
        "default: the stack's export.legacy_pkcs12."),
    var: list[str] = VARS,
    var_file: list[Path] = VAR_FILES,
    state: Path = STATE,
    workspace: str | None = WORKSPACE,
) -> None:
    """Write a certificate from the state: NAME.crt, NAME.key (0600), ca.crt, .p12 files.

    Where and which files follow the certificate's `export:` in the stack; flags override it.
    The PKCS#12 password comes from MTLSFORM_P12_PASSWORD, or is asked for on a terminal.
    """
    from mtlsform.cli.defaultstack import looks_like_stack, stack_or_default
    from mtlsform.pki.export import export_client_files, p12_password

    if name is None:
        if stack_arg is None or looks_like_stack(stack_arg):
            raise InputError("missing argument NAME",
                             hint="the certificate's name in the stack, e.g. client")
        stack_arg, name = None, stack_arg
    material, ca_material, loaded = _load_from_state(stack_or_default(stack_arg), var, state,
                                                     name, var_file, workspace)
    choice = export_choice(loaded.certificates[name], loaded.directory, out_dir, pkcs12,
                           legacy_pkcs12)
    password = None
    if choice.pkcs12 or choice.legacy_pkcs12:
        password = p12_password(os.environ, interactive=_interactive())
    written = export_client_files(material, ca_material, choice.directory, name,
                                  pkcs12=choice.pkcs12, legacy_pkcs12=choice.legacy_pkcs12,
                                  password=password)
    out = console.out()
    for path in written:
        out.print(f"wrote {path}", markup=False, highlight=False)


@dataclass(frozen=True)
class ExportChoice:
    """Where `certs export` writes and which PKCS#12 forms: the stack's export, or the flags."""

    directory: Path
    pkcs12: bool
    legacy_pkcs12: bool


def export_choice(spec: Certificate, stack_directory: Path, out_dir: Path | None,
                  pkcs12: bool | None, legacy_pkcs12: bool | None) -> ExportChoice:
    """The flags where given, else the certificate's `export:`; its directory is relative to
    the stack file and must stay in the stack's folder unless the export allows otherwise."""
    from mtlsform.stack.checks.exports import OPT_OUT, inside_stack_folder

    export = spec.export
    if out_dir is None:
        if export is None:
            raise InputError(f"certificate {spec.name!r} has no `export:` in the stack, so there "
                             "is no directory to write to",
                             hint="give --out DIR, or add export: {dir: ...} to the certificate")
        base = stack_directory
        if not export.outside_stack_folder and not inside_stack_folder(base, export.dir):
            raise InputError(f"the export directory {export.dir} of certificate {spec.name!r} "
                             "is outside the stack's folder",
                             hint=f"give --out DIR, or set `{OPT_OUT}: true` in the export")
        out_dir = base / export.dir
    return ExportChoice(
        out_dir,
        pkcs12=pkcs12 if pkcs12 is not None else bool(export and export.pkcs12),
        legacy_pkcs12=legacy_pkcs12 if legacy_pkcs12 is not None
        else bool(export and export.legacy_pkcs12))


def _load_from_state(stack_path: Path, var_args: list[str], state_path: Path | None,
                     name: str, var_files: list[Path], workspace: str | None
                     ) -> tuple[CertificateMaterial, CertificateMaterial | None, Stack]:
    """The certificate NAME and its issuing CA, as the stack's state holds them; the stack and
    the state are found as `plan` finds them."""
    from mtlsform.cli.stackload import load_stack_or_raise
    from mtlsform.pki.export import material_from_state_attributes
    from mtlsform.resources.certificate import certificate_address
    from mtlsform.session import read_recorded_state

    stack = load_stack_or_raise(stack_path, var_args, var_files=var_files, workspace=workspace)
    spec = stack.certificates.get(name)
    if spec is None:
        known = ", ".join(sorted(stack.certificates)) or "none"
        raise InputError(f"the stack has no certificate {name!r}",
                         hint=f"its certificates: {known}")
    _, state = read_recorded_state(stack, state_path)

    def material(cert_name: str) -> CertificateMaterial:
        resource = state.get(certificate_address(cert_name)) if state else None
        if resource is None:
            raise CertificateError(f"certificate {cert_name!r} is not in the state yet",
                                   hint=f"run: mtlsform apply {stack_path}")
        return material_from_state_attributes(resource.attributes)

    return material(name), (material(spec.issuer) if spec.issuer else None), stack


def register(app: typer.Typer) -> None:
    """Adds the `certs` command group to the app."""
    certs = typer.Typer(name="certs", help="Inspect certificate files; export client files.",
                        no_args_is_help=True, rich_markup_mode=None, cls=HelpGroup)
    certs.command("inspect", cls=HelpCommand)(inspect_command)
    certs.command("export", cls=HelpCommand)(export_command)
    from mtlsform.cli.certs_status import status_command

    certs.command("status", cls=HelpCommand)(status_command)
    app.add_typer(certs, name="certs")
