"""Absence is positive: an answer that lacks its list, or holds fewer items than its
TotalCount, is an error and never reads as "deleted". The answers come through a real proxy
in front of the emulator that damages them, as a broken proxy or a partial outage would."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, EmulatorConfig
from mtlsform.errors import ProviderError
from mtlsform.providers import open_provider
from mtlsform.providers.base import ListenerSpec, LoadBalancerSpec, RuleSpec
from mtlsform.stack.model import ProviderConfig
from tests.providers.certs import make_pki

Damage = Callable[[str, dict[str, Any]], None]  # (action, Response) -> changes it in place


@contextmanager
def damaging_proxy(upstream: str, damage: Damage) -> Iterator[str]:
    host, port = upstream.split(":")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request("POST", self.path, body, dict(self.headers.items()))
            answer = json.loads(connection.getresponse().read())
            connection.close()
            damage(self.headers["X-TC-Action"], answer["Response"])
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(data_dir=tmp_path / "world", task_delay=0.01)) as emu:
        yield emu


def _drop(field: str, action: str) -> Damage:
    def damage(called: str, response: dict[str, Any]) -> None:
        if called == action:
            response.pop(field, None)
    return damage


def _truncate(field: str, action: str) -> Damage:
    def damage(called: str, response: dict[str, Any]) -> None:
        if called == action and response.get(field):
            response[field] = response[field][:-1]
    return damage


CASES = {
    "load balancers without their list": (_drop("LoadBalancerSet", "DescribeLoadBalancers"),
                                          "read_load_balancers"),
    "load balancers without TotalCount": (_drop("TotalCount", "DescribeLoadBalancers"),
                                          "read_load_balancers"),
    "a load balancer left out": (_truncate("LoadBalancerSet", "DescribeLoadBalancers"),
                                 "read_load_balancers"),
    "listeners without their list": (_drop("Listeners", "DescribeListeners"), "read_listeners"),
    "targets without their list": (_drop("Listeners", "DescribeTargets"), "read_listeners"),
    "certificates without their list": (_drop("Certificates", "DescribeCertificates"),
                                        "read_certificates"),
    "a certificate left out": (_truncate("Certificates", "DescribeCertificates"),
                               "read_certificates"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_answer_is_an_error_not_an_absence(case: str, emulator: Emulator,
                                                      tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "TENCENTCLOUD_SECRET_ID": DEFAULT_SECRET_ID,
           "TENCENTCLOUD_SECRET_KEY": DEFAULT_SECRET_KEY}
    direct = ProviderConfig(kind="tencentcloud", region="ap-guangzhou",
                            endpoint=f"http://{emulator.endpoint}")
    with open_provider(direct, emulator_data_dir=None, environ=env) as (provider, _):
        lb = provider.create_load_balancer(LoadBalancerSpec(name="kept")).id
        listener = provider.create_listener(lb, ListenerSpec(name="web", protocol="HTTP",
                                                             port=80))
        provider.create_rule(lb, listener, RuleSpec(domain="www.example.com", url="/"))
        cert = provider.upload_certificate("CA", make_pki().ca_pem, None, "ca").id
    damage, read = CASES[case]
    with damaging_proxy(emulator.endpoint, damage) as url:
        proxied = ProviderConfig(kind="tencentcloud", region="ap-guangzhou", endpoint=url)
        with open_provider(proxied, emulator_data_dir=None, environ=env) as (provider, _):
            argument = {"read_load_balancers": [lb], "read_listeners": lb,
                        "read_certificates": [cert]}[read]
            with pytest.raises(ProviderError) as caught:
                getattr(provider, read)(argument)
    assert caught.value.code == "IncompleteResponse"
    assert "nothing is read as deleted" in (caught.value.hint or "")
