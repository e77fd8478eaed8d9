"""Output checks: each ${TYPE.NAME.ATTRIBUTE} names a resource of the stack and an attribute."""

from __future__ import annotations

from mtlsform.diagnostics import Diagnostic, error
from mtlsform.stack.build import Parts
from mtlsform.stack.checks.references import exists, unknown
from mtlsform.stack.interpolation import REFERENCE_ATTRIBUTES
from mtlsform.stack.model import Output, Reference, uploaded_certificates
from mtlsform.stack.suggest import did_you_mean, one_of

_SECTIONS = {
    "load_balancer": "load_balancers",
    "listener": "listeners",
    "certificate": "certificates",
    "ssl_certificate": "certificates",
}


def check(parts: Parts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for output in parts.outputs.values():
        for i, reference in enumerate(output.references):
            found += _reference(parts, output, i, reference)
    return found


def _reference(parts: Parts, output: Output, index: int, ref: Reference) -> list[Diagnostic]:
    where = f"outputs.{output.name}"
    position = output.positions.at(f"references.{index}")
    token = f"${{{ref}}}"
    if ref.type not in REFERENCE_ATTRIBUTES:
        return [error(f"{token}: outputs cannot refer to {ref.type!r}", path=where,
                      position=position,
                      hint=did_you_mean(ref.type, REFERENCE_ATTRIBUTES)
                      or f"resource types: {one_of(REFERENCE_ATTRIBUTES)}")]
    section = _SECTIONS[ref.type]
    if not exists(parts, section, ref.name):
        found = unknown(parts, section, ref.name, path=where, position=position)
        return [error(f"{token}: {found.message}", path=where, position=position,
                      hint=found.hint)]
    attributes = REFERENCE_ATTRIBUTES[ref.type]
    if ref.attribute not in attributes:
        return [error(f"{token}: a {ref.type} has no attribute {ref.attribute!r}", path=where,
                      position=position,
                      hint=did_you_mean(ref.attribute, attributes)
                      or f"attributes: {one_of(attributes)}")]
    if ref.type == "ssl_certificate" and parts.all_listeners_built():
        uploads = uploaded_certificates(parts.listeners.values())
        if ref.name not in uploads:
            return [error(f"{token}: certificate {ref.name!r} is not uploaded (no listener or "
                          "rule tls uses it)", path=where, position=position,
                          hint=f"refer to certificate.{ref.name} instead")]
    return []

