"""ApiError: an error answer of the emulated API (code + message), and the messages used often."""

from __future__ import annotations


class ApiError(Exception):
    """Raised anywhere in request handling; becomes `{"Response": {"Error": {...}}}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def missing(name: str) -> ApiError:
    return ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")


def unknown(name: str) -> ApiError:
    return ApiError("UnknownParameter", f"The parameter `{name}` is not recognized.")


def busy(lb_id: str) -> ApiError:
    # The message real CLB gives while another task runs on the instance.
    return ApiError(
        "FailedOperation.ResourceInOperating",
        f"Loadbalancer({lb_id}) is not in normal desState, maybe some tasks are being processed, "
        "please try later.",
    )


def rate_limited(code: str, count: int, limit: float) -> ApiError:
    shown = int(limit) if float(limit).is_integer() else limit
    return ApiError(
        code,
        f"Your current request times equals to `{count}` in a second, which exceeds the "
        f"frequency limit `{shown}` for a second. Please reduce the frequency of calls.",
    )


def lb_not_found(lb_id: str) -> ApiError:
    return ApiError("InvalidParameter.LBIdNotFound", f"LoadBalancer({lb_id}) not found.")


def listener_not_found(listener_id: str) -> ApiError:
    return ApiError("InvalidParameter.ListenerIdNotFound", f"Listener({listener_id}) not found.")


def location_not_found(what: str) -> ApiError:
    return ApiError("InvalidParameter.LocationNotFound", f"Rule({what}) not found.")


INTERNAL_ERROR_MESSAGE = (
    "An internal error has occurred. Retry your request, but if the problem persists, "
    "contact us with details by filing a ticket."
)
