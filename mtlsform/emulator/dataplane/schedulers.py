"""Load-balancing schedulers (nginx's algorithms): smooth WRR, least connections, IP hash.

Each scheduler is a small stateful object with `pick(peers, ...)` over plain `Peer` values, so
it is tested with plain data. A peer with weight 0 is never chosen; a peer that is not `up`
(marked Dead by the health check) is skipped.

- Smooth weighted round robin (ngx_http_upstream_round_robin.c): every pick adds each eligible
  peer's weight to its current weight, takes the largest (first wins on ties) and subtracts
  the total from it. Weights {a:5, b:1, c:1} give `a a b a c a a`.
- Least connections (ngx_http_upstream_least_conn_module.c): the lowest conns/weight, compared
  by cross-multiplication; ties are broken by smooth WRR among the tied peers.
- IP hash (ngx_http_upstream_ip_hash_module.c): the first three octets of an IPv4 client (a whole
  /24 shares a peer) or all 16 bytes of IPv6, hashed `h = (h * 113 + byte) % 6271` from 89, then
  `h % total_weight` walks the weighted ring; an unavailable pick rehashes, and after 20 tries
  (or with fewer than two peers) it falls back to round robin.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

Key = Hashable


@dataclass(frozen=True)
class Peer:
    """A schedulable backend: an opaque key, its weight, and whether it may be chosen now."""

    key: Key
    weight: int
    up: bool = True

    @property
    def eligible(self) -> bool:
        return self.up and self.weight > 0


class SmoothWeightedRoundRobin:
    """nginx's smooth weighted round robin; remembers each peer's current weight."""

    name = "WRR"

    def __init__(self) -> None:
        self._current: dict[Key, int] = {}

    def pick(self, peers: Sequence[Peer], *, client_ip: str | None = None,
             conns: Mapping[Key, int] | None = None) -> Key | None:
        total = 0
        best: Key | None = None
        best_current = 0
        for peer in peers:
            if not peer.eligible:
                continue
            current = self._current.get(peer.key, 0) + peer.weight
            self._current[peer.key] = current
            total += peer.weight
            if best is None or current > best_current:
                best, best_current = peer.key, current
        if best is None:
            return None
        self._current[best] = best_current - total
        return best

    def retain(self, keys: set[Key]) -> None:
        """Forgets peers that are no longer bound (a re-added peer starts afresh)."""
        for key in list(self._current):
            if key not in keys:
                del self._current[key]


class LeastConnections:
    """The peer with the fewest active connections per unit of weight; ties by smooth WRR."""

    name = "LEAST_CONN"

    def __init__(self) -> None:
        self._tiebreak = SmoothWeightedRoundRobin()

    def pick(self, peers: Sequence[Peer], *, client_ip: str | None = None,
             conns: Mapping[Key, int] | None = None) -> Key | None:
        conns = conns or {}
        tied: list[Peer] = []
        best_conns, best_weight = 0, 1
        for peer in peers:
            if not peer.eligible:
                continue
            active = conns.get(peer.key, 0)
            if not tied or active * best_weight < best_conns * peer.weight:
                tied = [peer]
                best_conns, best_weight = active, peer.weight
            elif active * best_weight == best_conns * peer.weight:
                tied.append(peer)
        if not tied:
            return None
        if len(tied) == 1:
            return tied[0].key
        return self._tiebreak.pick(tied)

    def retain(self, keys: set[Key]) -> None:
        self._tiebreak.retain(keys)


MAX_HASH_TRIES = 20


def ip_hash_key(client_ip: str) -> bytes | None:
    """The bytes nginx hashes: three octets of IPv4, sixteen of IPv6 (None if unparsable)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    packed = address.packed
    return packed[:3] if len(packed) == 4 else packed


class IpHash:
    """nginx's weighted IP hash: a client /24 (IPv4) always lands on the same peer."""

    name = "IP_HASH"

    def __init__(self) -> None:
        self._fallback = SmoothWeightedRoundRobin()

    def pick(self, peers: Sequence[Peer], *, client_ip: str | None = None,
             conns: Mapping[Key, int] | None = None) -> Key | None:
        ring = [peer for peer in peers if peer.weight > 0]
        if not any(peer.up for peer in ring):
            return None
        key = ip_hash_key(client_ip) if client_ip else None
        if key is None or len(ring) < 2:
            return self._fallback.pick(ring)
        total = sum(peer.weight for peer in ring)
        hashed = 89
        for _ in range(MAX_HASH_TRIES):
            for byte in key:
                hashed = (hashed * 113 + byte) % 6271
            point = hashed % total
            for peer in ring:
                if point < peer.weight:
                    break
                point -= peer.weight
            if peer.up:
                return peer.key
        return self._fallback.pick(ring)

    def retain(self, keys: set[Key]) -> None:
        self._fallback.retain(keys)


Scheduler = SmoothWeightedRoundRobin | LeastConnections | IpHash


def make_scheduler(name: str) -> Scheduler:
    """The scheduler for a CLB `Scheduler` value (WRR, LEAST_CONN, IP_HASH; default WRR)."""
    if name == "LEAST_CONN":
        return LeastConnections()
    if name == "IP_HASH":
        return IpHash()
    return SmoothWeightedRoundRobin()
