"""Health checks of listeners (L4) and rules (L7): defaults per protocol, updates, the rules that
tie fields together (TimeOut below IntervalTime, check types per protocol, custom probes)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from mtlsform.emulator.apierror import ApiError, missing
from mtlsform.emulator.world import HealthCheck

FIELDS = {
    "HealthSwitch": "health_switch", "TimeOut": "timeout", "IntervalTime": "interval",
    "HealthNum": "healthy_threshold", "UnHealthNum": "unhealthy_threshold",
    "HttpCode": "http_code", "HttpCheckPath": "http_check_path",
    "HttpCheckDomain": "http_check_domain", "HttpCheckMethod": "http_check_method",
    "CheckPort": "check_port", "ContextType": "context_type", "SendContext": "send_context",
    "RecvContext": "recv_context", "CheckType": "check_type", "HttpVersion": "http_version",
    "SourceIpType": "source_ip_type", "ExtendedCode": "extended_code",
}
ALLOWED_TYPES = {
    "TCP": ("TCP", "HTTP", "CUSTOM"), "UDP": ("PING", "CUSTOM"), "TCP_SSL": ("TCP", "HTTP"),
    "QUIC": ("TCP", "HTTP"), "HTTP": ("HTTP", "GRPC"), "HTTPS": ("HTTP", "HTTPS", "GRPC"),
}


def listener_default(protocol: str) -> HealthCheck:
    return HealthCheck(check_type="PING" if protocol == "UDP" else "TCP")


def rule_default(protocol: str, forward_type: str) -> HealthCheck:
    check = "HTTPS" if protocol == "HTTPS" and forward_type in ("HTTPS", "GRPCS") else (
        "GRPC" if forward_type in ("GRPC", "GRPCS") else "HTTP")
    return HealthCheck(check_type=check, http_code=31, http_check_path="/",
                       http_check_method="HEAD", http_check_domain="")


def updated(base: HealthCheck, given: dict[str, Any] | None, protocol: str, path: str,
            ) -> HealthCheck:
    """`base` with the given API fields applied, checked for `protocol` (listener's)."""
    check = dataclasses.replace(base)
    for name, value in (given or {}).items():
        setattr(check, FIELDS[name], value)
    if check.timeout >= check.interval:
        raise ApiError("InvalidParameterValue",
                       f"`{path}.TimeOut` ({check.timeout}) must be less than "
                       f"`{path}.IntervalTime` ({check.interval}).")
    allowed = ALLOWED_TYPES[protocol]
    if check.check_type not in allowed:
        raise ApiError("InvalidParameterValue",
                       f"`{path}.CheckType` {check.check_type} is not allowed for {protocol}; "
                       f"use {', '.join(allowed)}.")
    if check.http_check_path is not None and not check.http_check_path.startswith("/"):
        raise ApiError("InvalidParameterValue", f"`{path}.HttpCheckPath` must start with `/`.")
    if protocol in ("TCP", "TCP_SSL", "QUIC") and check.check_type == "HTTP":
        if not check.http_check_domain:
            raise missing(f"{path}.HttpCheckDomain")
        if not check.http_version:
            raise missing(f"{path}.HttpVersion")
        check.http_code = check.http_code or 31
        check.http_check_path = check.http_check_path or "/"
        check.http_check_method = check.http_check_method or "HEAD"
    if check.check_type == "CUSTOM":
        for name in ("ContextType", "SendContext", "RecvContext"):
            if getattr(check, FIELDS[name]) is None:
                raise missing(f"{path}.{name}")
        if check.context_type == "HEX":
            for name in ("SendContext", "RecvContext"):
                value = getattr(check, FIELDS[name])
                if not re.fullmatch(r"(?:[0-9A-F]{2})*", value):
                    raise ApiError("InvalidParameterValue",
                                   f"`{path}.{name}` must be an even number of 0-9A-F digits.")
    return check
