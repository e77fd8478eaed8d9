"""Where the API credentials come from: the environment, else the SDK's profile file.

Order (the SDK's own, minus the instance-metadata lookups that hang off-cloud):
1. TENCENTCLOUD_SECRET_ID + TENCENTCLOUD_SECRET_KEY (+ TENCENTCLOUD_SESSION_TOKEN),
2. the `[default]` section of ~/.tencentcloud/credentials, then /etc/tencentcloud/credentials.
Values never appear in a message; only the names of variables and files do.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtlsform.errors import MtlsformError
from mtlsform.sensitive import Sensitive

ENV_SECRET_ID = "TENCENTCLOUD_SECRET_ID"
ENV_SECRET_KEY = "TENCENTCLOUD_SECRET_KEY"
ENV_SESSION_TOKEN = "TENCENTCLOUD_SESSION_TOKEN"
SYSTEM_PROFILE = Path("/etc/tencentcloud/credentials")

_HINT = (f"export {ENV_SECRET_ID} and {ENV_SECRET_KEY} (and {ENV_SESSION_TOKEN} for temporary "
         "credentials), or write them as secret_id/secret_key in the [default] section of "
         "~/.tencentcloud/credentials")


@dataclass(frozen=True)
class ApiCredentials:
    """A key pair (and optional STS token), with where it was found (for messages)."""

    secret_id: str
    secret_key: Sensitive[str]
    token: Sensitive[str] | None
    source: str

    def secrets(self) -> tuple[str, ...]:
        """The values that must never leave the process (used to scrub messages)."""
        values = [self.secret_key.reveal()]
        if self.token is not None:
            values.append(self.token.reveal())
        return tuple(v for v in values if v)

    def sdk_credential(self) -> Any:
        """The SDK's Credential object (imported here: the SDK is a heavy import)."""
        from tencentcloud.common.credential import Credential

        token = self.token.reveal() if self.token is not None else None
        return Credential(self.secret_id, self.secret_key.reveal(), token)


def _check(value: str, what: str, source: str) -> None:
    if value != value.strip():
        raise MtlsformError(f"{what} from {source} has leading or trailing spaces",
                            hint="remove the spaces: the API refuses such a key")


def _from_environment(environ: Mapping[str, str]) -> ApiCredentials | None:
    secret_id = environ.get(ENV_SECRET_ID, "")
    secret_key = environ.get(ENV_SECRET_KEY, "")
    token = environ.get(ENV_SESSION_TOKEN, "")
    if not secret_id and not secret_key:
        if token:
            raise MtlsformError(
                f"{ENV_SESSION_TOKEN} is set but {ENV_SECRET_ID} and {ENV_SECRET_KEY} are not",
                hint="a session token is used together with its temporary key pair")
        return None
    missing = [name for name, value in ((ENV_SECRET_ID, secret_id), (ENV_SECRET_KEY, secret_key))
               if not value]
    if missing:
        present = ENV_SECRET_KEY if missing[0] == ENV_SECRET_ID else ENV_SECRET_ID
        raise MtlsformError(f"{missing[0]} is not set (but {present} is)", hint=_HINT)
    source = "the environment"
    _check(secret_id, ENV_SECRET_ID, source)
    _check(secret_key, ENV_SECRET_KEY, source)
    return ApiCredentials(secret_id=secret_id, secret_key=Sensitive(secret_key),
                          token=Sensitive(token) if token else None, source=source)


def environment_credentials(environ: Mapping[str, str]) -> ApiCredentials | None:
    """The key pair the environment holds (None: none), as the provider reads it; the cos
    state backend signs with the same pair."""
    return _from_environment(environ)


def _profile_paths(environ: Mapping[str, str]) -> list[Path]:
    paths = []
    home = environ.get("HOME")
    if home:
        paths.append(Path(home) / ".tencentcloud" / "credentials")
    paths.append(SYSTEM_PROFILE)
    return paths


def _from_profile(path: Path) -> ApiCredentials | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error, UnicodeDecodeError) as exc:
        # The parser's own message can quote file lines: name only the file and the kind.
        raise MtlsformError(f"cannot read the credentials file {path} ({type(exc).__name__})",
                            hint="it is an INI file with a [default] section holding "
                                 "secret_id and secret_key") from None
    if not parser.has_section("default"):
        return None
    section = parser["default"]
    secret_id = section.get("secret_id", "").strip()
    secret_key = section.get("secret_key", "").strip()
    if not secret_id and not secret_key:
        return None
    if not secret_id or not secret_key:
        missing = "secret_id" if not secret_id else "secret_key"
        raise MtlsformError(f"the [default] section of {path} has no {missing}", hint=_HINT)
    token = section.get("token", "").strip()
    return ApiCredentials(secret_id=secret_id, secret_key=Sensitive(secret_key),
                          token=Sensitive(token) if token else None, source=str(path))


def find_credentials(environ: Mapping[str, str]) -> ApiCredentials:
    """The first credentials found, or one MtlsformError naming the variables to set."""
    found = _from_environment(environ)
    if found is not None:
        return found
    for path in _profile_paths(environ):
        if path.is_file():
            found = _from_profile(path)
            if found is not None:
                return found
    raise MtlsformError(
        f"no Tencent Cloud credentials: {ENV_SECRET_ID} and {ENV_SECRET_KEY} are not set and "
        "no credentials file was found", hint=_HINT)
