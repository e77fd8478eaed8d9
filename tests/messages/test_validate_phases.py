"""validate runs every phase it can: an error in one part hides no problem of another part,
and a part with an error of its own is not checked again into repeated or untrue errors."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import edit

EXAMPLE = "stacks/example.yaml"


def test_schema_reference_and_export_errors_are_reported_at_once(workdir: Path, cli):
    stack = workdir / EXAMPLE
    edit(stack, "rs-1: {instance: ins-rs1, port: 80, weight: 10}",
         "rs-1: {instance: ins-rs1, port: 80, weight: heavy}")
    edit(stack, "client_ca: ca}", "client_ca: nope}")
    edit(stack, "dir: out/client-1", "dir: ../../elsewhere")
    result = cli("validate", EXAMPLE)
    assert result.code == 1
    assert result.out + result.err == (
        "stacks/example.yaml:33:19: error: certificates.client.export.dir: '../../elsewhere' "
        "leads outside the stack's folder: the client's private key would be written outside "
        "stacks (hint: use a directory below the stack file, or set "
        "`outside_stack_folder: true` in this export to allow it (a reviewer then sees where "
        "the key goes))\n"
        "stacks/example.yaml:41:47: error: backends.rs-1.weight: expected an integer, got "
        "'heavy' (hint: remove the quotes)\n"
        "stacks/example.yaml:50:57: error: listeners.https.tls.client_ca: unknown certificate "
        "'nope' (hint: declare it under certificates:)\n"
        "stacks/example.yaml: invalid (3 errors)\n")


def test_a_certificate_with_its_own_error_is_not_checked_again(workdir: Path, cli):
    stack = workdir / "stacks/imported.yaml"
    edit(stack, "private_key: certs/server.key", "private_key: certs/missing.key")
    edit(stack, "dir: out/imported-client-1", "dir: /tmp/anywhere")
    edit(stack, "subject: {common_name: client-1}\n    key: ecdsa-p256",
         "subject: {common_name: client-1}\n    key: ecdsa-p999")
    result = cli("validate", "stacks/imported.yaml")
    lines = result.text.splitlines()
    # the client's key is wrong: its export is not checked into a second error of it
    assert [line.split(": error: ")[1].split(":")[0] for line in lines[:-1]] == [
        "certificates.bought.files.private_key", "certificates.client.key"]
    assert lines[-1] == "stacks/imported.yaml: invalid (2 errors)"
