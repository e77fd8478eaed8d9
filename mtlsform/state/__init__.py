"""The state: what mtlsform knows exists (model), its file format, and its local storage.

    model.py       State, ResourceState, PendingOperation, OutputValue (plain values)
    statefile.py   State <-> deterministic JSON bytes, with clear errors
    versions.py    format version and upgrade chain
    encryption.py  sensitive values sealed with MTLSFORM_STATE_PASSPHRASE
    lock.py        the fcntl (flock) lock with holder details
    journal.py     the journal: saves appended beside the snapshot, replayed, compacted
    local.py       LocalStateStore (lock, backup, atomic writes, journal), read_state
    workspaces.py  workspace names and each workspace's local state file
    gitops.py      the state committed to the repository (MTLSFORM_STATE_IN_REPO)
"""

from mtlsform.state.encryption import PASSPHRASE_ENV
from mtlsform.state.local import LocalStateStore, backup_path, default_state_path, read_state
from mtlsform.state.lock import LockInfo
from mtlsform.state.model import (
    OutputValue,
    PendingOperation,
    ResourceState,
    State,
    new_deposed_key,
)
from mtlsform.state.versions import FORMAT_VERSION

__all__ = [
    "FORMAT_VERSION",
    "PASSPHRASE_ENV",
    "LocalStateStore",
    "LockInfo",
    "OutputValue",
    "PendingOperation",
    "ResourceState",
    "State",
    "backup_path",
    "default_state_path",
    "new_deposed_key",
    "read_state",
]
