"""Runs of apply and destroy up to the question: which stack they act on (a stack file, or a
saved plan replaying its variables), the plan, what applying it needs, and whether someone must
approve it. The approval is a value (`Approval`); asking the question is the caller's part.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Protocol

from mtlsform.addresses import Address
from mtlsform.apply.executor import ApplyHooks, ApplyResult
from mtlsform.errors import InputError, MtlsformError, StateError
from mtlsform.plan.model import Plan
from mtlsform.plan.planfile import (
    PlanFile,
    check_signature,
    check_still_valid,
    is_plan_file,
    new_plan_key,
    read_plan_file,
    require_signed,
    write_plan,
)
from mtlsform.plan.targeting import parse_addresses
from mtlsform.resources.base import NEEDS_P12_PASSWORD, NEEDS_STATE_SECRETS
from mtlsform.sensitive import Sensitive
from mtlsform.session import PASSPHRASE_ENV, Session, open_session, plan_requirements
from mtlsform.stack.model import Stack
from mtlsform.state.model import State
from mtlsform.state.workspaces import WORKSPACE_ENV

__all__ = ["NEEDS_P12_PASSWORD", "NEEDS_STATE_SECRETS", "Approval", "ChangeRequest",
           "ChangeRun", "RunObserver", "Source", "StackLoader", "approval_for", "open_change",
           "p12_password_missing", "p12_password_users", "plan_stack", "resolve_source"]

class StackLoader(Protocol):
    """Loads a stack for a run (the CLI prints its diagnostics and exits on errors)."""

    def __call__(self, path: Path, var_args: list[str], *, var_files: Sequence[Path] = (),
                 workspace: str | None = None) -> Stack: ...


class Approval(Enum):
    """Whether a run may change the cloud, and who says so."""

    NOTHING_TO_APPROVE = "nothing_to_approve"  # the plan changes nothing
    SAVED_PLAN = "saved_plan"  # passing the reviewed plan file is the approval
    AUTO_APPROVE = "auto_approve"  # approved in advance (--auto-approve)
    ASK = "ask"  # someone at the terminal must answer yes
    REFUSE = "refuse"  # it must be asked, and there is no terminal to ask on

    @property
    def approved(self) -> bool:
        """Whether the run may go ahead without a question."""
        return self in (Approval.NOTHING_TO_APPROVE, Approval.SAVED_PLAN, Approval.AUTO_APPROVE)


def approval_for(*, has_changes: bool, saved_plan: bool, auto_approve: bool,
                 interactive: bool) -> Approval:
    """The confirmation policy: a plan without changes or a saved plan needs no question."""
    if not has_changes:
        return Approval.NOTHING_TO_APPROVE
    if saved_plan:
        return Approval.SAVED_PLAN
    if auto_approve:
        return Approval.AUTO_APPROVE
    return Approval.ASK if interactive else Approval.REFUSE


@dataclass(frozen=True)
class Source:
    """What a run acts on: a stack file with its --var and --var-file arguments and its
    workspace (None: the default), and the saved plan if any."""

    stack_path: Path
    var_args: tuple[str, ...] = ()
    saved: PlanFile | None = None
    var_files: tuple[Path, ...] = ()
    workspace: str | None = None


def resolve_source(target: Path, var_args: Sequence[str], *, destroy: bool,
                   var_files: Sequence[Path] = (), workspace: str | None = None) -> Source:
    """A stack file as given; a saved plan (not for destroy) names its stack, variables and
    workspace. A plan file without a signature is refused here, before anything is opened."""
    saved = read_plan_file(target) if not destroy and is_plan_file(target) else None
    if saved is None:
        return Source(Path(target), tuple(var_args), None, tuple(var_files), workspace)
    require_signed(saved)
    if var_args or var_files:
        flag = "--var" if var_args else "--var-file"
        raise InputError(f"{flag} cannot be given with a saved plan: it records its variables")
    asked = workspace if workspace is not None else os.environ.get(WORKSPACE_ENV) or None
    if asked is not None and asked != saved.workspace:
        raise InputError(
            f"{target} was planned for the workspace {saved.workspace!r}, not {asked!r}",
            hint="a saved plan is applied to the workspace it was made for: leave out "
                 "--workspace (and MTLSFORM_WORKSPACE), or plan again for this workspace")
    replayed = tuple(f"{k}={v}" for k, v in saved.variables.items())
    return Source(saved.stack_path, replayed, saved, workspace=saved.workspace)


@dataclass(frozen=True)
class ChangeRequest:
    """An apply or destroy as asked for: `target` is a stack file or (apply) a saved plan."""

    target: Path
    var_args: tuple[str, ...] = ()
    var_files: tuple[Path, ...] = ()
    workspace: str | None = None  # --workspace (None: MTLSFORM_WORKSPACE, else the default)
    destroy: bool = False
    auto_approve: bool = False
    refresh: bool = True
    interactive: bool = False  # whether a question can be asked (a terminal is there)
    state_path: Path | None = None
    lock_timeout: float = 0.0
    adopt_found: bool = False  # take over objects found by their tags that the state lacks
    ignore_backup: bool = False  # plan although the state file is missing beside its backup
    at: datetime | None = None  # plan as of this instant (renewals); the emulator only
    refresh_only: bool = False  # record what changed outside mtlsform; change nothing
    verify_rotation: bool = False  # confirm switched certificates by handshakes on the cloud too
    targets: tuple[str, ...] = ()  # --target: only these and what they depend on
    replacing: tuple[str, ...] = ()  # --replace: replaced although nothing forces it

    @property
    def operation(self) -> str:
        return "destroy" if self.destroy else "apply"


class RunObserver(Protocol):
    """What a run reports before it has a plan (the CLI prints it)."""

    def waiting_for_lock(self, holder: str) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass(frozen=True)
class ChangeRun:
    """A planned run holding the locked session: the plan, its needs, its approval."""

    session: Session
    source: Source
    operation: str
    plan: Plan
    needs: frozenset[str]
    approval: Approval
    at: datetime | None = None  # the instant planned at (and new certificates dated from)
    verify_rotation: bool = False

    @property
    def needs_p12_password(self) -> bool:
        return NEEDS_P12_PASSWORD in self.needs

    def apply(self, *, parallelism: int = 10, hooks: ApplyHooks | None = None,
              p12_password: Sensitive[str] | None = None,
              stop: threading.Event | None = None) -> tuple[ApplyResult, State]:
        """Carries out the plan (with no changes: records the refreshed state and outputs)."""
        return self.session.apply(self.plan, parallelism=parallelism, hooks=hooks,
                                  p12_password=p12_password, stop=stop, now=self.at,
                                  verify_rotation=self.verify_rotation)


def p12_password_users(plan: Plan) -> tuple[str, ...]:
    """The resources whose apply writes a PKCS#12 file (which needs a password), by address."""
    from mtlsform.resources import RESOURCE_TYPES

    return tuple(str(c.address) for c in plan.actionable
                 if NEEDS_P12_PASSWORD in RESOURCE_TYPES[c.address.type].requirements(
                     c.action, c.config))


def p12_password_missing(plan: Plan, environ: Mapping[str, str]) -> InputError | None:
    """The problem when applying the plan writes a PKCS#12 file and the environment has no
    password for it (on a terminal, apply asks instead): named by certificate and variable."""
    from mtlsform.pki.export import P12_PASSWORD_ENV

    users = p12_password_users(plan) if plan.mode != "destroy" else ()
    if not users or P12_PASSWORD_ENV in environ:
        return None
    names = ", ".join(users)
    return InputError(
        f"{names} {'is' if len(users) == 1 else 'are'} exported as PKCS#12, which needs a "
        f"password, and {P12_PASSWORD_ENV} is not set",
        hint=f"export {P12_PASSWORD_ENV}=... (apply asks for it when run on a terminal)")


def _note_sharing(session: Session, observer: RunObserver) -> None:
    note = session.provider_context.sharing_note()
    if note:
        observer.note(note)


@contextmanager
def open_change(request: ChangeRequest, *, load_stack: StackLoader,
                observer: RunObserver) -> Iterator[ChangeRun]:
    """Resolves the source, loads the stack, locks the state and plans (or checks the saved
    plan is still valid); the state stays locked until the block ends."""
    source = resolve_source(request.target, request.var_args, destroy=request.destroy,
                            var_files=request.var_files, workspace=request.workspace)
    if source.saved is not None and request.adopt_found:
        raise InputError("--adopt-found cannot be given with a saved plan: it records what it "
                         "adopts", hint="pass --adopt-found to `mtlsform plan --out`")
    if request.refresh_only:
        _check_refresh_only(destroy=request.destroy, refresh=request.refresh,
                            saved=source.saved is not None)
    targets, replacing = _targeting(request.targets, request.replacing,
                                    destroy=request.destroy, saved=source.saved is not None,
                                    refresh_only=request.refresh_only)
    if source.saved is not None and request.at is not None:
        raise InputError("--at cannot be given with a saved plan: it was planned at its own "
                         "instant", hint="pass --at to `mtlsform plan --out`")
    stack = load_stack(source.stack_path, list(source.var_args), var_files=source.var_files,
                       workspace=source.workspace)
    with open_session(stack, operation=request.operation, state_path=request.state_path,
                      lock_timeout=request.lock_timeout,
                      on_lock_wait=observer.waiting_for_lock,
                      on_note=observer.note,
                      ignore_backup=request.ignore_backup) as session:
        _note_sharing(session, observer)
        if request.at is not None and session.provider_context.kind != "emulator":
            raise InputError(
                f"{request.operation} --at runs against the emulator only: on the cloud it "
                "would renew certificates before they are due",
                hint="use `mtlsform plan --at DATE` to see what a later run will do")
        if source.saved is not None:
            # the signature first: nothing of a changed file is trusted, not even its shape
            check_signature(source.saved, session.state, session.state_path,
                            in_repo=session.in_repo)
            saved = source.saved.decode()
            check_still_valid(saved, stack, session.state, in_repo=session.in_repo)
            plan = saved.plan
        else:
            plan = session.plan(refresh_first=request.refresh, destroy=request.destroy,
                                adopt_found=request.adopt_found, now=request.at,
                                only_refresh=request.refresh_only, targets=targets,
                                replacing=replacing)
        needs = plan_requirements(plan)
        if request.destroy:
            needs -= {NEEDS_P12_PASSWORD}  # nothing is exported by a destroy
        session.check_committable(adds_keys=NEEDS_STATE_SECRETS in needs)  # before asking
        approval = approval_for(has_changes=plan.has_changes, saved_plan=source.saved is not None,
                                auto_approve=request.auto_approve,
                                interactive=request.interactive)
        yield ChangeRun(session, source, request.operation, plan, needs, approval,
                        at=request.at, verify_rotation=request.verify_rotation)


def plan_stack(stack: Stack, *, destroy: bool = False, refresh: bool = True,
               state_path: Path | None = None, lock_timeout: float = 0.0,
               observer: RunObserver, out: Path | None = None, adopt_found: bool = False,
               ignore_backup: bool = False, at: datetime | None = None,
               refresh_only: bool = False, targets: Sequence[str] = (),
               replacing: Sequence[str] = ()) -> Plan:
    """The plan for the stack against its state (locked while planning), as `plan` shows it;
    with `out`, also saved there, signed with the state's plan key (see `plan_key`)."""
    if refresh_only:
        _check_refresh_only(destroy=destroy, refresh=refresh, saved=False)
        if out is not None:
            raise InputError("--refresh-only plans are not saved: --out cannot be given with it",
                             hint="run `mtlsform apply --refresh-only STACK` to record them")
    wanted, forced = _targeting(targets, replacing, destroy=destroy, saved=False,
                                refresh_only=refresh_only)
    with open_session(stack, operation="plan", state_path=state_path,
                      lock_timeout=lock_timeout,
                      on_lock_wait=observer.waiting_for_lock,
                      on_note=observer.note, ignore_backup=ignore_backup) as session:
        _note_sharing(session, observer)
        key = plan_key(session, observer) if out is not None else None
        plan = session.plan(refresh_first=refresh, destroy=destroy, adopt_found=adopt_found,
                            now=at, only_refresh=refresh_only, targets=wanted,
                            replacing=forced)
        if out is not None and key is not None:
            write_plan(out, plan, stack, key)
        return plan


def plan_key(session: Session, observer: RunObserver) -> Sensitive[str]:
    """The key saved plans of the session's state are signed with. A state without one (no
    state yet, or one written before plan files were signed) gets one now: the state is
    written once, with only the key added, and the observer is told."""
    key = session.state.plan_key
    if key is None:
        session.check_committable(adds_keys=True)
        if not session.store.can_store_secrets:
            raise StateError(
                f"{session.state_path} is encrypted with {PASSPHRASE_ENV} and holds no plan "
                "key yet; saving a plan adds one, which needs the passphrase",
                hint=f"export {PASSPHRASE_ENV}=... (the passphrase the state was written with)")
        key = new_plan_key()
        session.state = session.store.write(session.state.with_plan_key(key))
        observer.note(f"Added a plan-signing key to the state {session.state_path} "
                      "(saved plans are signed with it).")
    try:
        key.reveal()
    except MtlsformError as exc:  # sealed: encrypted, and no passphrase given
        raise StateError(f"saving a plan signs it with the plan key of the state "
                         f"{session.state_path}, which it keeps encrypted",
                         hint=exc.hint) from None
    return key


def _check_refresh_only(*, destroy: bool, refresh: bool, saved: bool) -> None:
    """--refresh-only reads the cloud and records it; nothing else can go with it."""
    if destroy:
        raise InputError("--refresh-only and --destroy cannot be given together",
                         hint="a refresh-only run changes nothing in the cloud")
    if not refresh:
        raise InputError("--refresh-only and --refresh=false cannot be given together",
                         hint="a refresh-only run is the cloud read and recorded")
    if saved:
        raise InputError("--refresh-only cannot be given with a saved plan",
                         hint="give the stack file: `mtlsform apply --refresh-only STACK`")


def _targeting(targets: Sequence[str], replacing: Sequence[str], *, destroy: bool, saved: bool,
               refresh_only: bool) -> tuple[tuple[Address, ...], tuple[Address, ...]]:
    """The --target and --replace addresses, refused where they cannot go."""
    for flag, given in (("--target", bool(targets)), ("--replace", bool(replacing))):
        if not given:
            continue
        if saved:
            raise InputError(f"{flag} cannot be given with a saved plan: it records what it "
                             "covers", hint=f"pass {flag} to `mtlsform plan --out`")
        if destroy:
            raise InputError(f"{flag} and --destroy cannot be given together",
                             hint="remove the resource from the stack and plan, or use "
                                  "`mtlsform state rm` to forget it")
        if refresh_only:
            raise InputError(f"{flag} and --refresh-only cannot be given together",
                             hint="a refresh-only run records all drift and changes nothing")
    return (parse_addresses(targets, "--target"), parse_addresses(replacing, "--replace"))
