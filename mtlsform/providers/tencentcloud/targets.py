"""Target writes (RegisterTargets, DeregisterTargets, ModifyTargetWeight), combined per rule.

The engine binds each backend as a resource of its own, so a rule with ten backends arrives as
ten calls of one target each, all for one CLB, whose writes run one at a time. Calls of one
action for one rule (load balancer, listener, LocationId) that wait for the CLB's gate are
merged (`LoadBalancerLocks.combine`) into API calls of at most 20 targets, each with one task
wait. Actions, rules and CLBs are never mixed in one call. Every caller keeps its own outcome:

- a merged call refused for a reason one target can cause (a parameter error such as an unknown
  instance, the per-rule quota, a failed task) is sent again per caller, each with only its own
  targets, so one bad target fails only its own caller (each failed merged call costs one call
  more than not merging would have);
- any other failure (authentication, throttling or a busy CLB past the retry time, a task
  timeout, a network failure) would fail every caller alike: the callers of that call, and those
  whose targets were still to be sent, get it, and nothing more is sent.

A chunk refused because part of it is already done (a retried call whose first attempt went
through, an interrupted destroy) is re-read and only what is left is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mtlsform.errors import ProviderError
from mtlsform.providers.base import TargetSpec
from mtlsform.providers.tencentcloud import mapping
from mtlsform.providers.tencentcloud.errors import is_gone, is_retryable
from mtlsform.providers.tencentcloud.reads import Reader
from mtlsform.providers.tencentcloud.session import ApiSession
from mtlsform.providers.together import Seat

TARGET_BATCH = 20  # Register/Deregister/ModifyTargetWeight accept at most 20 targets a call

REGISTER = "RegisterTargets"
DEREGISTER = "DeregisterTargets"
MODIFY_WEIGHT = "ModifyTargetWeight"

# Errors that one target of a call can cause, and that sending the targets apart can avoid.
_ONE_TARGET_FAMILIES = frozenset({"InvalidParameter", "InvalidParameterValue",
                                  "MissingParameter", "LimitExceeded"})
_ONE_TARGET_CODES = frozenset({"FailedOperation", "TaskFailed"})

Chunk = list[tuple[int, TargetSpec]]  # (caller's index in the batch, target)
Where = tuple[str, str, str]  # load balancer, listener, rule (LocationId)

log = logging.getLogger("mtlsform.provider")


def one_target_may_cause(error: ProviderError) -> bool:
    """Whether a bad target could explain `error`, so that its siblings may succeed alone."""
    if is_gone(error) or is_retryable(error):
        return False  # the rule is gone, or the API stayed busy or unreachable: for everyone
    return (error.code in _ONE_TARGET_CODES
            or error.code.split(".", 1)[0] in _ONE_TARGET_FAMILIES)


def pack(orders: Sequence[Sequence[TargetSpec]], size: int = TARGET_BATCH) -> list[Chunk]:
    """The targets of all orders, in arrival order, in chunks of at most `size`.

    A server named a second time starts a new chunk: one call may not name it twice.
    """
    chunks: list[Chunk] = []
    current: Chunk = []
    keys: set[tuple[str, int]] = set()
    for index, order in enumerate(orders):
        for target in order:
            if len(current) == size or target.key in keys:
                chunks.append(current)
                current, keys = [], set()
            current.append((index, target))
            keys.add(target.key)
    if current:
        chunks.append(current)
    return chunks


def _clb() -> Any:
    from tencentcloud.clb.v20180317 import models

    return models


class TargetWriter:
    """Target writes of one provider; safe to call from many threads."""

    def __init__(self, session: ApiSession, reader: Reader) -> None:
        self._session = session
        self._reader = reader

    def write(self, action: str, load_balancer_id: str, listener_id: str, rule_id: str,
              targets: Sequence[TargetSpec], *, seat: Seat | None = None) -> None:
        """Returns when `targets` were written (with whichever siblings joined them); `seat`:
        the caller's place among the writes started with it (those still coming are waited
        for)."""
        order = list(targets)
        if not order:
            return
        where = (load_balancer_id, listener_id, rule_id)
        self._session.locks.combine(
            load_balancer_id, (action, listener_id, rule_id), order,
            lambda orders: self._run(action, where, orders),
            weight=len(order), capacity=TARGET_BATCH, seat=seat)

    def _run(self, action: str, where: Where,
             orders: list[list[TargetSpec]]) -> list[ProviderError | None]:
        """Writes the orders of one drained queue (the CLB's gate is held): one outcome each."""
        outcomes: list[ProviderError | None] = [None] * len(orders)
        chunks = pack(orders)
        for position, chunk in enumerate(chunks):
            live = [(i, t) for i, t in chunk if outcomes[i] is None]
            if not live:
                continue
            owners = list(dict.fromkeys(i for i, _ in live))
            log.debug("%s: %d targets of %d callers in one call (%s %s %s)", action, len(live),
                      len(owners), *where)
            try:
                self._send(action, where, [t for _, t in live])
                continue
            except ProviderError as error:
                if not one_target_may_cause(error):
                    unsent = [i for later in chunks[position:] for i, _ in later]
                    for i in unsent:
                        outcomes[i] = outcomes[i] or error
                    return outcomes
                if len(owners) == 1:
                    outcomes[owners[0]] = error
                    continue
                log.info("%s: %s for %d merged callers; sending each caller's targets alone",
                         action, error.code, len(owners))
            for owner in owners:
                try:
                    self._send(action, where, [t for i, t in live if i == owner])
                except ProviderError as error:
                    outcomes[owner] = error
        return outcomes

    def _request(self, action: str, where: Where, batch: Sequence[TargetSpec]) -> Any:
        load_balancer_id, listener_id, rule_id = where
        request = getattr(_clb(), f"{action}Request")()
        request.LoadBalancerId = load_balancer_id
        request.ListenerId = listener_id
        request.LocationId = rule_id
        weight = action != DEREGISTER
        request.Targets = [mapping.target_input(t, weight=weight) for t in batch]
        return request

    def _send(self, action: str, where: Where, batch: list[TargetSpec]) -> None:
        """One call of at most 20 targets and its task. Refused because part of it is already
        done: re-read the rule and send only what is left."""
        try:
            self._session.write_held(action, self._request(action, where, batch))
            return
        except ProviderError as error:
            if action == DEREGISTER and is_gone(error):
                return  # the rule, listener or CLB is gone, and its bindings with it
            ambiguous = {REGISTER: error.code == "InvalidParameterValue.Duplicate",
                         DEREGISTER: error.code == "InvalidParameter"}.get(action)
            if not ambiguous:
                raise
            bound = self._reader.rule_target_keys(*where)
            if action == REGISTER:
                left = [t for t in batch if bound is None or t.key not in bound]
            else:
                left = [t for t in batch if bound is not None and t.key in bound]
            if len(left) == len(batch):
                raise  # the refusal was about something else
        if left:
            self._session.write_held(action, self._request(action, where, left))
