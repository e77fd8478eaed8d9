"""load_stack: a stack file in, a checked Stack (or every problem found) out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mtlsform.diagnostics import Diagnostic, has_errors, sort_diagnostics
from mtlsform.stack.build import assemble, build_parts, certificates_only
from mtlsform.stack.checks import run_checks
from mtlsform.stack.compose import compose
from mtlsform.stack.fleets import expand_fleets
from mtlsform.stack.invisible import check_tree
from mtlsform.stack.model import Stack
from mtlsform.stack.schema_errors import schema_diagnostics
from mtlsform.stack.source import read_source
from mtlsform.stack.varfiles import VarFile
from mtlsform.stack.variables import resolve_variables, substitute


def load_stack(path: Path, cli_vars: Mapping[str, str] | None = None,
               environ: Mapping[str, str] | None = None,
               var_files: Sequence[VarFile] = ()) -> tuple[Stack | None, list[Diagnostic]]:
    """Read, validate and build a stack.

    Returns (None, diagnostics) when anything is wrong, else (stack, warnings). Diagnostics are
    sorted by position. Bad input never raises: an unreadable file is a diagnostic too.
    `environ` supplies MTLSFORM_VAR_<name> values (pass os.environ); None means none.
    `var_files` (read by stack/varfiles.py) win over the environment, `cli_vars` over them.
    """
    path = Path(path)
    text, diagnostics = read_source(path)
    if text is None:
        return None, diagnostics
    composed = compose(text, str(path))
    if composed.root is None:
        return None, sort_diagnostics(composed.diagnostics)
    invisible, refused = check_tree(composed.root)  # before any message can show such text
    diagnostics = [*composed.diagnostics, *invisible]
    poisoned = [*composed.poisoned, *refused]

    variables = resolve_variables(composed.root, cli_vars or {}, environ or {}, poisoned,
                                  var_files)
    root, found, unresolved = substitute(composed.root, variables)
    diagnostics += variables.diagnostics + found
    poisoned += unresolved

    found, bad_paths = schema_diagnostics(root, poisoned)
    diagnostics += found
    parts = build_parts(root, [*bad_paths, *poisoned], variables.values)
    diagnostics += expand_fleets(parts.certificates, parts.names.setdefault("certificates", {}),
                                 root, path)
    diagnostics += run_checks(parts)
    from mtlsform.stack.checks.contents import check_certificates
    from mtlsform.stack.checks.exports import check_exports

    if has_errors(diagnostics):
        # Every phase that can still run does: each built certificate's own checks (its
        # export directory, its files), so one error elsewhere hides none of them.
        # A certificate with an error of its own is left out: its checks would repeat it.
        erring = {d.path.split(".")[1] for d in diagnostics
                  if d.severity == "error" and d.path.startswith("certificates.")
                  and d.path.count(".") >= 1}
        partial = certificates_only(parts, path, root, leave_out=erring)
        diagnostics += check_exports(partial) + check_certificates(partial, cross_checks=False)
        return None, sort_diagnostics(diagnostics)

    stack = assemble(parts, path, root)
    diagnostics += check_exports(stack) + check_certificates(stack)
    if has_errors(diagnostics):
        return None, sort_diagnostics(diagnostics)
    return stack, sort_diagnostics(diagnostics)
