"""The state committed to a GitOps repository: the mode, and what it refuses.

With `MTLSFORM_STATE_IN_REPO=true` (set it in the pipeline and in the repository's `.envrc`),
the local state file is a file of the repository, committed after each apply (docs/gitops.md).
Everything the repository holds is readable by everyone who can clone it, so:

- the private keys (and the plan-signing key) in it must be encrypted: a run that would write
  a state holding one in clear text is refused before it changes anything;
- the saved plan's state checks explain themselves in git's terms: a state of another lineage
  or at another serial than the plan was made against is what a merge of two applies, or a
  branch behind the one that applied last, looks like.

The JSON is deterministic and diff-friendly in every mode (state/statefile.py): one value per
line, keys sorted, resources sorted by address, a trailing newline.
"""

from __future__ import annotations

from collections.abc import Mapping

from mtlsform.errors import InputError, StateError
from mtlsform.state.encryption import PASSPHRASE_ENV
from mtlsform.state.model import State, contains_sensitive

IN_REPO_ENV = "MTLSFORM_STATE_IN_REPO"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def in_repository(environ: Mapping[str, str]) -> bool:
    """Whether the state is committed to the repository (MTLSFORM_STATE_IN_REPO)."""
    value = environ.get(IN_REPO_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InputError(f"{IN_REPO_ENV} expects true or false, not {environ[IN_REPO_ENV]!r}",
                     hint=f"set {IN_REPO_ENV}=true where the state file is committed to the "
                          "repository (docs/gitops.md)")


def holds_keys(state: State) -> bool:
    """Whether the state holds a secret (a private key, the plan-signing key)."""
    return state.plan_key is not None or any(
        contains_sensitive(dict(r.attributes)) for r in state.resources)


def refuse_clear_keys(location: str, state: State, *, adds_keys: bool,
                      encrypted: bool) -> None:
    """In repository mode, refuses a write that would leave private keys in clear text."""
    if encrypted or not (adds_keys or holds_keys(state)):
        return
    what = "would record private keys" if adds_keys else "holds private keys"
    raise StateError(
        f"{location} is committed to the repository ({IN_REPO_ENV}), and this run {what} in "
        "clear text: anyone who can clone the repository could read them",
        hint=f"set {PASSPHRASE_ENV} (from the CI's secret store) so the keys are encrypted; "
             "an existing clear state is encrypted by the next apply. Nothing was changed.")


def lineage_conflict(plan_lineage: str | None, state_lineage: str) -> str:
    """The git situation behind a saved plan made against a state of another lineage."""
    return (f"in the repository, this checkout's state file has lineage {state_lineage}, the "
            f"plan was made against lineage {plan_lineage}: the state file was replaced, not "
            "updated (a merge that took the other side's state whole, a state created afresh "
            "on a branch, or the file of another stack or workspace copied over it). Resolve "
            "the state file in git (keep the version with the state's real history, by "
            "`git log -p` on it), then plan again")


def serial_conflict(made_at: int, serial: int) -> str:
    """The git situation behind a saved plan made at another serial of the state."""
    if serial > made_at:
        return (f"in the repository, the state moved on from serial {made_at} to {serial} "
                "after the plan was made: another apply was committed first (two merge "
                "requests planned against the same state, and the other one merged and "
                "applied). Rebase on the branch that holds the newest state, plan again and "
                "review that plan")
    return (f"in the repository, this checkout's state is at serial {serial}, older than the "
            f"serial {made_at} the plan was made against: it is an old branch, behind the "
            "apply that wrote the newer state (or that state was never committed back). Pull "
            "or rebase on the branch that holds the newest state; never apply from an older "
            "one")
