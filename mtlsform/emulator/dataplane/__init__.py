"""The emulator's data plane: the world's HTTPS listeners as real mTLS listeners on loopback.

See docs/data-plane.md. Public names: `DataPlane` (start/stop/update, target_health,
handshake_failures, endpoints, stop_instance/start_instance), the configuration values in
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
from mtlsform.emulator.dataplane.plane import DataPlane, Endpoint

__all__ = [
    "ALIVE",
    "CLOSE",
    "DEAD",
    "UNKNOWN",
    "DataPlane",
    "DataPlaneConfig",
    "Endpoint",
    "HandshakeRecord",
    "HealthCheckConfig",
    "InstanceConfig",
    "ListenerConfig",
    "RouteConfig",
    "TargetConfig",
    "TlsPolicy",
]
