"""Client fleets in the loader: each name becomes an ordinary client certificate CA-NAME
(issued by its CA, common name NAME, its own export directory, the fleet's shared settings);
a names file must be a regular file within the size limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mtlsform.stack import load_stack
from mtlsform.stack.fleets import MAX_NAMES_FILE_BYTES

STACK = """version: 1
stack: fleet
certificates:
  ops:
    type: ca
    subject: {common_name: Ops CA}
    clients: CLIENTS
"""


def _load(tmp_path: Path, clients: str) -> tuple[object, list[str]]:
    path = tmp_path / "fleet.yaml"
    path.write_text(STACK.replace("CLIENTS", clients))
    stack, diagnostics = load_stack(path)
    return stack, [d.format().replace(str(tmp_path) + os.sep, "") for d in diagnostics]


def test_each_name_is_an_ordinary_client_certificate_with_the_shared_settings(tmp_path):
    (tmp_path / "names.txt").write_text("alice  # the first\n\n# none here\nbob\n")
    stack, messages = _load(tmp_path, "{names_file: names.txt, key: ecdsa-p256, "
                                      "validity_days: 5, renew_before_days: 2, "
                                      "export: {dir: 'out/{name}', pkcs12: true}}")
    assert messages == []
    assert stack is not None
    certs = stack.certificates  # type: ignore[attr-defined]
    assert sorted(certs) == ["ops", "ops-alice", "ops-bob"]
    bob = certs["ops-bob"]
    assert (bob.type, bob.issuer, bob.subject.common_name, bob.key) == (
        "client", "ops", "bob", "ecdsa-p256")
    assert (bob.validity_days, bob.renew_before_days) == (5, 2)
    assert (str(bob.export.dir), bob.export.pkcs12) == ("out/bob", True)


def test_a_list_of_names_takes_the_defaults(tmp_path):
    stack, messages = _load(tmp_path, "[alice]")
    assert messages == []
    alice = stack.certificates["ops-alice"]  # type: ignore[attr-defined]
    assert (str(alice.export.dir), alice.export.pkcs12, alice.validity_days) == (
        "clients/alice", False, 365)


def test_a_names_file_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    os.mkfifo(tmp_path / "names.fifo")  # opening it to read would block
    stack, messages = _load(tmp_path, "{names_file: names.fifo}")
    assert stack is None
    assert messages == ["fleet.yaml:7:27: error: certificates.ops.clients.names_file: cannot "
                        "read the names file names.fifo: not a regular file"]


def test_a_names_file_over_the_size_limit_is_refused(tmp_path):
    (tmp_path / "names.txt").write_bytes(b"a\n" * (MAX_NAMES_FILE_BYTES // 2 + 1))
    stack, messages = _load(tmp_path, "{names_file: names.txt}")
    assert stack is None
    assert messages == ["fleet.yaml:7:27: error: certificates.ops.clients.names_file: cannot "
                        "read the names file names.txt: it is larger than 1 MiB"]


@pytest.mark.parametrize("clients", ["{}", "{key: rsa-2048}"])
def test_a_block_without_names_says_what_to_give(tmp_path, clients):
    stack, messages = _load(tmp_path, clients)
    assert stack is None
    assert messages == ["fleet.yaml:7:14: error: certificates.ops.clients: give either names "
                        "or names_file (hint: `names: [alice, bob]`, or `names_file: "
                        "clients.txt` with one name a line)"]
