"""The emulator's data plane: the world's HTTPS listeners as real mTLS listeners on loopback.

See docs/data-plane.md. Public names: `open_data_plane` (a started plane that bound what it
needs, at a free port offset if asked; else DataPlaneBindError, NoFreePorts), `DataPlane`
(start/stop/update/sync, target_health, handshake_failures, endpoints,
bind_errors/instance_bind_errors, stop_instance/start_instance), `DataPlaneStopped` (raised by
calls made while it is stopped), `PresentingPlane` (chosen listeners of a world served for
TLS handshakes only, at ephemeral ports: what each presents), the configuration values in
`config` (`Timeouts` among them), the schedulers in `schedulers`, and the header names in
`headers`.
"""

from mtlsform.emulator.dataplane.config import (
    DataPlaneConfig,
    HealthCheckConfig,
    InstanceConfig,
    ListenerConfig,
    RouteConfig,
    TargetConfig,
    Timeouts,
    TlsPolicy,
)
from mtlsform.emulator.dataplane.failures import HandshakeRecord
from mtlsform.emulator.dataplane.health import ALIVE, CLOSE, DEAD, UNKNOWN
from mtlsform.emulator.dataplane.loopthread import DataPlaneStopped
from mtlsform.emulator.dataplane.opening import NoFreePorts, open_data_plane
from mtlsform.emulator.dataplane.plane import DataPlane, Endpoint
from mtlsform.emulator.dataplane.presenting import PresentingPlane
from mtlsform.emulator.errors import DataPlaneBindError

__all__ = [
    "ALIVE",
    "CLOSE",
    "DEAD",
    "UNKNOWN",
    "DataPlane",
    "DataPlaneBindError",
    "DataPlaneConfig",
    "DataPlaneStopped",
    "Endpoint",
    "HandshakeRecord",
    "HealthCheckConfig",
    "InstanceConfig",
    "ListenerConfig",
    "NoFreePorts",
    "PresentingPlane",
    "RouteConfig",
    "TargetConfig",
    "Timeouts",
    "TlsPolicy",
    "open_data_plane",
]
