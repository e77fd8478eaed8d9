"""ssl_certificate: the copy of a certificate uploaded to the SSL service (SVR or CA).

Uploaded content cannot change, so new material means a new upload; it is replaced
create-before-destroy: upload, point listeners and rules at it, then delete the old one. Its
alias (`<stack>-<name>`) is renamed in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.errors import MtlsformError
from mtlsform.providers.base import Provider
from mtlsform.references import Ref
from mtlsform.resources.base import (
    ApplyContext,
    Attributes,
    CloudSnapshot,
    Collection,
    ResourceType,
)
from mtlsform.resources.certificate import CERTIFICATE
from mtlsform.resources.ownership import owner_tags
from mtlsform.resources.shape import optional
from mtlsform.stack.model import Stack


def _read(provider: Provider, ids: Sequence[str]) -> Mapping[str, Any]:
    return provider.read_certificates(ids)


CERTIFICATES = Collection("certificates", read=_read)


class SslCertificateType(ResourceType):
    name = "ssl_certificate"
    collections = (CERTIFICATES,)
    id_collection = CERTIFICATES.name
    force_new = frozenset({"type", "certificate_fingerprint"})
    updatable = frozenset({"alias"})  # ModifyCertificateAlias: the content stays
    replace_action = Action.REPLACE_CREATE_FIRST
    recorded = {"id": str, "type": str, "alias": str, "certificate_fingerprint": str,
                "borrowed": optional(bool)}

    def instances(self, stack: Stack) -> Iterable[Address]:
        return [Address(self.name, name) for name in stack.uploaded_certificates()]

    def config(self, stack: Stack, address: Address) -> Attributes:
        return {
            "type": stack.uploaded_certificates()[address.name],
            "alias": f"{stack.name}-{address.name}",
            "certificate_fingerprint": Ref(_material(address), "fingerprint"),
        }

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        if prior is None:
            return None  # an interrupted upload is found again by content when retried
        info = cloud.get(CERTIFICATES.name, prior.get("id"))
        if info is None:
            return None
        borrowed = bool(prior.get("borrowed"))
        read: Attributes = {
            "id": info.id,
            "type": info.type,
            # Another owner's upload keeps the name they gave it: it is not ours to rename.
            "alias": prior.get("alias") if borrowed else info.alias,
            # Uploaded content never changes: the fingerprint is the one we uploaded.
            "certificate_fingerprint": prior.get("certificate_fingerprint"),
        }
        if borrowed:
            read["borrowed"] = True  # who uploaded it does not change either
        return read

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        source = _material(address)
        material = ctx.lookup(source)
        if material is None:
            raise MtlsformError(f"{address}: {source} is not in the state")
        is_server = values["type"] == "SVR"
        pem = material["certificate_pem"]
        if is_server and material.get("chain_pem"):
            pem = pem.rstrip("\n") + "\n" + material["chain_pem"]
        upload = ctx.provider.upload_certificate(
            values["type"], pem, material.get("private_key_pem") if is_server else None,
            values["alias"], tags=owner_tags(ctx.stack, address),
        )
        attrs: Attributes = {**values, "id": upload.id}
        if upload.borrowed:
            attrs["borrowed"] = True  # someone else's identical upload: used, never deleted
        return attrs

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any], changed: Sequence[str]) -> Attributes:
        if "alias" in changed and not prior.get("borrowed"):
            ctx.provider.rename_certificate(prior["id"], values["alias"])
        return {**prior, **values, "id": prior["id"]}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        if prior.get("borrowed"):
            return  # another owner's upload: it stays for them
        ctx.provider.delete_certificate(prior["id"])

    def owned(self, attrs: Mapping[str, Any]) -> bool:
        return not attrs.get("borrowed")

    def consequences(self, provider: Provider, action: Action,
                     before: Mapping[str, Any] | None, owned_ids: frozenset[str]) -> list[str]:
        """The blast radius of replacing or deleting an upload: load balancers outside the
        stack still bound to it keep it (and are not moved to the new one)."""
        if not (action.is_replace or action is Action.DELETE) or not before \
                or before.get("borrowed") or not before.get("id"):
            return []
        outside = [lb for lb in provider.certificate_bindings(str(before["id"]))
                   if lb.split(" ", 1)[0] not in owned_ids]
        if not outside:
            return []
        return [f"upload {before['id']} is also bound to {', '.join(outside)}, outside this "
                "stack: those are not moved to the new certificate, and the old upload is kept "
                "until nothing uses it"]

    def left_in_place(self, attrs: Mapping[str, Any]) -> Reason:
        return Reason.BORROWED


def _material(address: Address) -> Address:
    """The local certificate an upload is a copy of (the same name)."""
    return Address(CERTIFICATE.name, address.name)


SSL_CERTIFICATE = SslCertificateType()
