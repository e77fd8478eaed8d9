"""Layer-7 customized configurations on the SDK: the TLS policy's cloud object.

A configuration (`SetCustomizedConfigForLoadBalancer` ADD / UPDATE / DELETE) holds nginx-style
text (`ssl_protocols ...; ssl_ciphers ...;`) and is bound to domains of HTTP/HTTPS listeners
(`AssociateCustomizedConfig` / `DisassociateCustomizedConfig`, a BindList of
LoadBalancerId + ListenerId + Domain). Reading every configuration a stack records takes two
calls, whatever their number (up to 100 each): `DescribeCustomizedConfigList` by ID and one
region-wide `DescribeCustomizedConfigAssociateList`, filtered here. The writes are synchronous;
each holds the gate of the load balancer it binds to, as CLB writes do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtlsform.errors import ProviderError
from mtlsform.providers.base import ConfigBinding, CustomizedConfigInfo
from mtlsform.providers.tencentcloud.errors import is_gone
from mtlsform.providers.tencentcloud.reads import chunks, listed
from mtlsform.providers.tencentcloud.session import ApiSession

CONFIG_TYPE = "CLB"  # what SetCustomizedConfigForLoadBalancer ADD makes
PAGE = 100


def _models() -> Any:
    from tencentcloud.clb.v20180317 import models

    return models


def read_configs(session: ApiSession, ids: Sequence[str]) -> dict[str, CustomizedConfigInfo]:
    """The configurations that exist among `ids`, each with its bindings to domains."""
    models = _models()
    found: dict[str, tuple[str, str]] = {}
    for batch in chunks(sorted(set(ids)), PAGE):
        request = models.DescribeCustomizedConfigListRequest()
        request.ConfigType = CONFIG_TYPE
        request.UconfigIds = batch
        request.Offset, request.Limit = 0, len(batch)
        response = session.call("clb", "DescribeCustomizedConfigList", request)
        for item in listed(response, "ConfigList", "DescribeCustomizedConfigList",
                           total=len(batch)):
            if item.UconfigId in batch:
                found[item.UconfigId] = (item.ConfigName or "", item.ConfigContent or "")
    if not found:
        return {}
    bound: dict[str, list[ConfigBinding]] = {config_id: [] for config_id in found}
    offset = 0
    while True:
        request = models.DescribeCustomizedConfigAssociateListRequest()
        request.Offset, request.Limit = offset, PAGE
        response = session.call("clb", "DescribeCustomizedConfigAssociateList", request)
        page = listed(response, "BindList", "DescribeCustomizedConfigAssociateList",
                      total=PAGE, offset=offset)
        for item in page:
            if item.UconfigId in bound and item.ListenerId and item.Domain:
                bound[item.UconfigId].append(
                    ConfigBinding(item.LoadBalancerId, item.ListenerId, item.Domain))
        offset += len(page)
        if not page or offset >= (response.TotalCount or 0):
            break
    return {config_id: CustomizedConfigInfo(config_id, name, content,
                                            tuple(sorted(set(bound[config_id]))))
            for config_id, (name, content) in found.items()}


def create_config(session: ApiSession, name: str, content: str) -> str:
    request = _models().SetCustomizedConfigForLoadBalancerRequest()
    request.OperationType = "ADD"
    request.ConfigName = name
    request.ConfigContent = content
    response = session.call("clb", "SetCustomizedConfigForLoadBalancer", request)
    config_id = str(response.ConfigId or "")
    if not config_id:
        raise ProviderError("the answer carries no ConfigId", code="UnexpectedResponse",
                            request_id=response.RequestId or "",
                            action="SetCustomizedConfigForLoadBalancer")
    return config_id


def update_config(session: ApiSession, config_id: str, content: str) -> None:
    request = _models().SetCustomizedConfigForLoadBalancerRequest()
    request.OperationType = "UPDATE"
    request.UconfigId = config_id
    request.ConfigContent = content
    session.call("clb", "SetCustomizedConfigForLoadBalancer", request)


def delete_config(session: ApiSession, config_id: str) -> None:
    request = _models().SetCustomizedConfigForLoadBalancerRequest()
    request.OperationType = "DELETE"
    request.UconfigId = config_id
    try:
        session.call("clb", "SetCustomizedConfigForLoadBalancer", request)
    except ProviderError as error:
        if not is_gone(error) and "not found" not in str(error):
            raise


def bind(session: ApiSession, config_id: str, bindings: Sequence[ConfigBinding], *,
         on: bool) -> None:
    """Associates (`on`) or disassociates the domains, one call per load balancer."""
    models = _models()
    action = "AssociateCustomizedConfig" if on else "DisassociateCustomizedConfig"
    for lb_id in sorted({b.load_balancer_id for b in bindings}):
        request = getattr(models, action + "Request")()
        request.UconfigId = config_id
        items = []
        for binding in bindings:
            if binding.load_balancer_id != lb_id:
                continue
            item = models.BindItem()
            item.LoadBalancerId, item.ListenerId = binding.load_balancer_id, binding.listener_id
            item.Domain = binding.domain
            items.append(item)
        request.BindList = items
        with session.locks.hold(lb_id):
            session.call("clb", action, request)
