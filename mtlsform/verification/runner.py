"""One `verify` run: where to connect for each listener, then the checks of every entry.

Where: `--address HOST:PORT` for every listener when given; else, with the embedded emulator
(provider kind emulator), the data plane brought up on the stack's world, where each listener
actually bound; else the load balancer's VIP and the listener's port, from the state.
Tolerance of the spread check: exact against the emulator (kind emulator, or a loopback VIP,
which only the emulator hands out), statistical against a real CLB.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mtlsform.stack.model import Stack
from mtlsform.state.model import State
from mtlsform.verification.checks import ServerLog, check_entry
from mtlsform.verification.clients import ClientKit
from mtlsform.verification.entries import entries_from, require_applied
from mtlsform.verification.model import SERVER_CERTIFICATE, CheckResult, Entry, Report, Tolerance
from mtlsform.verification.redirects import RedirectEntry, check_redirects, redirect_entries

if TYPE_CHECKING:
    from mtlsform.emulator import HolderRecord

DEFAULT_REQUESTS = 20


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def tolerance_for(stack: Stack, entries: list[Entry]) -> Tolerance:
    if stack.provider.kind == "emulator":
        return "exact"
    hosts = [entry.host for entry in entries if entry.host]
    return "exact" if hosts and all(_loopback(h) for h in hosts) else "statistical"


def run_entries(entries: list[Entry], *, requests: int, tolerance: Tolerance,
                server_log: ServerLog | None = None,
                unserved: Mapping[str, str] | None = None) -> list[CheckResult]:
    """The checks of every entry; `unserved` maps listener names to why they cannot be reached."""
    kit = ClientKit()
    results: list[CheckResult] = []
    for entry in entries:
        why = (unserved or {}).get(entry.listener)
        if why is not None:
            results.append(CheckResult(entry.listener, entry.domain, SERVER_CERTIFICATE, "fail",
                                       f"the listener is not served: {why}"))
            continue
        results += check_entry(entry, requests=requests, tolerance=tolerance, kit=kit,
                               server_log=server_log)
    return results


def verify_stack(stack: Stack, state: State | None, state_path: Path, *,
                 requests: int = DEFAULT_REQUESTS, address: tuple[str, int] | None = None,
                 environ: Mapping[str, str] | None = None) -> Report:
    """Checks every HTTPS listener and domain of an applied stack (see docs/verify.md)."""
    from mtlsform.errors import InputError

    environ = os.environ if environ is None else environ
    state = require_applied(stack, state, state_path)
    entries = entries_from(stack, state)
    if not entries:
        raise InputError(f"{stack.path} has no HTTPS listener with rules: nothing to verify")
    tolerance = tolerance_for(stack, entries)
    redirects = redirect_entries(stack, state)
    if address is not None:
        host, port = address
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        entries = [replace(e, host=host, port=port) for e in entries]
        connections = tuple(sorted({(e.listener, where, "--address") for e in entries}))
        results = run_entries(entries, requests=requests, tolerance=tolerance)
        results += check_redirects([replace(r, skip_reason=r.skip_reason or "--address names "
                                            "the HTTPS address only") for r in redirects],
                                   lambda r: None)
        return Report(stack.name, tuple(results), requests, tolerance, connections)
    if stack.provider.kind == "emulator":
        return _verify_embedded(stack, state_path, entries, requests, tolerance, environ,
                                redirects)
    missing = sorted({e.listener for e in entries if not e.host})
    if missing:
        raise InputError(f"the state records no VIP for the load balancer of listener "
                         f"{', '.join(missing)}", hint="pass --address HOST:PORT")
    connections = tuple(sorted({(e.listener, e.where, "VIP from the state") for e in entries}
                               | {(r.listener, r.where, "VIP from the state")
                                  for r in redirects}))
    results = run_entries(entries, requests=requests, tolerance=tolerance)
    results += check_redirects(redirects, lambda r: None)
    return Report(stack.name, tuple(results), requests, tolerance, connections)


def _verify_embedded(stack: Stack, state_path: Path, entries: list[Entry], requests: int,
                     tolerance: Tolerance, environ: Mapping[str, str],
                     redirects: list[RedirectEntry]) -> Report:
    from mtlsform.verification.embedded import ServedElsewhere

    try:
        return _verify_own_plane(stack, state_path, entries, requests, tolerance, environ,
                                 redirects)
    except ServedElsewhere as served:
        return _verify_served(stack, entries, requests, tolerance, served.holder, redirects)


def _verify_served(stack: Stack, entries: list[Entry], requests: int, tolerance: Tolerance,
                   holder: HolderRecord, redirects: list[RedirectEntry]) -> Report:
    """Checks the data plane of the `mtlsform emulator serve` that holds the world."""
    from mtlsform.errors import MtlsformError

    pid = holder.pid
    offset = holder.data_plane_port_offset
    if offset is None:
        raise MtlsformError(
            f"`mtlsform emulator serve` (pid {pid}) serves this stack's world without its "
            "data plane", hint="restart it with --data-plane, or stop it: verify then brings "
            "up a data plane of its own")
    entries = [replace(e, port=e.port + offset) for e in entries]
    redirects = [replace(r, port=r.port + offset) for r in redirects]
    how = f"data plane of `mtlsform emulator serve` (pid {pid}" + (
        f", port offset {offset})" if offset else ")")
    connections = tuple(sorted({(e.listener, e.where, how) for e in entries}
                               | {(r.listener, r.where, how) for r in redirects}))
    results = run_entries(entries, requests=requests, tolerance=tolerance)
    results += check_redirects(redirects, lambda r: None)
    return Report(stack.name, tuple(results), requests, tolerance, connections)


def _verify_own_plane(stack: Stack, state_path: Path, entries: list[Entry], requests: int,
                      tolerance: Tolerance, environ: Mapping[str, str],
                      redirects: list[RedirectEntry]) -> Report:
    from mtlsform.verification.embedded import embedded_plane

    listener_ids = ({e.listener_id for e in entries if e.listener_id}
                    | {r.listener_id for r in redirects if r.listener_id})
    with embedded_plane(stack, state_path, listener_ids, environ) as served:
        located: list[Entry] = []
        unserved: dict[str, str] = {}
        connections: set[tuple[str, str, str]] = set()
        how = ("embedded emulator's data plane" + (f", port offset {served.port_offset}"
                                                    if served.port_offset else ""))
        for entry in entries:
            bound = served.address_of(entry.listener_id)
            if bound is None:
                unserved[entry.listener] = served.why_not_served(entry.listener_id)
                located.append(entry)
                continue
            entry = replace(entry, host=bound[0], port=bound[1])
            connections.add((entry.listener, entry.where, how))
            located.append(entry)
        results = run_entries(located, requests=requests, tolerance=tolerance,
                              server_log=served.server_log, unserved=unserved)

        def locate(entry: RedirectEntry) -> tuple[str, int] | str:
            bound = served.address_of(entry.listener_id)
            if bound is None:
                return served.why_not_served(entry.listener_id)
            connections.add((entry.listener, f"{bound[0]}:{bound[1]}", how))
            return bound

        results += check_redirects(redirects, locate)
    return Report(stack.name, tuple(results), requests, tolerance, tuple(sorted(connections)))
