"""The session key pool (tests/keypool.py) hands out real keys of the asked type, never the same
key twice within POOL_SIZE draws, and a forked child draws keys its parent does not draw next."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests import keypool


def _public(key: keypool.PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def test_draws_are_real_keys_of_the_type_and_distinct_within_the_pool_size() -> None:
    drawn = [keypool.draw("ecdsa-p256") for _ in range(keypool.POOL_SIZE)]
    assert all(isinstance(k, ec.EllipticCurvePrivateKey) and k.curve.name == "secp256r1"
               for k in drawn)
    assert len({_public(k) for k in drawn}) == keypool.POOL_SIZE
    rsa_key = keypool.draw("rsa-2048")
    assert isinstance(rsa_key, rsa.RSAPrivateKey) and rsa_key.key_size == 2048


def test_a_forked_child_draws_other_keys_than_the_parent_next() -> None:
    for _ in range(keypool.POOL_SIZE):  # the pool full: later draws reuse kept keys
        keypool.draw("ecdsa-p384")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next key, to the parent
        try:
            os.write(write, _public(keypool.draw("ecdsa-p384")))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        in_child = pipe.read()
    os.waitpid(pid, 0)
    following = {_public(keypool.draw("ecdsa-p384")) for _ in range(8)}
    assert in_child and in_child not in following
    assert keypool.generated["ecdsa-p384"] <= keypool.POOL_SIZE + 1  # it did cycle
