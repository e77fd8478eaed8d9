"""TencentCloudProvider: the Provider protocol on the CLB and SSL APIs.

Reads are batched (see reads.py). Every CLB write holds its CLB's gate, retries what is
retryable and returns only after its asynchronous task finished; target writes of one rule made
at the same time share calls (see targets.py). Deleting an object that is already gone counts as
done, as Terraform does.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from mtlsform.errors import ProviderError
from mtlsform.providers.base import (
    CertificateBinding,
    CertificateInfo,
    CertificateInUse,
    CertType,
    ConfigBinding,
    CustomizedConfigInfo,
    DeleteProtected,
    DomainAttributes,
    ListenerInfo,
    ListenerSpec,
    LoadBalancerInfo,
    LoadBalancerSpec,
    RedirectSpec,
    RuleSpec,
    TargetSpec,
    Upload,
)
from mtlsform.providers.tencentcloud import customized, mapping
from mtlsform.providers.tencentcloud.errors import is_gone
from mtlsform.providers.tencentcloud.locks import LoadBalancerLocks
from mtlsform.providers.tencentcloud.presented import (
    Presenter,
    VipPresenter,
    presented_fingerprint,
)
from mtlsform.providers.tencentcloud.reads import Reader
from mtlsform.providers.tencentcloud.session import ApiSession
from mtlsform.providers.tencentcloud.settings import ENV_TASK_TIMEOUT
from mtlsform.providers.tencentcloud.targets import (
    DEREGISTER,
    MODIFY_WEIGHT,
    REGISTER,
    TargetWriter,
)
from mtlsform.providers.tencentcloud.trusted import client_accepted
from mtlsform.providers.together import Seat
from mtlsform.sensitive import Sensitive


def _clb() -> Any:
    from tencentcloud.clb.v20180317 import models

    return models


class TencentCloudProvider:
    """Implements mtlsform.providers.base.Provider; safe to call from many threads."""

    def __init__(self, session: ApiSession, *, data_plane_offset: int | None = None,
                 presenter: Presenter | None = None) -> None:
        """Handshakes that check what a listener presents go to `presenter`, else (with
        `data_plane_offset`) to the VIP at each listener's port plus the offset (0 for the
        cloud); with neither, no data plane can be reached from here."""
        self._session = session
        self._reader = Reader(session)
        self._targets = TargetWriter(session, self._reader)
        if presenter is None and data_plane_offset is not None:
            presenter = VipPresenter(self._reader, data_plane_offset)
        self._presenter = presenter

    def close(self) -> None:
        try:
            if self._presenter is not None:
                self._presenter.close()
        finally:
            self._session.close()

    @property
    def write_gates(self) -> LoadBalancerLocks:
        """The per-CLB gates, with what they saw (`occupancy`)."""
        return self._session.locks

    # --- reads --------------------------------------------------------------------------------

    def read_load_balancers(self, ids: Sequence[str]) -> dict[str, LoadBalancerInfo]:
        return self._reader.load_balancers(ids)

    def read_listeners(self, load_balancer_id: str) -> dict[str, ListenerInfo] | None:
        return self._reader.listeners(load_balancer_id)

    def find_load_balancers(self, tags: Mapping[str, str]) -> dict[str, LoadBalancerInfo]:
        return self._reader.load_balancers_tagged(tags)

    def read_certificates(self, ids: Sequence[str]) -> dict[str, CertificateInfo]:
        return self._reader.certificates(ids)

    def read_customized_configs(self, ids: Sequence[str]) -> dict[str, CustomizedConfigInfo]:
        return customized.read_configs(self._session, ids)

    # --- customized configurations (customized.py) --------------------------------------------

    def create_customized_config(self, name: str, content: str) -> str:
        return customized.create_config(self._session, name, content)

    def update_customized_config(self, config_id: str, content: str) -> None:
        customized.update_config(self._session, config_id, content)

    def delete_customized_config(self, config_id: str) -> None:
        customized.delete_config(self._session, config_id)

    def bind_customized_config(self, config_id: str, bindings: Sequence[ConfigBinding],
                               *, bound: bool) -> None:
        customized.bind(self._session, config_id, bindings, on=bound)

    def presented_certificate(self, load_balancer_id: str, listener_id: str, port: int,
                              server_name: str | None) -> str | None:
        if self._presenter is None:
            return None
        where = self._presenter.address(load_balancer_id, listener_id, port)
        return presented_fingerprint(*where, server_name) if where is not None else None

    def presentation_wait(self) -> float:
        return self._presenter.follow_wait if self._presenter is not None else 0.0

    def client_accepted(self, load_balancer_id: str, listener_id: str, port: int,
                        server_name: str | None, certificate_pem: str,
                        private_key_pem: Sensitive[str]) -> bool | None:
        if self._presenter is None:
            return None
        where = self._presenter.address(load_balancer_id, listener_id, port)
        if where is None:
            return None
        return client_accepted(*where, server_name, certificate_pem, private_key_pem)

    # --- helpers ------------------------------------------------------------------------------

    def _delete(self, load_balancer_id: str, action: str, request: Any) -> None:
        try:
            self._session.write(load_balancer_id, action, request)
        except ProviderError as error:
            if not is_gone(error):
                raise

    # --- load balancers -----------------------------------------------------------------------

    def create_load_balancer(self, spec: LoadBalancerSpec) -> LoadBalancerInfo:
        request = _clb().CreateLoadBalancerRequest()
        request.LoadBalancerType = mapping.NETWORK_TO_TYPE[spec.network]
        request.Forward = 1
        request.LoadBalancerName = spec.name
        if spec.vpc_id:
            request.VpcId = spec.vpc_id
        if spec.subnet_id:
            request.SubnetId = spec.subnet_id
        if spec.tags:
            request.Tags = mapping.tag_inputs(spec.tags)
        # Without a token from the engine, one per call still makes our own retries idempotent.
        request.ClientToken = spec.client_token or uuid.uuid4().hex
        response, task = self._session.write(None, "CreateLoadBalancer", request)
        ids = list(response.LoadBalancerIds or ()) or list(task.load_balancer_ids)
        if not ids:
            raise ProviderError("the task finished without naming the new load balancer",
                                code="UnexpectedResponse", request_id=task.task_id,
                                action="CreateLoadBalancer")
        return self._wait_until_normal(ids[0])

    def _wait_until_normal(self, load_balancer_id: str) -> LoadBalancerInfo:
        """Reads a new CLB until it is normal (Status 1) with its VIP."""
        settings = self._session.settings
        deadline = time.monotonic() + settings.task_timeout
        polls = 0
        while True:
            info = self._reader.load_balancers([load_balancer_id]).get(load_balancer_id)
            if info is not None and info.status == 1:
                return info
            if time.monotonic() >= deadline:
                state = "not visible" if info is None else f"in Status {info.status}"
                raise ProviderError(
                    f"load balancer {load_balancer_id} is still {state} after "
                    f"{settings.task_timeout:g} s", code="TaskTimeout",
                    action="DescribeLoadBalancers", hint=f"raise {ENV_TASK_TIMEOUT}",
                    outcome_unknown=True)
            time.sleep(min(settings.poll_backoff.delay(polls),
                           max(0.0, deadline - time.monotonic())))
            polls += 1

    def rename_load_balancer(self, load_balancer_id: str, name: str) -> None:
        request = _clb().ModifyLoadBalancerAttributesRequest()
        request.LoadBalancerId = load_balancer_id
        request.LoadBalancerName = name
        self._session.write(load_balancer_id, "ModifyLoadBalancerAttributes", request)

    def delete_load_balancer(self, load_balancer_id: str) -> None:
        request = _clb().DeleteLoadBalancerRequest()
        request.LoadBalancerIds = [load_balancer_id]
        # The cloud refuses a CLB with 20 or more bound targets unless forced
        # (FailedOperation.TargetNumCheckRisk); the approved plan lists every target it removes.
        request.ForceDelete = True
        try:
            self._delete(load_balancer_id, "DeleteLoadBalancer", request)
        except ProviderError as error:
            if error.code == "OperationDenied":
                info = self._reader.load_balancers([load_balancer_id]).get(load_balancer_id)
                if info is not None and info.delete_protect:
                    raise DeleteProtected(load_balancer_id, error.request_id) from None
            raise

    def set_security_groups(self, load_balancer_id: str, groups: Sequence[str]) -> None:
        request = _clb().SetLoadBalancerSecurityGroupsRequest()
        request.LoadBalancerId = load_balancer_id
        if groups:  # none: every group is unbound
            request.SecurityGroups = list(groups)
        self._session.write(load_balancer_id, "SetLoadBalancerSecurityGroups", request)

    def set_load_balancer_flags(self, load_balancer_id: str, *,
                                pass_to_target: bool | None = None,
                                delete_protect: bool | None = None) -> None:
        if pass_to_target is None and delete_protect is None:
            return
        request = _clb().ModifyLoadBalancerAttributesRequest()
        request.LoadBalancerId = load_balancer_id
        if pass_to_target is not None:
            request.LoadBalancerPassToTarget = pass_to_target
        if delete_protect is not None:
            request.DeleteProtect = delete_protect
        self._session.write(load_balancer_id, "ModifyLoadBalancerAttributes", request)

    # --- certificates -------------------------------------------------------------------------

    def upload_certificate(self, cert_type: CertType, certificate_pem: str,
                           private_key_pem: Sensitive[str] | None, alias: str,
                           tags: Mapping[str, str] | None = None) -> Upload:
        from tencentcloud.ssl.v20191205 import models

        if cert_type not in ("SVR", "CA"):
            raise ValueError(f"certificate type must be SVR or CA, not {cert_type!r}")
        if cert_type == "SVR" and private_key_pem is None:
            raise ValueError("a server (SVR) certificate is uploaded with its private key")
        request = models.UploadCertificateRequest()
        request.CertificateType = cert_type
        # Stored PEMs lose surrounding newlines; sending them stripped keeps re-uploads identical.
        request.CertificatePublicKey = certificate_pem.strip()
        secrets: tuple[str, ...] = ()
        if cert_type == "SVR" and private_key_pem is not None:
            key = private_key_pem.reveal().strip()
            request.CertificatePrivateKey = key
            secrets = (key,)
        request.Alias = alias
        request.Repeatable = False
        wanted = dict(tags or {})
        if wanted:
            request.Tags = mapping.ssl_tags(wanted)
        response = self._session.call("ssl", "UploadCertificate", request, secrets=secrets)
        certificate_id = str(response.RepeatCertId or response.CertificateId or "")
        if not certificate_id:
            raise ProviderError("the answer carries no CertificateId", code="UnexpectedResponse",
                                request_id=response.RequestId or "", action="UploadCertificate")
        if not response.RepeatCertId:
            return Upload(certificate_id)
        # Identical content was already there: ours (a retry, a recovery) only if it carries
        # our tags; anyone else's upload is used as it is and never deleted.
        existing = self._reader.certificates([certificate_id]).get(certificate_id)
        held = dict(existing.tags) if existing is not None else {}
        # Ours means the same tags of the same namespace ("mtlsform:"): an extra one there (an
        # upload of another workspace) makes it someone else's.
        spaces = {k.partition(":")[0] for k in wanted if ":" in k}
        extra = any(k not in wanted and ":" in k and k.partition(":")[0] in spaces
                    for k in held)
        return Upload(certificate_id, borrowed=extra or any(held.get(k) != v
                                                            for k, v in wanted.items()))

    def certificate_bindings(self, certificate_id: str) -> list[str]:
        return self._reader.certificate_bindings(certificate_id)

    def rename_certificate(self, certificate_id: str, alias: str) -> None:
        from tencentcloud.ssl.v20191205 import models

        request = models.ModifyCertificateAliasRequest()
        request.CertificateId = certificate_id
        request.Alias = alias
        self._session.call("ssl", "ModifyCertificateAlias", request)

    def delete_certificate(self, certificate_id: str) -> None:
        from tencentcloud.ssl.v20191205 import models

        bound = self._reader.certificate_bindings(certificate_id)
        if bound:  # in use outside what this run changed: never pull it from under them
            raise CertificateInUse(certificate_id, bound)
        request = models.DeleteCertificateRequest()
        request.CertificateId = certificate_id
        try:
            response = self._session.call("ssl", "DeleteCertificate", request)
        except ProviderError as error:
            if is_gone(error):
                return
            raise
        if response.DeleteResult is False:
            raise ProviderError(f"certificate {certificate_id} was not deleted (DeleteResult "
                                "false)", code="DeleteRefused",
                                request_id=response.RequestId or "", action="DeleteCertificate")

    # --- listeners ----------------------------------------------------------------------------

    def create_listener(self, load_balancer_id: str, spec: ListenerSpec) -> str:
        request = _clb().CreateListenerRequest()
        request.LoadBalancerId = load_balancer_id
        request.Ports = [spec.port]
        request.Protocol = spec.protocol
        request.ListenerNames = [spec.name]
        if spec.protocol.upper() == "HTTPS":
            request.SniSwitch = 1 if spec.sni else 0
        if spec.certificate is not None:
            mapping.set_certificate(request, spec.certificate)
        response, task = self._session.write(load_balancer_id, "CreateListener", request)
        if response.ListenerIds:
            return str(response.ListenerIds[0])
        listeners = self._reader.describe_listeners(load_balancer_id, protocol=spec.protocol,
                                                    port=spec.port) or []
        for listener in listeners:
            if listener.Port == spec.port:
                return str(listener.ListenerId)
        raise ProviderError(f"the new {spec.protocol}:{spec.port} listener is not visible",
                            code="UnexpectedResponse", request_id=task.task_id,
                            action="CreateListener")

    def modify_listener(self, load_balancer_id: str, listener_id: str, *,
                        name: str | None = None,
                        certificate: CertificateBinding | None = None,
                        sni: bool | None = None) -> None:
        if name is None and certificate is None and sni is None:
            return
        request = _clb().ModifyListenerRequest()
        request.LoadBalancerId = load_balancer_id
        request.ListenerId = listener_id
        if name is not None:
            request.ListenerName = name
        if certificate is not None:
            mapping.set_certificate(request, certificate)
        if sni is not None:
            request.SniSwitch = 1 if sni else 0
        self._session.write(load_balancer_id, "ModifyListener", request)

    def delete_listener(self, load_balancer_id: str, listener_id: str) -> None:
        request = _clb().DeleteListenerRequest()
        request.LoadBalancerId = load_balancer_id
        request.ListenerId = listener_id
        self._delete(load_balancer_id, "DeleteListener", request)

    # --- rules --------------------------------------------------------------------------------

    def create_rule(self, load_balancer_id: str, listener_id: str, spec: RuleSpec) -> str:
        request = _clb().CreateRuleRequest()
        request.LoadBalancerId = load_balancer_id
        request.ListenerId = listener_id
        request.Rules = [mapping.rule_input(spec)]
        response, task = self._session.write(load_balancer_id, "CreateRule", request)
        if response.LocationIds:
            return str(response.LocationIds[0])
        listeners = self._reader.describe_listeners(load_balancer_id,
                                                    listener_ids=[listener_id]) or []
        for listener in listeners:
            for rule in listener.Rules or ():
                if spec.domain in (rule.Domains or [rule.Domain]) and rule.Url == spec.url:
                    return str(rule.LocationId)
        raise ProviderError(f"the new rule {spec.domain}{spec.url} is not visible",
                            code="UnexpectedResponse", request_id=task.task_id,
                            action="CreateRule")

    def modify_rule(self, load_balancer_id: str, listener_id: str, rule_id: str,
                    spec: RuleSpec) -> None:
        request = _clb().ModifyRuleRequest()
        request.LoadBalancerId = load_balancer_id
        request.ListenerId = listener_id
        request.LocationId = rule_id
        request.Scheduler = spec.scheduler
        request.ForwardType = spec.forward_type
        request.SessionExpireTime = spec.session_expire_time
        request.HealthCheck = mapping.health_check_input(spec.health_check)
        self._session.write(load_balancer_id, "ModifyRule", request)

    def modify_domain_certificate(self, load_balancer_id: str, listener_id: str, domain: str,
                                  certificate: CertificateBinding) -> None:
        request = _clb().ModifyDomainAttributesRequest()
        request.LoadBalancerId = load_balancer_id
        request.ListenerId = listener_id
        request.Domain = domain
        mapping.set_certificate(request, certificate)
        self._session.write(load_balancer_id, "ModifyDomainAttributes", request)

    def modify_domain_attributes(self, load_balancer_id: str, listener_id: str, domain: str,
                                 attributes: DomainAttributes) -> None:
        request = _clb().ModifyDomainAttributesRequest()
        request.LoadBalancerId = load_balancer_id
        request.ListenerId = listener_id
        request.Domain = domain
        if attributes.default_server is not None:
            request.DefaultServer = attributes.default_server
        if attributes.http2 is not None:
            request.Http2 = attributes.http2
        if attributes.quic is not None:
            request.Quic = attributes.quic
        if attributes.domains is not None:
            request.NewDomains = list(attributes.domains)
        self._session.write(load_balancer_id, "ModifyDomainAttributes", request)

    def delete_rule(self, load_balancer_id: str, listener_id: str, rule_id: str) -> None:
        request = _clb().DeleteRuleRequest()
        request.LoadBalancerId = load_balancer_id
        request.ListenerId = listener_id
        request.LocationIds = [rule_id]
        self._delete(load_balancer_id, "DeleteRule", request)

    # --- redirects -----------------------------------------------------------------------------

    def _rewrite_request(self, name: str, load_balancer_id: str, spec: RedirectSpec) -> Any:
        request = getattr(_clb(), f"{name}Request")()
        request.LoadBalancerId = load_balancer_id
        request.SourceListenerId = spec.source_listener_id
        request.TargetListenerId = spec.target_listener_id
        request.RewriteInfos = [mapping.rewrite_location_map(spec)]
        return request

    def create_redirect(self, load_balancer_id: str, spec: RedirectSpec) -> None:
        request = self._rewrite_request("ManualRewrite", load_balancer_id, spec)
        self._session.write(load_balancer_id, "ManualRewrite", request)

    def delete_redirect(self, load_balancer_id: str, spec: RedirectSpec) -> None:
        request = self._rewrite_request("DeleteRewrite", load_balancer_id, spec)
        request.RewriteInfos[0].RewriteCode = None  # DeleteRewrite names the pair only
        request.RewriteInfos[0].TakeUrl = None
        request.RewriteInfos[0].SourceDomain = None
        try:
            self._delete(load_balancer_id, "DeleteRewrite", request)
        except ProviderError as error:
            if error.code != "InvalidParameter.SomeRewriteNotFound":  # removed already
                raise

    # --- targets (merged per rule with concurrent callers' targets: see targets.py) ------------

    def register_targets(self, load_balancer_id: str, listener_id: str, rule_id: str,
                         targets: Sequence[TargetSpec], *, seat: Seat | None = None) -> None:
        self._targets.write(REGISTER, load_balancer_id, listener_id, rule_id, targets,
                            seat=seat)

    def deregister_targets(self, load_balancer_id: str, listener_id: str, rule_id: str,
                           targets: Sequence[TargetSpec], *, seat: Seat | None = None) -> None:
        self._targets.write(DEREGISTER, load_balancer_id, listener_id, rule_id, targets,
                            seat=seat)

    def modify_target_weights(self, load_balancer_id: str, listener_id: str, rule_id: str,
                              targets: Sequence[TargetSpec], *, seat: Seat | None = None) -> None:
        self._targets.write(MODIFY_WEIGHT, load_balancer_id, listener_id, rule_id, targets,
                            seat=seat)
