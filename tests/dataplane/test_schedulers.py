"""Schedulers over plain data: exact nginx sequences, weights, health, ties, hashing."""

from collections import Counter

from mtlsform.emulator.dataplane.schedulers import (
    IpHash,
    LeastConnections,
    Peer,
    SmoothWeightedRoundRobin,
    ip_hash_key,
    make_scheduler,
)


def picks(scheduler, peers, n, **kwargs) -> list:
    return [scheduler.pick(peers, **kwargs) for _ in range(n)]


def test_smooth_wrr_matches_nginx_sequences():
    peers = [Peer("a", 5), Peer("b", 1), Peer("c", 1)]
    assert picks(SmoothWeightedRoundRobin(), peers, 7) == list("aabacaa")
    peers = [Peer("a", 4), Peer("b", 2), Peer("c", 1)]
    assert "".join(picks(SmoothWeightedRoundRobin(), peers, 14)) == "abacabaabacaba"


def test_smooth_wrr_equal_weights_alternate_and_3_to_1():
    assert picks(SmoothWeightedRoundRobin(), [Peer("rs1", 10), Peer("rs2", 10)], 4) == [
        "rs1", "rs2", "rs1", "rs2"]
    counts = Counter(picks(SmoothWeightedRoundRobin(), [Peer("rs1", 30), Peer("rs2", 10)], 40))
    assert counts == {"rs1": 30, "rs2": 10}


def test_weight_zero_and_down_peers_are_never_chosen():
    scheduler = SmoothWeightedRoundRobin()
    peers = [Peer("a", 0), Peer("b", 3, up=False), Peer("c", 1)]
    assert set(picks(scheduler, peers, 10)) == {"c"}
    assert scheduler.pick([Peer("a", 0), Peer("b", 1, up=False)]) is None
    assert scheduler.pick([]) is None


def test_smooth_wrr_keeps_its_state_across_weight_changes_and_retain_forgets():
    peers = [Peer("a", 1), Peer("b", 3)]
    kept, reset = SmoothWeightedRoundRobin(), SmoothWeightedRoundRobin()
    assert kept.pick(peers) == reset.pick(peers) == "b"  # now a=1, b=-1
    reset.retain({"a"})  # b was unbound: when bound again it starts from zero
    assert kept.pick(peers) == "a"
    assert reset.pick(peers) == "b"


def test_least_connections_prefers_fewest_per_weight_and_breaks_ties_by_wrr():
    scheduler = LeastConnections()
    peers = [Peer("a", 1), Peer("b", 1), Peer("c", 2)]
    # c has 2 connections for weight 2 (1 per unit), a has 2 (2 per unit), b has 1.
    assert scheduler.pick(peers, conns={"a": 2, "b": 1, "c": 2}) in {"b", "c"}
    assert scheduler.pick(peers, conns={"a": 2, "b": 2, "c": 2}) == "c"
    assert scheduler.pick(peers, conns={"a": 0, "b": 3, "c": 4}) == "a"
    # Ties (all idle) follow smooth WRR among the tied peers: weights 1, 1, 2.
    tied = picks(LeastConnections(), peers, 4, conns={})
    assert Counter(tied) == {"c": 2, "a": 1, "b": 1}
    assert scheduler.pick([Peer("a", 1, up=False)], conns={}) is None


def test_ip_hash_uses_the_slash_24_and_nginx_hash():
    assert ip_hash_key("192.168.1.10") == bytes([192, 168, 1])
    assert len(ip_hash_key("2001:db8::1")) == 16
    assert ip_hash_key("not an ip") is None
    scheduler = IpHash()
    peers = [Peer("a", 1), Peer("b", 1)]
    # nginx: 192.168.1.x hashes to 154 -> 154 % 2 = 0 -> a; 10.0.0.1 hashes to 2565 -> b.
    assert scheduler.pick(peers, client_ip="192.168.1.10") == "a"
    assert scheduler.pick(peers, client_ip="192.168.1.99") == "a"
    assert scheduler.pick(peers, client_ip="10.0.0.1") == "b"


def test_ip_hash_pins_every_loopback_client_to_one_peer():
    scheduler = IpHash()
    peers = [Peer("a", 1), Peer("b", 1), Peer("c", 1)]
    chosen = {scheduler.pick(peers, client_ip=f"127.0.0.{n}") for n in range(1, 60)}
    assert len(chosen) == 1


def test_ip_hash_honours_weights_and_rehashes_away_from_down_peers():
    scheduler = IpHash()
    peers = [Peer("a", 3), Peer("b", 1)]
    clients = [f"10.{x}.{y}.1" for x in range(20) for y in range(20)]
    counts = Counter(scheduler.pick(peers, client_ip=ip) for ip in clients)
    assert counts["a"] > 2 * counts["b"] > 0
    down = [Peer("a", 3, up=False), Peer("b", 1)]
    assert {scheduler.pick(down, client_ip=ip) for ip in clients} == {"b"}
    # clients already on b stay on b when a goes down (consistent mapping)
    on_b = [ip for ip in clients if scheduler.pick(peers, client_ip=ip) == "b"]
    assert all(scheduler.pick(down, client_ip=ip) == "b" for ip in on_b)
    assert scheduler.pick([Peer("a", 1, up=False)], client_ip="10.0.0.1") is None


def test_make_scheduler_by_clb_name():
    assert isinstance(make_scheduler("WRR"), SmoothWeightedRoundRobin)
    assert isinstance(make_scheduler("LEAST_CONN"), LeastConnections)
    assert isinstance(make_scheduler("IP_HASH"), IpHash)
