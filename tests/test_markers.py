"""The marker lists in conftest.py name folders and modules that exist."""

from tests.conftest import NETWORK, SLOW, TESTS


def test_every_listed_path_exists():
    missing = [entry for entry in (*SLOW, *NETWORK) if not (TESTS / entry).exists()]
    assert missing == []
