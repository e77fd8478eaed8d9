"""`plan --at DATE` plans as of another instant (issue 11, renewal you can see coming): a
server certificate inside its window is replaced with the reason "expires on <date> (N days
left, renew_before_days M)" in text, JSON and Markdown, with what must follow it (its upload,
the listener moved to it) and nothing else; `apply --at` does it on the emulator only; an
imported certificate, which mtlsform cannot renew, is a warning with its dates."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from tests.engine.conftest import edit

EXAMPLE = Path("stacks/example.yaml")
IMPORTED = Path("stacks/imported.yaml")
CLIENT = "    subject: {common_name: client-1}\n    validity_days: 365"


def _attributes(workdir: Path, stack: str, address: str) -> dict:
    state = json.loads((workdir / f"stacks/.mtlsform/{stack}.state.json").read_text())
    return next(r["attributes"] for r in state["resources"] if r["address"] == address)


def _expiry(workdir: Path, stack: str, name: str) -> datetime:
    text = _attributes(workdir, stack, f"certificate.{name}")["not_after"]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _applied_with_a_longer_lived_client(workdir: Path, cli) -> str:
    """The example applied, its client certificate valid for two years (so only the server
    certificate is due): the instant 10 days before the server certificate expires."""
    edit(workdir / EXAMPLE, CLIENT, CLIENT.replace("365", "730"))
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    return (_expiry(workdir, "example", "server") - timedelta(days=10)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_plan_at_a_date_in_the_servers_window_shows_its_renewal_and_only_what_follows(
        workdir, cli):
    at = _applied_with_a_longer_lived_client(workdir, cli)
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0  # nothing is due today
    expires = _expiry(workdir, "example", "server").strftime("%Y-%m-%dT%H:%M:%SZ")
    reason = f"expires on {expires} (10 days left, renew_before_days 30)"

    text = cli("plan", EXAMPLE, "--at", at, "--detailed-exitcode")
    assert text.code == 2, text.text
    assert "# certificate.server must be replaced" in text.out, text.out
    assert f"# ({reason})" in text.out, text.out
    assert "Plan: 2 to add, 1 to change, 2 to destroy." in text.out, text.out

    doc = json.loads(cli("plan", EXAMPLE, "--at", at, "--json").out)
    acted = {c["address"]: c for c in doc["resource_changes"]
             if c["change"]["actions"] != ["no-op"]}
    assert set(acted) == {"certificate.server", "ssl_certificate.server", "listener.https"}
    assert acted["certificate.server"]["action_reason"] == "replace_because_expiring"
    assert acted["certificate.server"]["action_detail"] == reason
    assert acted["certificate.server"]["change"]["actions"] == ["create", "delete"]
    assert acted["listener.https"]["change"]["actions"] == ["update"]

    markdown = cli("plan", EXAMPLE, "--at", at, "--format", "markdown")
    assert reason in markdown.out, markdown.out


def test_apply_at_renews_on_the_emulator_and_the_same_plan_then_has_nothing_to_do(workdir,
                                                                                   cli):
    at = _applied_with_a_longer_lived_client(workdir, cli)
    old = _attributes(workdir, "example", "ssl_certificate.server")["id"]
    applied = cli("apply", EXAMPLE, "--at", at, "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Apply complete! Resources: 2 added, 1 changed, 2 destroyed." in applied.err
    assert _attributes(workdir, "example", "ssl_certificate.server")["id"] != old
    assert cli("plan", EXAMPLE, "--at", at, "--detailed-exitcode").code == 0


def test_apply_at_is_refused_against_the_cloud(workdir, cli, monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDnotreallyused1")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "not-really-used-either")
    edit(workdir / EXAMPLE, "  kind: emulator ", "  kind: tencentcloud\n  endpoint: http://127.0.0.1:9\n#")
    refused = cli("apply", EXAMPLE, "--at", "2027-01-01", "--auto-approve")
    assert refused.code == 1, refused.text
    assert refused.err.splitlines() == [
        "error: apply --at runs against the emulator only: on the cloud it would renew "
        "certificates before they are due",
        "  hint: use `mtlsform plan --at DATE` to see what a later run will do"]


def test_an_imported_certificate_in_its_window_is_a_warning_with_its_dates(workdir, cli):
    assert cli("apply", IMPORTED, "--auto-approve").code == 0
    expires = _expiry(workdir, "imported", "bought")
    at = (expires - timedelta(days=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    message = (f"imported from certs/server.crt, so mtlsform cannot renew it: it expires on "
               f"{shown} (11 days left, renew_before_days 30); replace the files with a "
               "renewed certificate")
    text = cli("plan", IMPORTED, "--at", at)
    assert f"Warning: certificate.bought: {message}" in text.out.splitlines(), text.out
    doc = json.loads(cli("plan", IMPORTED, "--at", at, "--json").out)
    assert {"address": "certificate.bought", "message": message} in doc["warnings"]
    assert all(c["address"] != "certificate.bought" or c["change"]["actions"] == ["no-op"]
               for c in doc["resource_changes"])
    markdown = cli("plan", IMPORTED, "--at", at, "--format", "markdown").out
    assert f"> `certificate.bought`: {message}" in markdown
    assert "warnings" in json.loads(cli("plan", IMPORTED, "--json").out)
    assert json.loads(cli("plan", IMPORTED, "--json").out)["warnings"] == []


def test_a_bad_instant_is_one_message(workdir, cli):
    result = cli("plan", EXAMPLE, "--at", "soon")
    assert result.code == 1
    assert result.err.strip() == ("error: --at expects a date like 2027-01-15 or "
                                  "2027-01-15T08:00:00Z, not 'soon'")
