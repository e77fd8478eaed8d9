"""A session-wide pool of real private keys that certificate generation draws from in tests.

RSA key generation costs 0.1-0.5 s a key, and the engine suites generate thousands of keys
(every kill and fault point issues its certificates again). The pool hands out real keys made
by `mtlsform.pki.keys.generate_private_key`: the first POOL_SIZE draws of a key type generate
(and keep) a key, later draws cycle through the kept ones, so any POOL_SIZE consecutive draws
are distinct keys (the certificates of one run never share a key, a renewed certificate never
gets the key it had). A forked child (a killed run of the kill suite) starts CHILD_SKIP draws
further on, so the keys it issues are not the ones the parent's next run issues.

The tests of generation itself (tests/pki/) generate every key (see tests/conftest.py).
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict

from mtlsform.pki import keys

POOL_SIZE = 64
CHILD_SKIP = POOL_SIZE // 2

PrivateKey = keys.rsa.RSAPrivateKey | keys.ec.EllipticCurvePrivateKey

_lock = threading.Lock()
_kept: dict[str, list[PrivateKey]] = defaultdict(list)
_draws: dict[str, int] = defaultdict(int)
generated: dict[str, int] = defaultdict(int)  # real generations, per key type


def draw(key_type: str) -> PrivateKey:
    """The next key of `key_type` (generated while the pool is not full)."""
    with _lock:
        index = _draws[key_type]
        _draws[key_type] = index + 1
        kept = _kept[key_type]
        if index % POOL_SIZE < len(kept):
            return kept[index % POOL_SIZE]
    key = keys.generate_private_key(key_type)  # unsupported types raise here, as without pool
    with _lock:
        generated[key_type] += 1
        if len(kept) < POOL_SIZE:
            kept.append(key)
    return key


def _skip_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    for key_type in list(_draws):
        _draws[key_type] += CHILD_SKIP


os.register_at_fork(after_in_child=_skip_in_child)
