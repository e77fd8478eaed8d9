"""The request headers the data plane adds for backends, and the client copies it strips.

Added to every forwarded request:
- `X-Forwarded-For`: the client address appended to any list the client sent (the last entry
  is the one the data plane saw);
- `X-Forwarded-Proto`: `https` (or `http` on an HTTP listener), replacing the client's;
- `X-Client-Verify`: `SUCCESS` when a client certificate was verified, else `NONE`;
- with a verified client certificate: `X-Client-Cert-Subject` and `X-Client-Cert-Issuer`
  (RFC 4514 strings), `X-Client-Cert-Serial` (lower-case hex), `X-Client-Cert-Fingerprint`
  (SHA-256 of the DER, lower-case hex without colons) and `X-Client-Cert-Not-After`
  (ISO 8601 UTC).
Every client header that names one of these, compared case-insensitively with `-` and `_`
treated alike (CGI and WSGI map both to the same `HTTP_X_CLIENT_CERT_...` variable) is removed
first, so a backend can trust them: any name starting with `X-Client-Cert-` or `X_Client_Cert_`
in any case, `X-Client-Verify`, `X-Forwarded-Proto`, and `X-Forwarded-For` in any spelling but
the standard one (whose list is kept and appended to). The client's Host, Content-Length and
Transfer-Encoding are never copied: the caller sets them from what it parsed. `Connection`
options remove the headers they name (hop-by-hop), except Host and the framing headers.
"""

from __future__ import annotations

from urllib.parse import quote

from mtlsform.emulator.dataplane.http1 import HOP_BY_HOP, NOT_HOP_BY_HOP, Head
from mtlsform.emulator.dataplane.tlscontexts import ClientCertificate

X_FORWARDED_FOR = "X-Forwarded-For"
X_FORWARDED_PROTO = "X-Forwarded-Proto"
X_CLIENT_VERIFY = "X-Client-Verify"
X_CLIENT_CERT_SUBJECT = "X-Client-Cert-Subject"
X_CLIENT_CERT_ISSUER = "X-Client-Cert-Issuer"
X_CLIENT_CERT_SERIAL = "X-Client-Cert-Serial"
X_CLIENT_CERT_FINGERPRINT = "X-Client-Cert-Fingerprint"
X_CLIENT_CERT_NOT_AFTER = "X-Client-Cert-Not-After"

CLIENT_CERT_PREFIX = "x-client-cert-"  # as compared, after `canonical`
VERIFY_SUCCESS = "SUCCESS"
VERIFY_NONE = "NONE"

# Request headers never passed on (compared after `canonical`): hop-by-hop ones, the ones the
# data plane sets itself, and the ones it sets from what it parsed.
_DROPPED = frozenset(name.replace("_", "-") for name in HOP_BY_HOP) | {
    "x-forwarded-proto", "x-client-verify", "expect", "host", "content-length",
}


def canonical(name: str) -> str:
    """A header name as CGI/WSGI see it: lower-case, `_` and `-` alike."""
    return name.lower().replace("_", "-")


def header_safe(text: str) -> str:
    """Keeps printable ASCII; percent-encodes the rest (non-ASCII names in a subject DN)."""
    return quote(text, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _is_spoofable(name: str) -> bool:
    key = canonical(name)
    if key == "x-forwarded-for":
        return name.lower() != "x-forwarded-for"  # the standard spelling is appended to
    return key in _DROPPED or key.startswith(CLIENT_CERT_PREFIX)


def forwarded_headers(head: Head, *, client_ip: str, proto: str,
                      certificate: ClientCertificate | None) -> list[tuple[str, str]]:
    """The headers to send upstream for request `head` (framing headers are added by caller)."""
    hop = head.tokens("connection") - NOT_HOP_BY_HOP  # headers the client named hop-by-hop
    headers = [(name, value) for name, value in head.headers
               if not _is_spoofable(name) and name.lower() not in hop
               and name.lower() != "x-forwarded-for"]
    previous = ", ".join(head.get_all("x-forwarded-for"))
    headers.append((X_FORWARDED_FOR, f"{previous}, {client_ip}" if previous else client_ip))
    headers.append((X_FORWARDED_PROTO, proto))
    if certificate is None:
        headers.append((X_CLIENT_VERIFY, VERIFY_NONE))
        return headers
    headers.extend([
        (X_CLIENT_VERIFY, VERIFY_SUCCESS),
        (X_CLIENT_CERT_SUBJECT, header_safe(certificate.subject)),
        (X_CLIENT_CERT_ISSUER, header_safe(certificate.issuer)),
        (X_CLIENT_CERT_SERIAL, certificate.serial),
        (X_CLIENT_CERT_FINGERPRINT, certificate.fingerprint_sha256),
        (X_CLIENT_CERT_NOT_AFTER, certificate.not_after),
    ])
    return headers


def response_headers(head: Head) -> list[tuple[str, str]]:
    """A backend's response headers minus hop-by-hop ones (framing is re-added by caller)."""
    hop = head.tokens("connection") - NOT_HOP_BY_HOP
    return [(name, value) for name, value in head.headers
            if name.lower() not in HOP_BY_HOP and name.lower() not in hop
            and name.lower() != "content-length"]
