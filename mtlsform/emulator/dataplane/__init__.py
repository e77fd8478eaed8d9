"""The emulator's data plane: the world's HTTPS listeners as real mTLS listeners on loopback.

See docs/data-plane.md. Public names: `DataPlane` (start/stop/update/sync, target_health,
handshake_failures, endpoints, bind_errors/instance_bind_errors, stop_instance/start_instance),
`DataPlaneStopped` (raised by calls made while it is stopped), the configuration values in
`config`, the schedulers in `schedulers`, and the header names in `headers`.
"""

from mtlsform.emulator.dataplane.config import (
    DataPlaneConfig,
    HealthCheckConfig,
    InstanceConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
    TlsPolicy,
)
from mtlsform.emulator.dataplane.failures import HandshakeRecord
from mtlsform.emulator.dataplane.health import ALIVE, CLOSE, DEAD, UNKNOWN
from mtlsform.emulator.dataplane.plane import DataPlane, DataPlaneStopped, Endpoint

__all__ = [
    "ALIVE",
    "CLOSE",
    "DEAD",
    "UNKNOWN",
    "DataPlane",
    "DataPlaneConfig",
    "DataPlaneStopped",
    "Endpoint",
    "HandshakeRecord",
    "HealthCheckConfig",
    "InstanceConfig",
    "ListenerConfig",
    "RouteConfig",
    "TargetConfig",
    "TlsPolicy",
]
