"""A world already served by `mtlsform emulator serve` is used, not refused."""

from __future__ import annotations

from pathlib import Path

from mtlsform.emulator import Emulator, EmulatorConfig

EXAMPLE = Path("stacks/example.yaml")


def test_apply_uses_the_emulator_that_serves_the_world(workdir, cli):
    world = workdir / "stacks/.mtlsform/emulator"
    with Emulator(EmulatorConfig(data_dir=world, task_delay=0.01)) as served:
        served.announce(serve=True)  # what `mtlsform emulator serve` says about itself
        applied = cli("apply", EXAMPLE, "--auto-approve")
        assert applied.code == 0, applied.text
        assert f"Using the emulator that already serves this world: {served.url}" in applied.err
        assert served.stats()["calls"]["CreateListener"] == 1
        assert len(served.world.snapshot().load_balancers) == 1
        assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0  # embedded again, same world


def test_an_emulator_with_its_own_key_is_not_shared(workdir, cli):
    world = workdir / "stacks/.mtlsform/emulator"
    config = EmulatorConfig(data_dir=world, secret_key="a-key-only-that-emulator-knows")
    with Emulator(config) as served:
        served.announce(serve=True)
        refused = cli("plan", EXAMPLE)
    assert refused.code == 1
    assert "another emulator is using the data directory" in refused.err
    assert "a-key-only-that-emulator-knows" not in refused.text


def test_another_runs_embedded_emulator_is_never_shared(workdir, cli):
    world = workdir / "stacks/.mtlsform/emulator"
    with Emulator(EmulatorConfig(data_dir=world)):  # not announced as a long-running serve
        refused = cli("plan", EXAMPLE)
    assert refused.code == 1
    assert "another emulator is using the data directory" in refused.err
