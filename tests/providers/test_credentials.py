"""Credentials: environment, then the SDK's profile file; errors name variables, not values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlsform.errors import MtlsformError
from mtlsform.providers.tencentcloud.credentials import find_credentials

SECRET = "s3cr3t-KEY-value-0123456789"


def test_environment_pair_and_token(tmp_path: Path) -> None:
    found = find_credentials({"HOME": str(tmp_path), "TENCENTCLOUD_SECRET_ID": "AKIDenv",
                              "TENCENTCLOUD_SECRET_KEY": SECRET,
                              "TENCENTCLOUD_SESSION_TOKEN": "tok-123456"})
    assert found.secret_id == "AKIDenv"
    assert found.secret_key.reveal() == SECRET
    assert found.token is not None and found.token.reveal() == "tok-123456"
    assert SECRET not in repr(found)
    assert found.sdk_credential().get_credential_info() == ("AKIDenv", SECRET, "tok-123456")


def test_profile_file_when_environment_is_empty(tmp_path: Path) -> None:
    profile = tmp_path / ".tencentcloud" / "credentials"
    profile.parent.mkdir()
    profile.write_text(f"[default]\nsecret_id = AKIDfile\nsecret_key = {SECRET}\n")
    found = find_credentials({"HOME": str(tmp_path)})
    assert (found.secret_id, found.secret_key.reveal()) == ("AKIDfile", SECRET)
    assert found.source == str(profile)


def test_environment_wins_over_profile(tmp_path: Path) -> None:
    profile = tmp_path / ".tencentcloud" / "credentials"
    profile.parent.mkdir()
    profile.write_text("[default]\nsecret_id = AKIDfile\nsecret_key = other\n")
    found = find_credentials({"HOME": str(tmp_path), "TENCENTCLOUD_SECRET_ID": "AKIDenv",
                              "TENCENTCLOUD_SECRET_KEY": SECRET})
    assert found.secret_id == "AKIDenv"


def test_missing_credentials_name_the_variables(tmp_path: Path) -> None:
    if Path("/etc/tencentcloud/credentials").exists():
        pytest.skip("this machine has a system-wide credentials file")
    with pytest.raises(MtlsformError) as caught:
        find_credentials({"HOME": str(tmp_path)})
    text = f"{caught.value.message} {caught.value.hint}"
    assert "TENCENTCLOUD_SECRET_ID" in text and "TENCENTCLOUD_SECRET_KEY" in text
    assert "~/.tencentcloud/credentials" in text


def test_half_a_pair_is_an_error_naming_the_missing_variable(tmp_path: Path) -> None:
    with pytest.raises(MtlsformError) as caught:
        find_credentials({"HOME": str(tmp_path), "TENCENTCLOUD_SECRET_KEY": SECRET})
    assert "TENCENTCLOUD_SECRET_ID is not set" in caught.value.message
    assert SECRET not in f"{caught.value.message} {caught.value.hint}"


def test_spaces_in_key_are_reported_without_the_value(tmp_path: Path) -> None:
    with pytest.raises(MtlsformError) as caught:
        find_credentials({"HOME": str(tmp_path), "TENCENTCLOUD_SECRET_ID": "AKID",
                          "TENCENTCLOUD_SECRET_KEY": f" {SECRET}"})
    assert "TENCENTCLOUD_SECRET_KEY" in caught.value.message
    assert SECRET not in caught.value.message


def test_profile_missing_key_is_reported(tmp_path: Path) -> None:
    profile = tmp_path / ".tencentcloud" / "credentials"
    profile.parent.mkdir()
    profile.write_text("[default]\nsecret_id = AKIDfile\n")
    with pytest.raises(MtlsformError) as caught:
        find_credentials({"HOME": str(tmp_path)})
    assert "secret_key" in caught.value.message and str(profile) in caught.value.message


def test_unreadable_profile_does_not_quote_the_file(tmp_path: Path) -> None:
    profile = tmp_path / ".tencentcloud" / "credentials"
    profile.parent.mkdir()
    profile.write_text(f"secret_key = {SECRET}\n[default\n")  # no section header: a parse error
    with pytest.raises(MtlsformError) as caught:
        find_credentials({"HOME": str(tmp_path)})
    assert SECRET not in f"{caught.value.message} {caught.value.hint}"
