"""The official SDK against an emulator: clients, calls from plain fields, waiting for tasks."""

from __future__ import annotations

import json
import time
from typing import Any

from tencentcloud.clb.v20180317 import clb_client
from tencentcloud.clb.v20180317 import models as clb_models
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ssl.v20191205 import models as ssl_models
from tencentcloud.ssl.v20191205 import ssl_client

from mtlsform.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY

REGION = "ap-guangzhou"


def clients(endpoint: str, scheme: str = "http") -> tuple[Any, Any]:
    """(ClbClient, SslClient) for an emulator endpoint with the default credentials."""
    profile = ClientProfile(httpProfile=HttpProfile(protocol=scheme, endpoint=endpoint,
                                                    reqTimeout=30))
    cred = credential.Credential(DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY)
    return (clb_client.ClbClient(cred, REGION, profile),
            ssl_client.SslClient(cred, REGION, profile))


def call(client: Any, action: str, **fields: Any) -> Any:
    module = clb_models if isinstance(client, clb_client.ClbClient) else ssl_models
    request = getattr(module, action + "Request")()
    request.from_json_string(json.dumps(fields))
    return getattr(client, action)(request)


def done(clb: Any, action: str, **fields: Any) -> Any:
    """An asynchronous CLB call, waited for through DescribeTaskStatus."""
    answer = call(clb, action, **fields)
    deadline = time.monotonic() + 10
    while (status := call(clb, "DescribeTaskStatus", TaskId=answer.RequestId)).Status == 2:
        assert time.monotonic() < deadline, f"{action} did not finish"
        time.sleep(0.01)
    assert status.Status == 0, (action, status.Message)
    return answer
