"""Markers for the fast inner loop: `pytest -m "not slow and not network"` runs in well under a
minute and leaves out what is marked here.

`slow`: whole folders and modules that run the CLI, the emulator, data planes, real processes or
many generated examples (measured: each takes seconds). `network`: needs a package registry.
Tests may also mark themselves. The lists are checked against the tree by test_markers.py.

The CLI run in the test process builds its command once per session (_one_cli_command), and
certificates generated in it draw real keys from a session pool
(tests/keypool.py), except in the tests of generation itself (OWN_KEYS).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import keypool

TESTS = Path(__file__).resolve().parent

SLOW = (
    "e2e/",
    "e2e/test_tour.py",
    "dataplane/",
    "emulator/test_faults.py",
    "examples/test_pipelines.py",
    "emulator/test_listeners.py",
    "emulator/test_property.py",
    "emulator/test_rules.py",
    "emulator/test_rewrite.py",
    "emulator/test_targets.py",
    "cli_progress/test_slow_runs.py",
    "engine/test_changes.py",
    "engine/test_compatibility.py",
    "engine/test_domain_attributes.py",
    "engine/test_encrypt_on_next_run.py",
    "engine/test_hostile_endpoint.py",
    "engine/test_import.py",
    "engine/test_journal_crashes.py",
    "engine/test_lanes.py",
    "engine/test_lb_attributes.py",
    "engine/test_lost_answers.py",
    "engine/test_lost_state.py",
    "engine/test_faults_every_call.py",
    "engine/test_kill_every_call.py",
    "engine/test_planfile.py",
    "engine/test_plan_schema.py",
    "engine/test_quota.py",
    "engine/test_redirect.py",
    "engine/test_refactoring.py",
    "engine/test_refresh.py",
    "engine/test_robustness.py",
    "engine/test_rollover_plan.py",
    "engine/test_rotation.py",
    "engine/test_rotation_check_embedded.py",
    "engine/test_sni_in_place.py",
    "engine/test_tls_policy.py",
    "engine/test_walkthrough.py",
    "engine/test_gitops.py",
    "engine/test_workspaces.py",
    "messages/test_certs_export.py",
    "messages/test_ownership_tags.py",
    "pki/test_generate.py",
    "providers/test_concurrency.py",
    "providers/test_hostile_answers.py",
    "providers/test_hostile_transport.py",
    "providers/test_incomplete_answers.py",
    "providers/test_resources.py",
    "providers/test_retries.py",
    "providers/test_target_merging.py",
    "stack/test_property.py",
    "state/test_damaged_states.py",
    "backends/",
    "verify/test_cli.py",
    "emulator/test_wire_numbers.py",
)
NETWORK = ("emulator/test_tccli.py", "emulator/test_nodejs_sdk.py")
# Where certificate generation generates every key itself (elsewhere: tests/keypool.py).
OWN_KEYS = ("pki/",)


@pytest.fixture(scope="session", autouse=True)
def _one_cli_command() -> Iterator[None]:
    """`mtlsform.cli.main.run` in this process builds the app and its Click command once per
    session instead of once per run (Typer's building is ~0.3 s of a 0.35 s `validate`); every
    run still parses its own argv, reads the environment and gets a fresh Click context."""
    import typer

    from mtlsform.cli import main

    app = main.build_app()
    command = typer.main.get_command(app)
    build = typer.main.get_command

    def get_command(given: typer.Typer) -> Any:
        return command if given is app else build(given)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(main, "build_app", lambda: app)
        patch.setattr(typer.main, "get_command", get_command)
        yield


@pytest.fixture(autouse=True)
def _pooled_keys(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Certificates generated in this process take their keys from the session's key pool,
    except in the tests of generation (OWN_KEYS)."""
    relative = request.node.path.resolve().relative_to(TESTS).as_posix()
    if not _listed(relative, OWN_KEYS):
        monkeypatch.setattr("mtlsform.pki.generate.generate_private_key", keypool.draw)


def _listed(relative: str, listed: tuple[str, ...]) -> bool:
    return any(relative == entry or (entry.endswith("/") and relative.startswith(entry))
               for entry in listed)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = item.path.resolve().relative_to(TESTS).as_posix()
        if _listed(relative, NETWORK):
            item.add_marker(pytest.mark.network)
            item.add_marker(pytest.mark.slow)
        elif _listed(relative, SLOW):
            item.add_marker(pytest.mark.slow)
