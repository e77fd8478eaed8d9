"""Mapping between the provider's plain data (specs, infos) and the SDK's request/response models.

Pure functions, no calls. Read-back normalises the API's shapes: SniSwitch 0/1 -> bool,
`Certificate: null` -> None, LoadBalancerType OPEN/INTERNAL -> public/private, the HealthCheck
HttpCode bitmask kept as a mask, a target as an instance or an IP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mtlsform.providers.base import (
    CertificateBinding,
    CertificateInfo,
    HealthCheckSpec,
    ListenerInfo,
    LoadBalancerInfo,
    RedirectSpec,
    RewriteInfo,
    RuleInfo,
    RuleSpec,
    SslMode,
    TargetInfo,
    TargetSpec,
)

NETWORK_TO_TYPE = {"public": "OPEN", "private": "INTERNAL"}
TYPE_TO_NETWORK = {"OPEN": "public", "INTERNAL": "private"}


def _models() -> Any:
    from tencentcloud.clb.v20180317 import models

    return models


# --- requests -----------------------------------------------------------------------------


def set_certificate(request: Any, binding: CertificateBinding) -> None:
    """Puts `binding` on a request (CreateListener, ModifyListener, RuleInput,
    ModifyDomainAttributes): as `Certificate`, or as `MultiCertInfo` with dual certificates
    (its CertList: the server certificates, then the client CA with MUTUAL)."""
    if not binding.extra_certificate_ids:
        request.Certificate = certificate_input(binding)
        return
    models = _models()
    multi = models.MultiCertInfo()
    multi.SSLMode = binding.ssl_mode
    ids = [binding.certificate_id, *binding.extra_certificate_ids]
    if binding.ssl_mode == "MUTUAL":
        if not binding.client_ca_id:
            raise ValueError("a MUTUAL certificate binding needs client_ca_id")
        ids.append(binding.client_ca_id)
        multi.SSLVerifyClient = binding.verify_client
    multi.CertList = []
    for cert_id in ids:
        item = models.CertInfo()
        item.CertId = cert_id
        multi.CertList.append(item)
    request.MultiCertInfo = multi


def certificate_input(binding: CertificateBinding) -> Any:
    cert = _models().CertificateInput()
    cert.SSLMode = binding.ssl_mode
    cert.CertId = binding.certificate_id
    if binding.ssl_mode == "MUTUAL":
        if not binding.client_ca_id:
            raise ValueError("a MUTUAL certificate binding needs client_ca_id")
        cert.CertCaId = binding.client_ca_id
        cert.SSLVerifyClient = binding.verify_client
    return cert


def health_check_input(spec: HealthCheckSpec) -> Any:
    check = _models().HealthCheck()
    if not spec.enabled:
        check.HealthSwitch = 0
        return check
    check.HealthSwitch = 1
    check.TimeOut = spec.timeout
    check.IntervalTime = spec.interval
    check.HealthNum = spec.healthy_threshold
    check.UnHealthNum = spec.unhealthy_threshold
    check.HttpCode = spec.http_code_mask
    check.HttpCheckPath = spec.path
    check.HttpCheckMethod = spec.method
    if spec.domain:
        check.HttpCheckDomain = spec.domain
    if spec.check_type:
        check.CheckType = spec.check_type
    check.SourceIpType = spec.source_ip_type
    if spec.extended_code:
        check.ExtendedCode = spec.extended_code
    return check


def rule_input(spec: RuleSpec) -> Any:
    rule = _models().RuleInput()
    if spec.domains:  # one of the two (RuleInput)
        rule.Domains = list(spec.domains)
    else:
        rule.Domain = spec.domain
    rule.Url = spec.url
    rule.Scheduler = spec.scheduler
    rule.ForwardType = spec.forward_type
    rule.SessionExpireTime = spec.session_expire_time
    rule.HealthCheck = health_check_input(spec.health_check)
    if spec.certificate is not None:
        set_certificate(rule, spec.certificate)
    if spec.default_server:
        rule.DefaultServer = True
    if spec.http2:
        rule.Http2 = True
    if spec.quic:
        rule.Quic = True
    return rule


def target_input(spec: TargetSpec, *, weight: bool) -> Any:
    if (spec.instance_id is None) == (spec.ip is None):
        raise ValueError(f"target {spec!r} needs exactly one of instance_id or ip")
    target = _models().Target()
    target.Port = spec.port
    if spec.instance_id is not None:
        target.InstanceId = spec.instance_id
    else:
        target.EniIp = spec.ip
    if weight:
        target.Weight = spec.weight
    return target


def ssl_tags(tags: Mapping[str, str]) -> list[Any]:
    """Tags for an SSL upload (the SSL service's own Tags model)."""
    from tencentcloud.ssl.v20191205 import models

    out = []
    for key in sorted(tags):
        tag = models.Tags()
        tag.TagKey = key
        tag.TagValue = tags[key]
        out.append(tag)
    return out


def tag_inputs(tags: Mapping[str, str]) -> list[Any]:
    out = []
    for key in sorted(tags):
        tag = _models().TagInfo()
        tag.TagKey = key
        tag.TagValue = tags[key]
        out.append(tag)
    return out


# --- read-back ----------------------------------------------------------------------------


def certificate_binding(output: Any) -> CertificateBinding | None:
    """A CertificateOutput (or null) -> binding; None when no server certificate is set."""
    if output is None or not output.CertId:
        return None
    mode = (output.SSLMode or "UNIDIRECTIONAL").upper()
    ssl_mode: SslMode = "MUTUAL" if mode == "MUTUAL" else "UNIDIRECTIONAL"
    optional = ssl_mode == "MUTUAL" and (output.SSLVerifyClient or "").upper() == "OPTIONAL"
    return CertificateBinding(ssl_mode=ssl_mode, certificate_id=output.CertId,
                              client_ca_id=output.CertCaId or None,
                              verify_client="OPTIONAL" if optional else "ON",
                              extra_certificate_ids=tuple(output.ExtCertIds or ()))


def health_check(output: Any) -> HealthCheckSpec:
    """A HealthCheck (or null: treated as checks off) -> spec, defaults for absent fields."""
    default = HealthCheckSpec()
    if output is None:
        return HealthCheckSpec(enabled=False)

    def pick(value: Any, fallback: Any) -> Any:
        return fallback if value is None else value

    method = (output.HttpCheckMethod or default.method).upper()
    return HealthCheckSpec(
        enabled=output.HealthSwitch != 0,
        path=pick(output.HttpCheckPath, default.path),
        interval=pick(output.IntervalTime, default.interval),
        timeout=pick(output.TimeOut, default.timeout),
        healthy_threshold=pick(output.HealthNum, default.healthy_threshold),
        unhealthy_threshold=pick(output.UnHealthNum, default.unhealthy_threshold),
        http_code_mask=pick(output.HttpCode, default.http_code_mask),
        method="GET" if method == "GET" else "HEAD",
        domain=output.HttpCheckDomain or None,
        check_type=output.CheckType or None,
        source_ip_type=1 if output.SourceIpType == 1 else 0,
        extended_code=output.ExtendedCode or None,
    )


def target_info(backend: Any) -> TargetInfo:
    """A Backend -> target: CVM backends by instance, everything else by its private IP."""
    kind = (backend.Type or "").upper()
    weight = backend.Weight if backend.Weight is not None else 10
    if backend.InstanceId and kind in ("", "CVM"):
        return TargetInfo(port=backend.Port, weight=weight, instance_id=backend.InstanceId)
    ips = backend.PrivateIpAddresses or []
    return TargetInfo(port=backend.Port, weight=weight,
                      ip=ips[0] if ips else backend.InstanceId or None)


def rule_info(rule: Any, targets: Iterable[TargetInfo]) -> RuleInfo:
    return RuleInfo(
        id=rule.LocationId,
        domain=rule.Domain or "",
        url=rule.Url or "",
        scheduler=rule.Scheduler or "WRR",
        forward_type=rule.ForwardType or "HTTP",
        session_expire_time=rule.SessionExpireTime or 0,
        health_check=health_check(rule.HealthCheck),
        certificate=certificate_binding(rule.Certificate),
        targets=tuple(sorted(targets, key=lambda t: t.key)),
        default_server=bool(rule.DefaultServer),
        http2=bool(rule.Http2),
        quic=(rule.QuicStatus or "").upper() == "QUIC_ACTIVE",
        rewrite=rewrite_info(rule.RewriteTarget),
        domains=tuple(rule.Domains) if rule.Domains and len(rule.Domains) > 1 else (),
    )


def rewrite_info(target: Any) -> RewriteInfo | None:
    """A rule's RewriteTarget, or None when it does not redirect (its fields are null)."""
    if target is None or not target.TargetLocationId or not target.TargetListenerId:
        return None
    return RewriteInfo(target_listener_id=target.TargetListenerId,
                       target_rule_id=target.TargetLocationId,
                       code=int(target.RewriteCode or 0), take_url=bool(target.TakeUrl))


def rewrite_location_map(spec: RedirectSpec) -> Any:
    info = _models().RewriteLocationMap()
    info.SourceLocationId = spec.source_rule_id
    info.TargetLocationId = spec.target_rule_id
    info.RewriteCode = spec.code
    info.TakeUrl = spec.take_url
    info.SourceDomain = spec.domain
    return info


def listener_info(listener: Any,
                  targets_by_rule: Mapping[str, list[TargetInfo]]) -> ListenerInfo:
    rules = [rule_info(rule, targets_by_rule.get(rule.LocationId, ()))
             for rule in listener.Rules or ()]
    rules.sort(key=lambda r: (r.domain, r.url, r.id))
    return ListenerInfo(
        id=listener.ListenerId,
        name=listener.ListenerName or "",
        protocol=(listener.Protocol or "").upper(),
        port=listener.Port,
        sni=bool(listener.SniSwitch),
        certificate=certificate_binding(listener.Certificate),
        rules=tuple(rules),
    )


def load_balancer_info(lb: Any) -> LoadBalancerInfo:
    network = TYPE_TO_NETWORK.get((lb.LoadBalancerType or "").upper(), "public")
    tags = {tag.TagKey: tag.TagValue or "" for tag in lb.Tags or () if tag.TagKey}
    return LoadBalancerInfo(
        id=lb.LoadBalancerId,
        name=lb.LoadBalancerName or "",
        network=network,  # type: ignore[arg-type]
        vips=tuple(lb.LoadBalancerVips or ()),
        status=lb.Status if lb.Status is not None else 0,
        tags=tags,
        security_groups=tuple(lb.SecureGroups or ()),
        pass_to_target=bool(lb.LoadBalancerPassToTarget),
        delete_protect="DeleteProtect" in (lb.AttributeFlags or ()),
    )


def _utc(cloud_time: str | None) -> str | None:
    """The SSL service's `2027-01-01 08:00:00` (Beijing time, GMT+8) as `2027-01-01T00:00:00Z`;
    a time in another form is kept as it came."""
    if not cloud_time:
        return None
    try:
        moment = datetime.strptime(cloud_time, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return cloud_time
    gmt8 = moment.replace(tzinfo=timezone(timedelta(hours=8)))
    return gmt8.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def certificate_info(cert: Any) -> CertificateInfo:
    cert_type = "CA" if (cert.CertificateType or "").upper() == "CA" else "SVR"
    return CertificateInfo(
        id=cert.CertificateId,
        type=cert_type,  # type: ignore[arg-type]
        alias=cert.Alias or "",
        status=cert.Status if cert.Status is not None else 0,
        not_after=_utc(cert.CertEndTime),
        tags={tag.TagKey: tag.TagValue or "" for tag in cert.Tags or () if tag.TagKey},
    )
