"""Diff cases as data: each tests/resources/<type>/<kind>-<what>.yaml holds the desired and the
current attributes of one resource and the decision its type's `diff` must make (action,
reason, changed paths, replacement paths), and with `recorded` whether `drifted` sees drift.

Adding a case needs no Python; the format is in README.md next to this file. Certificate cases
name a stack (copied to a temporary folder first) and ask for real material: `current:
{generated: certificate.NAME, issued: ...}` is generated here, as apply would record it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.pki import CertificateMaterial, generate_certificate
from mtlsform.pki.export import export_client_files, exported_file_names
from mtlsform.references import UNKNOWN
from mtlsform.resources import RESOURCE_TYPES, parse_address
from mtlsform.resources.base import Decision
from mtlsform.sensitive import Sensitive
from mtlsform.stack import load_stack
from mtlsform.stack.model import Stack

CASES_DIR = Path(__file__).resolve().parent
REPOSITORY = CASES_DIR.parents[1]
CASES = sorted(CASES_DIR.glob("*/*.yaml"))
KINDS = ("noop", "create", "update", "replace", "drift")
DEFAULT_NOW = "2026-06-01T00:00:00Z"
CASE_KEYS = frozenset({"address", "stack", "now", "desired", "current", "recorded", "expect"})
REQUIRED_KEYS = frozenset({"address", "desired", "current", "expect"})
EXPECT_KEYS = frozenset({"action", "reason", "changed", "replace_paths", "detail", "drift"})
REQUIRED_EXPECT = frozenset({"action", "reason", "changed", "replace_paths"})
MATERIAL_KEYS = frozenset({"generated", "issued", "applied", "exported"})
P12_PASSWORD = Sensitive("diff-case-password")


class CaseError(ValueError):
    """A case file that does not follow the format (not a wrong decision: a wrong case)."""


class _CaseLoader(yaml.SafeLoader):
    """YAML for cases: `!unknown` is a value known only after apply; timestamps stay text."""


_CaseLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CaseLoader.add_constructor("!unknown", lambda loader, node: UNKNOWN)


@dataclass(frozen=True)
class Case:
    path: Path
    kind: str
    address: Address
    data: dict[str, Any]

    @property
    def shown(self) -> str:
        return f"{self.address.type}/{self.path.name}"

    @property
    def expect(self) -> dict[str, Any]:
        return dict(self.data["expect"])


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    drift: bool | None  # None: the case gives no record to check drift against


# --- reading a case ------------------------------------------------------------------------------

def load_case(path: Path) -> Case:
    """A case file, checked against the format; CaseError says what is wrong with it."""
    shown = f"{path.parent.name}/{path.name}"
    text = path.read_text(encoding="utf-8")
    if not text.startswith("# "):
        raise CaseError(f"{shown}: start with a comment saying what the case shows")
    data = yaml.load(text, Loader=_CaseLoader)
    if not isinstance(data, dict):
        raise CaseError(f"{shown}: a case is a mapping")
    _keys(shown, data, CASE_KEYS, REQUIRED_KEYS)
    expect = data["expect"]
    if not isinstance(expect, dict):
        raise CaseError(f"{shown}: expect is a mapping")
    _keys(f"{shown}: expect", expect, EXPECT_KEYS, REQUIRED_EXPECT)
    if ("recorded" in data) != ("drift" in expect):
        raise CaseError(f"{shown}: give expect.drift exactly when the case has `recorded`")

    address = parse_address(data["address"])
    folder = path.parent.name
    if address.type != folder:
        raise CaseError(f"{shown}: the address is a {address.type} but the case sits in "
                        f"{folder}/")
    kind = path.stem.split("-")[0]
    if kind not in KINDS:
        raise CaseError(f"{shown}: name a case <kind>-<what>.yaml, kind one of "
                        f"{', '.join(KINDS)}")
    action = Action.from_json(expect["action"])
    Reason.from_code(expect["reason"])
    fits = {"noop": action is Action.NOOP, "create": action is Action.CREATE,
            "update": action is Action.UPDATE, "replace": action.is_replace,
            "drift": "recorded" in data}
    if not fits[kind]:
        raise CaseError(f"{shown}: a {kind} case cannot expect the action {action.json}"
                        + (" (a drift case needs `recorded`)" if kind == "drift" else ""))
    return Case(path, kind, address, data)


def _keys(where: str, data: dict[str, Any], allowed: frozenset[str],
          required: frozenset[str]) -> None:
    unknown = sorted(set(data) - allowed)
    missing = sorted(required - set(data))
    if unknown or missing:
        raise CaseError(f"{where}: unknown keys {unknown}, missing keys {missing}")


def _moment(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        raise CaseError(f"{text!r}: give times in UTC with a Z")
    return moment


# --- running a case ------------------------------------------------------------------------------

def run_case(case: Case, workdir: Path) -> Outcome:
    """The type's decision (and drift) for the case's attributes."""
    rtype = RESOURCE_TYPES[case.address.type]
    if rtype.local and "stack" not in case.data:
        raise CaseError(f"{case.shown}: a local type's diff reads the stack: name one")
    stack = _stack(case, workdir) if "stack" in case.data else None
    now = _moment(case.data.get("now", DEFAULT_NOW))
    desired = dict(case.data["desired"])
    current = _current(case, desired, stack)
    decision = rtype.diff(desired, current, now=now, stack=stack,  # type: ignore[arg-type]
                          address=case.address)
    drift = rtype.drifted(case.data["recorded"], current) if "recorded" in case.data else None
    return Outcome(decision, drift)


def _stack(case: Case, workdir: Path) -> Stack:
    """The case's stack, from a copy of its folder, so exports are written under `workdir`."""
    source = REPOSITORY / case.data["stack"]
    copy = workdir / source.parent.name
    shutil.copytree(source.parent, copy)
    stack, diagnostics = load_stack(copy / source.name, environ={})
    if stack is None:
        raise CaseError(f"{case.shown}: {case.data['stack']} does not load: "
                        + "; ".join(d.format() for d in diagnostics))
    return stack


def _current(case: Case, desired: dict[str, Any], stack: Stack | None) -> dict[str, Any] | None:
    current = case.data["current"]
    if current is None:
        return None
    if not isinstance(current, dict):
        raise CaseError(f"{case.shown}: current is a mapping or null")
    if "generated" not in current:
        return dict(current)
    return _generated(case, current, desired, stack)


_ISSUED: dict[tuple[str, str, datetime], CertificateMaterial] = {}


def _issue(stack: Stack, stack_file: str, name: str, issued: datetime) -> CertificateMaterial:
    """Real material for the stack's certificate NAME (its issuers first), issued at `issued`."""
    key = (stack_file, name, issued)
    if key not in _ISSUED:
        spec = stack.certificates[name]
        issuer = _issue(stack, stack_file, spec.issuer, issued) if spec.issuer else None
        _ISSUED[key] = generate_certificate(spec, issuer, now=issued)
    return _ISSUED[key]


def _generated(case: Case, current: dict[str, Any], desired: dict[str, Any],
               stack: Stack | None) -> dict[str, Any]:
    """What the state holds for a certificate apply generated: the configuration it was applied
    with (desired, overridden by `applied`) and the material; its export written when asked."""
    _keys(f"{case.shown}: current", current, MATERIAL_KEYS, frozenset({"generated", "issued"}))
    if stack is None:
        raise CaseError(f"{case.shown}: generated material needs `stack`")
    name = parse_address(current["generated"]).name
    material = _issue(stack, case.data["stack"], name, _moment(current["issued"]))
    attrs = {**desired, **current.get("applied", {}), **material.to_state()}

    exported = current.get("exported", False)
    export = attrs.get("export")
    if export is None:
        if exported:
            raise CaseError(f"{case.shown}: `exported` needs an export in the configuration")
        return attrs
    directory = stack.directory / export["dir"]
    shutil.rmtree(directory, ignore_errors=True)
    if exported:
        issuer_name = stack.certificates[name].issuer
        issuer = (_issue(stack, case.data["stack"], issuer_name, _moment(current["issued"]))
                  if issuer_name else None)
        written = export_client_files(material, issuer, directory, name,
                                      pkcs12=export["pkcs12"],
                                      legacy_pkcs12=export["legacy_pkcs12"],
                                      password=P12_PASSWORD)
        if isinstance(exported, list):
            every = exported_file_names(name, pkcs12=export["pkcs12"],
                                        legacy_pkcs12=export["legacy_pkcs12"])
            if not set(exported) <= set(every):
                raise CaseError(f"{case.shown}: export writes only {every}")
            for path in written:
                if path.name not in exported:
                    path.unlink()
    return attrs


# --- comparing -----------------------------------------------------------------------------------

def mismatches(expect: dict[str, Any], outcome: Outcome) -> list[str]:
    """Each expected field the outcome does not match, as `field: expected X, got Y`."""
    decision = outcome.decision
    found = []
    actual = {
        "action": decision.action.json,
        "reason": decision.reason.code,
        "changed": list(decision.changed),
        "replace_paths": list(decision.replace_paths),
        "detail": decision.detail,
        "drift": outcome.drift,
    }
    for field, got in actual.items():
        if field in expect and expect[field] != got:
            found.append(f"{field}: expected {expect[field]!r}, got {got!r}")
    return found


# --- the tests -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case(path: Path, tmp_path: Path) -> None:
    case = load_case(path)
    outcome = run_case(case, tmp_path)
    problems = mismatches(case.expect, outcome)
    assert not problems, (
        f"{path.relative_to(REPOSITORY)}: the decision is not the one the case expects\n  "
        + "\n  ".join(problems)
        + f"\n  (detail: {outcome.decision.detail!r})"
    )


@pytest.mark.parametrize("name", list(RESOURCE_TYPES))
def test_every_type_has_the_cases_it_needs(name: str) -> None:
    """No-op, replacement and drift for every type; an in-place update for every type that
    updates anything in place. A type that updates nothing has no update case: its cases show
    that a change other types make in place replaces it."""
    rtype = RESOURCE_TYPES[name]
    kinds = {load_case(path).kind for path in (CASES_DIR / name).glob("*.yaml")}
    needed = {"noop", "replace", "drift"} | ({"update"} if rtype.updatable else set())
    assert needed <= kinds, f"{name}: no case of kind {sorted(needed - kinds)}"
    if not rtype.updatable:
        assert "update" not in kinds, f"{name} updates nothing in place, yet has an update case"


def test_every_folder_is_a_registered_type() -> None:
    folders = {p.name for p in CASES_DIR.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders - set(RESOURCE_TYPES) == set()


CHECKED_CASE = CASES_DIR / "listener" / "drift-renamed-in-console.yaml"
WRONG = {"action": ["delete"], "reason": "delete_because_destroy",
         "changed": ["no_such_attribute"], "replace_paths": ["no_such_attribute"],
         "detail": "no such detail"}


@pytest.mark.parametrize("field", [*WRONG, "drift"])
def test_a_wrong_expectation_is_caught(field: str, tmp_path: Path) -> None:
    """The runner is not vacuous: each field it compares, when wrong, is reported."""
    case = load_case(CHECKED_CASE)
    outcome = run_case(case, tmp_path)
    assert mismatches(case.expect, outcome) == []
    wrong = {**case.expect, field: WRONG.get(field, not case.expect["drift"])}
    problems = mismatches(wrong, outcome)
    assert len(problems) == 1 and problems[0].startswith(f"{field}: expected"), problems


BAD_CASES = {
    "no leading comment": ("listener", "noop-x.yaml", "address: listener.https\n"),
    "type and folder disagree": ("rule", "noop-x.yaml", """\
# wrong folder
address: listener.https
desired: {}
current: {}
expect: {action: [no-op], reason: no_op_because_matches, changed: [], replace_paths: []}
"""),
    "kind and action disagree": ("listener", "update-x.yaml", """\
# an update case expecting a no-op
address: listener.https
desired: {}
current: {}
expect: {action: [no-op], reason: no_op_because_matches, changed: [], replace_paths: []}
"""),
    "unknown key": ("listener", "noop-x.yaml", """\
# a typo in a key
address: listener.https
desired: {}
current: {}
expect: {action: [no-op], reason: no_op_because_matches, changed: [], replace_path: []}
"""),
    "recorded without drift": ("listener", "drift-x.yaml", """\
# a record to compare with, but no expected drift
address: listener.https
desired: {}
current: {}
recorded: {}
expect: {action: [no-op], reason: no_op_because_matches, changed: [], replace_paths: []}
"""),
}


@pytest.mark.parametrize("problem", list(BAD_CASES))
def test_a_malformed_case_is_refused(problem: str, tmp_path: Path) -> None:
    folder, name, text = BAD_CASES[problem]
    path = tmp_path / folder / name
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseError):
        load_case(path)
