"""ssl_certificate: the copy of a certificate uploaded to the SSL service (SVR or CA).

Uploaded content cannot change, so new material means a new upload; it is replaced
create-before-destroy: upload, point listeners and rules at it, then delete the old one. Its
alias (`<stack>-<name>`) is renamed in place.

A certificate the stack references by its ID (`certificates.X.id`) is an upload made elsewhere
(its private key stays in the SSL service): it is only read, with its expiry, never uploaded,
renamed, renewed or deleted; the plan warns inside its renewal window that mtlsform cannot
renew it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.errors import MtlsformError, PlanError
from mtlsform.providers.base import Provider
from mtlsform.references import Ref
from mtlsform.resources.base import (
    ApplyContext,
    Attributes,
    CloudSnapshot,
    Collection,
    Decision,
    ResourceType,
)
from mtlsform.resources.certificate import CERTIFICATE
from mtlsform.resources.ownership import owner_tags
from mtlsform.resources.shape import nullable, optional
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
    recorded = {"id": str, "type": str, "alias": str, "certificate_fingerprint": optional(str),
                "borrowed": optional(bool), "existing": optional(bool),
                "not_after": optional(nullable(str))}

    def instances(self, stack: Stack) -> Iterable[Address]:
        return [Address(self.name, name) for name in stack.uploaded_certificates()]

    def config(self, stack: Stack, address: Address) -> Attributes:
        spec = stack.certificates.get(address.name)
        if spec is not None and spec.existing:
            return {"existing": True, "id": spec.id,
                    "type": stack.uploaded_certificates()[address.name]}
        kind = stack.uploaded_certificates()[address.name]
        # A CA upload holds the CA's trust: its root, or old and new during a rollover.
        held = "trust_fingerprint" if kind == "CA" else "fingerprint"
        return {
            "type": kind,
            "alias": f"{stack.name}-{address.name}",
            "certificate_fingerprint": Ref(_material(address), held),
        }

    def _owned_diff(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
                    *, now: datetime, stack: Stack, address: Address) -> Decision:
        """The diff of an upload the stack makes (a CA upload may carry a rollover's trust)."""
        if desired.get("type") == "CA" and desired.get("certificate_fingerprint") is None \
                and current is not None:  # (--refresh=false on a CA recorded before rollovers)
            desired = {**desired, "certificate_fingerprint": current.get(
                "certificate_fingerprint")}
        decision = super().diff(desired, current, now=now, stack=stack, address=address)
        if desired.get("type") != "CA" or decision.replace_paths != (
                "certificate_fingerprint",) or current is None:
            return decision
        source, new = _material(address), str(desired.get("certificate_fingerprint"))
        if "+" in new:
            why = (f"it uploads the old and the new root of {source} together (client-CA "
                   "rollover: both are trusted)")
        elif "+" in str(current.get("certificate_fingerprint")):
            why = f"it uploads the new root of {source} only (client-CA rollover: the old CA " \
                  "is retired)"
        else:
            return decision
        return Decision(decision.action, decision.reason, why, decision.replace_paths,
                        decision.changed)

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        if (desired or prior or {}).get("existing"):
            ident = (desired or prior or {}).get("id")
            found = cloud.get(CERTIFICATES.name, ident)
            return existing_attributes(found) if found is not None else None
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

    def diff(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
             *, now: datetime, stack: Stack, address: Address) -> Decision:
        if not desired.get("existing"):
            return self._owned_diff(desired, current, now=now, stack=stack, address=address)
        where = f"certificates.{address.name}.id"
        if current is None:
            raise PlanError(
                f"{address}: the certificate {desired['id']} ({where}) does not exist in the "
                "SSL service of this account",
                hint="check the ID in the SSL console (or DescribeCertificates)")
        if current.get("type") != desired.get("type"):
            raise PlanError(
                f"{address}: the certificate {desired['id']} ({where}) is a "
                f"{_KINDS.get(str(current.get('type')), current.get('type'))} certificate, "
                f"but the stack uses it as a {_KINDS[desired['type']]} certificate",
                hint="reference a certificate of the right type")
        return Decision(Action.NOOP, Reason.ADOPTED_MATCHES, detail="referenced by its ID")

    def import_(self, provider: Provider, stack: Stack, address: Address, ident: str,
                recorded: Callable[[Address], Mapping[str, Any] | None]) -> Attributes:
        from mtlsform.resources.import_ids import refuse

        spec = stack.certificates[address.name]
        if not spec.existing:
            raise refuse(address, f"certificates.{address.name} is made by mtlsform (its "
                         "upload is made from the material it holds), so an upload made "
                         "elsewhere cannot be imported for it",
                         hint=f"reference the upload by its ID: certificates.{address.name}: "
                              f"{{type: {spec.type}, id: {ident}}}")
        if spec.id != ident:
            raise refuse(address, f"the stack references certificate {spec.id} at this "
                         f"address (certificates.{address.name}.id), not {ident}",
                         hint=f"import {spec.id}, or set certificates.{address.name}.id to "
                              f"{ident}")
        info = provider.read_certificates([ident]).get(ident)
        if info is None:
            raise refuse(address, f"there is no certificate {ident} in the SSL service of "
                         "this account", hint="check the ID (or DescribeCertificates)")
        wanted = stack.uploaded_certificates()[address.name]
        if info.type != wanted:
            raise refuse(address, f"certificate {ident} is a {_KINDS[info.type]} "
                         f"certificate, but the stack uses it as a {_KINDS[wanted]} "
                         "certificate", hint="reference a certificate of the right type")
        return existing_attributes(info)

    def plan_warnings(self, current: Mapping[str, Any] | None, *, now: datetime, stack: Stack,
                      address: Address) -> list[str]:
        """A certificate referenced by its ID inside its window: mtlsform cannot renew it."""
        spec = stack.certificates.get(address.name)
        not_after = (current or {}).get("not_after")
        if spec is None or not spec.existing or not isinstance(not_after, str):
            return []
        from mtlsform.pki.facts import iso_utc, parse_iso_utc

        try:
            end = parse_iso_utc(not_after)
        except ValueError:
            return []
        if now < end - timedelta(days=spec.renew_before_days):
            return []
        when = (f"expired on {iso_utc(end)}" if now >= end else
                f"expires on {iso_utc(end)} ({(end - now).days} days left, renew_before_days "
                f"{spec.renew_before_days})")
        return [f"certificate {spec.id} is referenced by its ID, so mtlsform cannot renew it: "
                f"it {when}; renew it in the SSL service and set certificates.{spec.name}.id "
                "to the renewed certificate's ID"]

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        if values.get("existing"):  # the plan refuses a missing one: nothing to upload
            raise MtlsformError(f"{address}: certificate {values.get('id')} is referenced by "
                                "its ID and cannot be uploaded")
        source = _material(address)
        material = ctx.lookup(source)
        if material is None:
            raise MtlsformError(f"{address}: {source} is not in the state")
        is_server = values["type"] == "SVR"
        pem = material["certificate_pem"] if is_server else (
            material.get("trust_pem") or material["certificate_pem"])
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
        if "alias" in changed and not prior.get("borrowed") and not prior.get("existing"):
            ctx.provider.rename_certificate(prior["id"], values["alias"])
        return {**prior, **values, "id": prior["id"]}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        if prior.get("borrowed") or prior.get("existing"):
            return  # another owner's upload: it stays for them
        ctx.provider.delete_certificate(prior["id"])

    def owned(self, attrs: Mapping[str, Any]) -> bool:
        return not attrs.get("borrowed") and not attrs.get("existing")

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
        return Reason.ADOPTED if attrs.get("existing") else Reason.BORROWED


_KINDS = {"SVR": "server", "CA": "CA"}


def existing_attributes(info: Any) -> Attributes:
    """What the state records of an upload referenced by its ID: as the SSL service has it."""
    return {"id": info.id, "type": info.type, "alias": info.alias, "existing": True,
            "not_after": info.not_after}


def _material(address: Address) -> Address:
    """The local certificate an upload is a copy of (the same name)."""
    return Address(CERTIFICATE.name, address.name)


SSL_CERTIFICATE = SslCertificateType()
