"""The resource types, one module each, and their registry.

`RESOURCE_TYPES` maps a type name to its handler, in dependency order: that order is also the
order addresses sort in. The engine iterates over it and never names a type; a new type is a
new module here plus one line below.
"""

from __future__ import annotations

from collections.abc import Iterable

from mtlsform.addresses import Address, AddressError, register_types
from mtlsform.resources.base import ResourceType
from mtlsform.resources.certificate import CERTIFICATE
from mtlsform.resources.listener import LISTENER
from mtlsform.resources.load_balancer import LOAD_BALANCER
from mtlsform.resources.redirect import REDIRECT
from mtlsform.resources.rule import RULE
from mtlsform.resources.ssl_certificate import SSL_CERTIFICATE
from mtlsform.resources.target import TARGET
from mtlsform.resources.tls_policy import TLS_POLICY

RESOURCE_TYPES: dict[str, ResourceType] = {
    t.name: t
    for t in (CERTIFICATE, SSL_CERTIFICATE, LOAD_BALANCER, LISTENER, RULE, TARGET, TLS_POLICY,
              REDIRECT)
}
register_types(RESOURCE_TYPES)


def resource_type(name: str) -> ResourceType:
    """The handler of a registered type."""
    return RESOURCE_TYPES[name]


def unknown_types(addresses: Iterable[Address]) -> list[str]:
    """The types among `addresses` that no registered resource type has, sorted."""
    return sorted({a.type for a in addresses if a.type not in RESOURCE_TYPES})


def parse_address(text: str) -> Address:
    """An address from a person or a file, whose type must be registered."""
    address = Address.parse(text)
    if address.type not in RESOURCE_TYPES:
        raise AddressError(f"{text!r}: unknown resource type {address.type!r} "
                           f"(types: {', '.join(RESOURCE_TYPES)})")
    return address
