"""The small hierarchy of failures that are not bugs; their messages are written for people."""

from __future__ import annotations


class MtlsformError(Exception):
    """A failure the user can act on. The CLI prints `error: <message>` and exits 1."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(MtlsformError):
    """Bad input outside a stack file: a flag, a missing file, an unreadable path."""


class StateError(MtlsformError):
    """The state file cannot be read, written or trusted."""


class StateLockedError(StateError):
    """Another process holds the state lock."""


class PlanError(MtlsformError):
    """A plan cannot be made or applied (stale plan, refused destroy, ...)."""


class ProviderError(MtlsformError):
    """A cloud API call failed; `code` is the API's error code (e.g. `InvalidParameter`).

    `outcome_unknown`: no answer of the API came back (the network failed, something that is
    not the API answered, a task never ended), so a write may have landed all the same."""

    def __init__(self, message: str, *, code: str = "", request_id: str = "",
                 action: str = "", hint: str | None = None,
                 outcome_unknown: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.request_id = request_id
        self.action = action
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        where = f"{self.action}: " if self.action else ""
        code = f"{self.code}: " if self.code else ""
        rid = f" (RequestId {self.request_id})" if self.request_id else ""
        return f"{where}{code}{self.message}{rid}"


class QuotaError(ProviderError):
    """The cloud refused a call because a quota is full (e.g. listeners per load balancer):
    more calls of the same kind in the same place are doomed until something changes."""


class CertificateError(MtlsformError):
    """Certificate material cannot be generated, read or exported."""


def outcome_unknown(error: BaseException) -> bool:
    """Whether a failed cloud call may have done its work all the same."""
    return isinstance(error, ProviderError) and error.outcome_unknown
