"""A session: one stack with its locked state and a connected provider, and the three things
done with them (plan, apply, destroy). The CLI opens a session and renders what comes back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mtlsform.addresses import Address
from mtlsform.apply.executor import ApplyHooks, ApplyResult, Executor, WriteLanes
from mtlsform.apply.statewriter import StateWriter
from mtlsform.collection import long_lived, paused
from mtlsform.diagnostics import warning
from mtlsform.errors import StateError
from mtlsform.plan.lost_state import (
    found_objects,
    refuse_found,
    refuse_missing_state,
    refuse_recorded_elsewhere,
)
from mtlsform.plan.model import FoundNote, Plan
from mtlsform.plan.moves import PriorMoves, apply_moves, stack_moves
from mtlsform.plan.planner import make_plan
from mtlsform.plan.refresh import refresh
from mtlsform.plan.refresh_only import refresh_only
from mtlsform.plan.takeover import refuse_takeover
from mtlsform.plan.targeting import check_targets, limited
from mtlsform.resources import RESOURCE_TYPES, unknown_types
from mtlsform.resources.base import NEEDS_STATE_SECRETS, RotationCheck
from mtlsform.resources.graph import resource_graph
from mtlsform.resources.shape import Damage, check
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Stack
from mtlsform.state.backends import BackendSettings, open_store
from mtlsform.state.encryption import PASSPHRASE_ENV
from mtlsform.state.gitops import in_repository, refuse_clear_keys
from mtlsform.state.local import backup_path, default_state_path
from mtlsform.state.model import ResourceState, State
from mtlsform.state.store import StateStore
from mtlsform.state.workspaces import DEFAULT_WORKSPACE, WORKSPACE_ENV, workspace_state_path

if TYPE_CHECKING:
    from mtlsform.providers import ProviderContext
    from mtlsform.providers.base import Provider

__all__ = ["PASSPHRASE_ENV", "Session", "local_state_path", "open_session", "passphrase_from",
           "plan_makes_secrets", "plan_requirements", "read_recorded_state", "state_path_for"]


def state_path_for(stack: Stack, override: Path | None = None) -> Path:
    """The state file of the stack: `override`, else .mtlsform/<stack>.state.json beside it
    (for a workspace other than `default`, .mtlsform/<stack>.<workspace>.state.json)."""
    own = workspace_state_path(default_state_path(stack.path, stack.name), stack.name,
                               stack.workspace)
    if override and stack.workspace != DEFAULT_WORKSPACE:
        raise StateError(
            f"--state names one state file, and the workspace {stack.workspace!r} has its own "
            f"({own})",
            hint="leave out --state to use the workspace's state file, or leave out "
                 f"--workspace (and {WORKSPACE_ENV}) to use the file --state names")
    return Path(override) if override else own


def backend_settings(stack: Stack) -> BackendSettings:
    """The stack's `backend:` block as the state package reads it."""
    b = stack.backend
    return BackendSettings(kind=b.kind, conn_str_env=b.conn_str_env, schema_name=b.schema_name,
                           bucket=b.bucket, prefix=b.prefix, region=b.region,
                           endpoint=b.endpoint)


def with_environment(settings: BackendSettings, environ: Mapping[str, str]) -> BackendSettings:
    """A cos backend's settings with what the environment adds, read as the provider reads
    it: the region when the block names none, and the key pair (boto3's names)."""
    if settings.kind != "cos":
        return settings
    from mtlsform.providers.tencentcloud.credentials import environment_credentials
    from mtlsform.providers.tencentcloud.settings import ENV_REGION

    found = environment_credentials(environ)
    keys: dict[str, Sensitive[str]] = {}
    if found is not None:
        keys = {"aws_access_key_id": Sensitive(found.secret_id),
                "aws_secret_access_key": found.secret_key}
        if found.token is not None:
            keys["aws_session_token"] = found.token
    return replace(settings, region=settings.region or environ.get(ENV_REGION) or None,
                   credentials=keys)


def store_for(stack: Stack, state_path: Path | None = None, *, operation: str = "",
              lock_timeout: float = 0.0, environ: Mapping[str, str] | None = None,
              on_lock_wait: Callable[[str], None] | None = None) -> StateStore:
    """The stack's state store, in the backend its `backend:` block names (not entered)."""
    environ = os.environ if environ is None else environ
    settings = with_environment(backend_settings(stack), environ)
    if settings.remote and state_path is not None:
        raise StateError(
            f"--state names a local state file, but {stack.path} keeps its state in its "
            f"{settings.kind} backend",
            hint="leave out --state, or remove the backend block to use a local file")
    return open_store(settings, stack=stack.name, local_path=state_path_for(stack, state_path),
                      environ=environ, workspace=stack.workspace,
                      lock_timeout=lock_timeout, operation=operation,
                      passphrase=passphrase_from(environ), on_wait=on_lock_wait)


def local_state_path(stack: Stack, override: Path | None = None) -> Path:
    """The stack's local state file, for commands that work on files (state restore); a
    stack whose backend is not local is refused with what to use instead."""
    kind = backend_settings(stack).kind
    if kind != "local":
        raise StateError(
            f"{stack.path} keeps its state in its {kind} backend, not in a local file",
            hint="`mtlsform state history` lists the versions it keeps and `mtlsform state "
                 "rollback SERIAL` writes one of them back")
    return state_path_for(stack, override)


def location_path(store: StateStore) -> Path:
    """The store's location as the path messages name (a local file's path is itself)."""
    return Path(store.location)


def passphrase_from(environ: Mapping[str, str]) -> Sensitive[str] | None:
    """The state secrets passphrase the environment holds, if any."""
    value = environ.get(PASSPHRASE_ENV)
    return Sensitive(value) if value else None


@dataclass
class Session:
    stack: Stack
    state_path: Path
    store: StateStore
    state: State
    provider: Provider
    provider_context: ProviderContext
    on_note: Callable[[str], None] | None = None
    healed: tuple[str, ...] = ()  # records healed when read: the next apply writes them
    in_repo: bool = False  # the state file is committed to the repository (state/gitops.py)

    @property
    def workspace(self) -> str:
        """The workspace this session plans and applies (its state, its ownership tags)."""
        return self.stack.workspace

    def plan(self, *, refresh_first: bool = True, destroy: bool = False,
             now: datetime | None = None, adopt_found: bool = False,
             only_refresh: bool = False, targets: Sequence[Address] = (),
             replacing: Sequence[Address] = ()) -> Plan:
        """The plan; `now` decides which certificates are due for renewal (default: now).
        Objects of the stack found by their tags that the state does not record are refused
        unless `adopt_found` (plan/lost_state.py). The stack's `moved:` entries are made on
        the prior state first (plan/moves.py); `targets` limit the plan to them and what they
        depend on, `replacing` forces replacements (plan/targeting.py)."""
        with paused():
            return self._plan(refresh_first=refresh_first, destroy=destroy, now=now,
                              adopt_found=adopt_found, only_refresh=only_refresh,
                              targets=targets, replacing=replacing)

    def _plan(self, *, refresh_first: bool, destroy: bool, now: datetime | None,
              adopt_found: bool, only_refresh: bool, targets: Sequence[Address],
              replacing: Sequence[Address]) -> Plan:
        graph = resource_graph(self.stack)
        check_targets(targets, replacing, graph, self.state, str(self.stack.path))
        prior = apply_moves(self.state, stack_moves(self.stack)) if not destroy \
            else PriorMoves(self.state, {})
        cloud = refresh(self.provider, prior.state, self.stack) if refresh_first else None
        found = found_objects(cloud, prior.state, self.stack) if cloud is not None else []
        refuse_recorded_elsewhere(found, self.stack, self.state_path, self.state.lineage)
        refuse_found(found, self.stack, self.state_path, adopt=adopt_found, destroy=destroy)
        plan = make_plan(self.stack, graph, prior.state, cloud,
                         now=now or datetime.now(UTC), destroy=destroy,
                         moved_from=prior.moved_from, replacing=replacing)
        plan = replace(plan, workspace=self.workspace, found=tuple(
            FoundNote(f.address, f.ident, "interrupted" if f.interrupted else "adopted")
            for f in found))
        if prior.warnings:
            plan = replace(plan, warnings=(*prior.warnings, *plan.warnings))
        if cloud is not None:
            refuse_takeover(plan, self.provider, self.stack)
        plan = limited(plan, targets, graph)
        if only_refresh:
            return refresh_only(plan)  # `only_refresh` needs the cloud read: the CLI says so
        return with_consequences(plan, self.provider, self.state) if cloud is not None else plan

    def apply(self, plan: Plan, *, parallelism: int = 10, hooks: ApplyHooks | None = None,
              p12_password: Sensitive[str] | None = None,
              stop: threading.Event | None = None,
              now: datetime | None = None,
              verify_rotation: bool = False,
              lanes: WriteLanes = "per-parent") -> tuple[ApplyResult, State]:
        """Carries out `plan`. A certificate switched in place is confirmed by a handshake
        against the emulator always (where its data plane can be reached), against the cloud
        with `verify_rotation`. `lanes`: see `apply.executor.write_lanes`."""
        self.check_committable(adds_keys=NEEDS_STATE_SECRETS in plan_requirements(plan))
        if NEEDS_STATE_SECRETS in plan_requirements(plan) and not self.store.can_store_secrets:
            raise StateError(
                f"{self.state_path} holds private keys encrypted with {PASSPHRASE_ENV}, "
                "and this apply would add new ones",
                hint=f"set {PASSPHRASE_ENV} to the passphrase the state was encrypted with")
        encrypting = self.store.clear_with_passphrase
        if encrypting or self.healed:  # written even when the apply writes nothing else
            self.state = self.store.write(self.state)
            self.healed = ()
            if encrypting and self.on_note is not None:
                self.on_note(f"The state is now encrypted: the private keys in "
                             f"{self.state_path} were in clear text; {PASSPHRASE_ENV} now "
                             "protects them (keep it: the state cannot be used without it).")
        writer = StateWriter(self.store, self.state)
        executor = Executor(plan, self.stack, writer, self.provider, parallelism=parallelism,
                            hooks=hooks, p12_password=p12_password, stop=stop, now=now,
                            verify_rotation=self._rotation_check(verify_rotation),
                            note=self.on_note, lanes=lanes)
        try:
            result = executor.run()
        finally:
            self.state = writer.state
        return result, self.state

    def check_committable(self, *, adds_keys: bool) -> None:
        """Before a run writes the state: committed to the repository, it must not hold
        private keys in clear text (state/gitops.py)."""
        if self.in_repo:
            refuse_clear_keys(str(self.state_path), self.state, adds_keys=adds_keys,
                              encrypted=self.store.encrypted)

    def _rotation_check(self, asked: bool) -> RotationCheck:
        if asked:
            return "required"
        return "reachable" if self.provider_context.kind == "emulator" else "off"


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
    store = store_for(stack, state_path, environ=environ)
    path = location_path(store)
    state = store.read_unlocked()
    return path, None if state is None else checked_state(state, path)


def checked_state(state: State, path: Path) -> State:
    """The state once every record is checked against the shape its type declares (healed
    where no guess is needed); a record that departs from it is refused as damage."""
    return _checked(state, path)[0]


def _checked(state: State, path: Path) -> tuple[State, list[str]]:
    """`checked_state`, and the addresses of the records it healed."""
    _check_types(state, path)
    healed = [_checked_record(record, path) for record in state.resources]
    for pending in state.pending_operations:
        if pending.address.type not in RESOURCE_TYPES:
            raise _damage(path, f"pending operation {pending.op_id} on {pending.address}",
                          Damage("address", "a resource of a known type",
                                 f"type {pending.address.type!r}"))
    changed = [str(new.address) for new, old in zip(healed, state.resources, strict=True)
               if new is not old]
    return (state.with_resources(healed) if changed else state), changed


def _check_types(state: State, path: Path) -> None:
    """Refuses a state recording a resource type this mtlsform does not register."""
    unknown = unknown_types(r.address for r in state.resources)
    if unknown:
        raise StateError(
            f"{path} records resources of a type this mtlsform does not know: "
            f"{', '.join(unknown)}",
            hint="it was written by another version of mtlsform: use that version" + (
                f"; or, if the file was damaged, the state before the last run that changed "
                f"it is in {backup_path(path)}" if backup_path(path).exists() else ""))


def _checked_record(record: ResourceState, path: Path) -> ResourceState:
    where = f"resource {record.address}" + (f" (deposed {record.deposed})"
                                             if record.deposed else "")
    for i, dependency in enumerate(record.dependencies):
        if dependency.type not in RESOURCE_TYPES:
            raise _damage(path, where, Damage(f"dependencies[{i}]", "a resource of a known type",
                                              f"type {dependency.type!r}"))
    shape = RESOURCE_TYPES[record.address.type].recorded
    attributes, damage = check(dict(shape), dict(record.attributes))
    if damage is not None:
        raise _damage(path, where, damage)
    if attributes == dict(record.attributes):
        return record
    return ResourceState(record.address, attributes, record.dependencies, record.deposed)


def _damage(path: Path, where: str, damage: Damage) -> StateError:
    """One message for a damaged record: the file, the record, what is wrong, the backup."""
    backup = backup_path(path)
    restore = (f"{backup} holds the state as it was before the last run that changed it: "
               f"inspect it and copy it over {path} if it is right; or " if backup.exists()
               else "there is no backup; ")
    return StateError(
        f"{path}: {where} is damaged: {damage.describe()}",
        hint=f"{restore}correct the record in {path} by hand. Nothing was planned or applied.")


@contextmanager
def open_session(stack: Stack, *, operation: str, state_path: Path | None = None,
                 lock_timeout: float = 0.0, environ: Mapping[str, str] | None = None,
                 on_lock_wait: Callable[[str], None] | None = None,
                 on_note: Callable[[str], None] | None = None,
                 ignore_backup: bool = False) -> Iterator[Session]:
    """Locks the state, reads it, connects the provider; releases everything on exit. A
    missing state file beside its backup is refused unless `ignore_backup`."""
    from mtlsform.providers import open_provider

    environ = os.environ if environ is None else environ
    store = store_for(stack, state_path, operation=operation, lock_timeout=lock_timeout,
                      environ=environ, on_lock_wait=on_lock_wait)
    remote = backend_settings(stack).remote
    path = location_path(store)
    local_path = state_path_for(stack, None if remote else state_path)
    with long_lived(), store:
        stored = store.read()
        if stored is None and remote:
            refuse_local_left_behind(stack, store, local_path, ignore_backup=ignore_backup)
        elif stored is None:
            refuse_missing_state(stack, path, ignore_backup=ignore_backup)
        state, healed = _checked(stored or State.empty(stack.name), path)
        if healed and on_note is not None:
            on_note(f"{path}: healed {', '.join(healed)}: a secret was recorded without its "
                    "sensitive mark; it is treated as sensitive, and the next apply records "
                    "it so.")
        if state.stack != stack.name:
            raise StateError(
                f"{path} is the state of stack {state.stack!r}, not of {stack.name!r}",
                hint="point --state at this stack's state, or fix `stack:` in the stack file")
        data_dir = local_path.parent / "emulator"
        with open_provider(stack.provider, emulator_data_dir=data_dir,
                           environ=environ) as (provider, context):
            if store.clear_with_passphrase and operation == "plan" and on_note is not None:
                on_note(f"The private keys in {path} are in clear text although "
                        f"{PASSPHRASE_ENV} is set: the next apply encrypts them.")
            yield Session(stack, path, store, state, provider, context, on_note,
                          tuple(healed), in_repository(environ))


def refuse_local_left_behind(stack: Stack, store: StateStore, local_path: Path, *,
                             ignore_backup: bool) -> None:
    """Refuses to plan on an empty shared backend while the stack's local state file is
    there: that is a state not moved yet, and planning without it would create again what
    it records."""
    if ignore_backup or not (local_path.exists() or backup_path(local_path).exists()):
        return
    raise StateError(
        f"{store.location} holds no state of stack {stack.name!r}, but the local state file "
        f"{local_path} (or its backup) is there: planning without it would create again what "
        "it records",
        hint=f"move it with `mtlsform state push {stack.path} {local_path}`; "
             "--ignore-backup plans without it")


def with_consequences(plan: Plan, provider: Provider, state: State) -> Plan:
    """The plan with what its changes do beyond the stack, as the types read it from the
    cloud (e.g. load balancers outside the stack bound to an upload it replaces)."""
    owned = frozenset(str(r.attributes["id"]) for r in state.resources
                      if isinstance(r.attributes.get("id"), str))
    found = [warning(text, path=str(change.address))
             for change in plan.actionable
             for text in RESOURCE_TYPES[change.address.type].consequences(
                 provider, change.action, change.before, owned)]
    return replace(plan, warnings=(*plan.warnings, *found)) if found else plan
