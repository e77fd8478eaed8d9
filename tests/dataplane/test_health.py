"""Active health checks: a stopped backend is skipped, results are exposed, 502 and 503."""


from mtlsform.emulator.dataplane import ALIVE, CLOSE, DEAD, HealthCheckConfig
from tests.dataplane.pki import policy
from tests.dataplane.support import client_context, count_backends, eventually, https_request

FAST = HealthCheckConfig(interval=1, timeout=1, healthy_threshold=2, unhealthy_threshold=2,
                         path="/healthz", method="GET")
RS1 = ("lbl-main", "loc-main", "ins-rs1", 80)
RS2 = ("lbl-main", "loc-main", "ins-rs2", 80)


def requests(plane, pki, n):
    endpoint = plane.endpoint("lbl-main")
    context = client_context(pki.ca.cert_pem, pki.files("client"))
    return [https_request(endpoint.host, endpoint.bound_port, context=context) for _ in range(n)]


def test_a_stopped_backend_is_marked_dead_and_skipped_then_comes_back(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca), check=FAST))
    eventually(lambda: plane.target_health() == {RS1: ALIVE, RS2: ALIVE})
    assert count_backends(requests(plane, pki, 4)) == {"rs-1": 2, "rs-2": 2}

    plane.stop_instance("ins-rs2")
    # Until the check marks it down, a refused connection is retried on rs-1: nothing fails.
    assert {reply.status for reply in requests(plane, pki, 4)} == {200}
    eventually(lambda: plane.target_health()[RS2] == DEAD)
    replies = requests(plane, pki, 20)
    assert [reply.status for reply in replies] == [200] * 20
    assert count_backends(replies) == {"rs-1": 20}

    plane.start_instance("ins-rs2")
    eventually(lambda: plane.target_health()[RS2] == ALIVE)
    assert count_backends(requests(plane, pki, 4)) == {"rs-1": 2, "rs-2": 2}


def test_status_outside_the_http_code_bitmask_is_unhealthy_and_all_dead_gives_503(
        site, pki, start_plane):
    only_4xx = HealthCheckConfig(interval=1, timeout=1, healthy_threshold=2,
                                 unhealthy_threshold=2, http_code=8)
    plane = start_plane(site.config(policy(pki.server, pki.ca), check=only_4xx))
    eventually(lambda: set(plane.target_health().values()) == {DEAD})
    reply = requests(plane, pki, 1)[0]
    assert reply.status == 503
    assert "no healthy target (2 of 2 failed their health check)" in reply.body


def test_checks_off_report_close_and_a_down_target_gives_502(site, pki, start_plane):
    config = site.config(policy(pki.server, pki.ca))
    plane = start_plane(config)
    assert plane.target_health() == {RS1: CLOSE, RS2: CLOSE}
    plane.stop_instance("ins-rs1")
    plane.stop_instance("ins-rs2")
    reply = requests(plane, pki, 1)[0]
    assert reply.status == 502
    assert "no target of this rule accepted the connection (2 tried)" in reply.body


def test_zero_weights_give_503(site, pki, start_plane):
    plane = start_plane(site.config(policy(pki.server, pki.ca), weights=(0, 0)))
    reply = requests(plane, pki, 1)[0]
    assert reply.status == 503 and "every bound target has weight 0" in reply.body


def test_no_bound_target_gives_503(site, pki, start_plane):
    from dataclasses import replace

    config = site.config(policy(pki.server, pki.ca))
    listener = config.listeners[0]
    empty = replace(listener, routes=(replace(listener.routes[0], targets=()),))
    plane = start_plane(replace(config, listeners=(empty,)))
    reply = requests(plane, pki, 1)[0]
    assert reply.status == 503 and "no target is bound to this rule" in reply.body
    assert plane.target_health() == {}
