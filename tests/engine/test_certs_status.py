"""`mtlsform certs status STACK`: every certificate with where it is used, expiry and days left
as of now or `--at`, in text, JSON and the Prometheus text format (parsed here by
prometheus_client's own parser); exit 0 when all are outside their windows, 2 when any is
inside, expired or not applied, 1 on error (issue 11, monitoring)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.engine.conftest import edit

EXAMPLE = Path("stacks/example.yaml")


def _record(workdir: Path, address: str) -> dict:
    state = json.loads((workdir / "stacks/.mtlsform/example.state.json").read_text())
    return next(r["attributes"] for r in state["resources"] if r["address"] == address)


def _server_expiry(workdir: Path) -> datetime:
    text = _record(workdir, "certificate.server")["not_after"]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_status_in_text_says_what_each_certificate_is_and_where_it_is_used(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    result = cli("certs", "status", EXAMPLE)
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    server_id = _record(workdir, "ssl_certificate.server")["id"]
    assert lines[0].startswith("Certificates of stack example as of ")
    assert any(line.startswith("  server (server, generated): ok, expires ") and
               line.endswith("364 days left (window 30 days)") for line in lines), lines
    assert f"      uploaded as {server_id}" in lines
    assert "      - listener https: server certificate" in lines
    assert "      - listener https: client CA" in lines
    assert "      - issuer of client" in lines
    assert "      - exported to out/client-1" in lines
    assert lines[-1] == "All 3 certificates are outside their windows."
    assert "PRIVATE KEY" not in result.text


def test_status_at_a_date_inside_the_window_exits_2_in_every_format(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    at = (_server_expiry(workdir) - timedelta(days=10)).strftime("%Y-%m-%d")
    text = cli("certs", "status", EXAMPLE, "--at", at)
    assert text.code == 2, text.text
    assert text.out.splitlines()[-1] == "2 of 3 need attention: client, server."
    assert any(line.startswith("  server (server, generated): due, expires ")
               for line in text.out.splitlines())

    as_json = cli("certs", "status", EXAMPLE, "--at", at, "--json")
    assert as_json.code == 2
    doc = json.loads(as_json.out)
    assert doc["due"] is True and doc["at"] == f"{at}T00:00:00Z"
    by_name = {c["name"]: c for c in doc["certificates"]}
    assert by_name["server"]["status"] == "due" and by_name["ca"]["status"] == "ok"
    assert by_name["server"]["days_left"] in (9, 10)
    assert by_name["server"]["upload_id"] == _record(workdir, "ssl_certificate.server")["id"]

    prom = cli("certs", "status", EXAMPLE, "--at", at, "--format", "prometheus")
    assert prom.code == 2
    families = {f.name: f for f in text_string_to_metric_families(prom.out)}
    assert set(families) == {"mtlsform_certificate_not_after_seconds",
                             "mtlsform_certificate_days_left", "mtlsform_certificate_due"}
    assert all(f.type == "gauge" for f in families.values())
    due = {s.labels["name"]: s.value for s in families["mtlsform_certificate_due"].samples}
    assert due == {"ca": 0, "client": 1, "server": 1}
    sample = next(s for s in families["mtlsform_certificate_not_after_seconds"].samples
                  if s.labels["name"] == "server")
    assert sample.labels == {"stack": "example", "name": "server", "kind": "server",
                             "source": "generated"}
    assert sample.value == _server_expiry(workdir).timestamp()

    # --warn-days narrows or widens the window for every certificate
    assert cli("certs", "status", EXAMPLE, "--at", at, "--warn-days", "5").code == 0
    assert cli("certs", "status", EXAMPLE, "--warn-days", "400").code == 2


def test_status_reports_what_is_not_applied_and_expired(workdir, cli):
    fresh = cli("certs", "status", EXAMPLE)
    assert fresh.code == 2
    assert "  ca (ca, generated): not applied, expires -, - (window 30 days)" in fresh.out
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    later = (_server_expiry(workdir) + timedelta(days=1)).strftime("%Y-%m-%d")
    expired = cli("certs", "status", EXAMPLE, "--at", later, "--json")
    statuses = {c["name"]: c["status"] for c in json.loads(expired.out)["certificates"]}
    assert statuses == {"ca": "ok", "client": "expired", "server": "expired"}


def test_status_with_refresh_reports_an_upload_the_cloud_lost(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    assert cli("certs", "status", EXAMPLE, "--refresh").code == 0
    world_file = workdir / "stacks/.mtlsform/emulator/world.json"
    world = json.loads(world_file.read_text())
    server_id = _record(workdir, "ssl_certificate.server")["id"]
    # the listener is moved off and the upload deleted behind mtlsform's back
    for lb in world["world"]["load_balancers"].values():
        for listener in lb["listeners"].values():
            listener["certificate"] = None
    del world["world"]["certificates"][server_id]
    world_file.write_text(json.dumps(world))
    assert cli("certs", "status", EXAMPLE).code == 0  # the state alone cannot know
    refreshed = cli("certs", "status", EXAMPLE, "--refresh", "--json")
    assert refreshed.code == 2, refreshed.text
    statuses = {c["name"]: c["status"] for c in json.loads(refreshed.out)["certificates"]}
    assert statuses == {"ca": "ok", "client": "ok", "server": "upload missing"}


def test_status_refuses_bad_input_with_one_message(workdir, cli):
    for args, message in (
            (("--at", "next tuesday"), "error: --at expects a date like 2027-01-15 or "
                                       "2027-01-15T08:00:00Z, not 'next tuesday'"),
            (("--format", "yaml"), "error: --format 'yaml' is not text, json or prometheus"),
            (("--json", "--format", "prometheus"),
             "error: --json and --format prometheus ask for different outputs\n"
             "  hint: give one of them (--json is --format json)")):
        result = cli("certs", "status", EXAMPLE, *args)
        assert result.code == 1, result.text
        assert result.err.strip() == message, result.err
    edit(workdir / EXAMPLE, "version: 1", "version: 99")
    assert cli("certs", "status", EXAMPLE).code == 1


def test_now_is_the_default_instant(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    doc = json.loads(cli("certs", "status", EXAMPLE, "--json").out)
    at = datetime.fromisoformat(doc["at"].replace("Z", "+00:00"))
    assert abs(at - datetime.now(UTC)) < timedelta(hours=1)
