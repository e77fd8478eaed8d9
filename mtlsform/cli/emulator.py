"""Commands: `mtlsform emulator serve` — the local Tencent Cloud API (CLB + SSL), foreground."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import typer

from mtlsform.cli import console
from mtlsform.emulator import environment as emulator_env  # names only: a cheap import
from mtlsform.errors import InputError

if TYPE_CHECKING:
    from mtlsform.emulator import Emulator, EmulatorConfig

DEFAULT_PORT = 9000
DEFAULT_DATA_DIR = Path(".mtlsform") / "emulator"


class Companion(Protocol):
    """Something that runs beside the API for as long as `serve` does (e.g. the data plane)."""

    def start(self) -> object: ...

    def stop(self) -> None: ...


def build_config(*, data_dir: Path | None, host: str | None, port: int | None, tls: bool | None,
                 task_delay: float | None, rate_limit: str | None, faults: list[str],
                 latency: list[str], task_failures: list[str], crash_after: int | None,
                 crash_before_apply: bool | None, seed: int | None, instances: list[str],
                 instances_file: Path | None, secret_id: str | None,
                 secret_key: str | None) -> EmulatorConfig:
    """Flags over the emulator's environment variables over defaults; bad values raise
    InputError."""
    from mtlsform.emulator import EmulatorConfig, EmulatorConfigError

    try:
        return EmulatorConfig.from_env(
            data_dir, environ=os.environ,
            defaults={"port": DEFAULT_PORT, "data_dir": DEFAULT_DATA_DIR},
            host=host, port=port, tls=tls, task_delay=task_delay, rate_limit=rate_limit,
            secret_id=secret_id, secret_key=secret_key, faults=faults, latency=latency,
            task_failures=task_failures, crash_after=crash_after,
            crash_before_apply=crash_before_apply, seed=seed, instances=instances,
            instances_file=instances_file)
    except EmulatorConfigError as exc:
        raise InputError(str(exc), hint="see docs/emulator.md for flags and variables") from None


def run_foreground(config: EmulatorConfig,
                   companions: list[Callable[[Emulator], Companion]] | None = None) -> int:
    """Starts the emulator (and its companions), prints how to reach it, waits for Ctrl-C."""
    from mtlsform.emulator import ApiBindError, Emulator, EmulatorError

    emu = Emulator(config)
    try:
        emu.start()
    except ApiBindError as exc:
        raise InputError(str(exc), hint="choose another --port (0 picks a free one)") from None
    except EmulatorError as exc:  # a world file or instance it cannot use
        raise InputError(str(exc)) from None
    started: list[Companion] = []
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        for make in companions or []:
            companion = make(emu)
            companion.start()
            started.append(companion)
        # Other mtlsform runs on this world (plan, apply, verify) use this emulator.
        emu.announce(serve=True)
        _print_banner(emu)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for companion in reversed(started):
            companion.stop()
        emu.stop()
    console.err().print("emulator stopped; world saved.", markup=False, highlight=False)
    return 0


def _print_banner(emu: Emulator) -> None:
    config = emu.config
    out = console.out()
    key_note = (f"{config.key()}   (the documented default)" if config.uses_default_key
                else "(yours; not shown)")
    lines = [
        "mtlsform emulator: Tencent Cloud API, clb 2018-03-17 and ssl 2019-12-05",
        f"  endpoint   {emu.url}",
        f"  SDK        HttpProfile(protocol=\"{emu.scheme}\", endpoint=\"{emu.endpoint}\")",
        f"  SecretId   {config.secret_id}",
        f"  SecretKey  {key_note}",
        f"  data dir   {config.data_dir.resolve()}",
    ]
    if emu.ca_path is not None:
        lines.append(f"  TLS CA     {emu.ca_path.resolve()}")
    snapshot = emu.world.snapshot()
    instances = ", ".join(f"{i.instance_id} ({i.name}, {i.private_ip})"
                          for i in snapshot.instances.values())
    lines.append(f"  instances  {instances}")
    limit = "off" if config.rate_limit is None else f"{config.rate_limit:g} requests/s per action"
    lines.append(f"  tasks      {config.task_delay:g} s each; rate limit {limit}")
    faults = config.faults
    active = [f"{r.action}:{r.code}:{r.rate:g}" for r in faults.errors]
    active += [f"latency {a}:{s:g}s" for a, s in faults.latency]
    active += [f"task failure {a}:{r:g}" for a, r in faults.task_failures]
    if faults.crash_after is not None:
        when = "before" if faults.crash_before_apply else "after"
        active.append(f"crash {when} mutating call {faults.crash_after}")
    if active:
        lines.append(f"  faults     {'; '.join(active)}"
                     + (f" (seed {faults.seed})" if faults.seed is not None else ""))
    lines.append("  tools      GET /_emulator/stats, GET /_emulator/world")
    lines.append("Press Ctrl-C to stop.")
    out.print("\n".join(lines), markup=False, highlight=False)


def data_plane_companion(port_offset: int) -> Callable[[Emulator], Companion]:
    """`--data-plane`: the data plane follows the emulator's world; its log goes to stderr."""

    def make(emu: Emulator) -> Companion:
        import logging

        from mtlsform.emulator.dataplane import DataPlane

        logger = logging.getLogger("mtlsform.emulator.dataplane")
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s data plane: %(message)s",
                                                   "%H:%M:%S"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
        emu.announce(data_plane_port_offset=port_offset)
        frozen = emulator_env.data_plane_frozen(os.environ)
        return DataPlane(emu.world, port_offset=port_offset, frozen=frozen)

    return make


def register(app: typer.Typer) -> None:
    """Adds `emulator serve` to the app."""
    from mtlsform.cli.helptext import HelpCommand, HelpGroup

    emulator_app = typer.Typer(name="emulator", no_args_is_help=True, cls=HelpGroup,
                               rich_markup_mode=None,
                               help="The bundled Tencent Cloud API emulator (CLB + SSL).")

    @emulator_app.command("serve", cls=HelpCommand)
    def serve(
        host: str = typer.Option(None, "--host", metavar="HOST",
                                 help="Address to listen on [127.0.0.1]."),
        port: int = typer.Option(None, "--port", metavar="PORT",
                                 help="Port; 0 picks a free one [9000]."),
        data_dir: Path = typer.Option(None, "--data-dir", metavar="DIR",
                                      help="Where the world is kept [.mtlsform/emulator]."),
        tls: bool = typer.Option(None, "--tls/--no-tls",
                                 help="Serve HTTPS with a generated certificate."),
        task_delay: float = typer.Option(None, "--task-delay", metavar="SECONDS",
                                         help="Seconds an async CLB task takes [0.2]."),
        rate_limit: str = typer.Option(None, "--rate-limit", metavar="N|off",
                                       help="Requests/s per action, or `off` [20]."),
        fault: list[str] = typer.Option([], "--fault", metavar="ACTION:CODE:RATE",
                                        help="ACTION:CODE:RATE, e.g. *:RequestLimitExceeded:0.3 "
                                        "(repeatable)."),
        latency: list[str] = typer.Option([], "--latency", metavar="[ACTION:]SECONDS",
                                          help="[ACTION:]SECONDS added per call (repeatable)."),
        task_failure: list[str] = typer.Option([], "--task-failure", metavar="[ACTION:]RATE",
                                               help="[ACTION:]RATE of tasks ending in failure "
                                               "(repeatable)."),
        crash_after: int = typer.Option(None, "--crash-after", metavar="N",
                                        help="Exit at once after N mutating calls."),
        crash_before_apply: bool = typer.Option(None, "--crash-before-apply",
                                                help="With --crash-after: die on the next call "
                                                "before it takes effect."),
        seed: int = typer.Option(None, "--seed", metavar="N", help="Seed of the fault randomness."),
        instance: list[str] = typer.Option([], "--instance", metavar="ID=NAME[@IP]",
                                           help="Extra CVM instance ID=NAME[@IP] (repeatable)."),
        instances: Path = typer.Option(None, "--instances", metavar="FILE",
                                       help="JSON file of extra CVM instances."),
        secret_id: str = typer.Option(None, "--secret-id", metavar="ID",
                                      help="SecretId clients must use [AKIDmtlsformEmulator0000]."),
        secret_key: str = typer.Option(None, "--secret-key", metavar="KEY",
                                       help=f"SecretKey (prefer {emulator_env.SECRET_KEY})."),
        data_plane: bool = typer.Option(False, "--data-plane",
                                        help="Also serve the HTTPS listeners on their VIPs "
                                        "(mTLS data plane, docs/data-plane.md)."),
        port_offset: int = typer.Option(0, "--port-offset", metavar="N", min=0, max=64000,
                                        help="With --data-plane: listeners and demo instances "
                                        "listen at port + N (e.g. 8000: 443 -> 8443)."),
    ) -> None:
        """Run the emulator in the foreground until Ctrl-C."""
        from mtlsform.cli.conflicts import refuse_without

        refuse_without(("--port-offset", port_offset != 0), ("--data-plane", data_plane),
                       why="the offset moves the ports of the data plane's listeners")
        config = build_config(
            data_dir=data_dir, host=host, port=port, tls=tls, task_delay=task_delay,
            rate_limit=rate_limit, faults=fault, latency=latency, task_failures=task_failure,
            crash_after=crash_after, crash_before_apply=crash_before_apply, seed=seed,
            instances=instance, instances_file=instances, secret_id=secret_id,
            secret_key=secret_key)
        refuse_without(("--crash-before-apply", config.faults.crash_before_apply),
                        ("--crash-after", config.faults.crash_after is not None),
                        why=f"it changes the crash that --crash-after N (or "
                        f"{emulator_env.CRASH_AFTER}) sets up")
        raise typer.Exit(run_foreground(
            config, [data_plane_companion(port_offset)] if data_plane else None))

    app.add_typer(emulator_app, name="emulator")
