"""Uploads are ours only when they say so (issue 11, ownership and safe deletion):
- every upload carries the stack's ownership tags;
- an identical certificate someone else uploaded, which the SSL service hands back as
  `RepeatCertId`, is recorded as borrowed: used, shown as "will be forgotten" with the reason,
  and never deleted (it survives a destroy);
- an upload still bound to a load balancer outside the stack is not deleted: the run says
  where it is bound, keeps it in the state, and the next plan shows its deletion again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tencentcloud.clb.v20180317 import models as clb_models
from tencentcloud.ssl.v20191205 import models as ssl_models

from mtlsform.session import open_session
from tests.engine.conftest import clb_made_by_hand, edit, stack_at

IMPORTED = Path("stacks/imported.yaml")
EXAMPLE = Path("stacks/example.yaml")


def _world(workdir: Path) -> dict[str, Any]:
    world: dict[str, Any] = json.loads(
        (workdir / "stacks/.mtlsform/emulator/world.json").read_text())["world"]
    return world


def _state(workdir: Path, name: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(
        (workdir / f"stacks/.mtlsform/{name}.state.json").read_text())
    return state


def _record(workdir: Path, stack: str, address: str) -> dict[str, Any]:
    for record in _state(workdir, stack)["resources"]:
        if record["address"] == address and not record.get("deposed"):
            attributes: dict[str, Any] = record["attributes"]
            return attributes
    raise AssertionError(f"{address} is not in the state")


def _upload_by_hand(workdir: Path, stack: Path) -> str:
    """The stack's bought server certificate uploaded by someone else (no tags of ours)."""
    folder = workdir / "stacks/certs"
    with open_session(stack_at(workdir / stack), operation="setup") as session:
        ssl = session.provider_context.sdk_client("ssl")
        request = ssl_models.UploadCertificateRequest()
        request.CertificateType = "SVR"
        request.CertificatePublicKey = ((folder / "server.crt").read_text().strip() + "\n"
                                        + (folder / "ca.crt").read_text().strip())
        request.CertificatePrivateKey = (folder / "server.key").read_text().strip()
        request.Alias = "bought-by-the-shop-team"
        return str(ssl.UploadCertificate(request).CertificateId)


def test_uploads_carry_the_stacks_ownership_tags(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    for name in ("ca", "server"):
        cert_id = _record(workdir, "example", f"ssl_certificate.{name}")["id"]
        tags = {t["TagKey"]: t["TagValue"] for t in _world(workdir)["certificates"][cert_id]
                ["tags"]}
        assert tags == {"mtlsform:stack": "example",
                        "mtlsform:address": f"ssl_certificate.{name}"}


def test_someone_elses_identical_upload_is_borrowed_and_survives_a_destroy(workdir, cli):
    theirs = _upload_by_hand(workdir, IMPORTED)
    applied = cli("apply", IMPORTED, "--auto-approve")
    assert applied.code == 0, applied.text
    record = _record(workdir, "imported", "ssl_certificate.bought")
    assert record["id"] == theirs and record["borrowed"] is True
    assert cli("plan", IMPORTED, "--detailed-exitcode").code == 0  # borrowed is not drift

    planned = cli("plan", IMPORTED, "--destroy")
    assert planned.code == 0, planned.text
    assert "# ssl_certificate.bought will be forgotten" in planned.out, planned.out
    assert ("it is another owner's identical upload (the SSL service gave its ID): mtlsform "
            "stops using it and leaves it in place") in planned.out, planned.out
    as_json = cli("plan", IMPORTED, "--destroy", "--json")
    changes = {c["address"]: c for c in json.loads(as_json.out)["resource_changes"]}
    assert changes["ssl_certificate.bought"]["action_reason"] == "forget_because_borrowed"

    destroyed = cli("destroy", IMPORTED, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    world = _world(workdir)
    assert list(world["certificates"]) == [theirs]  # ours are gone, theirs stays
    assert world["certificates"][theirs]["alias"] == "bought-by-the-shop-team"


def _listener_by_hand(workdir: Path, stack: Path, lb_id: str, cert_id: str) -> None:
    """An HTTPS listener on a CLB outside the stack, serving the stack's upload."""
    with open_session(stack_at(workdir / stack), operation="setup") as session:
        clb = session.provider_context.sdk_client("clb")
        request = clb_models.CreateListenerRequest()
        request.LoadBalancerId = lb_id
        request.Ports = [8443]
        request.Protocol = "HTTPS"
        request.ListenerNames = ["borrowing"]
        certificate = clb_models.CertificateInput()
        certificate.SSLMode = "UNIDIRECTIONAL"
        certificate.CertId = cert_id
        request.Certificate = certificate
        clb.CreateListener(request)
        session.provider_context.emulator.wait_for_tasks()


def test_an_upload_bound_outside_the_stack_is_kept_and_the_run_says_where(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    server = _record(workdir, "example", "ssl_certificate.server")["id"]
    outside = clb_made_by_hand(workdir, EXAMPLE)
    _listener_by_hand(workdir, EXAMPLE, outside, server)

    destroyed = cli("destroy", EXAMPLE, "--auto-approve")
    assert destroyed.code == 1, destroyed.text
    assert (f"failed:  ssl_certificate.server (delete): DeleteCertificate: CertificateInUse: "
            f"certificate {server} is still bound to {outside} (made-by-hand): it was kept, "
            "and the next plan shows its deletion again") in destroyed.err, destroyed.err
    assert "Traceback" not in destroyed.text
    world = _world(workdir)
    assert server in world["certificates"]  # never pulled from under the other listener
    assert list(world["load_balancers"]) == [outside]  # the rest of the stack is gone
    assert _record(workdir, "example", "ssl_certificate.server")["id"] == server

    again = cli("plan", EXAMPLE, "--destroy")
    assert "# ssl_certificate.server will be destroyed" in again.out, again.out


def test_a_rotated_out_upload_bound_outside_waits_until_it_is_unbound(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    old = _record(workdir, "example", "ssl_certificate.server")["id"]
    outside = clb_made_by_hand(workdir, EXAMPLE)
    _listener_by_hand(workdir, EXAMPLE, outside, old)
    edit(workdir / EXAMPLE, 'dns_names: ["${var.domain}"]',
         'dns_names: ["${var.domain}", "api.example.com"]')

    rotated = cli("apply", EXAMPLE, "--auto-approve")
    assert rotated.code == 1, rotated.text
    assert f"certificate {old} is still bound to {outside} (made-by-hand)" in rotated.err
    new = _record(workdir, "example", "ssl_certificate.server")["id"]
    assert new != old
    listeners = _world(workdir)["load_balancers"][_record(workdir, "example",
                                                           "load_balancer.web")["id"]]
    assert [lst["certificate"]["cert_id"] for lst in listeners["listeners"].values()] == [new]
    deposed = [r for r in _state(workdir, "example")["resources"] if r.get("deposed")]
    assert [r["attributes"]["id"] for r in deposed] == [old]  # kept, and shown again:
    assert "# ssl_certificate.server (deposed " in cli("plan", EXAMPLE).out

    assert cli("destroy", EXAMPLE, "--auto-approve").code == 1  # still bound: still kept
    assert old in _world(workdir)["certificates"]


def test_a_replacement_shows_the_load_balancers_outside_the_stack_as_its_blast_radius(
        workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    old = _record(workdir, "example", "ssl_certificate.server")["id"]
    outside = clb_made_by_hand(workdir, EXAMPLE)
    _listener_by_hand(workdir, EXAMPLE, outside, old)
    message = (f"upload {old} is also bound to {outside} (made-by-hand), outside this stack: "
               "those are not moved to the new certificate, and the old upload is kept until "
               "nothing uses it")
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0  # nothing replaced: no word
    edit(workdir / EXAMPLE, 'dns_names: ["${var.domain}"]',
         'dns_names: ["${var.domain}", "api.example.com"]')
    planned = cli("plan", EXAMPLE)
    assert f"Warning: ssl_certificate.server: {message}" in planned.out.splitlines(), planned.out
    doc = json.loads(cli("plan", EXAMPLE, "--json").out)
    assert doc["warnings"] == [{"address": "ssl_certificate.server", "message": message}]
    assert "ssl_certificate.ca" not in json.dumps(doc["warnings"])  # the CA is not replaced
