"""certificate: local certificate material, generated during apply or imported from files.

Generated material is kept in state so later runs do not regenerate it; it is replaced when its
specification or its issuer changes, or when it enters its renewal window. Exports of the client
side's files are updated in place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mtlsform.actions import Action, Reason
from mtlsform.addresses import Address
from mtlsform.errors import CertificateError
from mtlsform.references import UNKNOWN, Ref
from mtlsform.resources import rollover
from mtlsform.resources.base import (
    ApplyContext,
    Attributes,
    CloudSnapshot,
    Decision,
    ResourceType,
)
from mtlsform.resources.shape import map_of, nullable, optional, secret
from mtlsform.stack.model import Certificate, Stack

MATERIAL_ATTRIBUTES = frozenset({
    "fingerprint", "serial", "not_before", "not_after", "subject_cn", "issuer_cn", "key_type",
    "certificate_pem", "chain_pem", "private_key_pem",
})


def _subject(cert: Certificate) -> dict[str, str]:
    if cert.subject is None:
        return {}
    fields = vars(cert.subject)
    return {k: v for k, v in sorted(fields.items()) if v is not None}


def export_config(cert: Certificate) -> dict[str, Any] | None:
    """The export as written: its directory stays relative to the stack file's directory."""
    if cert.export is None:
        return None
    config: dict[str, Any] = {
        "dir": str(cert.export.dir),
        "pkcs12": cert.export.pkcs12,
        "legacy_pkcs12": cert.export.legacy_pkcs12,
    }
    if cert.export.outside_stack_folder:  # only when set: older records stay unchanged
        config["outside_stack_folder"] = True
    return config


def _exported_files_present(export: Mapping[str, Any], name: str, base: Path) -> bool:
    from mtlsform.pki.export import exported_file_names

    directory = base / export["dir"]
    names = exported_file_names(name, pkcs12=export["pkcs12"],
                                legacy_pkcs12=export["legacy_pkcs12"])
    return all((directory / n).is_file() for n in names)


class CertificateType(ResourceType):
    name = "certificate"
    local = True
    force_new = frozenset({
        "kind", "type", "key", "subject", "dns_names", "ip_addresses", "validity_days",
        "path_length", "issuer", "issuer_fingerprint", "fingerprint",
    })
    updatable = frozenset({"export"})
    computed = MATERIAL_ATTRIBUTES
    sensitive = frozenset({"private_key_pem"}) | rollover.SENSITIVE
    hidden = frozenset({"certificate_pem", "chain_pem"}) | rollover.HIDDEN
    replace_action = Action.REPLACE_CREATE_FIRST
    # Generated material records its specification, imported material its `files`; both
    # record the material itself (`pki.material.CertificateMaterial.to_state`).
    recorded = {
        "kind": str, "type": str,
        "export": nullable({"dir": str, "pkcs12": bool, "legacy_pkcs12": bool}),
        "key": optional(str), "subject": optional(map_of(str)), "dns_names": optional([str]),
        "ip_addresses": optional([str]), "validity_days": optional(int),
        "path_length": optional(nullable(int)), "issuer": optional(nullable(str)),
        "issuer_fingerprint": optional(nullable(str)), "files": optional(map_of(str)),
        "fingerprint": str, "serial": str, "not_before": str, "not_after": str,
        "subject_cn": str, "issuer_cn": str, "key_type": str, "certificate_pem": str,
        "chain_pem": str, "private_key_pem": nullable(secret(str)),
        # A CA: what its upload holds, and a client-CA rollover's stage (resources/rollover.py).
        "trust_fingerprint": optional(str), "trust_pem": optional(str),
        "rollover": optional(nullable(map_of(object))), "rollover_stage": optional(str),
        "next_certificate_pem": optional(str), "next_private_key_pem": optional(secret(str)),
        "next_fingerprint": optional(str), "next_not_after": optional(str),
        "next_subject_cn": optional(str), "previous_fingerprint": optional(str),
        "previous_certificate_pem": optional(str), "previous_subject_cn": optional(str),
        "retire_after": optional(str),
    }

    def instances(self, stack: Stack) -> Iterable[Address]:
        # One referenced by its ID has no local material: only its upload is a resource.
        return [Address(self.name, name) for name, cert in stack.certificates.items()
                if not cert.existing]

    def config(self, stack: Stack, address: Address) -> Attributes:
        cert = stack.certificates[address.name]
        common = {"type": cert.type, "export": export_config(cert)}
        if cert.imported:
            from mtlsform.pki import load_imported

            material = load_imported(cert, stack.directory, os.environ)
            return {
                "kind": "imported",
                **common,
                "files": {k: str(v) for k, v in vars(cert.files).items() if v is not None},
                "fingerprint": material.fingerprint_sha256,
            }
        issuer = Address(self.name, cert.issuer) if cert.issuer else None
        roll = rollover.rollover_config(cert)
        return {
            **({"rollover": roll} if roll is not None else {}),
            "kind": "generated",
            **common,
            "key": cert.key,
            "subject": _subject(cert),
            "dns_names": list(cert.dns_names),
            "ip_addresses": list(cert.ip_addresses),
            "validity_days": cert.validity_days,
            "path_length": cert.path_length if cert.type == "ca" else None,
            "issuer": str(issuer) if issuer else None,
            "issuer_fingerprint": Ref(issuer, "fingerprint") if issuer else None,
        }

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        """Local material is what the state holds (a CA recorded before rollovers existed
        holds its own root in its upload)."""
        if prior is None:
            return None
        if prior.get("type") == "ca" and "trust_fingerprint" not in prior:
            return {**prior, "trust_fingerprint": prior.get("fingerprint")}
        return dict(prior)

    def diff(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
             *, now: datetime, stack: Stack, address: Address) -> Decision:
        declared, desired = desired, rollover.effective(desired, current)
        decision = super().diff(desired, current, now=now, stack=stack, address=address)
        if decision.action.is_replace and decision.replace_paths == ("issuer_fingerprint",) \
                and desired.get("issuer_fingerprint") is not UNKNOWN:  # a rollover's stage 3
            decision = Decision(decision.action, decision.reason, replace_paths=(
                "issuer_fingerprint",), changed=decision.changed, detail=(
                f"its issuer {desired.get('issuer')} signs with a new CA now: it is reissued "
                "from it" + (" and exported again" if desired.get("export") else "")))
        renewal = self._renewal(desired, current, decision, now=now, stack=stack,
                                address=address)
        staged = rollover.decide(declared, current, decision, now=now, stack=stack,
                                 address=address,
                                 renewal=renewal.detail if renewal is not None else None)
        if staged is not None:
            return staged
        if renewal is not None:  # renewing writes the exported files too
            return renewal

        export = desired.get("export")
        if (decision.action is Action.NOOP and export
                and not _exported_files_present(export, address.name, stack.directory)):
            return Decision(Action.UPDATE, Reason.FILES_MISSING,
                            detail=f"the files exported to {export['dir']} are missing: they "
                            "will be written again", changed=("export",))
        return decision

    def _renewal(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
                 decision: Decision, *, now: datetime, stack: Stack,
                 address: Address) -> Decision | None:
        """A create-first replacement when generated material is outside its renewal window."""
        if current is None or decision.action.is_replace or desired.get("kind") != "generated":
            return None
        from mtlsform.pki import CertificateMaterial, renewal_reason

        renew_days = stack.certificates[address.name].renew_before_days
        why = renewal_reason(CertificateMaterial.from_state(current), renew_days, now)
        if why is None:
            return None
        return Decision(self.replace_action, Reason.EXPIRING, detail=why,
                        replace_paths=("not_after",),
                        changed=tuple(sorted({*decision.changed, "not_after"})))

    def planned(self, desired: Mapping[str, Any], current: Mapping[str, Any] | None,
                action: Action, changed: Sequence[str] = ()) -> Attributes:
        if current is not None and rollover.STAGE in changed:
            return rollover.planned(desired, current)
        after = super().planned(desired, current, action, changed)
        if action.creates and desired.get("type") == "ca":
            after["trust_fingerprint"] = UNKNOWN  # its upload follows its new fingerprint
        return after

    def plan_warnings(self, current: Mapping[str, Any] | None, *, now: datetime, stack: Stack,
                      address: Address) -> list[str]:
        """An imported certificate inside its window or expired: mtlsform cannot renew it. A
        rollover waiting for its retirement, or finished while the stack still declares it."""
        spec = stack.certificates[address.name]
        if current is not None and current.get(rollover.STAGE) == "reissued":
            due, why = rollover.retire_due(current, self.config(stack, address), now)
            if not due:
                return [f"client-CA rollover waits at stage 3 of 4: {why}; then stage 4 "
                        "retires the old CA (plan --at that date shows it)"]
        if current is not None and current.get(rollover.STAGE) == "retired" \
                and spec.rollover is not None:
            return [f"the client-CA rollover of {address} is finished: make the settings "
                    f"under certificates.{address.name}.rollover the CA's own and remove "
                    "`rollover:` (the plan then has nothing to do)"]
        if current is None or not spec.imported:
            return []
        from mtlsform.pki import CertificateMaterial, renewal_reason

        why = renewal_reason(CertificateMaterial.from_state(current), spec.renew_before_days,
                             now)
        if why is None:
            return []
        shown = spec.files.certificate if spec.files is not None else "its files"
        return [f"imported from {shown}, so mtlsform cannot renew it: it {why}; replace the "
                "files with a renewed certificate"]

    def import_(self, provider: Any, stack: Stack, address: Address, ident: str,
                recorded: Any) -> Attributes:
        from mtlsform.resources.import_ids import refuse

        raise refuse(address, "a certificate is local material (made by mtlsform or read from "
                     "files): there is nothing in the cloud to import for it",
                     hint=f"to use a certificate the SSL service holds, write certificates."
                          f"{address.name}: {{type: ..., id: {ident}}} and import "
                          f"ssl_certificate.{address.name}")

    def removal_detail(self, attrs: Mapping[str, Any]) -> str | None:
        """A client certificate removed from the stack still opens every listener that trusts
        its CA until it expires: CLB checks no revocation list."""
        if attrs.get("type") != "client" or not attrs.get("not_after"):
            return None
        return (f"its certificate stays valid until {attrs['not_after']}: CLB checks no "
                "revocation list; to cut it off now, run a client-CA rollover that reissues "
                "the others")

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        from mtlsform.pki import CertificateMaterial, generate_certificate, load_imported

        spec = ctx.stack.certificates[address.name]
        if spec.imported:
            material = load_imported(spec, ctx.stack.directory, os.environ)
            if material.fingerprint_sha256 != values.get("fingerprint"):
                shown = spec.files.certificate if spec.files is not None else "its file"
                raise CertificateError(
                    f"{address}: {shown} changed since the plan was made",
                    hint="run the plan again",
                )
        else:
            issuer = None
            if spec.issuer:
                issuer_attrs = ctx.lookup(Address(self.name, spec.issuer))
                if issuer_attrs is None:
                    raise CertificateError(f"{address}: its issuer is not in the state")
                issuer = CertificateMaterial.from_state(issuer_attrs)
            material = generate_certificate(spec, issuer, now=ctx.now)
        attrs = {**values, **material.to_state()}
        if spec.type == "ca":
            attrs["trust_fingerprint"] = attrs["fingerprint"]
        self._export(ctx, address, attrs)
        return attrs

    def update(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any],
               values: Mapping[str, Any], changed: Sequence[str]) -> Attributes:
        if rollover.STAGE in changed:
            issued = [Address(self.name, c.name) for c in ctx.stack.certificates.values()
                      if c.issuer == address.name]
            return rollover.advance(ctx, address, prior, values, issued)
        attrs = {**prior, "export": values.get("export")}
        if prior.get("type") == "ca":
            attrs.setdefault("trust_fingerprint", prior["fingerprint"])
        self._export(ctx, address, attrs)
        return attrs

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        """Local material: nothing to delete in the cloud (exported files are left alone)."""

    def _export(self, ctx: ApplyContext, address: Address, attrs: Mapping[str, Any]) -> None:
        export = attrs.get("export")
        if not export:
            return
        from mtlsform.errors import InputError
        from mtlsform.pki.export import export_client_files
        from mtlsform.pki.material import CertificateMaterial
        from mtlsform.stack.checks.exports import OPT_OUT, inside_stack_folder

        if not export.get(OPT_OUT) and not inside_stack_folder(ctx.stack.directory,
                                                                export["dir"]):
            raise InputError(  # a symlink swapped in after validate: no key is written
                f"the export directory {export['dir']} of certificate {address.name} now "
                f"leads outside {ctx.stack.directory}; nothing was written",
                hint=f"check the symlinks below {ctx.stack.directory}, or set "
                     f"`{OPT_OUT}: true` in the export")
        spec = ctx.stack.certificates[address.name]
        ca_attrs = ctx.lookup(Address(self.name, spec.issuer)) if spec.issuer else None
        export_client_files(
            CertificateMaterial.from_state(attrs),
            CertificateMaterial.from_state(ca_attrs) if ca_attrs else None,
            ctx.stack.directory / export["dir"],
            address.name,
            pkcs12=export["pkcs12"],
            legacy_pkcs12=export["legacy_pkcs12"],
            password=ctx.p12_password,
        )

    # --- requirements (asked by the session and the CLI, which name no resource type) -------

    def requirements(self, action: Action,
                     config: Mapping[str, Any] | None) -> frozenset[str]:
        """New material puts a new private key in the state; a PKCS#12 export needs a password."""
        from mtlsform.resources.base import NEEDS_P12_PASSWORD, NEEDS_STATE_SECRETS

        needs: set[str] = set()
        if action.creates:
            needs.add(NEEDS_STATE_SECRETS)
        export = (config or {}).get("export") or {}
        if (action.creates or action is Action.UPDATE) and (
                export.get("pkcs12") or export.get("legacy_pkcs12")):
            needs.add(NEEDS_P12_PASSWORD)
        return frozenset(needs)


CERTIFICATE = CertificateType()


# --- Addresses of certificates, for callers that name no resource type --------------------------

def certificate_address(name: str) -> Address:
    """The address of the stack's certificate NAME, e.g. certificate.ca."""
    return Address(CERTIFICATE.name, name)
