"""The checks of one entry (a domain of an HTTPS listener), each giving a `CheckResult`:

(a) the server certificate presented for the domain is the stack's and valid for the domain;
(b) a request (with the stack's client certificate in mutual mode) is answered by a bound
    backend of each rule;
(c) in mutual mode, no client certificate, one from an unknown CA and an expired one signed by
    the stack's CA are all refused;
(d) over N requests per rule, the answers are spread over the bound backends as their weights
    say (when the backends identify themselves; tolerances in `spread`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from mtlsform.verification import policyprobe, spread
from mtlsform.verification.clients import ClientKit
from mtlsform.verification.dualcerts import dual_certificates
from mtlsform.verification.model import (
    BALANCE,
    EXPIRED_CERTIFICATE,
    NO_CLIENT_CERTIFICATE,
    REQUEST,
    SERVER_CERTIFICATE,
    TLS_VERSIONS,
    UNKNOWN_CA,
    WEAK_CIPHER,
    CheckResult,
    ClientIdentity,
    Entry,
    RouteSpec,
    Status,
    Tolerance,
)
from mtlsform.verification.tlsprobe import Outcome, Presented, handshake, request

# What the server's own log says about a refused connection (the embedded data plane knows).
ServerLog = Callable[[Entry, Outcome], str | None]
# Answers a load balancer gives instead of a TLS refusal (nginx-style 400/495/496).
REFUSAL_STATUSES = (400, 403, 495, 496)


NOT_ASKED = "the listener does not ask for a client certificate (mutual TLS is off)"


def _short(fingerprint: str | None) -> str:
    return f"{fingerprint[:16]}…" if fingerprint else "(none)"


def _subject_of(der: bytes) -> str:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return "unparsable"
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return cert.subject.rfc4514_string() or "no subject"
    value = names[0].value
    return f"CN {value.decode(errors='replace') if isinstance(value, bytes) else value}"


class EntryChecks:
    """Runs the checks of one entry and collects their results."""

    def __init__(self, entry: Entry, *, requests: int, tolerance: Tolerance, kit: ClientKit,
                 server_log: ServerLog | None = None) -> None:
        self.entry = entry
        self.requests = requests
        self.tolerance = tolerance
        self.kit = kit
        self.server_log = server_log
        self.results: list[CheckResult] = []

    # -- helpers -------------------------------------------------------------------------------
    def _add(self, check: str, status: Status, reason: str, /, *, url: str | None = None,
             **details: object) -> None:
        self.results.append(CheckResult(self.entry.listener, self.entry.domain, check, status,
                                        reason, url=url, details=dict(details)))

    @property
    def _identity(self) -> ClientIdentity | None:
        return self.entry.client if self.entry.mutual else None

    def _send(self, identity: ClientIdentity | None, path: str) -> Outcome:
        entry = self.entry
        return request(entry.host, entry.port, entry.server_name, path,
                       self.kit.context(identity))

    def _server_says(self, outcome: Outcome) -> str:
        said = self.server_log(self.entry, outcome) if self.server_log else None
        return f" (the data plane logged: {said})" if said else ""

    # -- the checks ----------------------------------------------------------------------------
    def run(self) -> list[CheckResult]:
        entry = self.entry
        if entry.skip_reason:
            self._add(SERVER_CERTIFICATE, "skip", entry.skip_reason)
            return self.results
        if not self.server_certificate():
            reason = "not run: the listener cannot be reached (see a)"
            for route in entry.routes:
                self._add(REQUEST, "skip", reason, url=route.url)
            for check in (NO_CLIENT_CERTIFICATE, UNKNOWN_CA, EXPIRED_CERTIFICATE):
                self._add(check, "skip", reason)
            for route in entry.routes:
                self._add(BALANCE, "skip", reason, url=route.url)
            if entry.protocols is not None:
                for check in (TLS_VERSIONS, WEAK_CIPHER):
                    self._add(check, "skip", reason)
            return self.results
        if entry.without_sni:
            from mtlsform.verification.domain_checks import without_sni

            self.results.append(without_sni(entry, self.kit))
        dual = dual_certificates(entry)
        if dual is not None:
            self.results.append(dual)
        answered = {route.url: self.bound_request(route) for route in entry.routes}
        self.refusals()
        if entry.protocols is not None:
            self.policy()
        for route in entry.routes:
            if answered[route.url]:
                self.balance(route)
            else:
                self._add(BALANCE, "skip", "not run: the request of check b got no answer from "
                          "a backend", url=route.url)
        return self.results

    def _presented(self) -> tuple[Presented, ClientIdentity | None]:
        """The server's certificate, read from a handshake with the client certificate (so a
        mutual listener completes it), else without one: with TLS 1.2 a refused client
        certificate ends the handshake before the client has the server's certificate."""
        entry = self.entry
        identities = [self._identity] + ([None] if self._identity is not None else [])
        for identity in identities:
            presented = handshake(entry.host, entry.port, entry.server_name,
                                  self.kit.context(identity))
            if presented.der is not None or presented.failure is None \
                    or presented.failure.kind != "refused":
                break
        return presented, identity

    def server_certificate(self) -> bool:
        """(a); False when the listener cannot be reached at all (the rest is then skipped)."""
        entry, expected = self.entry, self.entry.server
        presented, identity = self._presented()
        if presented.der is None:
            failure = presented.failure
            assert failure is not None
            said = self._server_says(failure)
            if failure.kind == "refused":
                self._add(SERVER_CERTIFICATE, "skip", "the server refused every handshake before "
                          f"its certificate could be read (TLS alert \"{failure.alert}\"){said}; "
                          "see the other checks", alert=failure.alert)
                return True
            self._add(SERVER_CERTIFICATE, "fail", f"no TLS handshake with {entry.where} for "
                      f"{entry.server_name}: {failure.detail}{said}", address=entry.where)
            return failure.kind != "unreachable"
        fingerprint = presented.fingerprint
        facts = {"presented": fingerprint}
        if expected is None and entry.server_skip:
            self._add(SERVER_CERTIFICATE, "skip", f"{entry.server_skip}; the server presented "
                      f"sha256 {_short(fingerprint)} ({_subject_of(presented.der)})", **facts)
            return True
        if expected is None:
            self._add(SERVER_CERTIFICATE, "fail", "the state records no server certificate for "
                      f"this domain; the server presented sha256 {_short(fingerprint)}", **facts)
            return True
        # Dual certificates: the one this client's offer gets (the other is check a's own).
        expected = next((e for e in entry.dual if e.fingerprint == fingerprint), expected)
        facts.update(expected=expected.fingerprint, certificate=expected.name)
        if fingerprint != expected.fingerprint:
            self._add(SERVER_CERTIFICATE, "fail",
                      f"server presented certificate sha256 {_short(fingerprint)} "
                      f"({_subject_of(presented.der)}) but the stack's {expected.name} is "
                      f"{_short(expected.fingerprint)}", **facts)
            return True
        verified = handshake(entry.host, entry.port, entry.server_name,
                             self.kit.verifying(expected, identity))
        # Any outcome but "untrusted" means the client accepted the certificate (a later
        # refusal is about the client certificate, which check b reports).
        if verified.failure is not None and verified.failure.kind == "untrusted":
            self._add(SERVER_CERTIFICATE, "fail",
                      f"certificate {expected.name} is the stack's but is not valid for "
                      f"{entry.server_name} against {expected.trust_label}: "
                      f"{verified.failure.detail}", **facts)
            return True
        if verified.der is None and verified.failure is not None \
                and verified.failure.kind != "refused":
            self._add(SERVER_CERTIFICATE, "fail", f"the verifying handshake failed: "
                      f"{verified.failure.detail}", **facts)
            return True
        self._add(SERVER_CERTIFICATE, "pass",
                  f"{expected.name} (sha256 {_short(fingerprint)}), valid for "
                  f"{entry.server_name} against {expected.trust_label}", **facts)
        return True

    def bound_request(self, route: RouteSpec) -> bool:
        """(b) for one rule; True when a backend answered (so (d) is worth running)."""
        entry = self.entry
        if route.backend_protocol in ("GRPC", "GRPCS"):
            self._add(REQUEST, "skip", f"{route.backend_protocol} backends cannot be checked "
                      "with HTTP/1.1 requests",
                      url=route.url)
            return False
        if not route.backends:
            self._add(REQUEST, "skip", "no backend is bound to this rule", url=route.url)
            return False
        identity = self._identity
        if entry.mutual and identity is None:
            self._add(REQUEST, "skip", "the stack has no client certificate issued by its client "
                      "CA, and the CA's key is not in the state to make one", url=route.url)
            return False
        outcome = self._send(identity, route.url)
        with_cert = f" with {identity.label}" if identity else ""
        if outcome.answer is None:
            self._add(REQUEST, "fail", self._why_refused(outcome), url=route.url,
                      outcome=outcome.kind, alert=outcome.alert)
            return False
        answer = outcome.answer
        who = spread.identify(answer, route.backends)
        bound = ", ".join(b.name for b in route.backends)
        if who.backend is not None:
            self._add(REQUEST, "pass", f"{answer.status} {answer.reason} from {who.backend}"
                      f"{with_cert}", url=route.url, status=answer.status, backend=who.backend)
            return True
        if who.claim is not None:
            self._add(REQUEST, "fail", f"answered {answer.status} by {who.claim}, which is not "
                      f"bound to this rule (bound: {bound})", url=route.url,
                      status=answer.status, claimed=who.claim)
            return True
        if answer.status < 400:
            self._add(REQUEST, "pass", f"{answer.status} {answer.reason}{with_cert} (the backend "
                      "does not say which it is)", url=route.url, status=answer.status)
            return True
        self._add(REQUEST, "fail", f"answered {answer.describe()}, and no bound backend ({bound}) "
                  "says it sent it: an error of the load balancer or of an unnamed backend",
                  url=route.url, status=answer.status)
        return False

    def _why_refused(self, outcome: Outcome) -> str:
        entry = self.entry
        said = self._server_says(outcome)
        if outcome.kind == "refused":
            alert = outcome.alert or ""
            ca = entry.client_ca.name if entry.client_ca else "(none)"
            client = entry.client.label if entry.client else "the client certificate"
            if not entry.mutual:
                why = ("the listener requires a client certificate, but the stack says one-way "
                       "TLS" if alert == "certificate required" else "one-way TLS was refused")
            else:
                why = {
                    "unknown ca": f"the listener does not trust the stack's client CA {ca}",
                    "certificate expired": f"the listener considers {client} expired",
                    "certificate required": "the listener did not accept the client certificate "
                                            "as sent",
                    "unsupported certificate": "the listener refuses the certificate's key usage "
                                               "(client authentication)",
                    "unrecognized name": f"the listener has no certificate for "
                                         f"{entry.server_name}",
                }.get(alert, "the listener refused the client certificate")
            return f"handshake refused by the server: {alert} — {why}{said}"
        if outcome.kind == "closed" and entry.mutual:
            return (f"{outcome.detail} — the client certificate was probably refused "
                    f"(the server gave no reason){said}")
        return f"{outcome.detail}{said}"

    def refusals(self) -> None:
        """(c): three requests that must be refused (mutual mode only)."""
        entry = self.entry
        checks = (NO_CLIENT_CERTIFICATE, UNKNOWN_CA, EXPIRED_CERTIFICATE)
        if not entry.mutual:
            for check in checks:
                self._add(check, "skip", "one-way TLS: the listener asks for no client "
                          "certificate")
            return
        path = entry.routes[0].url if entry.routes else "/"
        ca = entry.client_ca.name if entry.client_ca else "(unknown)"
        expired = self.kit.expired(entry.client_ca) if entry.client_ca else None
        cases: tuple[tuple[str, ClientIdentity | None, str, str], ...] = (
            (NO_CLIENT_CERTIFICATE, None, "a request without a client certificate",
             NOT_ASKED),
            (UNKNOWN_CA, self.kit.unknown_ca(), "a client certificate from an unknown CA",
             f"the listener trusts a CA other than the stack's client CA {ca}"),
            (EXPIRED_CERTIFICATE, expired, f"an expired client certificate signed by {ca}",
             "the listener does not check the expiry of client certificates"),
        )
        if entry.verify_optional:  # no certificate must get through; the others are refused
            from mtlsform.verification.domain_checks import optional_client

            self.results.append(optional_client(entry, self._send(None, path)))
            cases = cases[1:]
        asks = True
        for check, identity, what, why in cases:
            if not asks:
                why = NOT_ASKED
            if check == EXPIRED_CERTIFICATE and identity is None:
                self._add(check, "skip", f"the key of the client CA {ca} is not in the state, so "
                          "no expired certificate can be signed with it")
                continue
            outcome = self._send(identity, path)
            self._refusal(check, outcome, what, why)
            if identity is None and outcome.answer is not None \
                    and self.results[-1].status == "fail":
                # The real handshake without any client certificate completed and a backend
                # answered: the listener does not ask for one, so the later refusals fail for
                # that reason rather than for the CA or the expiry.
                asks = False

    def policy(self) -> None:
        """(e): the versions and a weak cipher the stack's TLS policy forbids are refused."""
        entry = self.entry
        protocols = entry.protocols or ()
        allowed = ", ".join(protocols)
        forbidden = policyprobe.forbidden_versions(protocols)
        if not forbidden:
            self._add(TLS_VERSIONS, "skip", f"the policy accepts every version ({allowed})")
        else:
            agreed, refused, unable = [], [], []
            for version in forbidden:
                found = policyprobe.probe(entry.host, entry.port, entry.server_name,
                                          self._identity, version=version)
                if found.agreed:
                    agreed.append(f"{version} ({found.agreed})")
                elif found.unable:
                    unable.append(version)
                else:
                    refused.append(f"{version}: {found.refused}")
            if agreed:
                self._add(TLS_VERSIONS, "fail", f"accepted {', '.join(agreed)}: the policy "
                          f"allows only {allowed}", accepted=agreed)
            elif refused:
                skipped = f"; not offered here: {', '.join(unable)}" if unable else ""
                self._add(TLS_VERSIONS, "pass", f"refused {'; '.join(refused)}{skipped}")
            else:
                self._add(TLS_VERSIONS, "skip", "this machine's OpenSSL cannot offer "
                          f"{', '.join(unable)}")
        weak = policyprobe.weak_ciphers(entry.ciphers)
        if weak is None or "TLSv1.2" not in protocols:
            self._add(WEAK_CIPHER, "skip", "the policy names no ciphers (CLB's default list)"
                      if weak is None else "the policy accepts no version that uses ciphers")
            return
        found = policyprobe.probe(entry.host, entry.port, entry.server_name, self._identity,
                                  version="TLSv1.2", ciphers=weak)
        if found.agreed:
            self._add(WEAK_CIPHER, "fail", f"accepted {found.agreed} (offered only {weak}): "
                      f"the policy lists only {':'.join(entry.ciphers)}", cipher=weak)
        elif found.unable:
            self._add(WEAK_CIPHER, "skip", found.unable)
        else:
            self._add(WEAK_CIPHER, "pass", f"refused {weak}: {found.refused}", cipher=weak)

    def _refusal(self, check: str, outcome: Outcome, what: str, why: str) -> None:
        said = self._server_says(outcome)
        if outcome.kind == "refused":
            self._add(check, "pass", f"refused: TLS alert \"{outcome.alert}\"{said}",
                      alert=outcome.alert)
            return
        if outcome.kind == "closed":
            self._add(check, "pass", f"refused: the connection was closed without an answer"
                      f"{said}")
            return
        if outcome.answer is None:
            self._add(check, "fail", f"{what}: {outcome.detail}", outcome=outcome.kind)
            return
        answer = outcome.answer
        routes = self.entry.routes
        who = spread.identify(answer, [b for r in routes for b in r.backends])
        if not who.known and answer.status in REFUSAL_STATUSES:
            self._add(check, "pass", f"refused by the load balancer with {answer.describe()}",
                      status=answer.status)
            return
        by = f" by {who.backend or who.claim}" if who.known else ""
        self._add(check, "fail", f"{what} was answered ({answer.status} {answer.reason}{by}) — "
                  f"{why}", status=answer.status)

    def balance(self, route: RouteSpec) -> None:
        """(d) for one rule: N requests, counted per backend."""
        counts: Counter[str] = Counter()
        claims: Counter[str] = Counter()
        failures: list[Outcome] = []
        unidentified = 0
        for _ in range(self.requests):
            outcome = self._send(self._identity, route.url)
            answer = outcome.answer
            if answer is None:
                failures.append(outcome)
                continue
            who = spread.identify(answer, route.backends)
            if who.backend is not None:
                counts[who.backend] += 1
            elif who.claim is not None:
                claims[who.claim] += 1
            elif answer.status >= 400:
                failures.append(outcome)
            else:
                unidentified += 1
        n = self.requests
        details = {"counts": dict(counts), "requests": n}
        if failures:
            self._add(BALANCE, "fail", f"{len(failures)} of {n} requests got no answer from a "
                      f"backend; the first: {self._why_refused(failures[0])}", url=route.url,
                      failed=len(failures), **details)
            return
        if claims:
            bound = ", ".join(b.name for b in route.backends)
            text = ", ".join(f"{claim} answered {count}" for claim, count in claims.items())
            self._add(BALANCE, "fail", f"{text} of {n}, but is not bound to this rule (bound: "
                      f"{bound})", url=route.url, claimed=dict(claims), **details)
            return
        if unidentified:
            reason = ("the backends do not say which they are (no X-Backend-Name or "
                      "X-Backend-Instance header, first line not a backend name)"
                      if unidentified == n else
                      f"only {n - unidentified} of {n} answers say which backend sent them")
            self._add(BALANCE, "skip", reason, url=route.url, **details)
            return
        status, reason, facts = spread.assess(counts, route.backends, n, self.tolerance,
                                              route.scheduler)
        self._add(BALANCE, status, reason, url=route.url, **facts)


def check_entry(entry: Entry, *, requests: int, tolerance: Tolerance, kit: ClientKit,
                server_log: ServerLog | None = None) -> list[CheckResult]:
    """All the checks of one entry, in report order: a, b per rule, c, d per rule, e."""
    results = EntryChecks(entry, requests=requests, tolerance=tolerance, kit=kit,
                          server_log=server_log).run()
    order = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4, "f": 5}
    return sorted(results, key=lambda r: order[r.letter])
