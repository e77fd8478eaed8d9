"""ssl_certificate: the copy of a certificate uploaded to the SSL service (SVR or CA).

Uploaded content cannot change, so new material means a new upload; it is replaced
create-before-destroy: upload, point listeners and rules at it, then delete the old one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtlsform.addresses import Address
from mtlsform.errors import MtlsformError
from mtlsform.plan.model import Action
from mtlsform.plan.values import Ref
from mtlsform.resources.base import ApplyContext, CloudSnapshot, ResourceType
from mtlsform.stack.model import Stack


class SslCertificateType(ResourceType):
    name = "ssl_certificate"
    force_new = frozenset({"type", "certificate_fingerprint"})
    updatable = frozenset()
    replace_action = Action.REPLACE_CREATE_FIRST

    def config(self, stack: Stack, address: Address) -> dict[str, Any]:
        return {
            "type": stack.uploaded_certificates()[address.name],
            "alias": f"{stack.name}-{address.name}",
            "certificate_fingerprint": Ref(Address("certificate", address.name), "fingerprint"),
        }

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if prior is None:
            return None  # an interrupted upload is found again by content when retried
        info = cloud.certificates.get(prior.get("id", ""))
        if info is None:
            return None
        return {
            "id": info.id,
            "type": info.type,
            "alias": info.alias,
            # Uploaded content never changes: the fingerprint is the one we uploaded.
            "certificate_fingerprint": prior.get("certificate_fingerprint"),
        }

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> dict[str, Any]:
        material = ctx.lookup(Address("certificate", address.name))
        if material is None:
            raise MtlsformError(f"{address}: certificate.{address.name} is not in the state")
        is_server = values["type"] == "SVR"
        pem = material["certificate_pem"]
        if is_server and material.get("chain_pem"):
            pem = pem.rstrip("\n") + "\n" + material["chain_pem"]
        cert_id = ctx.provider.upload_certificate(
            values["type"], pem, material.get("private_key_pem") if is_server else None,
            values["alias"],
        )
        return {**values, "id": cert_id}

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any]) -> dict[str, Any]:
        return {**prior, **values, "id": prior["id"]}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        ctx.provider.delete_certificate(prior["id"])


SSL_CERTIFICATE = SslCertificateType()
