"""Providers: the interface the engine calls (base.py) and `open_provider`, which builds one.

`open_provider` turns the stack's `provider:` block into a ready provider: for
`kind: tencentcloud` the SDK against the cloud (or any endpoint), for `kind: emulator` the very
same provider against the in-process emulator over HTTP with real signatures. It also returns a
ProviderContext describing where calls go. Heavy imports (SDK, emulator) happen only inside.
A world another process holds (and this run cannot share) is EmulatorWorldBusy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mtlsform.errors import MtlsformError

if TYPE_CHECKING:
    from mtlsform.emulator import DataDirectoryBusy, Emulator, HolderRecord
    from mtlsform.providers.base import Provider
    from mtlsform.providers.tencentcloud import ApiCredentials, ProviderSettings
    from mtlsform.providers.tencentcloud.emulated import EmulatorTarget
    from mtlsform.providers.tencentcloud.presented import Presenter
    from mtlsform.stack.model import ProviderConfig


class EmulatorWorldBusy(MtlsformError):
    """Another process holds the stack's emulator world and this run cannot share it;
    `holder` is what that process says about itself (None if unknown or damaged: `damage`
    then says how, naming the lock file)."""

    def __init__(self, busy: DataDirectoryBusy) -> None:
        super().__init__(
            f"embedded emulator: {busy}",
            hint="another mtlsform run, or `mtlsform emulator serve` with its own key or "
                 "--tls, holds this world; wait for it, stop it, or point the stack at it "
                 "with provider: {kind: tencentcloud, endpoint: ...}")
        self.data_dir = busy.data_dir
        self.holder: HolderRecord | None = busy.holder
        self.damage: str | None = str(busy.damage) if busy.damage is not None else None


@dataclass(frozen=True)
class ProviderContext:
    """Where the provider's calls go, and (kind emulator) the emulator they go to: the one
    this run started (`emulator`, a handle for tests), or the `mtlsform emulator serve` that
    already served the world (`shared_emulator`, its holder record)."""

    kind: Literal["emulator", "tencentcloud"]
    region: str
    endpoint: str  # URL of the CLB API: http://127.0.0.1:40123, https://clb.tencentcloudapi.com
    api_timeout: float
    task_timeout: float
    retry_timeout: float
    emulator_data_dir: Path | None = None
    settings: ProviderSettings | None = field(default=None, repr=False, compare=False)
    credentials: ApiCredentials | None = field(default=None, repr=False, compare=False)
    emulator: Emulator | None = field(default=None, repr=False, compare=False)
    shared_emulator: HolderRecord | None = field(default=None, compare=False)

    def sharing_note(self) -> str | None:
        """One line for people when calls go to an emulator another process runs."""
        if self.shared_emulator is None:
            return None
        return (f"Using the emulator that already serves this world: {self.endpoint} "
                f"(pid {self.shared_emulator.pid}).")

    def describe(self) -> str:
        """One line for people: `emulator at http://127.0.0.1:40123 (ap-guangzhou)`."""
        where = "emulator" if self.kind == "emulator" else "Tencent Cloud"
        return f"{where} at {self.endpoint} ({self.region})"

    def emulator_stats(self) -> dict[str, Any]:
        """The emulator's `GET /_emulator/stats` (call counts per action); emulator kind only."""
        import json
        import urllib.request

        if self.kind != "emulator":
            raise MtlsformError("emulator statistics exist only with provider kind emulator")
        url = f"{self.endpoint}/_emulator/stats"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback
        with direct.open(url, timeout=self.api_timeout) as answer:
            stats: dict[str, Any] = json.loads(answer.read())
        return stats

    def sdk_client(self, service: Literal["clb", "ssl"]) -> Any:
        """A fresh SDK client configured like the provider's (for out-of-band changes in tests)."""
        from mtlsform.providers.tencentcloud.clients import build_client

        assert self.settings is not None and self.credentials is not None
        return build_client(service, self.settings, self.credentials)


def _context(settings: ProviderSettings, credentials: ApiCredentials, *,
             target: EmulatorTarget | None = None) -> ProviderContext:
    return ProviderContext(
        kind=settings.kind, region=settings.region, endpoint=settings.endpoint.url("clb"),
        api_timeout=settings.api_timeout, task_timeout=settings.task_timeout,
        retry_timeout=settings.retry_timeout,
        emulator_data_dir=target.data_dir if target else None, settings=settings,
        credentials=credentials, emulator=target.emulator if target else None,
        shared_emulator=target.shared if target else None)


def _presenting(target: EmulatorTarget,
                environ: Mapping[str, str]) -> tuple[Presenter | None, int | None]:
    """Where the rotation check's handshakes go: a data plane of the embedded emulator's world,
    started in this process at the first check; or the data plane of the `emulator serve
    --data-plane` serving the world (none when it serves without one)."""
    from mtlsform.emulator.environment import data_plane_frozen
    from mtlsform.providers.tencentcloud.presented import EmbeddedPresenter

    if target.emulator is not None:
        return EmbeddedPresenter(target.emulator.world, frozen=data_plane_frozen(environ)), None
    return None, target.shared.data_plane_port_offset if target.shared is not None else None


@contextmanager
def open_provider(config: ProviderConfig, *, emulator_data_dir: Path | None,
                  environ: Mapping[str, str]) -> Iterator[tuple[Provider, ProviderContext]]:
    """Yields (provider, context); closes the SDK sessions (and stops the emulator) on exit.

    `emulator_data_dir` is where the emulator keeps its world (kind emulator; None: a temporary
    directory removed on exit). `environ` supplies credentials, region and timeouts.
    """
    from mtlsform.providers.tencentcloud import connect
    from mtlsform.providers.tencentcloud.settings import cloud_settings

    if config.kind == "tencentcloud":
        from mtlsform.providers.tencentcloud.credentials import find_credentials

        settings = cloud_settings(config.region, config.endpoint, environ)
        credentials = find_credentials(environ)
        provider = connect(settings, credentials, data_plane_offset=0)
        try:
            yield provider, _context(settings, credentials)
        finally:
            provider.close()
        return
    if config.kind != "emulator":
        raise MtlsformError(f"unknown provider kind {config.kind!r}",
                            hint="provider.kind is emulator or tencentcloud")
    if config.endpoint:
        raise MtlsformError(
            "provider.endpoint is only used with kind tencentcloud",
            hint="the embedded emulator picks its own port; to use an emulator running "
                 "elsewhere, write kind: tencentcloud with its endpoint")
    from mtlsform.providers.tencentcloud.emulated import running_emulator

    with running_emulator(config, emulator_data_dir, environ) as target:
        presenter, offset = _presenting(target, environ)
        provider = connect(target.settings, target.credentials, data_plane_offset=offset,
                           presenter=presenter)
        try:
            yield provider, _context(target.settings, target.credentials, target=target)
        finally:
            provider.close()
