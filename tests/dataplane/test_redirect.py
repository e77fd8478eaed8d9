"""A rule with a redirect answers 301/302/307 with the rewritten Location, over real HTTP
requests (http.client and curl) to the data plane driven by the emulator's world."""

from __future__ import annotations

import http.client
import subprocess

from mtlsform.emulator.dataplane.redirect import RedirectConfig
from mtlsform.emulator.world import Listener, Rewrite, Rule
from tests.dataplane.support import CURL, DOMAIN, eventually
from tests.dataplane.test_world import build_world


def test_location_keeps_the_host_and_takes_the_url_or_the_target_rule() -> None:
    plain = RedirectConfig(301, "https", 443, "/app")
    assert plain.location("www.example.com:80", "/x?y=1") == "https://www.example.com/app"
    taking = RedirectConfig(302, "https", 8443, "~^/re", take_url=True)
    assert taking.location("www.example.com", "/x?y=1") == "https://www.example.com:8443/x?y=1"
    assert RedirectConfig(307, "https", 443, "~^/re").location("a.test", "/") == "https://a.test/"


def _get(host: str, port: int, path: str, method: str = "GET") -> tuple[int, str | None]:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, headers={"Host": f"{DOMAIN}:80"})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        conn.close()


def test_the_http_listener_redirects_to_the_https_rule(site, pki, start_plane) -> None:
    world = build_world(site, pki)
    with world.transaction() as state:
        lb = state.load_balancers["lb-w1"]
        lb.listeners["lbl-http"] = Listener("lbl-http", "HTTP", 80, rules={
            "loc-h1": Rule("loc-h1", DOMAIN, "/",
                           rewrite=Rewrite("lbl-w1", "loc-w1", 301, take_url=False)),
            "loc-h2": Rule("loc-h2", DOMAIN, "/keep",
                           rewrite=Rewrite("lbl-w1", "loc-w1", 307, take_url=True)),
        })
    plane = start_plane(world)
    endpoint = plane.endpoint("lbl-http")
    where = (endpoint.host, endpoint.bound_port)
    assert _get(*where, "/some/page") == (301, f"https://{DOMAIN}/")
    assert _get(*where, "/keep/a?b=1", method="HEAD") == (307, f"https://{DOMAIN}/keep/a?b=1")
    assert CURL
    shown = subprocess.run([CURL, "-sS", "-o", "/dev/null", "--max-time", "10", "-w",
                            "%{http_code} %{redirect_url}", "--resolve",
                            f"{DOMAIN}:{endpoint.bound_port}:{endpoint.host}",
                            f"http://{DOMAIN}:{endpoint.bound_port}/"],
                           capture_output=True, text=True, timeout=30)
    assert shown.stdout == f"301 https://{DOMAIN}/"
    with world.transaction() as state:  # DeleteRewrite: the rule then forwards (no targets)
        rule = state.load_balancers["lb-w1"].listeners["lbl-http"].rules["loc-h1"]
        rule.rewrite = None
    eventually(lambda: _get(*where, "/")[0] != 301)
    assert _get(*where, "/")[1] is None
