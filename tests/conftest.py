"""Markers for the fast inner loop: `pytest -m "not slow and not network"` runs in well under a
minute and leaves out what is marked here.

`slow`: whole folders and modules that run the CLI, the emulator, data planes, real processes or
many generated examples (measured: each takes seconds). `network`: needs a package registry.
Tests may also mark themselves. The lists are checked against the tree by test_markers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SLOW = (
    "e2e/",
    "e2e/test_tour.py",
    "dataplane/",
    "emulator/test_faults.py",
    "emulator/test_listeners.py",
    "emulator/test_property.py",
    "emulator/test_rules.py",
    "emulator/test_targets.py",
    "cli_progress/test_slow_runs.py",
    "engine/test_changes.py",
    "engine/test_compatibility.py",
    "engine/test_encrypt_on_next_run.py",
    "engine/test_hostile_endpoint.py",
    "engine/test_lost_answers.py",
    "engine/test_lost_state.py",
    "engine/test_faults_every_call.py",
    "engine/test_kill_every_call.py",
    "engine/test_planfile.py",
    "engine/test_quota.py",
    "engine/test_refresh.py",
    "engine/test_robustness.py",
    "engine/test_rotation.py",
    "engine/test_rotation_check_embedded.py",
    "engine/test_walkthrough.py",
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
    "verify/test_cli.py",
    "emulator/test_wire_numbers.py",
)
NETWORK = ("emulator/test_tccli.py",)


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
