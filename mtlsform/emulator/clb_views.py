"""CLB response shapes: world objects rendered as the API's output models, every field present.

Each function returns the full model (LoadBalancer, Listener, RuleOutput, CertificateOutput,
HealthCheck, Backend) with `None` (JSON null) where the cloud has no value, so that the SDK's
models and readers written against the real service see the same shape.
"""

from __future__ import annotations

from typing import Any

from mtlsform.emulator.world import (
    CertBinding,
    HealthCheck,
    Instance,
    Listener,
    LoadBalancer,
    Rule,
    Target,
)

_ZONE_IDS = {"ap-guangzhou": 100003, "ap-shanghai": 200003, "ap-beijing": 800003,
             "ap-chengdu": 160003, "ap-nanjing": 330003, "ap-hongkong": 300003,
             "ap-singapore": 900003}


def numerical_vpc_id(vpc_id: str) -> int:
    """A stable number for a VPC ID, as the cloud shows beside it."""
    return sum(ord(ch) * (index + 1) for index, ch in enumerate(vpc_id)) % 1_000_000


def zone_info(lb: LoadBalancer) -> dict[str, Any]:
    return {"ZoneId": _ZONE_IDS.get(lb.region, 0), "Zone": lb.zone,
            "ZoneName": f"{lb.zone} (emulated)", "ZoneRegion": lb.region,
            "LocalZone": False, "EdgeZone": False}


def load_balancer_domain(lb: LoadBalancer) -> str:
    return f"{lb.lb_id}.clb.{lb.region}.emulator.local"


def target_count(lb: LoadBalancer) -> int:
    count = 0
    for lst in lb.listeners.values():
        count += len(lst.targets) + sum(len(rule.targets) for rule in lst.rules.values())
    return count


def load_balancer(lb: LoadBalancer, *, with_target_count: bool = False) -> dict[str, Any]:
    public = lb.lb_type == "OPEN"
    return {
        "LoadBalancerId": lb.lb_id,
        "LoadBalancerName": lb.name,
        "LoadBalancerType": lb.lb_type,
        "Forward": lb.forward,
        "Domain": None,
        "LoadBalancerVips": [lb.vip],
        "Status": lb.status,
        "CreateTime": lb.create_time,
        "StatusTime": lb.status_time or lb.create_time,
        "ProjectId": lb.project_id,
        "VpcId": lb.vpc_id,
        "OpenBgp": 0,
        "Snat": False,
        "Isolation": 0,
        "Log": None,
        "SubnetId": lb.subnet_id or "",
        "Tags": [dict(tag) for tag in lb.tags],
        "SecureGroups": list(lb.security_groups),
        "TargetRegionInfo": {"Region": lb.region, "VpcId": lb.vpc_id,
                             "NumericalVpcId": numerical_vpc_id(lb.vpc_id)},
        "AnycastZone": "",
        "AddressIPVersion": lb.address_ip_version,
        "NumericalVpcId": numerical_vpc_id(lb.vpc_id),
        "VipIsp": "BGP" if public else None,
        "MasterZone": zone_info(lb),
        "BackupZoneSet": None,
        "IsolatedTime": None,
        "ExpireTime": None,
        "ChargeType": lb.charge_type,
        "NetworkAttributes": {"InternetChargeType": lb.internet_charge_type,
                              "InternetMaxBandwidthOut": lb.bandwidth_out,
                              "BandwidthpkgSubType": None},
        "PrepaidAttributes": None,
        "LogSetId": "",
        "LogTopicId": "",
        "AddressIPv6": None,
        "ExtraInfo": None,
        "IsDDos": False,
        "ConfigId": "",
        "LoadBalancerPassToTarget": lb.pass_to_target,
        "ExclusiveCluster": None,
        "IPv6Mode": None,
        "SnatPro": False,
        "SnatIps": [],
        "SlaType": lb.sla_type or "shared",
        "IsBlock": False,
        "IsBlockTime": "",
        "LocalBgp": False,
        "ClusterTag": None,
        "MixIpTarget": False,
        "Zones": None,
        "NfvInfo": None,
        "HealthLogSetId": "",
        "HealthLogTopicId": "",
        "ClusterIds": None,
        "AttributeFlags": ["DeleteProtect"] if lb.delete_protect else [],
        "LoadBalancerDomain": load_balancer_domain(lb),
        "Egress": "center",
        "Exclusive": 0,
        "TargetCount": target_count(lb) if with_target_count else None,
        "AssociateEndpoint": "",
        "AvailableZoneAffinityInfo": None,
    }


def certificate_output(binding: CertBinding | None) -> dict[str, Any] | None:
    if binding is None:
        return None
    return {
        "SSLMode": binding.ssl_mode,
        "SSLVerifyClient": binding.ssl_verify_client if binding.ssl_mode == "MUTUAL" else None,
        "CertId": binding.cert_id,
        "CertCaId": binding.cert_ca_id,
        "ExtCertIds": list(binding.ext_cert_ids),
    }


def health_check(check: HealthCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "HealthSwitch": check.health_switch,
        "TimeOut": check.timeout,
        "IntervalTime": check.interval,
        "HealthNum": check.healthy_threshold,
        "UnHealthNum": check.unhealthy_threshold,
        "HttpCode": check.http_code,
        "HttpCheckPath": check.http_check_path,
        "HttpCheckDomain": check.http_check_domain,
        "HttpCheckMethod": check.http_check_method,
        "CheckPort": check.check_port,
        "ContextType": check.context_type,
        "SendContext": check.send_context,
        "RecvContext": check.recv_context,
        "CheckType": check.check_type,
        "HttpVersion": check.http_version,
        "SourceIpType": check.source_ip_type,
        "ExtendedCode": check.extended_code,
    }


def rewrite_target(rule: Rule) -> dict[str, Any]:
    """A rule's redirect as RuleOutput.RewriteTarget (all null when it does not redirect)."""
    rw = rule.rewrite
    if rw is None:
        return {"TargetListenerId": None, "TargetLocationId": None, "RewriteCode": None,
                "TakeUrl": None, "RewriteType": None}
    return {"TargetListenerId": rw.target_listener_id, "TargetLocationId": rw.target_location_id,
            "RewriteCode": rw.rewrite_code, "TakeUrl": rw.take_url, "RewriteType": rw.rewrite_type}


def rule_output(rule: Rule, listener_id: str) -> dict[str, Any]:
    return {
        "LocationId": rule.location_id,
        "Domain": rule.domain,
        "Url": rule.url,
        "SessionExpireTime": rule.session_expire_time,
        "HealthCheck": health_check(rule.health_check),
        "Certificate": certificate_output(rule.certificate),
        "Scheduler": rule.scheduler,
        "ListenerId": listener_id,
        "RewriteTarget": rewrite_target(rule),
        "HttpGzip": True,
        "BeAutoCreated": rule.be_auto_created,
        "DefaultServer": rule.default_server,
        "Http2": rule.http2,
        "ForwardType": rule.forward_type,
        "CreateTime": rule.create_time,
        "TargetType": rule.target_type,
        "TargetGroup": None,
        "WafDomainId": "",
        "TrpcCallee": "",
        "TrpcFunc": "",
        "QuicStatus": "QUIC_ACTIVE" if rule.quic else "QUIC_INACTIVE",
        "Domains": list(rule.domains) or [rule.domain],
        "TargetGroupList": [],
        "OAuth": {"OAuthEnable": False, "OAuthFailureStatus": "BYPASS"},
        "CookieName": rule.cookie_name or "",
    }


def listener(lst: Listener) -> dict[str, Any]:
    l4 = not lst.is_l7
    return {
        "ListenerId": lst.listener_id,
        "Protocol": lst.protocol,
        "Port": lst.port,
        "Certificate": certificate_output(lst.certificate),
        "HealthCheck": health_check(lst.health_check) if l4 else None,
        "Scheduler": lst.scheduler if l4 else None,
        "SessionExpireTime": lst.session_expire_time if l4 else None,
        "SniSwitch": lst.sni_switch,
        "Rules": [rule_output(rule, lst.listener_id) for rule in lst.rules.values()]
        if lst.is_l7 else None,
        "ListenerName": lst.name,
        "CreateTime": lst.create_time,
        "EndPort": 0,
        "TargetType": lst.target_type,
        "TargetGroup": None,
        "SessionType": lst.session_type,
        "KeepaliveEnable": lst.keepalive_enable if lst.is_l7 else None,
        "Toa": False,
        "DeregisterTargetRst": lst.deregister_target_rst,
        "AttrFlags": [],
        "TargetGroupList": [],
        "MaxConn": -1,
        "MaxCps": -1,
        "IdleConnectTimeout": lst.idle_connect_timeout,
        "RescheduleInterval": 0,
        "DataCompressMode": "transparent",
        "RescheduleStartTime": 0,
    }


def backend(target: Target, instances: dict[str, Instance]) -> dict[str, Any]:
    instance = instances.get(target.instance_id or "")
    return {
        "Type": target.kind,
        "InstanceId": target.instance_id,
        "Port": target.port,
        "Weight": target.weight,
        "PublicIpAddresses": [],
        "PrivateIpAddresses": [target.ip],
        "InstanceName": instance.name if instance else None,
        "RegisteredTime": target.registered_time,
        "EniId": None,
        "Tag": target.tag,
        "Zone": instance.zone if instance else None,
    }
