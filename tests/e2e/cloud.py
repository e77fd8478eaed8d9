"""Changes made behind mtlsform's back, through the official SDK against the stack's emulator,
and reading what the state recorded."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mtlsform.pki import CertificateMaterial, generate_certificate
from mtlsform.stack.model import Certificate, Subject


def state_attributes(stack_dir: Path, stack_name: str, address: str) -> dict:
    state = json.loads((stack_dir / ".mtlsform" / f"{stack_name}.state.json").read_text())
    for resource in state["resources"]:
        if resource["address"] == address:
            return resource["attributes"]
    raise KeyError(address)


def _request(models, name: str, params: dict):
    request = getattr(models, f"{name}Request")()
    request.from_json_string(json.dumps(params))
    return request


def swap_client_ca(stack_path: Path, listener: str = "https") -> CertificateMaterial:
    """Uploads a new CA and points the listener's client CA at it (ModifyListener), through the
    SDK against an emulator on the stack's world, as someone at the console would."""
    from tencentcloud.clb.v20180317 import models as clb_models
    from tencentcloud.ssl.v20191205 import models as ssl_models

    from mtlsform.cli.stackload import load_with_vars
    from mtlsform.providers import open_provider

    stack, diagnostics = load_with_vars(stack_path, [])
    assert stack is not None, diagnostics
    attrs = state_attributes(stack_path.parent, stack.name, f"listener.{listener}")
    other = generate_certificate(
        Certificate(name="other-ca", type="ca", key="ecdsa-p256",
                    subject=Subject(common_name="Out Of Band CA")), None)
    data_dir = stack_path.parent / ".mtlsform" / "emulator"
    with open_provider(stack.provider, emulator_data_dir=data_dir,
                       environ=os.environ) as (_, context):
        upload = context.sdk_client("ssl").UploadCertificate(_request(
            ssl_models, "UploadCertificate",
            {"CertificatePublicKey": other.certificate_pem, "CertificateType": "CA",
             "Alias": "out-of-band-ca"}))
        clb = context.sdk_client("clb")
        task = clb.ModifyListener(_request(clb_models, "ModifyListener", {
            "LoadBalancerId": attrs["load_balancer_id"], "ListenerId": attrs["id"],
            "Certificate": {"SSLMode": "MUTUAL", "CertId": attrs["certificate_id"],
                            "CertCaId": upload.CertificateId}}))
        deadline = time.monotonic() + 30
        while True:  # CLB changes are asynchronous: wait for the task (0 done, 1 failed)
            status = clb.DescribeTaskStatus(_request(
                clb_models, "DescribeTaskStatus", {"TaskId": task.RequestId})).Status
            if status != 2:
                assert status == 0, f"ModifyListener task ended with status {status}"
                return other
            assert time.monotonic() < deadline, "ModifyListener did not finish"
            time.sleep(0.05)
