"""Which backend answered, and whether answers are spread over the backends as the weights say.

Backends identify themselves by an `X-Backend-Instance` header (the CVM instance ID), an
`X-Backend-Name` header, or a first body line that is a backend's name (the emulator's demo
instances do all three, and add `address: IP:PORT`, which tells apart two ports of one
instance). An answer that claims an identity matching no bound backend came from a backend that
is not bound to the rule.

Tolerances (`expected_range`):
- exact (the emulator's deterministic smooth weighted round robin): over any run of N
  consecutive requests, each backend's count stays less than 2 away from N * weight / total
  (its current weight stays within one total of zero, and a count moves by the change of the
  current weight divided by the total). So a count 2 or more away from the share is a wrong
  weight, and the check never fails a correct one.
- statistical (a real CLB: several nodes, each with its own round robin, other clients): the
  count of each backend is binomial(N, share); allowed is 3 standard deviations plus 1 either
  side (a correct deployment fails about 0.3 % of runs per backend; use a few hundred requests
  for a sharp check).
A backend with weight 0 must get nothing, in both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtlsform.verification.model import ExpectedBackend, Status, Tolerance
from mtlsform.verification.tlsprobe import HttpAnswer

INSTANCE_HEADER = "x-backend-instance"
NAME_HEADER = "x-backend-name"
EXACT_MARGIN = 2.0  # strictly less than this many requests from the share
STATISTICAL_SIGMAS = 3.0


@dataclass(frozen=True)
class Identity:
    """Which bound backend answered (`backend`), or the identity it claimed when it is not
    bound (`claim`); both None when the answer does not say."""

    backend: str | None = None
    claim: str | None = None

    @property
    def known(self) -> bool:
        return self.backend is not None or self.claim is not None


def _address_line(answer: HttpAnswer) -> tuple[str, int] | None:
    for line in answer.body[:4096].decode("utf-8", "replace").splitlines()[1:12]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "address":
            host, _, port = value.strip().rpartition(":")
            if port.isdigit():
                return host, int(port)
    return None


def identify(answer: HttpAnswer, backends: Sequence[ExpectedBackend]) -> Identity:
    """Which of `backends` sent `answer`, if it says."""
    instance = answer.header(INSTANCE_HEADER)
    name = answer.header(NAME_HEADER)
    address = _address_line(answer)
    if instance:
        found = [b for b in backends if b.instance_id == instance]
        if len(found) > 1 and address is not None:
            found = [b for b in found if b.port == address[1]]
        if found:
            return Identity(backend=found[0].name)
    if address is not None:
        found = [b for b in backends if b.ip == address[0] and b.port == address[1]]
        if found:
            return Identity(backend=found[0].name)
    if name:
        found = [b for b in backends if b.name == name]
        if found:
            return Identity(backend=found[0].name)
    if instance or name:
        claim = name or instance
        if instance and name and instance != name:
            claim = f"{name} (instance {instance})"
        return Identity(claim=claim)
    line = answer.first_line
    found = [b for b in backends if b.name == line]
    return Identity(backend=found[0].name) if found else Identity()


def expected_range(requests: int, weight: int, total: int, tolerance: Tolerance) -> tuple[int, int]:
    """The counts a backend may get out of `requests` with this weight (inclusive)."""
    if weight <= 0 or total <= 0:
        return (0, 0)
    share = requests * weight / total
    if tolerance == "exact":
        low = math.floor(share - EXACT_MARGIN) + 1
        high = math.ceil(share + EXACT_MARGIN) - 1
    else:
        p = weight / total
        margin = STATISTICAL_SIGMAS * math.sqrt(requests * p * (1 - p)) + 1
        low, high = math.ceil(share - margin), math.floor(share + margin)
    return (max(low, 0), min(high, requests))


def _weights(backends: Sequence[ExpectedBackend]) -> str:
    return ":".join(str(b.weight) for b in backends)


def assess(counts: Mapping[str, int], backends: Sequence[ExpectedBackend], requests: int,
           tolerance: Tolerance, scheduler: str) -> tuple[Status, str, dict[str, Any]]:
    """Whether `counts` (answers per bound backend, all `requests` identified) fit the weights."""
    total = sum(b.weight for b in backends)
    got = ", ".join(f"{b.name} {counts.get(b.name, 0)}" for b in backends)
    details: dict[str, Any] = {"counts": {b.name: counts.get(b.name, 0) for b in backends},
                     "weights": {b.name: b.weight for b in backends}, "requests": requests,
                     "tolerance": tolerance, "scheduler": scheduler}
    zero = [b for b in backends if b.weight == 0 and counts.get(b.name, 0)]
    if zero:
        text = "; ".join(f"{b.name} has weight 0 but answered {counts[b.name]} of {requests}"
                         for b in zero)
        return "fail", text, details
    if scheduler == "IP_HASH":
        served = [b for b in backends if counts.get(b.name, 0)]
        if len(served) == 1:
            return ("pass", f"IP_HASH: all {requests} answered by {served[0].name} (one client "
                    "address always maps to one backend)", details)
        return ("fail", f"IP_HASH should send one client to one backend, but {got} of "
                f"{requests} answered", details)
    ranges = {b.name: expected_range(requests, b.weight, total, tolerance) for b in backends}
    details["expected"] = {name: list(span) for name, span in ranges.items()}
    wrong = [b for b in backends if not ranges[b.name][0] <= counts.get(b.name, 0)
             <= ranges[b.name][1]]
    spans = ", ".join(_span(ranges[b.name]) for b in backends)
    how = "exact, smooth WRR" if tolerance == "exact" else "statistical"
    if wrong:
        problems = "; ".join(
            f"{b.name} (weight {b.weight}) answered {counts.get(b.name, 0)} of {requests}, "
            f"expected {_span(ranges[b.name])}" for b in wrong)
        return ("fail", f"{problems} (weights {_weights(backends)}, {how} tolerance)", details)
    return ("pass", f"{got} of {requests} (weights {_weights(backends)}: expected {spans}; "
            f"{how})", details)


def _span(span: tuple[int, int]) -> str:
    return str(span[0]) if span[0] == span[1] else f"{span[0]}-{span[1]}"
