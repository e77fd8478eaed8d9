"""A real S3-compatible server for the cos backend's tests: moto's server application, run
in a process of its own on a free port of the loopback.

It serves one request at a time (werkzeug's server without threads), so each conditional PUT
is checked and applied as one step, as S3 and COS do it; moto's threaded server checks the
condition and stores the object in two steps that two requests could interleave.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

SERVE = """
import sys
from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                           create_backend_app)
from werkzeug.serving import make_server
server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app),
                     threaded=False, request_handler=MotoRequestHandler)
print(server.server_port, flush=True)
server.serve_forever()
"""

REGION = "ap-guangzhou"
KEYS = {"TENCENTCLOUD_SECRET_ID": "AKIDtestid", "TENCENTCLOUD_SECRET_KEY": "testsecretkey"}


def credentials() -> dict[str, Any]:
    """KEYS as the cos store takes them (boto3's names, as the session maps them)."""
    from mtlsform.sensitive import Sensitive

    return {"aws_access_key_id": Sensitive(KEYS["TENCENTCLOUD_SECRET_ID"]),
            "aws_secret_access_key": Sensitive(KEYS["TENCENTCLOUD_SECRET_KEY"])}


_buckets = itertools.count()


@dataclass
class S3Server:
    process: subprocess.Popen[str]
    endpoint: str
    _client: Any = None

    def client(self) -> Any:
        """A plain boto3 client of the server (made once: making one takes a while)."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        from mtlsform.state.cos import _boto3_session

        return _boto3_session().client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=KEYS["TENCENTCLOUD_SECRET_ID"],
            aws_secret_access_key=KEYS["TENCENTCLOUD_SECRET_KEY"])

    def bucket(self, *, versioned: bool = True) -> str:
        """A new bucket of its own (bucket versioning on unless told otherwise)."""
        name = f"state-{next(_buckets)}-1250000000"
        client = self.client()
        client.create_bucket(Bucket=name,
                             CreateBucketConfiguration={"LocationConstraint": REGION})
        if versioned:
            client.put_bucket_versioning(Bucket=name,
                                         VersioningConfiguration={"Status": "Enabled"})
        return name

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def start_s3_server() -> S3Server:
    process = subprocess.Popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    with process.stdout:  # the port is all it prints
        port = process.stdout.readline().strip()
    if not port.isdigit():
        process.kill()
        raise RuntimeError("the S3-compatible test server did not start")
    return S3Server(process, f"http://127.0.0.1:{port}")
