"""The `tencentcloud` provider: CLB (2018-03-17) and SSL (2019-12-05) through the official SDK.

Modules: settings (endpoint, region, timeouts), credentials, clients (per-thread SDK clients),
errors (SDK exception -> ProviderError, retryable or gone), retry (the retrying caller), tasks
(DescribeTaskStatus waits), locks (one gate per CLB, combining queued writes), session (the
shared machinery), mapping (API models <-> plain data), reads (batched reads), targets (target
writes merged per rule), presented (the handshakes that check what a listener presents, and
where they go), provider (the Provider implementation).
"""

from __future__ import annotations

from mtlsform.providers.tencentcloud.credentials import ApiCredentials
from mtlsform.providers.tencentcloud.presented import Presenter
from mtlsform.providers.tencentcloud.provider import TencentCloudProvider
from mtlsform.providers.tencentcloud.session import ApiSession
from mtlsform.providers.tencentcloud.settings import ProviderSettings


def connect(settings: ProviderSettings, credentials: ApiCredentials, *,
            data_plane_offset: int | None = None,
            presenter: Presenter | None = None) -> TencentCloudProvider:
    """A provider talking to `settings.endpoint`; call `close()` when done (it closes the
    presenter too). Handshakes go to `presenter`, else to each listener's VIP at its port plus
    `data_plane_offset` (neither: none are made)."""
    return TencentCloudProvider(ApiSession(settings, credentials),
                                data_plane_offset=data_plane_offset, presenter=presenter)


__all__ = ["ApiCredentials", "ProviderSettings", "TencentCloudProvider", "connect"]
