"""Certificates on pyca/cryptography: generate, import, check, export and inspect the mTLS set.

The public names below can be imported from `mtlsform.pki` directly; they are loaded on first
use (PEP 562) so that importing the package (the stack loader does) does not load cryptography.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "CertificateMaterial": "material",
    "CertificateFacts": "facts",
    "generate_certificate": "generate",
    "load_imported": "importing",
    "read_imported": "importing",
    "needs_renewal": "renewal",
    "renewal_reason": "renewal",
    "export_client_files": "export",
    "export_from_spec": "export",
    "exported_file_names": "export",
    "material_from_state_attributes": "export",
    "p12_password": "export",
    "inspect_files": "inspection",
    "KEY_TYPES": "keys",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f"mtlsform.pki.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'mtlsform.pki' has no attribute {name!r}")
