"""Numbers on the emulator's wire are ASCII digits only: `Content-Length: ²` (which passes
str.isdigit() and then fails int()) gets one clear answer from the API and the tool endpoints,
never an InternalError or a dropped connection."""

from __future__ import annotations

import json
import socket

import pytest

from mtlsform.emulator import Emulator
from tests.emulator.helpers import raw


def exchange(emu: Emulator, request: bytes) -> bytes:
    host, port = emu.endpoint.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("length", [b"\xb2", b"\xb9", b"+5", b"5_0", b"0x5", b"-1"])
def test_a_content_length_that_is_not_ascii_digits_is_an_invalid_request(emu: Emulator,
                                                                          length: bytes) -> None:
    data = exchange(emu, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + length + b"\r\n\r\n{}")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    assert json.loads(body)["Response"]["Error"]["Code"] == "InvalidRequest"
    assert emu.stats()["internal_errors"] == []


@pytest.mark.parametrize("length", [b"\xb2", b"+5", b"0x5"])
def test_tool_endpoints_answer_whatever_the_content_length(emu: Emulator,
                                                           length: bytes) -> None:
    data = exchange(emu, b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         b"Content-Length: " + length + b"\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    error = json.loads(body)["Response"]["Error"]
    assert error["Code"] == "InvalidRequest" and "Content-Length" in error["Message"]


def test_a_list_index_that_is_not_ascii_digits_is_an_invalid_parameter(emu: Emulator) -> None:
    status, _, answer = raw(emu, "DescribeLoadBalancers", b"", method="GET",
                            query="LoadBalancerIds.%C2%B2=lb-1")
    assert status == 200
    assert answer["Response"]["Error"]["Code"].startswith("InvalidParameter"), answer
    assert emu.stats()["internal_errors"] == []
