"""The request parameters of each CLB (2018-03-17) action: one table per action, nested models.

Field names and types follow the SDK's request models exactly (a test checks that); ranges and
choices follow the API documentation. Rules that depend on several fields (protocol classes,
SNI, certificates, quotas) are checked by the action handlers.
"""

from __future__ import annotations

from mtlsform.emulator.params import Bool, Int, List, Model, Opaque, Str

LB_ID = r"lb-[a-z0-9]{8}"
LISTENER_ID = r"lbl-[a-z0-9]{8}"
LOCATION_ID = r"loc-[a-z0-9]{8}"
PROTOCOLS = ("TCP", "UDP", "HTTP", "HTTPS", "TCP_SSL", "QUIC")
SCHEDULERS = ("WRR", "LEAST_CONN", "IP_HASH")

TAG_INFO = {"TagKey": Str(True, length=(1, 127)), "TagValue": Str(True, length=(0, 255))}
FILTER = {"Name": Str(True), "Values": List(Str(), True, max_items=100)}

HEALTH_CHECK = {
    "HealthSwitch": Int(min=0, max=1),
    "TimeOut": Int(min=2, max=60),
    "IntervalTime": Int(min=2, max=300),
    "HealthNum": Int(min=2, max=10),
    "UnHealthNum": Int(min=2, max=10),
    "HttpCode": Int(min=1, max=31),
    "HttpCheckPath": Str(length=(1, 200)),
    "HttpCheckDomain": Str(length=(0, 80)),
    "HttpCheckMethod": Str(choices=("HEAD", "GET"), fold_case=True),
    "CheckPort": Int(min=-1, max=65535),
    "ContextType": Str(choices=("HEX", "TEXT"), fold_case=True),
    "SendContext": Str(length=(0, 500)),
    "RecvContext": Str(length=(0, 500)),
    "CheckType": Str(choices=("TCP", "HTTP", "HTTPS", "GRPC", "PING", "CUSTOM"),
                     fold_case=True),
    "HttpVersion": Str(choices=("HTTP/1.0", "HTTP/1.1"), fold_case=True),
    "SourceIpType": Int(min=0, max=1),
    "ExtendedCode": Str(length=(0, 100)),
}

CERTIFICATE_INPUT = {
    "SSLMode": Str(choices=("UNIDIRECTIONAL", "MUTUAL"), fold_case=True),
    "SSLVerifyClient": Str(choices=("ON", "OPTIONAL"), fold_case=True),
    "CertId": Str(length=(1, 64)),
    "CertCaId": Str(length=(1, 64)),
    "CertName": Str(length=(1, 200)),
    "CertKey": Str(),
    "CertContent": Str(),
    "CertCaName": Str(length=(1, 200)),
    "CertCaContent": Str(),
}

CERT_INFO = {"CertId": Str(length=(1, 64)), "CertName": Str(length=(1, 200)),
             "CertContent": Str(), "CertKey": Str()}

MULTI_CERT_INFO = {
    "SSLMode": Str(True, choices=("UNIDIRECTIONAL", "MUTUAL"), fold_case=True),
    "CertList": List(Model(CERT_INFO), True, max_items=3),
    "SSLVerifyClient": Str(choices=("ON", "OPTIONAL"), fold_case=True),
}

TARGET = {
    "Port": Int(True, min=1, max=65535),
    "Type": Str(),
    "InstanceId": Str(length=(1, 64)),
    "Weight": Int(min=0, max=100),
    "EniIp": Str(length=(1, 64)),
    "Tag": Str(length=(0, 200)),
}

RULE_INPUT = {
    "Url": Str(True, length=(1, 200)),
    "Domain": Str(length=(1, 80)),
    "SessionExpireTime": Int(min=0, max=86400),
    "HealthCheck": Model(HEALTH_CHECK),
    "Certificate": Model(CERTIFICATE_INPUT),
    "Scheduler": Str(choices=SCHEDULERS, fold_case=True),
    "ForwardType": Str(choices=("HTTP", "HTTPS", "GRPC", "GRPCS", "TRPC"), fold_case=True),
    "DefaultServer": Bool(),
    "Http2": Bool(),
    "TargetType": Str(choices=("NODE", "TARGETGROUP", "TARGETGROUP-V2"), fold_case=True),
    "TrpcCallee": Str(),
    "TrpcFunc": Str(),
    "Quic": Bool(),
    "Domains": List(Str(length=(1, 80)), max_items=50),
    "MultiCertInfo": Model(MULTI_CERT_INFO),
    "CookieName": Str(length=(1, 64)),
}

OAUTH = {"OAuthEnable": Bool(), "OAuthFailureStatus": Str(choices=("BYPASS", "REJECT"))}

INTERNET_ACCESSIBLE = {
    "InternetChargeType": Str(choices=("TRAFFIC_POSTPAID_BY_HOUR", "BANDWIDTH_POSTPAID_BY_HOUR",
                                       "BANDWIDTH_PACKAGE", "BANDWIDTH_PREPAID")),
    "InternetMaxBandwidthOut": Int(min=1, max=102400),
    "BandwidthpkgSubType": Str(),
}

_LB = Str(True, pattern=LB_ID)
_LISTENER = Str(True, pattern=LISTENER_ID)

CREATE_LOAD_BALANCER = {
    "LoadBalancerType": Str(True, choices=("OPEN", "INTERNAL"), fold_case=True),
    "Forward": Int(min=1, max=1),
    "LoadBalancerName": Str(length=(1, 80)),
    "VpcId": Str(pattern=r"vpc-[A-Za-z0-9]{1,32}"),
    "SubnetId": Str(pattern=r"subnet-[A-Za-z0-9]{1,32}"),
    "ProjectId": Int(min=0),
    "AddressIPVersion": Str(choices=("IPV4", "IPV6", "IPV6FULLCHAIN"), fold_case=True),
    "Number": Int(min=1, max=20),
    "MasterZoneId": Str(),
    "ZoneId": Str(),
    "InternetAccessible": Model(INTERNET_ACCESSIBLE),
    "VipIsp": Str(),
    "Tags": List(Model(TAG_INFO), max_items=20),
    "Vip": Str(),
    "BandwidthPackageId": Str(),
    "ExclusiveCluster": Opaque(),
    "SlaType": Str(),
    "ClusterIds": List(Str()),
    "ClientToken": Str(length=(1, 64)),
    "SnatPro": Bool(),
    "SnatIps": List(Opaque()),
    "ClusterTag": Str(),
    "SlaveZoneId": Str(),
    "EipAddressId": Str(),
    "LoadBalancerPassToTarget": Bool(),
    "DynamicVip": Bool(),
    "Egress": Str(),
    "LBChargePrepaid": Opaque(),
    "LBChargeType": Str(choices=("POSTPAID_BY_HOUR", "PREPAID")),
    "AccessLogTopicId": Str(),
    "AdvancedRoute": Bool(),
    "AvailableZoneAffinityInfo": Opaque(),
}

DESCRIBE_LOAD_BALANCERS = {
    "LoadBalancerIds": List(Str(pattern=LB_ID), max_items=20),
    "LoadBalancerType": Str(choices=("OPEN", "INTERNAL"), fold_case=True),
    "Forward": Int(min=-1, max=1),
    "LoadBalancerName": Str(),
    "Domain": Str(),
    "LoadBalancerVips": List(Str()),
    "BackendPublicIps": List(Str()),
    "BackendPrivateIps": List(Str()),
    "Offset": Int(min=0),
    "Limit": Int(min=0, max=100),
    "OrderBy": Str(choices=("LoadBalancerName", "CreateTime", "Domain", "LoadBalancerType")),
    "OrderType": Int(min=0, max=1),
    "SearchKey": Str(),
    "ProjectId": Int(min=0),
    "WithRs": Int(min=-1, max=1),
    "VpcId": Str(),
    "SecurityGroup": Str(),
    "MasterZone": Str(),
    "Filters": List(Model(FILTER), max_items=10),
    "AdditionalFields": List(Str()),
}

MODIFY_LOAD_BALANCER_ATTRIBUTES = {
    "LoadBalancerId": _LB,
    "LoadBalancerName": Str(length=(1, 80)),
    "TargetRegionInfo": Opaque(),
    "InternetChargeInfo": Opaque(),
    "LoadBalancerPassToTarget": Bool(),
    "SwitchFlag": Int(),
    "SnatPro": Bool(),
    "DeleteProtect": Bool(),
    "ModifyClassicDomain": Bool(),
    "AssociateEndpoint": Str(),
}

DELETE_LOAD_BALANCER = {
    "LoadBalancerIds": List(Str(pattern=LB_ID), True, max_items=20),
    "ForceDelete": Bool(),
}

_LISTENER_COMMON = {
    "HealthCheck": Model(HEALTH_CHECK),
    "Certificate": Model(CERTIFICATE_INPUT),
    "SessionExpireTime": Int(min=0, max=3600),
    "Scheduler": Str(choices=SCHEDULERS, fold_case=True),
    "SniSwitch": Int(min=0, max=1),
    "TargetType": Str(choices=("NODE", "TARGETGROUP"), fold_case=True),
    "SessionType": Str(choices=("NORMAL", "QUIC_CID"), fold_case=True),
    "KeepaliveEnable": Int(min=0, max=1),
    "DeregisterTargetRst": Bool(),
    "MultiCertInfo": Model(MULTI_CERT_INFO),
    "MaxConn": Int(min=-1),
    "MaxCps": Int(min=-1),
    "IdleConnectTimeout": Int(min=10, max=3600),
    "ProxyProtocol": Bool(),
    "SnatEnable": Bool(),
    "DataCompressMode": Str(choices=("transparent", "compatibility")),
    "RescheduleTargetZeroWeight": Bool(),
    "RescheduleUnhealthy": Bool(),
    "RescheduleExpandTarget": Bool(),
    "RescheduleStartTime": Int(min=0, max=3600),
    "RescheduleInterval": Int(min=0, max=3600),
}

CREATE_LISTENER = {
    "LoadBalancerId": _LB,
    "Ports": List(Int(min=1, max=65535), True, max_items=50, too_many="LimitExceeded"),
    "Protocol": Str(True, choices=PROTOCOLS, fold_case=True),
    "ListenerNames": List(Str(length=(1, 80)), max_items=50),
    "EndPort": Int(min=1, max=65535),
    "FullEndPorts": List(Int(min=2, max=65535)),
    "H2cSwitch": Bool(),
    "SslCloseSwitch": Bool(),
    **_LISTENER_COMMON,
}

DESCRIBE_LISTENERS = {
    "LoadBalancerId": _LB,
    "ListenerIds": List(Str(pattern=LISTENER_ID), max_items=100),
    "Protocol": Str(choices=PROTOCOLS, fold_case=True),
    "Port": Int(min=1, max=65535),
}

MODIFY_LISTENER = {
    "LoadBalancerId": _LB,
    "ListenerId": _LISTENER,
    "ListenerName": Str(length=(1, 80)),
    **_LISTENER_COMMON,
}

DELETE_LISTENER = {"LoadBalancerId": _LB, "ListenerId": _LISTENER}

CREATE_RULE = {
    "LoadBalancerId": _LB,
    "ListenerId": _LISTENER,
    "Rules": List(Model(RULE_INPUT), True, max_items=50, too_many="LimitExceeded"),
}

MODIFY_RULE = {
    "LoadBalancerId": _LB,
    "ListenerId": _LISTENER,
    "LocationId": Str(True, pattern=LOCATION_ID),
    "Url": Str(length=(1, 200)),
    "HealthCheck": Model(HEALTH_CHECK),
    "Scheduler": Str(choices=SCHEDULERS, fold_case=True),
    "SessionExpireTime": Int(min=0, max=86400),
    "ForwardType": Str(choices=("HTTP", "HTTPS", "GRPC", "GRPCS", "TRPC"), fold_case=True),
    "TrpcCallee": Str(),
    "TrpcFunc": Str(),
    "OAuth": Model(OAUTH),
    "CookieName": Str(length=(1, 64)),
}

MODIFY_DOMAIN_ATTRIBUTES = {
    "LoadBalancerId": _LB,
    "ListenerId": _LISTENER,
    "Domain": Str(True, length=(1, 120)),
    "NewDomain": Str(length=(1, 120)),
    "Certificate": Model(CERTIFICATE_INPUT),
    "Http2": Bool(),
    "DefaultServer": Bool(),
    "Quic": Bool(),
    "NewDefaultServerDomain": Str(length=(1, 120)),
    "NewDomains": List(Str(length=(1, 120)), max_items=50),
    "MultiCertInfo": Model(MULTI_CERT_INFO),
}

DELETE_RULE = {
    "LoadBalancerId": _LB,
    "ListenerId": _LISTENER,
    "LocationIds": List(Str(pattern=LOCATION_ID), max_items=50),
    "Domain": Str(length=(1, 120)),
    "Url": Str(length=(1, 200)),
    "NewDefaultServerDomain": Str(length=(1, 120)),
}

_TARGETS = List(Model(TARGET), True, max_items=20, too_many="LimitExceeded")
_TARGET_RULE = {
    "LocationId": Str(pattern=LOCATION_ID),
    "Domain": Str(length=(1, 120)),
    "Url": Str(length=(1, 200)),
}

REGISTER_TARGETS = {"LoadBalancerId": _LB, "ListenerId": _LISTENER, "Targets": _TARGETS,
                    **_TARGET_RULE}
DEREGISTER_TARGETS = dict(REGISTER_TARGETS)
MODIFY_TARGET_WEIGHT = {**REGISTER_TARGETS, "Weight": Int(min=0, max=100)}

DESCRIBE_TARGETS = {
    "LoadBalancerId": _LB,
    "ListenerIds": List(Str(pattern=LISTENER_ID), max_items=20),
    "Protocol": Str(choices=PROTOCOLS, fold_case=True),
    "Port": Int(min=1, max=65535),
    "Filters": List(Model(FILTER), max_items=10),
}

DESCRIBE_TARGET_HEALTH = {
    "LoadBalancerIds": List(Str(pattern=LB_ID), True, max_items=30),
    "ListenerIds": List(Str(pattern=LISTENER_ID), max_items=100),
    "LocationIds": List(Str(pattern=LOCATION_ID), max_items=100),
}

DESCRIBE_TASK_STATUS = {"TaskId": Str(length=(1, 64)), "DealName": Str(length=(1, 64))}

DESCRIBE_LOAD_BALANCER_LIST_BY_CERT_ID = {
    "CertIds": List(Str(length=(1, 64)), True, max_items=20),
}
