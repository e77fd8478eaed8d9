"""Property tests: whatever arrives — validly signed calls with random parameters for random
actions, or junk methods, paths, headers and bodies — the answer is HTTP 200 with a well-formed
envelope, no handler fails with an internal error, nothing is printed, and the world stays
loadable and consistent."""

from __future__ import annotations

import http.client
import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlsform.emulator import Emulator, EmulatorConfig, worldfile
from mtlsform.emulator.clb_listeners import TCP_CLASS
from mtlsform.emulator.dispatch import ACTIONS
from mtlsform.emulator.params import Param
from mtlsform.emulator.world import WorldState
from tests.emulator import helpers, shapes
from tests.emulator.helpers import call, done, raw

SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
DOMAINS = st.sampled_from(["www.example.com", "api.example.com", "*.example.com", "a..b", ""])


def _seed(emu: Emulator, pki: dict) -> None:
    """A little of everything, so that random calls meet real objects."""
    clb, ssl = helpers.clb(emu), helpers.ssl(emu)
    svr = call(ssl, "UploadCertificate", CertificatePublicKey=pki["server"].cert,
               CertificatePrivateKey=pki["server"].key).CertificateId
    ca = call(ssl, "UploadCertificate", CertificatePublicKey=pki["ca"].cert,
              CertificateType="CA").CertificateId
    lb = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN").LoadBalancerIds[0]
    mutual = {"SSLMode": "MUTUAL", "CertId": svr, "CertCaId": ca}
    https = done(clb, "CreateListener", LoadBalancerId=lb, Ports=[443], Protocol="HTTPS",
                 Certificate=mutual).ListenerIds[0]
    done(clb, "CreateListener", LoadBalancerId=lb, Ports=[8443], Protocol="HTTPS", SniSwitch=1)
    done(clb, "CreateListener", LoadBalancerId=lb, Ports=[22], Protocol="TCP")
    loc = done(clb, "CreateRule", LoadBalancerId=lb, ListenerId=https,
               Rules=[{"Domain": "www.example.com", "Url": "/"}]).LocationIds[0]
    done(clb, "RegisterTargets", LoadBalancerId=lb, ListenerId=https, LocationId=loc,
         Targets=[{"InstanceId": "ins-rs1", "Port": 80}])


@pytest.fixture
def world_emu(tmp_path: Path, pki: dict) -> Iterator[Emulator]:
    config = EmulatorConfig(data_dir=tmp_path / "fuzz", task_delay=0, rate_limit=None)
    with Emulator(config) as emu:
        emu.pki = pki  # type: ignore[attr-defined]
        _seed(emu, pki)
        yield emu


def _ids(emu: Emulator) -> dict[str, list[str]]:
    snap = emu.world.snapshot()
    listeners = [lst for lb in snap.load_balancers.values() for lst in lb.listeners.values()]
    return {
        "lb": [*list(snap.load_balancers), "lb-00000000"],
        "lbl": [lst.listener_id for lst in listeners] + ["lbl-00000000"],
        "loc": [r for lst in listeners for r in lst.rules] + ["loc-00000000"],
        "cert": [*list(snap.certificates), "Abcd1234"],
        "ins": [*list(snap.instances), "ins-nothere"],
        "task": [*list(snap.tasks)[-5:], "no-such-task"],
    }


def _pick(draw: Any, pool: list[str], strict: bool) -> str:
    """One of a pool that changes as the world does; the draw itself never changes shape.

    The last entry of each pool is an ID that does not exist; strict draws avoid it."""
    usable = pool[:-1] if strict and len(pool) > 1 else pool
    return usable[draw(st.integers(0, 10**6)) % len(usable)]


def _string(draw: Any, name: str, param: Param, ids: dict[str, list[str]], strict: bool) -> str:
    pools = {"LoadBalancerId": "lb", "ListenerId": "lbl", "LocationId": "loc", "CertId": "cert",
             "CertCaId": "cert", "CertificateId": "cert", "InstanceId": "ins", "TaskId": "task"}
    if name in pools and (strict or draw(st.integers(0, 4)) != 4):  # small draws are favoured
        return _pick(draw, ids[pools[name]], strict)
    if param.choices and (strict or not draw(st.booleans())):
        return draw(st.sampled_from(param.choices))
    if name in ("Domain", "NewDomain", "NewDefaultServerDomain"):
        return draw(DOMAINS)
    if name in ("Url", "HttpCheckPath"):
        return draw(st.sampled_from(["/", "/a", "/b/c", "x", "~^/re"]))
    if name == "EniIp":
        return draw(st.sampled_from(["10.0.0.1", "10.0.0.2", "::1", "300.1.1.1"]))
    return draw(st.text(string.printable, max_size=10))


def _value(draw: Any, name: str, param: Param, ids: dict[str, list[str]], strict: bool,
           depth: int = 0) -> Any:
    if not strict and draw(st.integers(0, 24)) == 24:
        return draw(JSON)  # the wrong type now and then
    if param.kind == "str":
        return _string(draw, name, param, ids, strict)
    if param.kind == "int":
        low = param.min if param.min is not None else (0 if strict else -5)
        high = param.max if param.max is not None else 100000
        slack = 0 if strict else 2
        return draw(st.integers(low - slack, min(high + slack, low + 200000)))
    if param.kind == "bool":
        return draw(st.booleans())
    if param.kind == "list":
        assert param.item is not None
        most = min(param.max_items or 4, 3) if strict else min((param.max_items or 4) + 1, 6)
        size = draw(st.integers(1 if strict else 0, most))
        ids_for = {"LoadBalancerIds": "lb", "ListenerIds": "lbl", "LocationIds": "loc",
                   "CertIds": "cert"}
        if name in ids_for:
            return [_pick(draw, ids[ids_for[name]], strict) for _ in range(size)]
        return [_value(draw, name, param.item, ids, strict, depth + 1) for _ in range(size)]
    if param.kind == "model" and param.fields is not None and depth < 3:
        return _params(draw, dict(param.fields), ids, strict, depth + 1)
    return draw(st.dictionaries(st.text(max_size=5), JSON, max_size=2))


def _params(draw: Any, table: dict[str, Param], ids: dict[str, list[str]], strict: bool,
            depth: int = 0) -> dict[str, Any]:
    out = {}
    for name, param in table.items():
        wanted = param.required or draw(st.integers(0, 3)) == 0
        if wanted and (strict or not param.required or draw(st.integers(0, 14)) != 14):
            out[name] = _value(draw, name, param, ids, strict, depth)
    if not strict and draw(st.integers(0, 20)) == 20:
        out[draw(st.text(string.ascii_letters, min_size=1, max_size=8))] = draw(JSON)
    return out


def _assert_envelope(status: int, headers: dict[str, str], answer: Any) -> None:
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert isinstance(answer, dict) and set(answer) == {"Response"}
    response = answer["Response"]
    assert isinstance(response.get("RequestId"), str) and response["RequestId"]
    if "Error" in response:
        error = response["Error"]
        assert set(error) == {"Code", "Message"}
        assert isinstance(error["Code"], str) and error["Code"]
        assert isinstance(error["Message"], str) and error["Message"]
        assert error["Code"] != "InternalError", error


@SETTINGS
@given(data=st.data())
def test_signed_calls_with_random_parameters(world_emu: Emulator, data: Any) -> None:
    if not world_emu.world.snapshot().load_balancers:  # a random delete took everything
        _seed(world_emu, world_emu.pki)  # type: ignore[attr-defined]
    key = data.draw(st.sampled_from(sorted(ACTIONS)), label="action")
    action = ACTIONS[key]
    strict = data.draw(st.booleans(), label="mostly valid")
    params = _params(data.draw, dict(action.params), _ids(world_emu), strict)
    body = json.dumps(params)
    status, headers, answer = raw(world_emu, action.name, body, service=action.service)
    _assert_envelope(status, headers, answer)
    response = answer["Response"]
    if "Error" not in response:
        assert shapes.response_problems(action.service, action.name, answer) == []
    _assert_world_consistent(world_emu)


HEADER_NAMES = st.sampled_from(["X-TC-Action", "X-TC-Version", "X-TC-Region", "X-TC-Timestamp",
                                "Authorization", "Content-Type", "X-TC-Token",
                                "X-TC-Content-SHA256", "Content-Length", "X-TC-Language",
                                "Transfer-Encoding", "X-Junk"])
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                        max_size=40)


@SETTINGS
@given(method=st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS"]),
       path=st.sampled_from(["/", "/?Action=DescribeLoadBalancers&Version=2018-03-17",
                             "/x", "//", "/?a.0=1&a.b=2", "/?Signature=x&SecretId=y"]),
       headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=6),
       body=st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()),
       sign=st.booleans(),
       action=st.sampled_from(["DescribeLoadBalancers", "CreateListener", "UploadCertificate",
                               "Nope", ""]))
def test_junk_requests(world_emu: Emulator, method: str, path: str, headers: dict[str, str],
                       body: bytes, sign: bool, action: str) -> None:
    if sign:
        path_only, _, query = path.partition("?")
        headers = {k: v for k, v in headers.items()
                   if k not in ("Content-Length", "Transfer-Encoding")}
        status, got, answer = raw(world_emu, action or None, body, headers=headers,
                                  method=method, path=path_only, query=query)
    else:
        host, port = world_emu.endpoint.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            headers = {k: v for k, v in headers.items() if k != "Content-Length"}
            if "Transfer-Encoding" in headers:
                headers["Transfer-Encoding"] = "chunked"
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            status, got, answer = resp.status, dict(resp.getheaders()), json.loads(resp.read())
        finally:
            conn.close()
    _assert_envelope(status, got, answer)
    _assert_world_consistent(world_emu)


def _assert_world_consistent(emu: Emulator) -> None:
    stats = emu.stats()
    assert stats["internal_errors"] == [], stats["internal_errors"][-1]
    emu.wait_for_tasks()
    with emu.world.read() as live:  # no commit can slip in between the flush and the reads
        emu.world.flush()  # the background writer has saved the newest version
        saved = worldfile.load(emu.config.data_dir / worldfile.FILE_NAME)
        assert saved == live
    check_invariants(emu.world.snapshot())


def check_invariants(state: WorldState) -> None:
    """What must hold for any world the API can produce."""
    assert not state.pending_tasks()
    assert len({lb.vip for lb in state.load_balancers.values()}) == len(state.load_balancers)
    listener_ids: list[str] = []
    for lb in state.load_balancers.values():
        assert lb.status == 1 and len(lb.listeners) <= 50
        ports = [(lst.protocol in TCP_CLASS, lst.port) for lst in lb.listeners.values()]
        assert len(set(ports)) == len(ports)
        for lst in lb.listeners.values():
            listener_ids.append(lst.listener_id)
            assert len(lst.rules) <= 50
            assert not (lst.rules and not lst.is_l7) and not (lst.targets and lst.is_l7)
            if lst.certificate:
                assert not lst.sni_switch
                assert all(c in state.certificates for c in lst.certificate.cert_ids())
                assert state.certificates[lst.certificate.cert_id].cert_type == "SVR"
            pairs = [(d, r.url) for r in lst.rules.values() for d in (r.domains or [r.domain])]
            assert len(set(pairs)) == len(pairs)
            if lst.rules:
                assert len({r.domain for r in lst.rules.values() if r.default_server}) == 1
            for rule in lst.rules.values():
                assert len(rule.targets) <= 100
                assert (rule.certificate is not None) == bool(lst.sni_switch)
                if rule.certificate:
                    assert all(c in state.certificates for c in rule.certificate.cert_ids())
                if rule.certificate and rule.certificate.ssl_mode == "MUTUAL":
                    assert rule.certificate.cert_ca_id
            for target in [*lst.targets, *(t for r in lst.rules.values() for t in r.targets)]:
                assert 0 <= target.weight <= 100
                if target.instance_id:
                    assert state.instances[target.instance_id].private_ip == target.ip
    assert len(set(listener_ids)) == len(listener_ids)
