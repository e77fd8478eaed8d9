"""The default stack, for a command run without STACK: MTLSFORM_STACK, else ./mtlsform.yaml.

`mtlsform.yaml` is not a stack: it names one, in one line `default_stack: PATH` (relative to the
folder of mtlsform.yaml). Its key is not a stack's key, so neither can be taken for the other:
a stack copied to mtlsform.yaml, or mtlsform.yaml given as STACK, is refused with a word on
what it is for (docs/cli.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mtlsform.errors import InputError

STACK_ENV = "MTLSFORM_STACK"
PROJECT_FILE = "mtlsform.yaml"
PROJECT_KEY = "default_stack"
STACK_SUFFIXES = (".yaml", ".yml")


def stack_or_default(given: str | Path | None, *, environ: Mapping[str, str] | None = None,
                     cwd: Path | None = None) -> Path:
    """The stack named on the command line, else the default one; InputError when neither."""
    if given is not None and str(given) != "":
        path = Path(given)
        if path.name == PROJECT_FILE and _names_a_default(path):
            raise InputError(f"{path} names the default stack; it is not a stack itself",
                             hint=f"run without STACK to use the stack it names, or name that "
                             f"stack ({_read_project_file(path)})")
        return path
    environ = os.environ if environ is None else environ
    from_env = environ.get(STACK_ENV, "").strip()
    if from_env:
        path = Path(from_env)
        if not path.exists():
            raise InputError(f"{STACK_ENV} names {path}, which does not exist",
                             hint=f"set {STACK_ENV} to a stack file, or unset it")
        return path
    project = cwd / PROJECT_FILE if cwd is not None else Path(PROJECT_FILE)
    if project.is_file():
        named = _read_project_file(project)
        path = project.parent / named
        if not path.exists():
            raise InputError(f"{PROJECT_FILE} names {named}, which does not exist",
                             hint=f"correct its `{PROJECT_KEY}: PATH` line")
        return path
    raise InputError("no STACK given, and no default stack is set",
                     hint=f"name the stack file, set {STACK_ENV}=PATH, or write "
                     f"`{PROJECT_KEY}: PATH` in ./{PROJECT_FILE}")


def current_default() -> str | None:
    """The default stack as help shows it (`stacks/example.yaml, from MTLSFORM_STACK`), or None
    when none is set or it cannot be used (the command then says why)."""
    from_env = os.environ.get(STACK_ENV, "").strip()
    if from_env:
        return f"{from_env}, from {STACK_ENV}"
    if Path(PROJECT_FILE).is_file():
        try:
            return f"{_read_project_file(Path(PROJECT_FILE))}, from ./{PROJECT_FILE}"
        except InputError:
            return None
    return None


def looks_like_stack(text: str) -> bool:
    """Whether a lone positional argument is a stack file rather than a name or an address."""
    return text.endswith(STACK_SUFFIXES) or Path(text).is_file()


def _names_a_default(path: Path) -> bool:
    try:
        _read_project_file(path)
    except InputError:
        return False
    return True


def _read_project_file(path: Path) -> str:
    """The stack path mtlsform.yaml names; InputError for anything else in the file."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot be read as YAML ({type(exc).__name__})",
                         hint=f"it holds one line: `{PROJECT_KEY}: PATH`") from None
    named = data.get(PROJECT_KEY) if isinstance(data, dict) else None
    if not isinstance(named, str) or not named.strip() or len(data) != 1:
        keys = ", ".join(str(k) for k in data) if isinstance(data, dict) else "no mapping"
        raise InputError(f"{path}: expected one line `{PROJECT_KEY}: PATH` (it holds: {keys})",
                         hint=f"{PROJECT_FILE} names the folder's default stack and is not a "
                         "stack; give a stack file another name")
    return named.strip()
