"""Stopping never hangs and leaves nothing behind, whatever the checks and connections are doing.

The hang this guards against: Python 3.11's `asyncio.wait_for` loses a cancellation that
arrives in the loop step where the awaited probe finishes, so a health checker cancelled at
that moment went on to sleep its interval and probe again, and `DataPlane.stop()` waited for
it until its 30 s limit. The first test cancels the checks at every loop step of a probe's life
(deterministically: the loop runs the same steps each time), the others stop a data plane with
probes stuck on a backend that never answers, right after a listener was deleted through the
SDK, and while another thread applies the world. Every plane started with `start_plane` is also
checked for open sockets and pending tasks once stopped (the `no_leaks` fixture).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from dataclasses import replace

import pytest

from mtlsform.emulator.dataplane import (
    ALIVE,
    UNKNOWN,
    DataPlaneConfig,
    HealthCheckConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
)
from mtlsform.emulator.dataplane.health import HealthRegistry, ProbeSpec
from mtlsform.emulator.world import HealthCheck, Listener, Rule, Target
from tests.dataplane.pki import policy
from tests.dataplane.sdk import call, done
from tests.dataplane.support import (
    DOMAIN,
    SUBNET,
    Blackhole,
    client_context,
    eventually,
    https_request,
    new_address,
    sni_connection,
)
from tests.dataplane.test_world import build_world

KEY = ("lbl-x", "loc-x", "ins-x", 80)
# A probe stays in flight for good (never times out during a test, checks never repeat).
PATIENT = HealthCheckConfig(interval=60, timeout=60, healthy_threshold=1,
                            unhealthy_threshold=1, path="/healthz", method="GET")
STEPS = 40  # loop steps swept after the backend answered: past the probe's end every time


async def _close_after(steps: int, tls: ssl.SSLContext | None) -> tuple[bool, bool, int]:
    """Starts one checker against a backend that answers at once, waits until the answer is
    sent, lets the loop run `steps` steps, then closes the registry. Returns (closed, the
    answer was recorded before the close, checker tasks left running)."""
    answered = asyncio.Event()

    async def backend(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            answered.set()
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(backend, "127.0.0.1", 0, ssl=tls)
    recorded: list[str] = []
    registry = HealthRegistry(on_change=lambda key, status: recorded.append(status))
    check = replace(PATIENT, check_type="HTTPS" if tls else "HTTP")
    registry.reconcile({KEY: ProbeSpec("127.0.0.1", server.sockets[0].getsockname()[1],
                                       check, DOMAIN)})
    await answered.wait()
    for _ in range(steps):
        await asyncio.sleep(0)  # one loop step
    alive_before = ALIVE in recorded
    try:
        async with asyncio.timeout(5):  # a hang guard; closing takes a few steps
            await registry.close()
        closed = True
    except TimeoutError:
        closed = False
    left = [task for task in asyncio.all_tasks()
            if task.get_name().startswith("health-check") and not task.done()]
    server.close()
    await server.wait_closed()
    return closed, alive_before, len(left)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_closing_the_checks_at_every_step_of_a_probe_ends_them(scheme, pki, no_leaks):
    tls = None
    if scheme == "https":
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*pki.files("server"))
    outcomes = [asyncio.run(_close_after(steps, tls)) for steps in range(STEPS)]
    assert [steps for steps, (closed, _, left) in enumerate(outcomes)
            if not closed or left] == []
    # The sweep spans the probe's end: closed before its answer was recorded, then after.
    alive = [alive_before for _, alive_before, _ in outcomes]
    assert alive[0] is False and alive[-1] is True


def _ended(sock: socket.socket) -> bool:
    """Whether the other side closed or reset the connection (waits at most 5 s)."""
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:  # still in the listener's backlog when it closed
        return True
    finally:
        sock.close()


def _patient_site(vip: str, hole: Blackhole, rs1, pki) -> DataPlaneConfig:
    """One HTTPS listener, two rules probing a backend that never answers (HTTP and HTTPS
    checks), and rs-1 (a demo instance) in a third rule."""
    def rule(location_id: str, domain: str, check: HealthCheckConfig, target: TargetConfig):
        return RouteConfig(location_id, (domain,), "/", health_check=check, targets=(target,))

    hung = TargetConfig("hung", hole.address, hole.port, 10)
    routes = (
        rule("loc-http", "http.example.com", PATIENT, hung),
        rule("loc-https", "https.example.com", replace(PATIENT, check_type="HTTPS"), hung),
        rule("loc-rs1", DOMAIN, HealthCheckConfig(enabled=False),
             TargetConfig(rs1.instance_id, rs1.address, 80, 10)),
    )
    listener = ListenerConfig("lbl-main", "lb-main", vip, 443, tls=policy(pki.server, pki.ca),
                              routes=routes)
    return DataPlaneConfig(listeners=(listener,), instances=(rs1,))


def test_stop_with_probes_and_clients_waiting_on_silent_peers(site, pki, start_plane):
    hole = Blackhole(new_address(91))
    try:
        plane = start_plane(_patient_site(site.vip, hole, site.rs1, pki))
        eventually(lambda: hole.accept_pending() == 2)  # both probes are waiting for answers
        endpoint = plane.endpoint("lbl-main")
        # Clients too: one idle after a request, one that connected and sent nothing.
        context = client_context(pki.ca.cert_pem, pki.files("client"))
        idle = sni_connection(endpoint.host, endpoint.bound_port, context=context)
        assert https_request("", 0, connection=idle).backend == "rs-1"
        silent = socket.create_connection((endpoint.host, endpoint.bound_port), timeout=5)

        plane.stop()  # would raise TimeoutError if it waited for any of them

        assert hole.closed_by_peer() == 2
        assert _ended(silent)
        with pytest.raises((ConnectionError, ssl.SSLError)):
            https_request("", 0, connection=idle)
        idle.close()
        assert set(plane.target_health().values()) == {UNKNOWN}
    finally:
        hole.close()


def test_stop_right_after_a_listener_is_deleted_through_the_sdk(emulator, start_plane):
    emu, clb, _ = emulator
    hole = Blackhole(new_address(91))
    try:
        plane = start_plane(emu.world)
        vip = f"127.64.{SUBNET}.{(SUBNET * 13) % 250 + 1}"
        lb_id = done(clb, "CreateLoadBalancer", LoadBalancerType="OPEN",
                     Vip=vip).LoadBalancerIds[0]
        check = {"HealthSwitch": 1, "IntervalTime": 60, "TimeOut": 50, "HealthNum": 2,
                 "UnHealthNum": 2, "HttpCheckPath": "/healthz", "HttpCheckMethod": "GET"}
        listeners = []
        for port in (443, 8443):
            listener_id = done(clb, "CreateListener", LoadBalancerId=lb_id, Ports=[port],
                               Protocol="HTTP").ListenerIds[0]
            location_id = done(clb, "CreateRule", LoadBalancerId=lb_id,
                               ListenerId=listener_id, Rules=[{
                                   "Domain": DOMAIN, "Url": "/", "HealthCheck": check}]
                               ).LocationIds[0]
            done(clb, "RegisterTargets", LoadBalancerId=lb_id, ListenerId=listener_id,
                 LocationId=location_id, Targets=[{"InstanceId": "ins-rs1", "Port": 80},
                                                  {"EniIp": hole.address, "Port": hole.port}])
            listeners.append(listener_id)
        eventually(lambda: plane.applied_version == emu.world.version)
        eventually(lambda: hole.accept_pending() == 2)  # a probe in flight per listener

        done(clb, "DeleteListener", LoadBalancerId=lb_id, ListenerId=listeners[0])
        plane.stop()  # the plane may still be applying the deletion: it must not matter

        assert hole.closed_by_peer() == 2
        answer = call(clb, "DescribeTargetHealth", LoadBalancerIds=[lb_id])
        rules = [rule for listener in answer.LoadBalancers[0].Listeners
                 for rule in listener.Rules]
        assert [t.HealthStatusDetail for rule in rules for t in rule.Targets] == [UNKNOWN] * 2
    finally:
        hole.close()


def test_stop_while_another_thread_applies_the_world(site, pki, start_plane):
    world = build_world(site, pki, check=HealthCheck(interval=1, timeout=1))
    plane = start_plane(world)
    eventually(lambda: ALIVE in plane.target_health().values())
    failures: list[BaseException] = []
    synced = threading.Event()

    def churn() -> None:
        # Listeners (with checks) come and go; this thread applies each change itself, until
        # a sync applies nothing any more because the plane stopped.
        try:
            for _ in range(10_000):
                with world.transaction() as state:
                    listeners = state.load_balancers["lb-w1"].listeners
                    if "lbl-extra" in listeners:
                        del listeners["lbl-extra"]
                    else:
                        listeners["lbl-extra"] = Listener("lbl-extra", "HTTP", 8443, rules={
                            "loc-x": Rule("loc-x", DOMAIN, "/", health_check=HealthCheck(
                                interval=1, timeout=1), targets=[
                                Target("CVM", "ins-rs1", site.rs1.address, 80, 10)])})
                applied = plane.sync()
                synced.set()
                if applied != world.version:
                    return
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=churn)
    worker.start()
    synced.wait(10)
    plane.stop()
    worker.join(10)
    assert not worker.is_alive() and failures == []
    assert plane.sync() == plane.applied_version  # after stop: nothing applied, no error


def test_a_stopped_plane_serves_and_checks_again_when_started(site, pki, start_plane):
    fast = HealthCheckConfig(interval=1, timeout=1, healthy_threshold=1, unhealthy_threshold=1,
                             path="/healthz", method="GET")
    plane = start_plane(site.config(policy(pki.server, pki.ca), check=fast))
    eventually(lambda: set(plane.target_health().values()) == {ALIVE})
    plane.stop()
    assert set(plane.target_health().values()) == {UNKNOWN}
    plane.start()
    eventually(lambda: set(plane.target_health().values()) == {ALIVE})
    endpoint = plane.endpoint("lbl-main")
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    reply = https_request(endpoint.host, endpoint.bound_port, context=context)
    assert reply.status == 200
