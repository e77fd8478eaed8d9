"""Recognising backends and judging the spread: plain data in, verdicts out."""

from __future__ import annotations

import random

import pytest

from mtlsform.emulator.dataplane.schedulers import Peer, SmoothWeightedRoundRobin
from mtlsform.verification.model import ExpectedBackend
from mtlsform.verification.spread import Identity, assess, expected_range, identify
from mtlsform.verification.tlsprobe import HttpAnswer

RS1 = ExpectedBackend("rs-1", 10, 80, instance_id="ins-rs1")
RS2 = ExpectedBackend("rs-2", 10, 80, instance_id="ins-rs2")
API1 = ExpectedBackend("api-1", 10, 8080, instance_id="ins-rs1")
WEB1 = ExpectedBackend("web-1", 10, 80, instance_id="ins-rs1")
BY_IP = ExpectedBackend("shop-1", 10, 8080, ip="10.0.1.11")


def answer(body: str = "", **headers: str) -> HttpAnswer:
    return HttpAnswer(200, "OK", {k.replace("_", "-").lower(): v for k, v in headers.items()},
                      body.encode())


@pytest.mark.parametrize(("reply", "backends", "expected"), [
    # the emulator's demo instances: instance header, name header, name on the first line
    (answer("rs-1\naddress: 127.32.0.1:80\n", x_backend_instance="ins-rs1",
            x_backend_name="rs-1"), [RS1, RS2], Identity(backend="rs-1")),
    # a stack backend named differently from the instance (sni.yaml's api-1 on ins-rs1)
    (answer("rs-1\n", x_backend_instance="ins-rs1", x_backend_name="rs-1"), [API1],
     Identity(backend="api-1")),
    # one instance bound on two ports: the address line tells them apart
    (answer("rs-1\naddress: 127.32.0.1:8080\n", x_backend_instance="ins-rs1"), [WEB1, API1],
     Identity(backend="api-1")),
    # a backend by IP address
    (answer("shop\naddress: 10.0.1.11:8080\n"), [BY_IP], Identity(backend="shop-1")),
    # a server of your own that only sends X-Backend-Name
    (answer("<html>", x_backend_name="rs-2"), [RS1, RS2], Identity(backend="rs-2")),
    # only the first line
    (answer("rs-2\nwhatever"), [RS1, RS2], Identity(backend="rs-2")),
    # an instance that is not bound
    (answer("rs-3\n", x_backend_instance="ins-rs3", x_backend_name="rs-3"), [RS1, RS2],
     Identity(claim="rs-3 (instance ins-rs3)")),
    (answer("", x_backend_name="other"), [RS1], Identity(claim="other")),
    # a backend that does not say
    (answer("<!doctype html>\n"), [RS1, RS2], Identity()),
])
def test_identify(reply, backends, expected):
    assert identify(reply, backends) == expected


@pytest.mark.parametrize(("requests", "weight", "total", "tolerance", "expected"), [
    (20, 10, 20, "exact", (9, 11)),
    (20, 30, 40, "exact", (14, 16)),
    (20, 10, 40, "exact", (4, 6)),
    (20, 10, 30, "exact", (5, 8)),  # share 6.67: 5..8 are less than 2 away
    (40, 30, 40, "exact", (29, 31)),
    (20, 20, 20, "exact", (19, 20)),
    (20, 0, 20, "exact", (0, 0)),
    (20, 10, 20, "statistical", (3, 17)),  # 3 sd = 6.7, plus 1: 10 +- 7.7
    (400, 10, 20, "statistical", (169, 231)),
    (20, 0, 20, "statistical", (0, 0)),
])
def test_expected_range(requests, weight, total, tolerance, expected):
    assert expected_range(requests, weight, total, tolerance) == expected


def test_the_exact_tolerance_holds_for_every_window_of_smooth_wrr():
    """The claim the exact tolerance rests on, checked on the emulator's own scheduler: any run
    of N consecutive picks stays inside the range, whatever the weights."""
    rng = random.Random(7)
    for _ in range(300):
        weights = [rng.choice([0, 1, 2, 3, 5, 7, 10, 20, 30, 33, 50, 100])
                   for _ in range(rng.randint(2, 5))]
        if not any(weights):
            continue
        scheduler = SmoothWeightedRoundRobin()
        peers = [Peer(i, w) for i, w in enumerate(weights)]
        picks = [scheduler.pick(peers) for _ in range(250)]
        for n in (4, 20, 40):
            for start in range(0, len(picks) - n, 7):
                window = picks[start:start + n]
                for i, weight in enumerate(weights):
                    low, high = expected_range(n, weight, sum(weights), "exact")
                    assert low <= window.count(i) <= high, (weights, n, start)


def test_the_exact_tolerance_catches_a_wrong_weight():
    scheduler = SmoothWeightedRoundRobin()
    peers = [Peer("rs-1", 15), Peer("rs-2", 10)]  # deployed 15:10, the stack says 10:10
    picks = [scheduler.pick(peers) for _ in range(20)]
    counts = {name: picks.count(name) for name in ("rs-1", "rs-2")}
    status, reason, _ = assess(counts, [RS1, RS2], 20, "exact", "WRR")
    assert status == "fail"
    assert reason.startswith("rs-1 (weight 10) answered 12 of 20, expected 9-11")


def test_ip_hash_wants_one_backend():
    assert assess({"rs-1": 20}, [RS1, RS2], 20, "exact", "IP_HASH")[0] == "pass"
    status, reason, _ = assess({"rs-1": 10, "rs-2": 10}, [RS1, RS2], 20, "exact", "IP_HASH")
    assert status == "fail"
    assert reason == ("IP_HASH should send one client to one backend, but rs-1 10, rs-2 10 of 20 "
                      "answered")


def test_statistical_tolerance_accepts_noise_and_catches_a_gross_error():
    assert assess({"rs-1": 13, "rs-2": 7}, [RS1, RS2], 20, "statistical", "WRR")[0] == "pass"
    assert assess({"rs-1": 19, "rs-2": 1}, [RS1, RS2], 20, "statistical", "WRR")[0] == "fail"
