"""Routing by host and URL over plain rule data."""

from mtlsform.emulator.dataplane.config import RouteConfig
from mtlsform.emulator.dataplane.routing import (
    RouteTable,
    host_without_port,
    match_domain,
    match_url,
)


def test_host_without_port():
    assert host_without_port("WWW.Example.com:8443") == "www.example.com"
    assert host_without_port("[::1]:443") == "::1"
    assert host_without_port("www.example.com.") == "www.example.com"


def test_domain_precedence_exact_then_leading_then_trailing_then_regex():
    patterns = ["~^www\\d+\\.example\\.com$", "www.example.*", "*.example.com",
                "*.api.example.com", "www.example.com"]
    assert match_domain(patterns, "WWW.EXAMPLE.COM") == "www.example.com"
    assert match_domain(patterns, "x.api.example.com") == "*.api.example.com"
    assert match_domain(patterns, "www7.example.com") == "*.example.com"
    assert match_domain(patterns, "www.example.org") == "www.example.*"
    assert match_domain(["~^www\\d+\\.example\\.org$"], "www7.example.org") is not None
    assert match_domain(patterns, "example.com") is None  # *.x does not match the bare name
    assert match_domain(["~[unclosed"], "anything") is None


def test_url_longest_prefix_exact_and_regex():
    urls = ["/", "/api", "/api/v2", "=/exact", "~\\.php$", "^~/static"]
    assert match_url(urls, "/api/v2/users?x=1") == "/api/v2"
    assert match_url(urls, "/apiary") == "/api"
    assert match_url(urls, "/exact") == "=/exact"
    assert match_url(urls, "/exact/more") == "/"
    assert match_url(urls, "/index.php") == "~\\.php$"  # regex beats a plain prefix (nginx)
    assert match_url(urls, "/static/x.php") == "^~/static"  # ^~ stops the regex search
    assert match_url(["/api"], "/other") is None
    assert match_url(["~*\\.JPG$"], "/a.jpg") == "~*\\.JPG$"


def _route(location: str, domains: tuple[str, ...], url: str = "/", default: bool = False):
    return RouteConfig(location, domains, url, default_server=default)


def test_route_table_default_domain_and_paths():
    table = RouteTable([
        _route("loc-www", ("www.example.com",)),
        _route("loc-api", ("www.example.com",), "/api"),
        _route("loc-other", ("other.example.com", "*.other.example.com"), default=True),
    ])
    assert table.route_for("www.example.com:443", "/api/x").location_id == "loc-api"
    assert table.route_for("www.example.com", "/").location_id == "loc-www"
    assert table.route_for("a.other.example.com", "/").location_id == "loc-other"
    # an unknown host goes to the default domain (DefaultServer)
    assert table.route_for("unknown.test", "/").location_id == "loc-other"
    assert table.route_for(None, "/").location_id == "loc-other"


def test_route_table_without_default_uses_first_domain_and_404_when_no_url():
    table = RouteTable([_route("loc-1", ("a.test",), "/only")])
    assert table.default_domain == "a.test"
    assert table.route_for("b.test", "/only/x").location_id == "loc-1"
    assert table.route_for("a.test", "/elsewhere") is None
    assert RouteTable([]).route_for("a.test", "/") is None
