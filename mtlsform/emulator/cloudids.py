"""Fresh cloud-style IDs (`lb-…`, `lbl-…`, `loc-…`, certificate IDs) and the loopback networks
from which load balancers (VIPs) and demo CVM instances get their own addresses."""

from __future__ import annotations

import ipaddress
import secrets
import string

VIP_NETWORK = ipaddress.IPv4Network("127.64.0.0/16")
INSTANCE_NETWORK = ipaddress.IPv4Network("127.32.0.0/16")


def new_id(prefix: str, taken: object) -> str:
    """A fresh cloud-style ID: prefix + 8 lowercase letters and digits, not in `taken`."""
    alphabet = string.ascii_lowercase + string.digits
    while True:
        candidate = prefix + "".join(secrets.choice(alphabet) for _ in range(8))
        if candidate not in taken:  # type: ignore[operator]
            return candidate


def new_cert_id(taken: object) -> str:
    """SSL certificate IDs are 8 mixed-case letters and digits, e.g. `DSAuy46E`."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(8))
        if candidate not in taken:  # type: ignore[operator]
            return candidate


def allocate_address(network: ipaddress.IPv4Network, used: set[str]) -> str:
    """The lowest free host address of a loopback network (each CLB/instance gets its own)."""
    for host in network.hosts():
        if str(host) not in used:
            return str(host)
    raise RuntimeError(f"no free address left in {network}")
