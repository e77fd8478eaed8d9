"""The stack language: YAML with positions, schema, variables, semantic checks, the model.

`load_stack(path, cli_vars, environ)` is the entry point; the model lives in
`mtlsform.stack.model`. Importing this package stays cheap: the loader (YAML, jsonschema) is
imported on the first call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtlsform.diagnostics import Diagnostic
    from mtlsform.stack.model import Stack
    from mtlsform.stack.varfiles import VarFile

__all__ = ["load_stack"]


def load_stack(path: Path, cli_vars: Mapping[str, str] | None = None,
               environ: Mapping[str, str] | None = None,
               var_files: Sequence[VarFile] = ()) -> tuple[Stack | None, list[Diagnostic]]:
    """Read, validate and build a stack: (Stack, warnings), or (None, diagnostics).

    Never raises for bad input. See `mtlsform.stack.load.load_stack`.
    """
    from mtlsform.stack.load import load_stack as load

    return load(path, cli_vars, environ, var_files)
