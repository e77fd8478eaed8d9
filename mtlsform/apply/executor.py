"""The executor: carries out a plan's changes through the provider, walking the operation graph
concurrently, and keeps the state in step (one owner writes it, after every operation, with an
intent recorded before every cloud call).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from mtlsform.actions import Action
from mtlsform.addresses import Address
from mtlsform.apply.operations import Operation, build_operations, parent_of
from mtlsform.apply.statewriter import StateWriter
from mtlsform.apply.walker import WalkHooks, walk
from mtlsform.errors import MtlsformError, PlanError, QuotaError
from mtlsform.plan.model import Plan, ResourceChange
from mtlsform.plan.moves import renamed
from mtlsform.plan.outputs import resolve_output
from mtlsform.providers.base import Provider
from mtlsform.providers.together import Seat, Together
from mtlsform.references import Ref, contains_unknown, evaluate
from mtlsform.resources import RESOURCE_TYPES
from mtlsform.resources.base import ApplyContext, RotationCheck
from mtlsform.sensitive import Sensitive
from mtlsform.stack.model import Stack
from mtlsform.state.model import OutputValue, State


class ApplyHooks(Protocol):
    """Progress events for the CLI; the executor never prints."""

    def planned(self, operations: Mapping[Operation, ResourceChange]) -> None:
        """Every operation the apply will walk, before the first starts."""
        ...

    def started(self, operation: Operation, change: ResourceChange) -> None: ...
    def finished(self, operation: Operation, change: ResourceChange, seconds: float) -> None: ...
    def failed(self, operation: Operation, change: ResourceChange,
               error: BaseException) -> None: ...


@dataclass
class ApplyResult:
    succeeded: list[Operation] = field(default_factory=list)
    failed: dict[Operation, BaseException] = field(default_factory=dict)
    skipped: dict[Operation, Operation] = field(default_factory=dict)
    not_started: list[Operation] = field(default_factory=list)
    # Not started because an operation of the same kind was refused: operation -> why.
    held: dict[Operation, str] = field(default_factory=dict)
    changes: dict[Operation, ResourceChange] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.skipped or self.not_started or self.held)


class _HookAdapter(WalkHooks[Operation]):
    """Turns the walker's node events into apply events (on the walking thread)."""

    def __init__(self, hooks: ApplyHooks | None,
                 operations: Mapping[Operation, ResourceChange]) -> None:
        self.hooks = hooks
        self.operations = operations
        self.started_at: dict[Operation, float] = {}
        # Operations started as one batch -> their seats (written before they are submitted);
        # each seat settles when its operation ends, so siblings never wait for one that left.
        self.seats: dict[Operation, Seat] = {}

    def together(self, nodes: list[Operation]) -> None:
        batch = Together(nodes)
        for node in nodes:
            self.seats[node] = Seat(batch, node)

    def _ended(self, node: Operation) -> None:
        seat = self.seats.pop(node, None)
        if seat is not None:
            seat.settle()

    def started(self, node: Operation) -> None:
        if self.hooks is not None:
            self.started_at[node] = time.monotonic()
            self.hooks.started(node, self.operations[node])

    def finished(self, node: Operation) -> None:
        self._ended(node)
        if self.hooks is not None:
            seconds = time.monotonic() - self.started_at.pop(node, time.monotonic())
            self.hooks.finished(node, self.operations[node], seconds)

    def failed(self, node: Operation, error: BaseException) -> None:
        self._ended(node)
        if self.hooks is not None:
            self.hooks.failed(node, self.operations[node], error)


def quota_lanes(operations: Mapping[Operation, ResourceChange]) -> dict[Operation, Hashable]:
    """Operations a full quota dooms together: the same type, phase and action under the same
    cloud parent (listeners of one load balancer; rules of one listener), or in the whole
    account for a type with no parent (load balancers of a region)."""
    return {op: (op.address.type, op.phase, change.action, parent_of(change))
            for op, change in operations.items()}


WriteLanes = Literal["per-parent", "global"]
GLOBAL_LANE = "all serial writes"


def write_lanes(operations: Mapping[Operation, ResourceChange], plan: Plan,
                cascaded: frozenset[Operation] = frozenset(), *,
                mode: WriteLanes = "per-parent"
                ) -> tuple[dict[Operation, Hashable], dict[Operation, Hashable]]:
    """The walker's exclusive lanes and batches: an operation that writes to an object of a
    `serial_writes` type, or to anything under one, is in that object's lane (its address);
    `batched_writes` siblings of one action share a batch. Forgetting a record (a forget, or
    a child its parent's delete takes along) writes nothing and takes no lane. `global` puts
    every serial write in one lane (one lock for all, as the Terraform provider does)."""
    by_address = {c.address: c for c in plan.changes if not c.deposed}
    exclusive: dict[Operation, Hashable] = {}
    batches: dict[Operation, Hashable] = {}
    for op, change in operations.items():
        if op in cascaded or change.action is Action.FORGET:
            continue
        root = _serial_root(change, by_address)
        if root is None:
            continue
        exclusive[op] = GLOBAL_LANE if mode == "global" else root
        if RESOURCE_TYPES[op.address.type].batched_writes:
            batches[op] = (op.address.type, op.phase, change.action, parent_of(change))
    return exclusive, batches


def _serial_root(change: ResourceChange,
                 by_address: Mapping[Address, ResourceChange]) -> Address | None:
    """The nearest object of a `serial_writes` type at or above the change's object."""
    current: ResourceChange | None = change
    address = change.address
    while True:
        if RESOURCE_TYPES[address.type].serial_writes:
            return address
        parent = parent_of(current) if current is not None else None
        if parent is None:
            return None
        address, current = parent, by_address.get(parent)


def _refused(error: BaseException) -> str:
    action = error.action if isinstance(error, QuotaError) and error.action else "the call"
    message = error.message if isinstance(error, MtlsformError) else str(error)
    return f"the cloud refused {action} for quota: {message}"


class Executor:
    def __init__(self, plan: Plan, stack: Stack, writer: StateWriter, provider: Provider, *,
                 parallelism: int = 10, hooks: ApplyHooks | None = None,
                 p12_password: Sensitive[str] | None = None,
                 stop: threading.Event | None = None, now: datetime | None = None,
                 verify_rotation: RotationCheck = "off",
                 note: Callable[[str], None] | None = None,
                 lanes: WriteLanes = "per-parent") -> None:
        self.plan = plan
        self.lanes: WriteLanes = lanes
        self.verify_rotation = verify_rotation
        self.note = note
        self.stack = stack
        self.writer = writer
        self.provider = provider
        self.parallelism = parallelism
        self.hooks = hooks
        self.p12_password = p12_password
        self.stop = stop
        self.now = now or datetime.now(UTC)  # what new certificates are dated from
        self._deposed: dict[Address, str] = {}
        self._lock = threading.Lock()

    def run(self) -> ApplyResult:
        self._record_refresh()
        recorded = {r.address: tuple(r.dependencies) for r in self.writer.state.resources
                    if r.deposed is None}
        graph = build_operations(self.plan, recorded)
        self._operations = graph.operations
        self._cascaded = graph.cascaded
        self._graph = graph
        result = ApplyResult(changes=graph.operations)
        if self.hooks is not None:
            self.hooks.planned(graph.operations)
        exclusive, batches = write_lanes(graph.operations, self.plan, graph.cascaded,
                                         mode=self.lanes)
        self._events = _HookAdapter(self.hooks, graph.operations)
        try:
            walked = walk(graph.operations, graph.dependencies, self._visit,
                          parallelism=self.parallelism, hooks=self._events,
                          stop=self.stop, lanes=quota_lanes(graph.operations),
                          closes_lane=lambda error: isinstance(error, QuotaError),
                          exclusive=exclusive, batches=batches)
        except ValueError as exc:
            raise PlanError(f"the changes cannot be ordered: {exc}") from None
        result.succeeded = list(walked.succeeded)
        result.failed = dict(walked.failed)
        result.skipped = dict(walked.skipped)
        result.not_started = list(walked.not_started)
        result.held = {op: _refused(walked.failed[cause]) for op, cause in walked.held.items()}
        self._record_outputs()
        # the results that did not wait for their save, and the whole state as the snapshot
        self.writer.compact()
        return result

    def _record_refresh(self) -> None:
        """Writes what refresh found before acting, so every operation starts from the truth."""
        def refresh(state: State) -> State:
            # Intents left by an interrupted run: this plan was made from what the cloud
            # holds now (objects they created are found by their natural keys), so they are done.
            for pending in state.pending_operations:
                state = state.without_pending(pending.op_id)
            # Resources the plan moved to new addresses (`moved:`) are recorded there first.
            moved = {c.moved_from: c.address for c in self.plan.changes
                     if c.moved_from is not None}
            if moved:
                state = renamed(state, moved)
            for drift in self.plan.drift:
                if drift.after is None:
                    state = state.without_resource(drift.address)
            # (an object deleted outside mtlsform is in the drift, so its record went above)
            records = []
            for change in self.plan.changes:
                local = RESOURCE_TYPES[change.address.type].local
                if change.deposed or local or change.unmanaged is not None:
                    continue
                if change.before is not None:
                    # A record keeps the dependencies it was made with until its change is
                    # applied: they name what the object still uses in the cloud, so that a
                    # delete of something it uses waits for it to move away (a listener's
                    # old client CA). An object found with no record takes the stack's.
                    recorded = state.get(change.address)
                    dependencies = (recorded.dependencies if recorded is not None
                                    else change.dependencies or None)
                    records.append(self.writer.record_of(state, change.address, change.before,
                                                         dependencies))
            return state.with_resources_put(records)  # one rebuild, not one per record

        self.writer.update(refresh)

    def _record_outputs(self) -> None:
        values = {}
        outputs = self.stack.outputs if self.plan.mode != "destroy" else {}
        for name, output in sorted(outputs.items()):
            value = resolve_output(output, self._lookup)
            if value is not None:
                values[name] = OutputValue(value=value, sensitive=False)
        self.writer.set_outputs(values)

    # --- one operation ---------------------------------------------------------------------

    def _visit(self, op: Operation) -> None:
        change = self._change(op)
        if op.phase == "apply":
            self._apply(op, change)
        else:
            self._delete(op, change)

    def _change(self, op: Operation) -> ResourceChange:
        return self._operations[op]

    def _context(self, op: Operation, op_id: str) -> ApplyContext:
        return ApplyContext(
            provider=self.provider, stack=self.stack, now=self.now,
            lookup=self._lookup,
            p12_password=self.p12_password, op_id=op_id,
            verify_rotation=self.verify_rotation, note=self.note,
            seat=self._events.seats.get(op),
        )

    def _lookup(self, address: Address) -> Mapping[str, Any] | None:
        record = self.writer.state.get(address)
        return record.attributes if record is not None else None

    def _resolve(self, ref: Ref) -> Any:
        attrs = self._lookup(ref.address)
        if attrs is None or attrs.get(ref.attribute) is None:
            raise MtlsformError(f"{ref} is not known: {ref.address} was not applied")
        return attrs[ref.attribute]

    def _apply(self, op: Operation, change: ResourceChange) -> None:
        rtype = RESOURCE_TYPES[op.address.type]
        values = evaluate(change.config or {}, self._resolve)
        if contains_unknown(values):
            raise MtlsformError(f"internal: {op.address} still has unknown values at apply")
        op_id = uuid.uuid4().hex
        ctx = self._context(op, op_id)
        deps = tuple(change.dependencies)
        if change.action is Action.UPDATE:
            prior = self._lookup(op.address) or {}
            with self.writer.intent(op_id, op.address, "update"):
                attrs = rtype.update(ctx, op.address, prior, values, change.changed)
            self.writer.record(op_id, op.address, attrs, deps)
            return
        if change.action is Action.REPLACE_CREATE_FIRST and not rtype.local:
            key = self.writer.depose(op.address)
            if key:
                with self._lock:
                    self._deposed[op.address] = key
        with self.writer.intent(op_id, op.address, "create"):
            attrs = rtype.create(ctx, op.address, values)
        self.writer.record(op_id, op.address, attrs, deps)

    def _delete(self, op: Operation, change: ResourceChange) -> None:
        rtype = RESOURCE_TYPES[op.address.type]
        deposed = op.deposed or None
        if op.phase == "delete-old":
            with self._lock:
                deposed = self._deposed.get(op.address)
            if deposed is None:
                return  # nothing was in the cloud before the replacement
        record = self.writer.state.get(op.address, deposed)
        attrs = record.attributes if record is not None else (
            change.unmanaged if change.unmanaged is not None else change.before or {})
        current = self.writer.state.get(op.address) if deposed else None
        same_object = current is not None and current.attributes.get("id") == attrs.get("id")
        cascaded = op in self._cascaded
        if cascaded and record is None:
            return  # its parent's delete took it, and dropped its record with its own
        op_id = uuid.uuid4().hex
        along: list[Address] = []
        if change.action is not Action.FORGET and not cascaded and not same_object:
            with self.writer.intent(op_id, op.address, "delete"):
                rtype.delete(self._context(op, op_id), op.address, attrs)
            # What the delete took with it (a load balancer's listeners, rules, targets)
            # leaves the state with it: one update, not one per child.
            along = [child.address for child in self._graph.taken_along(op)]
        self.writer.remove(op_id, op.address, deposed, along)
