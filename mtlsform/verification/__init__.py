"""End-to-end mTLS checks of a deployed stack: what `mtlsform verify` runs (docs/verify.md).

    from mtlsform.verification import verify_stack
    report = verify_stack(stack, state, state_path, requests=20)   # -> Report
    report.passed, report.results, report.to_json()

For each domain of each HTTPS listener: (a) the server certificate is the stack's and valid for
the domain, (b) a request with the stack's client certificate is answered by a bound backend,
(c) in mutual mode no certificate, an unknown CA and an expired certificate are refused, (d)
answers are spread over the backends as the weights say. The checks are also usable on plain
`Entry` values (`check_entry`), which is how they are tested against an in-process data plane.
Results are data; nothing here prints.
"""

from mtlsform.verification.checks import check_entry
from mtlsform.verification.clients import ClientKit
from mtlsform.verification.entries import entries_from, require_applied
from mtlsform.verification.model import (
    CHECKS,
    REPORT_COLUMNS,
    UNWRAPPED_COLUMNS,
    CheckResult,
    ClientIdentity,
    Entry,
    ExpectedBackend,
    Report,
    RouteSpec,
    ServerExpectation,
    SigningCa,
)
from mtlsform.verification.runner import DEFAULT_REQUESTS, run_entries, verify_stack

__all__ = [
    "CHECKS",
    "DEFAULT_REQUESTS",
    "REPORT_COLUMNS",
    "UNWRAPPED_COLUMNS",
    "CheckResult",
    "ClientIdentity",
    "ClientKit",
    "Entry",
    "ExpectedBackend",
    "Report",
    "RouteSpec",
    "ServerExpectation",
    "SigningCa",
    "check_entry",
    "entries_from",
    "require_applied",
    "run_entries",
    "verify_stack",
]
