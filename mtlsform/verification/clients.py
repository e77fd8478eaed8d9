"""The client side's material for one run: a TLS context per client identity (made once: loading
a key is not free), and the throwaway certificates of the refusal checks (made once each)."""

from __future__ import annotations

import ssl

from mtlsform.verification.model import ClientIdentity, ServerExpectation, SigningCa
from mtlsform.verification.throwaway import expired_client, unknown_ca_client
from mtlsform.verification.tlsprobe import request_context, verifying_context


class ClientKit:
    """The client contexts and throwaway certificates of one run, each made once.

    `maximum_version` caps the TLS version offered (TLS 1.2 probes a listener as an older
    client would); by default the newest both sides speak is used.
    """

    def __init__(self, maximum_version: ssl.TLSVersion | None = None) -> None:
        self.maximum_version = maximum_version
        self._contexts: dict[object, ssl.SSLContext] = {}
        self._unknown: ClientIdentity | None = None
        self._expired: dict[SigningCa, ClientIdentity | None] = {}

    def context(self, identity: ClientIdentity | None) -> ssl.SSLContext:
        if identity not in self._contexts:
            self._contexts[identity] = request_context(identity, self.maximum_version)
        return self._contexts[identity]

    def verifying(self, expected: ServerExpectation,
                  identity: ClientIdentity | None) -> ssl.SSLContext:
        key = ("verify", expected, identity)
        if key not in self._contexts:
            self._contexts[key] = verifying_context(expected, identity, self.maximum_version)
        return self._contexts[key]

    def unknown_ca(self) -> ClientIdentity:
        if self._unknown is None:
            self._unknown = unknown_ca_client()
        return self._unknown

    def expired(self, ca: SigningCa) -> ClientIdentity | None:
        if ca not in self._expired:
            self._expired[ca] = expired_client(ca)
        return self._expired[ca]
