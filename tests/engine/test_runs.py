"""mtlsform.runs: the confirmation policy as data, saved-plan resolution, what a plan needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mtlsform.errors import InputError
from mtlsform.resources.base import NEEDS_P12_PASSWORD, NEEDS_STATE_SECRETS
from mtlsform.runs import Approval, ChangeRequest, approval_for, open_change, resolve_source
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Stack
from tests.engine.conftest import P12_PASSWORD, edit, stack_at

EXAMPLE = Path("stacks/example.yaml")

# (has_changes, saved_plan, auto_approve, interactive) -> approval
POLICY = [
    ((False, False, False, False), Approval.NOTHING_TO_APPROVE),
    ((False, True, False, False), Approval.NOTHING_TO_APPROVE),
    ((False, False, False, True), Approval.NOTHING_TO_APPROVE),
    ((True, True, False, False), Approval.SAVED_PLAN),
    ((True, True, True, True), Approval.SAVED_PLAN),
    ((True, False, True, False), Approval.AUTO_APPROVE),
    ((True, False, True, True), Approval.AUTO_APPROVE),
    ((True, False, False, True), Approval.ASK),
    ((True, False, False, False), Approval.REFUSE),
]


@pytest.mark.parametrize(("facts", "expected"), POLICY, ids=[e.value for _, e in POLICY])
def test_confirmation_policy(facts: tuple[bool, bool, bool, bool], expected: Approval) -> None:
    has_changes, saved_plan, auto_approve, interactive = facts
    assert approval_for(has_changes=has_changes, saved_plan=saved_plan,
                        auto_approve=auto_approve, interactive=interactive) is expected
    assert expected.approved is (expected not in (Approval.ASK, Approval.REFUSE))


class Notes:
    """A RunObserver that keeps what it is told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def waiting_for_lock(self, holder: str) -> None:
        self.lines.append(f"waiting: {holder}")

    def note(self, text: str) -> None:
        self.lines.append(text)


def load(path: Path, var_args: list[str], *, var_files: Sequence[Path] = (),
         workspace: str | None = None) -> Stack:
    from mtlsform.cli.stackload import load_with_vars

    stack, diagnostics = load_with_vars(path, var_args, var_files=var_files, workspace=workspace)
    assert stack is not None, [d.format() for d in diagnostics]
    return stack


def test_a_stack_file_is_its_own_source(workdir) -> None:
    source = resolve_source(EXAMPLE, ["domain=a.example.com"], destroy=False)
    assert (source.stack_path, source.var_args, source.saved) == \
        (EXAMPLE, ("domain=a.example.com",), None)


def test_a_saved_plan_names_its_stack_and_replays_its_variables(workdir, cli) -> None:
    assert cli("plan", EXAMPLE, "--var", "domain=shop.example.com", "--out", "p.plan").code == 0
    source = resolve_source(Path("p.plan"), [], destroy=False)
    assert source.saved is not None
    assert source.stack_path == source.saved.stack_path
    assert source.stack_path.resolve() == (workdir / EXAMPLE).resolve()
    assert source.var_args == ("domain=shop.example.com",)
    with pytest.raises(InputError, match="--var cannot be given with a saved plan"):
        resolve_source(Path("p.plan"), ["domain=x.example.com"], destroy=False)


def test_first_apply_needs_secrets_and_a_p12_password_then_nothing(workdir, cli) -> None:
    request = ChangeRequest(EXAMPLE)
    with open_change(request, load_stack=load, observer=Notes()) as run:
        assert run.needs == {NEEDS_STATE_SECRETS, NEEDS_P12_PASSWORD}
        assert run.needs_p12_password
        assert run.approval is Approval.REFUSE  # no terminal, no --auto-approve
        result, state = run.apply(p12_password=Sensitive(P12_PASSWORD))
        assert result.ok and state.serial > 0
    with open_change(request, load_stack=load, observer=Notes()) as run:
        assert (run.needs, run.approval) == (frozenset(), Approval.NOTHING_TO_APPROVE)
    edit(workdir / EXAMPLE, "weight: 10}", "weight: 11}")
    with open_change(ChangeRequest(EXAMPLE, interactive=True), load_stack=load,
                     observer=Notes()) as run:
        assert (run.needs, run.approval) == (frozenset(), Approval.ASK)
    with open_change(ChangeRequest(EXAMPLE, destroy=True, auto_approve=True), load_stack=load,
                     observer=Notes()) as run:
        assert run.operation == "destroy"
        assert (run.needs, run.approval) == (frozenset(), Approval.AUTO_APPROVE)


def test_a_saved_plan_is_its_own_approval(workdir, cli) -> None:
    assert cli("plan", EXAMPLE, "--out", "p.plan").code == 0
    with open_change(ChangeRequest(Path("p.plan")), load_stack=load, observer=Notes()) as run:
        assert run.approval is Approval.SAVED_PLAN
        assert run.plan == run.source.saved.decode().plan  # type: ignore[union-attr]
    assert stack_at(EXAMPLE).name == run.plan.stack


P12 = {"dir": "out/c", "pkcs12": True, "legacy_pkcs12": False}
LEGACY = {"dir": "out/c", "pkcs12": False, "legacy_pkcs12": True}
PLAIN = {"dir": "out/c", "pkcs12": False, "legacy_pkcs12": False}
# (action, export) -> what applying a certificate change needs
CERTIFICATE_NEEDS = [
    ("CREATE", None, {NEEDS_STATE_SECRETS}),
    ("CREATE", PLAIN, {NEEDS_STATE_SECRETS}),
    ("CREATE", P12, {NEEDS_STATE_SECRETS, NEEDS_P12_PASSWORD}),
    ("REPLACE_CREATE_FIRST", LEGACY, {NEEDS_STATE_SECRETS, NEEDS_P12_PASSWORD}),
    ("UPDATE", P12, {NEEDS_P12_PASSWORD}),
    ("UPDATE", PLAIN, set()),
    ("DELETE", P12, set()),
    ("NOOP", P12, set()),
]


@pytest.mark.parametrize(("action", "export", "needs"), CERTIFICATE_NEEDS)
def test_what_a_certificate_change_needs(action: str, export: dict[str, object] | None,
                                         needs: set[str]) -> None:
    from mtlsform.plan.model import Action
    from mtlsform.resources import RESOURCE_TYPES
    from mtlsform.resources.certificate import CERTIFICATE, certificate_address

    assert CERTIFICATE.requirements(Action[action], {"export": export}) == needs
    assert str(certificate_address("ca")) == "certificate.ca"
    others = [t for t in RESOURCE_TYPES.values() if t is not CERTIFICATE]
    assert all(t.requirements(Action[action], {"export": export}) == frozenset()
               for t in others)
