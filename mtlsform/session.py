"""A session: one stack with its locked state and a connected provider, and the three things
done with them (plan, apply, destroy). The CLI opens a session and renders what comes back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mtlsform.apply.executor import ApplyHooks, ApplyResult, Executor
from mtlsform.apply.statewriter import StateWriter
from mtlsform.errors import StateError
from mtlsform.plan.model import Plan
from mtlsform.plan.planner import make_plan
from mtlsform.plan.refresh import refresh
from mtlsform.resources import RESOURCE_TYPES, unknown_types
from mtlsform.resources.base import NEEDS_STATE_SECRETS
from mtlsform.resources.graph import resource_graph
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Stack
from mtlsform.state.encryption import PASSPHRASE_ENV
from mtlsform.state.local import LocalStateStore, default_state_path, read_state
from mtlsform.state.model import State

if TYPE_CHECKING:
    from mtlsform.providers import ProviderContext
    from mtlsform.providers.base import Provider

__all__ = ["PASSPHRASE_ENV", "Session", "open_session", "passphrase_from",
           "plan_makes_secrets", "plan_requirements", "read_recorded_state", "state_path_for"]


def state_path_for(stack: Stack, override: Path | None = None) -> Path:
    """The state file of the stack: `override`, else .mtlsform/<stack>.state.json beside it."""
    return Path(override) if override else default_state_path(stack.path, stack.name)


def passphrase_from(environ: Mapping[str, str]) -> Sensitive[str] | None:
    """The state secrets passphrase the environment holds, if any."""
    value = environ.get(PASSPHRASE_ENV)
    return Sensitive(value) if value else None


@dataclass
class Session:
    stack: Stack
    state_path: Path
    store: LocalStateStore
    state: State
    provider: Provider
    provider_context: ProviderContext

    def plan(self, *, refresh_first: bool = True, destroy: bool = False,
             now: datetime | None = None) -> Plan:
        """The plan; `now` decides which certificates are due for renewal (default: now)."""
        cloud = refresh(self.provider, self.state, self.stack) if refresh_first else None
        return make_plan(self.stack, resource_graph(self.stack), self.state, cloud,
                         now=now or datetime.now(UTC), destroy=destroy)

    def apply(self, plan: Plan, *, parallelism: int = 10, hooks: ApplyHooks | None = None,
              p12_password: Sensitive[str] | None = None,
              stop: threading.Event | None = None) -> tuple[ApplyResult, State]:
        if NEEDS_STATE_SECRETS in plan_requirements(plan) and not self.store.can_store_secrets:
            raise StateError(
                f"{self.state_path} holds private keys encrypted with {PASSPHRASE_ENV}, "
                "and this apply would add new ones",
                hint=f"set {PASSPHRASE_ENV} to the passphrase the state was encrypted with")
        writer = StateWriter(self.store, self.state)
        executor = Executor(plan, self.stack, writer, self.provider, parallelism=parallelism,
                            hooks=hooks, p12_password=p12_password, stop=stop)
        try:
            result = executor.run()
        finally:
            self.state = writer.state
        return result, self.state


def plan_requirements(plan: Plan) -> frozenset[str]:
    """What applying the plan needs (the resources.base NEEDS_* names), asked of each type."""
    needs: set[str] = set()
    for change in plan.actionable:
        needs |= RESOURCE_TYPES[change.address.type].requirements(change.action, change.config)
    return frozenset(needs)


def plan_makes_secrets(plan: Plan) -> bool:
    """Whether applying the plan records new private keys (certificates made or imported)."""
    return NEEDS_STATE_SECRETS in plan_requirements(plan)


def read_recorded_state(stack: Stack, state_path: Path | None = None,
                        environ: Mapping[str, str] | None = None) -> tuple[Path, State | None]:
    """The stack's state file and what it records (None: no state yet), without locking it."""
    environ = os.environ if environ is None else environ
    path = state_path_for(stack, state_path)
    state = read_state(path, passphrase_from(environ))
    if state is not None:
        _check_types(state, path)
    return path, state


def _check_types(state: State, path: Path) -> None:
    """Refuses a state recording a resource type this mtlsform does not register."""
    unknown = unknown_types(r.address for r in state.resources)
    if unknown:
        raise StateError(
            f"{path} records resources of a type this mtlsform does not know: "
            f"{', '.join(unknown)}",
            hint="it was written by another version of mtlsform; use that version")


@contextmanager
def open_session(stack: Stack, *, operation: str, state_path: Path | None = None,
                 lock_timeout: float = 0.0, environ: Mapping[str, str] | None = None,
                 on_lock_wait: Callable[[str], None] | None = None) -> Iterator[Session]:
    """Locks the state, reads it, connects the provider; releases everything on exit."""
    from mtlsform.providers import open_provider

    environ = os.environ if environ is None else environ
    path = state_path_for(stack, state_path)
    store = LocalStateStore(path, lock_timeout=lock_timeout, operation=operation,
                            passphrase=passphrase_from(environ), on_wait=on_lock_wait)
    with store:
        state = store.read() or State.empty(stack.name)
        _check_types(state, path)
        if state.stack != stack.name:
            raise StateError(
                f"{path} is the state of stack {state.stack!r}, not of {stack.name!r}",
                hint="point --state at this stack's state, or fix `stack:` in the stack file")
        data_dir = path.parent / "emulator"
        with open_provider(stack.provider, emulator_data_dir=data_dir,
                           environ=environ) as (provider, context):
            yield Session(stack, path, store, state, provider, context)
