"""Adoption of what exists (issue 14, item 2): `mtlsform import` of every importable kind made
by hand through the SDK, its refusals, `import --generate` of a console-made CLB, and no silent
takeover of another stack's objects."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.engine.conftest import clb_made_by_hand, edit
from tests.engine.console import ConsoleClb, console_clb
from tests.engine.stacks import many_rules_stack, write
from tests.engine.test_plan_schema import valid as schema_valid

EXAMPLE = Path("stacks/example.yaml")
BROWN = Path("stacks/brown.yaml")


def _generated(workdir: Path, cli) -> tuple[ConsoleClb, list[list[str]], str]:
    """The console-made CLB, the stack generated for it (saved) and its import commands."""
    made = console_clb(workdir, EXAMPLE)
    result = cli("import", "--generate", made.lb_id, "--name", "brown", EXAMPLE)
    assert result.code == 0, result.text
    (workdir / BROWN).write_text(result.out)
    commands = [shlex.split(line.strip())[1:] for line in result.err.splitlines()
                if line.strip().startswith("mtlsform import ")]
    return made, commands, result.text


def _secret_free(text: str, made: ConsoleClb) -> None:
    assert "PRIVATE KEY" not in text
    for key in made.private_keys:
        assert key.splitlines()[1] not in text


def _cloud(workdir: Path) -> dict:
    world = json.loads((workdir / "stacks/.mtlsform/emulator/world.json").read_text())["world"]
    return {k: v for k, v in world.items() if k != "version"}


def _state(workdir: Path, name: str = "brown") -> dict:
    return json.loads((workdir / f"stacks/.mtlsform/{name}.state.json").read_text())


def test_generate_gives_a_stack_that_plans_as_a_no_op_after_its_imports(workdir, cli):
    made, commands, generated = _generated(workdir, cli)
    text = (workdir / BROWN).read_text()
    assert f"id: {made.lb_id}" in text and "sni: true" in text and "sni: false" in text
    kinds = sorted({c[2].split(".")[0] for c in commands})
    assert kinds == ["listener", "load_balancer", "rule", "ssl_certificate", "target"]
    assert len(commands) == 1 + 2 + 3 + 4 + 3  # CLB, listeners, rules, targets, uploads
    assert all(f"#   mtlsform {shlex.join(c)}" in text for c in commands)
    valid = cli("validate", BROWN)
    assert valid.code == 0, valid.text

    # Before the imports the plan changes nothing but says what it would start managing.
    before = cli("plan", BROWN, "--json")
    assert before.code == 0, before.text
    document = schema_valid(before.out)  # plan.schema.json holds change.importing
    importing = {c["address"]: c["change"]["importing"]["id"]
                 for c in document["resource_changes"] if "importing" in c["change"]}
    assert len(importing) == 2 + 3 + 4
    assert importing["listener.sni-8443"] == f"{made.lb_id}#{made.listeners[8443]}"
    assert document["has_changes"] is True
    assert all(c["change"]["actions"] == ["no-op"] for c in document["resource_changes"]), [
        (c["address"], c["change"]) for c in document["resource_changes"]
        if c["change"]["actions"] != ["no-op"]]
    markdown = cli("plan", BROWN, "--format", "markdown")
    assert "will be imported" in markdown.out and "9 to import" in markdown.out

    outputs = [generated, before.text, markdown.text]
    for command in commands:
        done = cli(*command)
        assert done.code == 0, done.text
        assert "Run `mtlsform plan stacks/brown.yaml` to see what still differs" in done.out
        outputs.append(done.text)
    recorded = {r["address"] for r in _state(workdir)["resources"]}
    assert len(recorded) == len(commands)
    after = cli("plan", BROWN, "--detailed-exitcode")
    assert after.code == 0, after.text
    assert "No changes. The cloud matches stacks/brown.yaml." in after.out
    # The uploads are referenced by ID: their expiry comes from the SSL service, and they
    # are inside their window (30 days, renew_before_days 30), so the plan warns.
    assert f"certificate {made.server_cert} is referenced by its ID, so mtlsform cannot " \
        "renew it" in after.out
    as_json = cli("plan", BROWN, "--json")
    warned = json.loads(as_json.out)["warnings"]
    assert {w["address"] for w in warned} == {f"ssl_certificate.cert-{made.server_cert}",
                                              f"ssl_certificate.cert-{made.api_cert}"}
    # verify cannot compare what is presented with a PEM it does not have: it says so
    verified = cli("verify", BROWN)
    assert f"certificate cert-{made.server_cert} is referenced by its ID ({made.server_cert})" \
        in verified.out, verified.text
    assert verified.code == 0 and "the state records no server certificate" not in verified.out
    outputs += [after.text, as_json.text, cli("show", BROWN, "--json").text, verified.text]
    for text in outputs:
        _secret_free(text, made)


def _refused(workdir: Path, cli, cases: list[tuple[str, str, str]]) -> None:
    """Each import is refused with its message, exit 1, no traceback, nothing recorded."""
    serial = _state(workdir)["serial"] if (workdir / "stacks/.mtlsform/brown.state.json"
                                           ).exists() else None
    for address, ident, message in cases:
        result = cli("import", BROWN, address, ident)
        assert result.code == 1, (address, ident, result.text)
        assert message in result.err, (address, ident, result.err)
        assert "Traceback" not in result.text and "hint:" in result.err, result.err
    if serial is not None:
        assert _state(workdir)["serial"] == serial


def test_import_refuses_a_wrong_kind_a_mismatch_and_a_second_record(workdir, cli):
    made, commands, _ = _generated(workdir, cli)
    by_address = {c[2]: c[3] for c in commands}
    lb, web, sni = made.lb_id, made.listeners[443], made.listeners[8443]
    root = made.rules["443 www.example.com /"]
    api = made.rules["443 www.example.com /api"]
    ca = f"ssl_certificate.ca-{made.ca_cert}"
    rule = 'rule.web-443["www.example.com/"]'
    target = 'target.web-443["www.example.com/"].ins-rs1-80'
    _refused(workdir, cli, [
        ("load_balancer.web", f"{lb}#{web}", "is not the ID of a load balancer"),
        ("load_balancer.web", "lb-00000000", "there is no load balancer lb-00000000"),
    ])
    local = cli("import", EXAMPLE, "certificate.ca", made.ca_cert)
    assert local.code == 1 and "certificate.ca: a certificate is local material" in local.err
    generated = cli("import", EXAMPLE, "ssl_certificate.ca", made.ca_cert)
    assert generated.code == 1 and "certificates.ca is made by mtlsform" in generated.err
    assert f"{{type: ca, id: {made.ca_cert}}}" in generated.err
    # A CLB made by hand imported where the stack owns one: checked, recorded, then renamed.
    by_hand = clb_made_by_hand(workdir, EXAMPLE)
    edit(workdir / EXAMPLE, "network: public", "network: private\n    vpc_id: vpc-0a1b2c3d\n"
         "    subnet_id: subnet-0a1b2c3d")
    private = cli("import", EXAMPLE, "load_balancer.web", by_hand)
    assert private.code == 1 and f"load balancer {by_hand} is public, but the stack declares " \
        "a private one" in private.err
    edit(workdir / EXAMPLE, "network: private\n    vpc_id: vpc-0a1b2c3d\n"
         "    subnet_id: subnet-0a1b2c3d", "network: public")
    assert cli("import", EXAMPLE, "load_balancer.web", by_hand).code == 0
    renamed = cli("plan", EXAMPLE)
    assert renamed.code == 0, renamed.text
    assert "# load_balancer.web will be updated in place" in renamed.out
    assert re.search(r"~ name += \"made-by-hand\" -> \"example-clb\"", renamed.out)
    assert cli("import", BROWN, "load_balancer.web", lb).code == 0
    _refused(workdir, cli, [
        ("listener.web-443", lb, "is not the ID of a listener"),
        ("listener.web-443", f"{lb}#{sni}",
         f"listener {sni} is HTTPS:8443, but the stack declares HTTPS:443"),
        ("listener.web-443", f"lb-00000000#{web}",
         "the stack puts this listener on load_balancer.web"),
        ("listener.web-443", f"{lb}#lbl-00000000", f"{lb} has no listener lbl-00000000"),
        (rule, f"{lb}#{web}#{root}", "its listener listener.web-443 is not in the state"),
        (ca, made.server_cert, f"references certificate {made.ca_cert} at this address"),
        ("listener.nowhere", f"{lb}#{web}", "listener.nowhere is not declared"),
        ("certificate.ca", "abc", "certificate.ca is not declared"),
        ("load_balancer.web", lb, "is already in the state"),
    ])
    assert cli("import", BROWN, "listener.web-443", f"{lb}#{web}").code == 0
    _refused(workdir, cli, [
        (rule, f"{lb}#{web}#{api}",
         f"rule {api} is for www.example.com/api, but the stack declares www.example.com/"),
        (rule, f"{lb}#{sni}#{root}", "it belongs to listener.web-443"),
        (target, f"{lb}#{web}#{root}", 'its rule rule.web-443["www.example.com/"] is not'),
        ("listener.sni-8443", f"{lb}#{web}", f"listener {web} is HTTPS:443, but the stack "
                                             "declares HTTPS:8443"),
    ])
    assert cli("import", BROWN, rule, f"{lb}#{web}#{root}").code == 0
    # A backend the stack binds that the console did not bind there.
    edit(workdir / BROWN, "backends: [ins-rs1-80, ins-rs2-80]",
         "backends: [ins-rs1-80, ins-rs2-80, ins-rs1-81]")
    _refused(workdir, cli, [
        (target, f"{lb}#{web}#{root}#ins-rs2:80",
         "the stack binds backend ins-rs1-80 (ins-rs1:80) at this address, not ins-rs2:80"),
        ('target.web-443["www.example.com/"].ins-rs1-81', f"{lb}#{web}#{root}",
         f"backend ins-rs1-81 (ins-rs1:81) is not bound to rule {root}"),
    ])
    assert cli("import", BROWN, target, f"{lb}#{web}#{root}").code == 0
    # A certificate of the wrong type: the stack's CA names the server upload.
    edit(workdir / BROWN, f"{{type: ca, id: {made.ca_cert}}}",
         f"{{type: ca, id: {made.server_cert}}}")
    _refused(workdir, cli, [(ca, made.server_cert, f"certificate {made.server_cert} is a "
                             "server certificate, but the stack uses it as a CA certificate")])
    planned = cli("plan", BROWN)
    assert planned.code == 1 and "is a server certificate, but the stack uses it as a CA" \
        in planned.err
    assert by_address[f"ssl_certificate.cert-{made.server_cert}"] == made.server_cert


def test_a_second_stack_cannot_take_over_the_listener_of_another(workdir, cli):
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    example = _state(workdir, "example")
    lb_id = next(r["attributes"]["id"] for r in example["resources"]
                 if r["address"] == "load_balancer.web")
    text = (workdir / EXAMPLE).read_text().replace("stack: example", "stack: second").replace(
        "    name: example-clb          # created and owned by the stack\n    network: public",
        f"    id: {lb_id}")
    second = write(workdir / "stacks", "second.yaml", text)
    world = _cloud(workdir)
    for args in (("plan", second), ("plan", second, "--json"),
                 ("plan", second, "--format", "markdown"), ("apply", second, "--auto-approve")):
        refused = cli(*args)
        assert refused.code == 1, refused.text
        assert "the stack 'second' declares 4 objects that another stack manages" in refused.err
        assert "listener.https" in refused.err and "managed by stack 'example' (the tag " \
            f"mtlsform:stack=example on load balancer {lb_id})" in refused.err
        assert "Traceback" not in refused.text and "PRIVATE KEY" not in refused.text
    assert _cloud(workdir) == world
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    # Handed over explicitly: the import names the owner it takes the listener from.
    listener = next(r["attributes"] for r in example["resources"]
                    if r["address"] == "listener.https")
    handed = cli("import", second, "listener.https", f"{lb_id}#{listener['id']}")
    assert handed.code == 0, handed.text
    assert "It was managed by stack 'example' (the tag mtlsform:stack=example on load " \
        f"balancer {lb_id}): it is handed over to stack 'second'" in handed.out


def test_two_stacks_share_an_adopted_clb_with_a_listener_each(workdir, cli):
    lb_id = clb_made_by_hand(workdir, EXAMPLE)
    alpha = write(workdir / "stacks", "alpha.yaml",
                  many_rules_stack(1, 1, name="alpha", adopt=lb_id))
    beta_text = many_rules_stack(1, 1, name="beta", adopt=lb_id).replace(
        "Many Test CA", "Beta Test CA")
    beta = write(workdir / "stacks", "beta.yaml", beta_text.replace("port: 8000", "port: 9000"))
    assert cli("apply", alpha, "--auto-approve").code == 0
    assert cli("apply", beta, "--auto-approve").code == 0
    for stack in (alpha, beta):
        again = cli("plan", stack, "--detailed-exitcode")
        assert again.code == 0, again.text
    # The console CLB carries no tags: a third stack's listener on alpha's port (with alpha's
    # listener name) is alpha's by the tags of the certificates it presents.
    taking = write(workdir / "stacks", "gamma.yaml", beta_text.replace("stack: beta",
                                                                       "stack: gamma"))
    refused = cli("plan", taking)
    assert refused.code == 1, refused.text
    assert "managed by stack 'alpha' (its certificate" in refused.err
    assert "carries the tag mtlsform:stack=alpha" in refused.err
    assert cli("plan", alpha, "--detailed-exitcode").code == 0


def test_certificates_referenced_by_id(workdir, cli):
    made = console_clb(workdir, EXAMPLE)
    text = (workdir / EXAMPLE).read_text()
    text = text.replace("stack: example", "stack: byid").replace(
        "  ca:\n    type: ca\n    subject: {common_name: Example Root CA, organization: "
        "Example Ltd}\n    key: rsa-2048\n    validity_days: 3650\n",
        f"  ca: {{type: ca, id: {made.ca_cert}}}\n  issuing:\n    type: ca\n    subject: "
        "{common_name: Issuing CA}\n").replace(
        "  server:\n    type: server\n    issuer: ca\n    subject: {common_name: "
        "\"${var.domain}\"}\n    dns_names: [\"${var.domain}\"]\n    validity_days: 365\n"
        "    renew_before_days: 30\n", f"  server: {{type: server, id: {made.server_cert}, "
        "renew_before_days: 10}\n").replace("    issuer: ca\n    subject: {common_name: "
                                            "client-1}", "    issuer: issuing\n    subject: "
                                            "{common_name: client-1}")
    stack = write(workdir / "stacks", "byid.yaml", text)
    applied = cli("apply", stack, "--auto-approve")
    assert applied.code == 0, applied.text
    state = _state(workdir, "byid")
    uploads = {r["address"]: r["attributes"] for r in state["resources"]
               if r["address"].startswith("ssl_certificate.")}
    assert uploads["ssl_certificate.server"]["id"] == made.server_cert
    assert uploads["ssl_certificate.server"]["existing"] is True
    assert uploads["ssl_certificate.server"]["not_after"].endswith("Z")
    assert "certificate.server" not in {r["address"] for r in state["resources"]}
    quiet = cli("plan", stack, "--detailed-exitcode")
    assert quiet.code == 0 and "cannot renew" not in quiet.out, quiet.text
    soon = (datetime.now(UTC) + timedelta(days=25)).date().isoformat()
    warned = cli("plan", stack, "--at", soon)
    assert f"certificate {made.server_cert} is referenced by its ID, so mtlsform cannot renew " \
        "it" in warned.out, warned.text
    status = json.loads(cli("certs", "status", stack, "--json").out)
    rows = {row["name"]: row for row in status["certificates"]}
    assert rows["server"]["source"] == "existing" and rows["server"]["days_left"] in (28, 29)
    destroyed = cli("destroy", stack, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    again = cli("apply", stack, "--auto-approve")  # the uploads stayed in the SSL service
    assert again.code == 0, again.text
    # What cannot be: a CA referenced by ID cannot issue; generation fields beside an ID.
    edit(stack, "issuer: issuing", "issuer: ca")
    edit(stack, f"{{type: server, id: {made.server_cert},", f"{{type: server, id: "
         f"{made.server_cert}, key: rsa-2048,")
    invalid = cli("validate", stack)
    assert invalid.code == 1
    assert "'ca' is referenced by its ID in the SSL service, so its private key is not here" \
        in invalid.out + invalid.err
    assert "key cannot be set on a certificate referenced by its ID" in invalid.text
