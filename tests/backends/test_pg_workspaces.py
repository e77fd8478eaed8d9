"""Workspaces in the PostgreSQL backend: one row per stack and workspace (issue 13, item 6)."""

from __future__ import annotations

import psycopg

from tests.backends.test_pg_cli import small_stack


def test_each_workspace_has_its_own_state_row(workdir, cli, postgres, pg_schema, monkeypatch):
    stack = small_stack(workdir, pg_schema)
    monkeypatch.setenv("SMALL_PG", postgres.conn_str)
    for workspace, n in (("default", "0"), ("staging", "1"), ("prod", "2")):
        extra = () if workspace == "default" else ("--workspace", workspace)
        applied = cli("apply", stack, *extra, "--var", f"n={n}", "--auto-approve")
        assert applied.code == 0, applied.text
    for workspace, n in (("staging", "1"), ("prod", "2")):
        shown = cli("output", stack, "n", "--workspace", workspace)
        assert (shown.code, shown.out.strip()) == (0, n), shown.text
    with psycopg.connect(postgres.conn_str) as conn:
        rows = conn.execute(f"SELECT workspace, lineage FROM {pg_schema}.states "
                            "WHERE stack = 'small' ORDER BY workspace").fetchall()
    assert [w for w, _ in rows] == ["default", "prod", "staging"]
    assert len({lineage for _, lineage in rows}) == 3  # three states, not one
    assert not list(workdir.glob(".mtlsform/*.state.json"))  # no local state of any workspace
