"""`state migrate --to BACKEND`: the walk-through's state moved local -> pg -> cos -> local
comes back byte for byte, a plan after each step has nothing to do, both stores are locked
during the move, and the source is kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mtlsform.cli.backend_spec import parse_backend_spec
from mtlsform.errors import InputError, StateError, StateLockedError
from mtlsform.state.local import LocalStateStore
from mtlsform.state.migrate import migrate
from tests.backends.s3server import KEYS, REGION

EXAMPLE = Path("stacks/example.yaml")
STATE = Path("stacks/.mtlsform/example.state.json")


def point_at(path: Path, block: str | None) -> None:
    """Sets the stack's backend block (None: none, the local default)."""
    text = re.sub(r"^backend: .*\n", "", path.read_text(), flags=re.M)
    if block is not None:
        text = text.replace("stack: example ", f"backend: {block}\nstack: example ", 1)
    path.write_text(text)


def test_local_pg_cos_local_round_trips_the_walk_through_byte_for_byte(
        workdir, cli, postgres, pg_schema, s3, monkeypatch):
    monkeypatch.setenv("PG_CONN_STR", postgres.conn_str)
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    bucket = s3.bucket()
    stack = workdir / EXAMPLE
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    original = (workdir / STATE).read_bytes()
    cos = f"cos:bucket={bucket},region={REGION},endpoint={s3.endpoint}"

    steps = [(f"pg:schema_name={pg_schema}", f"{{kind: pg, schema_name: {pg_schema}}}"),
             (cos, f'{{kind: cos, bucket: {bucket}, region: {REGION}, '
                   f'endpoint: "{s3.endpoint}"}}')]
    for spec, block in steps:
        moved = cli("state", "migrate", EXAMPLE, "--to", spec)
        assert moved.code == 0, moved.text
        assert "read back byte for byte" in moved.out and "is kept as it was" in moved.out
        point_at(stack, block)
        pulled = cli("state", "pull", EXAMPLE)
        assert pulled.code == 0
        assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    assert (workdir / STATE).read_bytes() == original  # every source was kept

    # Back to a local file: the one still there is refused, not overwritten.
    refused = cli("state", "migrate", EXAMPLE, "--to", "local")
    assert refused.code == 1 and "already holds a state" in refused.err
    (workdir / STATE).unlink()
    (workdir / f"{STATE}.backup").unlink(missing_ok=True)
    back = cli("state", "migrate", EXAMPLE, "--to", "local")
    assert back.code == 0, back.text
    assert (workdir / STATE).read_bytes() == original
    assert (workdir / STATE).stat().st_mode & 0o777 == 0o600
    point_at(stack, None)
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    assert postgres.conn_str not in back.text and KEYS["TENCENTCLOUD_SECRET_KEY"] not in \
        back.text


def test_both_stores_are_locked_and_an_empty_source_is_refused(tmp_path):
    source = LocalStateStore(tmp_path / "a.json")
    destination = LocalStateStore(tmp_path / "b.json")
    with source, destination, pytest.raises(StateError, match="holds no state to migrate"):
        migrate(source, destination)
    with LocalStateStore(tmp_path / "b.json", operation="apply"), \
            pytest.raises(StateLockedError, match="'apply'"):
        LocalStateStore(tmp_path / "b.json").__enter__()
    with source, pytest.raises(StateError, match="already in"):
        migrate(source, source)


@pytest.mark.parametrize(("spec", "message"), [
    ("s3", "does not name a backend"),
    ("pg:password=x", "'password' is not a setting of the pg backend"),
    ("cos:region=ap-guangzhou", "a cos backend needs a bucket"),
    ("cos:bucket=Bad_Name", "is not a valid bucket"),
    ("pg:schema_name", "is not KEY=VALUE"),
])
def test_a_bad_backend_spec_is_one_clear_message(spec, message):
    with pytest.raises(InputError, match=message):
        parse_backend_spec(spec)
    assert parse_backend_spec("pg").kind == "pg"
