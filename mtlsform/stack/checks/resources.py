"""Checks of the provider, load balancers and backends (fields that depend on each other)."""

from __future__ import annotations

import ipaddress

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.build import Parts
from mtlsform.stack.checks.references import line_of
from mtlsform.stack.values import quote


def check(parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    provider = parts.provider
    if provider is not None and provider.kind == "emulator" and provider.endpoint:
        found.append(error(
            "endpoint is only used with kind: tencentcloud", path="provider.endpoint",
            position=provider.positions.at("endpoint"),
            hint="the emulator kind runs in-process; to reach a separately started emulator, "
                 "set kind: tencentcloud and endpoint"))
    found += _state_backend(parts)
    found += _load_balancers(parts)
    found += _backends(parts)
    return found


_BACKEND_KEYS = {"pg": ("conn_str_env", "schema_name"),
                 "cos": ("bucket", "prefix", "region", "endpoint")}


def _state_backend(parts: Parts) -> list[Diagnostic]:
    """The keys of one backend kind are refused under another; cos needs its bucket."""
    backend = parts.backend
    if backend is None:
        return []
    found = []
    for kind, keys in _BACKEND_KEYS.items():
        for key in keys:
            if kind != backend.kind and getattr(backend, key) is not None:
                found.append(error(
                    f"{key} is only used with kind: {kind}", path=f"backend.{key}",
                    position=backend.positions.at(key),
                    hint=f"this backend is kind: {backend.kind}; remove {key} or set "
                         f"kind: {kind}"))
    if backend.kind == "cos" and backend.bucket is None:
        found.append(error("a cos backend needs a bucket", path="backend",
                           position=backend.positions.at(),
                           hint="add `bucket: NAME-APPID`, the bucket that keeps the state"))
    return found


def _load_balancers(parts: Parts) -> list[Diagnostic]:
    found = []
    adopted: dict[str, str] = {}
    for name, lb in parts.load_balancers.items():
        at = lb.positions.at
        where = f"load_balancers.{name}"
        if lb.network == "private" and not lb.adopted:
            missing = [key for key in ("vpc_id", "subnet_id") if getattr(lb, key) is None]
            if missing:
                found.append(error(
                    f"a private load balancer needs {' and '.join(missing)}", path=where,
                    position=at(), hint="a private CLB gets its VIP in a subnet of a VPC"))
        if lb.network == "public" and lb.subnet_id is not None:
            found.append(error(
                "subnet_id is only for a private load balancer", path=f"{where}.subnet_id",
                position=at("subnet_id"), hint="remove it, or set network: private"))
        if lb.id is not None:
            for key in ("security_groups", "pass_to_target", "delete_protection"):
                if getattr(lb, key) is not None:
                    found.append(error(
                        f"{key} is not set on an adopted load balancer (the stack only reads "
                        "it)", path=f"{where}.{key}", position=at(key),
                        hint=f"remove {key}, or set it on the CLB outside the stack"))
            if lb.id in adopted:
                other = parts.load_balancers[adopted[lb.id]]
                found.append(error(
                    f"load balancer {adopted[lb.id]!r} ({line_of(other.positions.at('id'))}) "
                    f"already adopts {lb.id}", path=f"{where}.id", position=at("id"),
                    hint="each CLB is described once in a stack"))
            adopted.setdefault(lb.id, name)
    return found


def _backends(parts: Parts) -> list[Diagnostic]:
    found = []
    for name, backend in parts.backends.items():
        at = backend.positions.at
        where = f"backends.{name}"
        if backend.instance is not None and backend.ip is not None:
            found.append(error(
                "a backend is an instance or an ip, not both", path=f"{where}.ip",
                position=at("ip"), hint="remove instance or ip"))
        elif backend.instance is None and backend.ip is None:
            found.append(error(
                "a backend needs instance (a CVM id like ins-0a1b2c3d) or ip", path=where,
                position=at(), hint="add instance: ins-... or ip: 10.0.0.1"))
        if backend.ip is not None:
            try:
                ipaddress.ip_address(backend.ip)
            except ValueError:
                found.append(error(f"{quote(backend.ip)} is not an IP address", path=f"{where}.ip",
                                   position=at("ip"),
                                   hint="write an IPv4 address like 10.0.0.1 or an IPv6 "
                                        "address"))
    return found
