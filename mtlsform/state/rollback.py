"""`state rollback SERIAL`: the content of an older serial written as a new serial.

The old document is decoded with its own encryption header and encoded again with it, only
its serial changed, so its sealed secrets stay sealed as they were (no passphrase needed) and
the history stays straight: nothing is deleted, the rollback is one more version.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtlsform.errors import StateError
from mtlsform.state.statefile import StateEncoder, decode_state
from mtlsform.state.store import Pushed, StateStore


@dataclass(frozen=True)
class RolledBack:
    serial: int  # the serial whose content was restored
    pushed: Pushed


def rollback(store: StateStore, serial: int) -> RolledBack:
    """Writes the content of `serial` as the next serial; `store` must be entered."""
    current = store.read()
    if current is None:
        raise StateError(f"{store.location} holds no state to roll back")
    if serial == current.serial:
        raise StateError(f"serial {serial} is the current state of {store.location}",
                         hint="nothing to roll back to; `mtlsform state history` lists others")
    old = decode_state(store.history_document(serial), source=f"{store.location} serial "
                       f"{serial}")
    if old.state.lineage != current.lineage:
        raise StateError(
            f"serial {serial} of {store.location} is of lineage {old.state.lineage}, the "
            f"current state of lineage {current.lineage}",
            hint="it belongs to another state that was pushed over this one with --force")
    encoder = StateEncoder(cipher=old.cipher, header=old.header, source=store.location)
    data = encoder.encode(old.state, serial=current.serial + 1)
    return RolledBack(serial, store.push(data))
