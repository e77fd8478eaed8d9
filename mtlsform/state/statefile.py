"""The state file format: a `State` to deterministic JSON bytes and back, with clear messages.

Layout (format 1): keys sorted, resources sorted by address then deposed key, 2-space indent,
trailing newline. Secrets are never recognised by the shape of a value: each resource lists the
paths of its sensitive attributes in `sensitive_attributes` (and each output has `sensitive`),
and the value at such a path is the secret itself in a clear file, or an encrypted envelope
`{"ciphertext", "nonce"}` when the top-level `encryption` header is set.

`StateEncoder` keeps the encoded text of each resource object it has written, so saving a state
in which one resource changed encodes one resource, not all of them (states are immutable, so a
resource object that is the same object encodes to the same text).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from mtlsform import __version__
from mtlsform.addresses import Address
from mtlsform.errors import StateError
from mtlsform.sensitive import Sensitive
from mtlsform.state.encryption import (
    PASSPHRASE_ENV,
    Cipher,
    EncryptionHeader,
    Envelope,
    OpenedValue,
    SealedValue,
    describe_aad,
    output_aad,
    resource_aad,
)
from mtlsform.state.model import (
    OutputValue,
    PendingOperation,
    ResourceState,
    State,
    reveal_deep,
)
from mtlsform.state.versions import FORMAT_VERSION, upgrade_document

Path_ = tuple[str | int, ...]
# The plan-signing key is sealed as the attribute `plan_key` of a pseudo-address no resource
# can have (addresses are TYPE.NAME), so messages name it "state plan_key".
PLAN_KEY_AAD = resource_aad("state", ("plan_key",))


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _file_order(resource: ResourceState) -> tuple[str, str, str, str, str]:
    """Resources in the file sort by their address's parts as text (type name first): the same
    bytes whatever resource types a process has registered."""
    address = resource.address
    return (address.type, address.name, address.key or "", address.sub or "",
            resource.deposed or "")


def _pending_order(op: PendingOperation) -> tuple[str, str, str]:
    return (op.started_at, str(op.address), op.op_id)


class StateEncoder:
    """Encodes states for one file: with `cipher` secrets are sealed; with only `header` (an
    encrypted file opened without the passphrase) sealed values are kept as they are and new
    secrets are refused; with neither, secrets are written in clear."""

    def __init__(self, *, cipher: Cipher | None = None, header: EncryptionHeader | None = None,
                 source: str = "") -> None:
        self.cipher = cipher
        self.header = cipher.header if cipher is not None else header
        self.source = source
        self._cache: dict[int, tuple[ResourceState, str]] = {}

    def encode(self, state: State, *, serial: int | None = None) -> bytes:
        """The file's bytes for `state` (with `serial` in place of the state's own)."""
        cache: dict[int, tuple[ResourceState, str]] = {}
        fragments = []
        for resource in sorted(state.resources, key=_file_order):
            hit = self._cache.get(id(resource))
            if hit is not None and hit[0] is resource:
                text = hit[1]
            else:  # indented for its place in the file: an item of the top-level list
                text = "    " + self._resource(resource).replace("\n", "\n    ")
            cache[id(resource)] = (resource, text)
            fragments.append(text)
        self._cache = cache
        top = {
            "encryption": self.header.to_json() if self.header is not None else None,
            "format_version": FORMAT_VERSION,
            "lineage": state.lineage,
            "outputs": self.outputs_json(state.outputs),
            "pending_operations": [_pending_json(p) for p in
                                   sorted(state.pending_operations, key=_pending_order)],
            "plan_key": (None if state.plan_key is None
                         else self._secret(state.plan_key, PLAN_KEY_AAD)),
            "resources": None,  # assembled from the fragments below
            "serial": state.serial if serial is None else serial,
            "stack": state.stack,
            "tool_version": __version__,
        }
        if top["plan_key"] is None:  # only states that signed a plan carry one
            del top["plan_key"]
        parts = []
        for key in sorted(top):
            if key == "resources":
                text = "[\n" + ",\n".join(fragments) + "\n  ]" if fragments else "[]"
            else:
                text = _dumps(top[key]).replace("\n", "\n  ")
            parts.append(f"  {json.dumps(key)}: {text}")
        return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")

    def _resource(self, r: ResourceState) -> str:
        return _dumps(self.resource_json(r))

    def resource_json(self, r: ResourceState) -> dict[str, Any]:
        """One resource as the file holds it (secrets sealed as in the file): also what the
        journal records for it."""
        address = str(r.address)
        paths: list[list[str | int]] = []
        attributes = self._plain(dict(r.attributes), (),
                                 lambda path: resource_aad(address, path), paths)
        doc = {
            "address": address,
            "attributes": attributes,
            "dependencies": sorted(str(d) for d in r.dependencies),
            "sensitive_attributes": sorted(paths, key=json.dumps),
            "type": r.type,
        }
        if r.deposed:
            doc["deposed"] = r.deposed
        return doc

    def outputs_json(self, outputs: Mapping[str, OutputValue]) -> dict[str, Any]:
        return {name: self._output(name, out) for name, out in outputs.items()}

    def pending_json(self, operation: PendingOperation) -> dict[str, Any]:
        return _pending_json(operation)

    def _output(self, name: str, out: OutputValue) -> dict[str, Any]:
        value = self._secret(out.value, output_aad(name)) if out.sensitive else out.value
        return {"sensitive": out.sensitive, "value": value}

    def _plain(self, value: Any, path: Path_, aad_of: Callable[[Path_], str],
               paths: list[list[str | int]]) -> Any:
        if isinstance(value, Sensitive):
            paths.append(list(path))
            return self._secret(value, aad_of(path))
        if isinstance(value, dict):
            return {k: self._plain(v, (*path, k), aad_of, paths) for k, v in value.items()}
        if isinstance(value, list):
            return [self._plain(v, (*path, i), aad_of, paths) for i, v in enumerate(value)]
        return value

    def _secret(self, value: Sensitive[Any], aad: str) -> Any:
        if isinstance(value, SealedValue):
            if self.header is not None and value.key_id == self.header.key_id \
                    and value.aad == aad:
                return value.envelope.to_json()
            raise StateError(
                f"cannot write {describe_aad(aad)} to state file {self.source}: it holds a value "
                f"encrypted elsewhere ({describe_aad(value.aad)}) that cannot be opened "
                f"without {PASSPHRASE_ENV}")
        if (isinstance(value, OpenedValue) and self.cipher is not None
                and value.key_id == self.cipher.key_id and value.aad == aad):
            return value.envelope.to_json()
        if self.cipher is not None:
            return self.cipher.seal(reveal_deep(value), aad).to_json()
        if self.header is not None:
            raise StateError(
                f"state file {self.source} is encrypted with {PASSPHRASE_ENV}; set it "
                f"to store the new secret {describe_aad(aad)}",
                hint=f"export {PASSPHRASE_ENV}=... (the passphrase the state was "
                     "written with)")
        return reveal_deep(value)


def _pending_json(p: PendingOperation) -> dict[str, Any]:
    return {"action": p.action, "address": str(p.address), "details": dict(p.details),
            "op_id": p.op_id, "started_at": p.started_at}


# ---------------------------------------------------------------- decoding


@dataclass(frozen=True)
class Decoded:
    """A state read from bytes, with what is needed to write it back the same way."""

    state: State
    header: EncryptionHeader | None
    cipher: Cipher | None


class _Reader:
    """Shape checks that name the file and the place in it."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> StateError:
        return StateError(f"state file {self.source}: {where}: {problem}")

    def object(self, value: Any, where: str, required: set[str],
               optional: frozenset[str] = frozenset()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, found {_kind(value)}")
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(where, f"missing key {missing[0]!r}")
        unknown = sorted(set(value) - required - optional)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r}")
        return value

    def of(self, value: Any, kind: type, where: str) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = {str: "a string", int: "an integer", bool: "true or false",
                        list: "a list", dict: "an object"}[kind]
            raise self.fail(where, f"expected {expected}, found {_kind(value)}")
        return value

    def address(self, value: Any, where: str) -> Address:
        try:
            return Address.parse(self.of(value, str, where))
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


_TOP = {"encryption", "format_version", "lineage", "outputs", "pending_operations",
        "resources", "serial", "stack", "tool_version"}
_RESOURCE = {"address", "attributes", "dependencies", "sensitive_attributes", "type"}


def decode_state(data: bytes, *, source: str,
                 passphrase: Sensitive[str] | None = None,
                 replay: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Decoded:
    """Parses, upgrades and checks a state file; every problem is a `StateError`.

    With the passphrase, encrypted secrets are decrypted and verified; without, they are read
    as `SealedValue`s. `replay` turns the upgraded document into the one to check and decode
    (the journal's entries applied over the snapshot).
    """
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise StateError(f"state file {source} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise StateError(f"state file {source} is not valid JSON: line {exc.lineno} column "
                         f"{exc.colno}: {exc.msg}") from None
    except RecursionError:  # a state never nests more than a few levels: this is damage
        raise StateError(f"state file {source} is damaged: its JSON is nested too deeply "
                         "to be a state") from None
    read = _Reader(source)
    if not isinstance(doc, dict):
        raise read.fail("top level", f"expected an object, found {_kind(doc)}")
    doc = upgrade_document(doc, source=source)
    if replay is not None:
        doc = replay(doc)
    read.object(doc, "top level", _TOP, frozenset({"plan_key"}))
    header, cipher = None, None
    if doc["encryption"] is not None:
        header = EncryptionHeader.from_json(doc["encryption"], source)
        if passphrase is not None:
            cipher = Cipher.open(header, passphrase, source)

    def secret(value: Any, aad: str, where: str) -> Sensitive[Any]:
        if header is None:
            return Sensitive(value)
        envelope = Envelope.from_json(value, where, source)
        if cipher is None:
            return SealedValue(envelope, aad, header.key_id)
        return cipher.open_value(envelope, aad, source)

    resources = []
    seen: set[tuple[Address, str | None]] = set()
    for i, item in enumerate(read.of(doc["resources"], list, "resources")):
        where = f"resources[{i}]"
        item = read.object(item, where, _RESOURCE, frozenset({"deposed"}))
        address = read.address(item["address"], f"{where}.address")
        where = f"resources[{i}] ({address})"
        if item["type"] != address.type:
            raise read.fail(f"{where}.type", f"{item['type']!r} does not match the address")
        attributes = read.of(item["attributes"], dict, f"{where}.attributes")
        for j, path in enumerate(read.of(item["sensitive_attributes"], list,
                                         f"{where}.sensitive_attributes")):
            here = f"{where}.sensitive_attributes[{j}]"
            aad = resource_aad(str(address), tuple(path) if isinstance(path, list) else ())
            _replace_at(read, attributes, path, here,
                        partial(secret, aad=aad, where=f"{here} value"))
        deps = [read.address(d, f"{where}.dependencies[{k}]")
                for k, d in enumerate(read.of(item["dependencies"], list,
                                              f"{where}.dependencies"))]
        try:
            resource = ResourceState(address, attributes, tuple(deps), item.get("deposed"))
        except ValueError as exc:
            raise read.fail(where, str(exc)) from None
        if resource.key in seen:
            raise read.fail(where, "this object appears twice")
        seen.add(resource.key)
        resources.append(resource)

    outputs = {}
    for name, item in read.of(doc["outputs"], dict, "outputs").items():
        item = read.object(item, f"outputs.{name}", {"sensitive", "value"})
        sensitive = read.of(item["sensitive"], bool, f"outputs.{name}.sensitive")
        value = (secret(item["value"], output_aad(name), f"outputs.{name}.value")
                 if sensitive else item["value"])
        outputs[name] = OutputValue(value, sensitive)

    pending = []
    for i, item in enumerate(read.of(doc["pending_operations"], list, "pending_operations")):
        where = f"pending_operations[{i}]"
        item = read.object(item, where, {"action", "address", "details", "op_id", "started_at"})
        address = read.address(item["address"], f"{where}.address")
        for key in ("action", "op_id", "started_at"):
            read.of(item[key], str, f"{where}.{key}")
        try:
            pending.append(PendingOperation(item["op_id"], address, item["action"],
                                            item["started_at"],
                                            read.of(item["details"], dict, f"{where}.details")))
        except ValueError as exc:
            raise read.fail(where, str(exc)) from None

    plan_key = None
    if doc.get("plan_key") is not None:
        if header is None and not _is_plan_key(doc["plan_key"]):
            raise read.fail("plan_key", "expected 64 hexadecimal digits")
        plan_key = secret(doc["plan_key"], PLAN_KEY_AAD, "plan_key")

    serial = read.of(doc["serial"], int, "serial")
    if serial < 0:
        raise read.fail("serial", "must not be negative")
    try:
        state = State(stack=read.of(doc["stack"], str, "stack"),
                      lineage=read.of(doc["lineage"], str, "lineage"), serial=serial,
                      resources=tuple(resources), outputs=outputs,
                      pending_operations=tuple(pending),
                      tool_version=read.of(doc["tool_version"], str, "tool_version"),
                      plan_key=plan_key)
    except ValueError as exc:
        raise read.fail("top level", str(exc)) from None
    return Decoded(state, header, cipher)


def _is_plan_key(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and \
        all(c in "0123456789abcdef" for c in value)


def _replace_at(read: _Reader, attributes: dict[str, Any], path: Any, where: str,
                wrap: Callable[[Any], Any]) -> None:
    """Replaces the value at `path` inside `attributes` with `wrap(value)`."""
    if not isinstance(path, list) or not path:
        raise read.fail(where, "expected a non-empty list of keys and indexes")
    container: Any = attributes
    for depth, step in enumerate(path):
        in_dict = isinstance(container, dict) and isinstance(step, str) and step in container
        in_list = (isinstance(container, list) and isinstance(step, int)
                   and not isinstance(step, bool) and 0 <= step < len(container))
        if not (in_dict or in_list):
            raise read.fail(where, f"{path!r} does not lead to an attribute")
        if depth == len(path) - 1:
            container[step] = wrap(container[step])
        container = container[step]
