"""Workspaces: several environments of one stack, each with a state of its own.

A workspace is a name (`--workspace NAME` or `MTLSFORM_WORKSPACE`); without one a command
works on the `default` workspace, whose local state file is exactly the one of a stack without
workspaces (`.mtlsform/<stack>.state.json`). Another workspace keeps its local state beside it,
in `.mtlsform/<stack>.<NAME>.state.json` (stack and workspace names hold no dot, so the file
name says which is which), with its own backup and lock, and the same embedded emulator data
directory. A workspace starts on its first apply: there is nothing to create first.

The ownership tags of the objects a workspace makes carry its name (resources/ownership.py);
the default workspace's carry none, so everything made before workspaces existed belongs to
it.
"""

from __future__ import annotations

import re
from pathlib import Path

DEFAULT_WORKSPACE = "default"
WORKSPACE_ENV = "MTLSFORM_WORKSPACE"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
NAME_RULE = ("1 to 63 letters, digits, '-' or '_', starting with a letter or digit "
             "(e.g. prod, staging-2)")


def workspace_problem(name: str) -> str | None:
    """Why `name` cannot name a workspace (None: it can)."""
    if _NAME.fullmatch(name):
        return None
    if not name:
        return "the workspace name is empty"
    return f"{name!r} is not a workspace name"


def workspace_state_path(default_path: Path, stack_name: str, workspace: str) -> Path:
    """The local state file of `workspace`, given the stack's default state file."""
    if workspace == DEFAULT_WORKSPACE:
        return Path(default_path)
    return Path(default_path).with_name(f"{stack_name}.{workspace}.state.json")


def local_workspaces(default_path: Path, stack_name: str) -> dict[str, Path]:
    """The workspaces with a local state file beside `default_path`, by name, sorted
    (`default` first when its file is there)."""
    found: dict[str, Path] = {}
    default_path = Path(default_path)
    if default_path.is_file():
        found[DEFAULT_WORKSPACE] = default_path
    prefix, suffix = f"{stack_name}.", ".state.json"
    if default_path.parent.is_dir():
        for path in sorted(default_path.parent.glob(f"{prefix}*{suffix}")):
            name = path.name[len(prefix):-len(suffix)]
            if name and workspace_problem(name) is None and name != DEFAULT_WORKSPACE:
                found[name] = path
    return found
