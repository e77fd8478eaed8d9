"""The six resource types, one module each; `RESOURCE_TYPES` maps a type name to its handler."""

from __future__ import annotations

from mtlsform.resources.base import ResourceType
from mtlsform.resources.certificate import CERTIFICATE
from mtlsform.resources.listener import LISTENER
from mtlsform.resources.load_balancer import LOAD_BALANCER
from mtlsform.resources.rule import RULE
from mtlsform.resources.ssl_certificate import SSL_CERTIFICATE
from mtlsform.resources.target import TARGET

RESOURCE_TYPES: dict[str, ResourceType] = {
    t.name: t
    for t in (CERTIFICATE, SSL_CERTIFICATE, LOAD_BALANCER, LISTENER, RULE, TARGET)
}
