"""SDK clients (CLB 2018-03-17, SSL 2019-12-05): built from the settings, one set per thread.

An SDK client owns a `requests.Session`, which is not guaranteed to be thread-safe, so every
thread that calls the provider gets its own pair of clients. All of them use English messages,
an explicit request timeout, no SDK retryer (retries are ours) and no region breaker (it swallows
errors, see reference 2.6). Their HTTP answers are checked before the SDK parses them
(answers.py): what is not an answer of the API becomes one clear error.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from mtlsform.providers.tencentcloud.answers import AnswerCheck
from mtlsform.providers.tencentcloud.credentials import ApiCredentials
from mtlsform.providers.tencentcloud.settings import ProviderSettings

SERVICES = ("clb", "ssl")

# The SDK logs whole requests and responses (signed headers, bodies with private keys) at DEBUG
# on this logger; a `--debug` run must never show them.
_SDK_LOGGER = "tencentcloud_sdk_common"


def quiet_sdk_logger() -> None:
    logger = logging.getLogger(_SDK_LOGGER)
    if logger.level < logging.WARNING:
        logger.setLevel(logging.WARNING)


def build_client(service: str, settings: ProviderSettings, credentials: ApiCredentials) -> Any:
    """A fresh SDK client for `service` ("clb" or "ssl") configured from the settings."""
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    quiet_sdk_logger()
    # The SDK reads the scheme when the client is built: it must be set before, never after.
    http = HttpProfile(protocol=settings.endpoint.scheme,
                       endpoint=settings.endpoint.host_for(service),
                       reqMethod="POST",
                       reqTimeout=settings.api_timeout)
    profile = ClientProfile(httpProfile=http, language="en-US", disable_region_breaker=True,
                            request_client="mtlsform")
    credential = credentials.sdk_credential()
    if service == "clb":
        from tencentcloud.clb.v20180317.clb_client import ClbClient

        client_class: Any = ClbClient
    elif service == "ssl":
        from tencentcloud.ssl.v20191205.ssl_client import SslClient

        client_class = SslClient
    else:
        raise ValueError(f"unknown service {service!r}")
    client = checked(client_class)(credential, settings.region, profile)
    client.answer_check = AnswerCheck(settings.api_timeout,
                                      (*credentials.secrets(), credentials.secret_id),
                                      endpoint=settings.endpoint.url(service))
    if settings.kind == "emulator":
        _no_proxy(client)
    return client


_CHECKED: dict[Any, Any] = {}
_CHECKED_LOCK = threading.Lock()


def checked(client_class: Any) -> Any:
    """The SDK client class whose raw HTTP answers pass `answer_check` before it parses them.

    `_call` is the SDK's one seam between sending a request and reading its answer.
    """
    with _CHECKED_LOCK:
        found = _CHECKED.get(client_class)
        if found is None:
            class Checked(client_class):  # type: ignore[misc]
                answer_check: AnswerCheck

                def _call(self, *args: Any, **kwargs: Any) -> Any:
                    parent = super()._call
                    return self.answer_check.send(lambda: parent(*args, **kwargs))

            Checked.__name__ = Checked.__qualname__ = f"Checked{client_class.__name__}"
            found = _CHECKED[client_class] = Checked
        return found


def _no_proxy(client: Any) -> None:
    """The embedded emulator is on loopback in this process: an HTTP(S)_PROXY of the user's
    environment must not capture its traffic (the SDK and requests would both apply it)."""
    connection = getattr(client.request, "conn", None)
    if connection is None:
        return
    connection.proxy = None
    session = getattr(connection, "_session", None)
    if session is not None:
        session.trust_env = False


class ThreadClients:
    """Per-thread SDK clients; `close()` closes every HTTP session they opened."""

    def __init__(self, settings: ProviderSettings, credentials: ApiCredentials) -> None:
        self._settings = settings
        self._credentials = credentials
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        clients = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        client = clients.get(service)
        if client is None:
            client = build_client(service, self._settings, self._credentials)
            clients[service] = client
            with self._lock:
                self._all.append(client)
        return client

    def clb(self) -> Any:
        return self.get("clb")

    def ssl(self) -> Any:
        return self.get("ssl")

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for client in clients:
            session = getattr(getattr(client.request, "conn", None), "_session", None)
            if session is not None:
                session.close()
