"""Batched reads: as few calls as the API allows, never one call per rule or per certificate.

- load balancers: DescribeLoadBalancers, LoadBalancerIds in chunks of 20;
- a CLB's listeners, rules and targets: ONE DescribeListeners, then DescribeTargets with
  ListenerIds in chunks of 20 (so one call for up to 20 listeners, whatever the rule count);
- certificates: SSL DescribeCertificates with CertIds in chunks of 100.
Reads take no lock.

Absence is positive: an object is missing only when a well-formed answer lists what exists
(every page of it) without it, or the API says "not found" for its ID. An answer without its
list, or with fewer items than its TotalCount, is an error, never "everything was deleted".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from mtlsform.errors import ProviderError
from mtlsform.providers.base import CertificateInfo, ListenerInfo, LoadBalancerInfo, TargetInfo
from mtlsform.providers.tencentcloud import mapping
from mtlsform.providers.tencentcloud.session import ApiSession

T = TypeVar("T")

PAGE_SIZE = 100  # DescribeLoadBalancers' largest Limit
LOAD_BALANCER_BATCH = 20  # DescribeLoadBalancers.LoadBalancerIds
TARGET_LISTENER_BATCH = 20  # DescribeTargets.ListenerIds
CERTIFICATE_BATCH = 100  # DescribeCertificates.CertIds (Limit goes up to 1000)


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(i for i in ids if i))


def listed(response: Any, field: str, action: str, *, total: int | None = None,
           offset: int = 0) -> list[Any]:
    """The list `field` of an answer; an error when it is absent or not a list, or when the
    answer's TotalCount says this page (of at most `total` items, from `offset`) holds fewer
    than exist."""
    items = getattr(response, field, None)
    count = getattr(response, "TotalCount", None) if total is not None else None
    problem = None
    if not isinstance(items, list):
        problem = f"the answer has no {field} list"
    elif total is not None and (not isinstance(count, int) or isinstance(count, bool)):
        problem = "the answer has no TotalCount"
    elif total is not None and isinstance(count, int) and \
            len(items) < min(total, count - offset):
        problem = f"the answer holds {len(items)} of {field}'s {count} items"
    if problem is not None:
        raise ProviderError(
            f"{problem}: it cannot tell which objects exist", code="IncompleteResponse",
            request_id=getattr(response, "RequestId", "") or "", action=action,
            hint="nothing is read as deleted from an incomplete answer; check provider.endpoint "
                 "and any proxy between mtlsform and the API, then run again")
    assert isinstance(items, list)
    return items


def _clb() -> Any:
    from tencentcloud.clb.v20180317 import models

    return models


class Reader:
    def __init__(self, session: ApiSession) -> None:
        self._session = session

    def load_balancers(self, ids: Sequence[str]) -> dict[str, LoadBalancerInfo]:
        found: dict[str, LoadBalancerInfo] = {}
        for batch in chunks(_unique(ids), LOAD_BALANCER_BATCH):
            request = _clb().DescribeLoadBalancersRequest()
            request.LoadBalancerIds = batch
            request.Offset = 0
            request.Limit = len(batch)
            response = self._session.call("clb", "DescribeLoadBalancers", request)
            page = listed(response, "LoadBalancerSet", "DescribeLoadBalancers",
                          total=len(batch))
            if (response.TotalCount or 0) > len(batch):
                raise ProviderError(
                    "DescribeLoadBalancers ignored the LoadBalancerIds filter (it counts more "
                    "load balancers than were asked for)", code="UnexpectedResponse",
                    request_id=response.RequestId or "", action="DescribeLoadBalancers")
            for lb in page:
                if lb.LoadBalancerId in batch:
                    found[lb.LoadBalancerId] = mapping.load_balancer_info(lb)
        return found

    def load_balancers_tagged(self, tags: Mapping[str, str]) -> dict[str, LoadBalancerInfo]:
        """The CLBs carrying every one of `tags` (all pages)."""
        found: dict[str, LoadBalancerInfo] = {}
        offset = 0
        while True:
            request = _clb().DescribeLoadBalancersRequest()
            request.Filters = [{"Name": f"tag:{key}", "Values": [value]}
                               for key, value in sorted(tags.items())]
            request.Offset = offset
            request.Limit = PAGE_SIZE
            response = self._session.call("clb", "DescribeLoadBalancers", request)
            page = listed(response, "LoadBalancerSet", "DescribeLoadBalancers", total=PAGE_SIZE,
                          offset=offset)
            for lb in page:
                found[lb.LoadBalancerId] = mapping.load_balancer_info(lb)
            offset += len(page)
            if not page or offset >= (response.TotalCount or 0):
                return found

    def describe_listeners(self, load_balancer_id: str, *, protocol: str | None = None,
                           port: int | None = None,
                           listener_ids: Sequence[str] = ()) -> list[Any] | None:
        """The raw Listener models of a CLB (optionally filtered); None if the CLB is gone."""
        request = _clb().DescribeListenersRequest()
        request.LoadBalancerId = load_balancer_id
        if listener_ids:
            request.ListenerIds = list(listener_ids)
        if protocol is not None:
            request.Protocol = protocol
        if port is not None:
            request.Port = port
        try:
            response = self._session.call("clb", "DescribeListeners", request)
        except ProviderError as error:
            if error.code == "InvalidParameter.LBIdNotFound":
                return None
            raise
        return list(listed(response, "Listeners", "DescribeListeners"))

    def _targets(self, load_balancer_id: str,
                 listener_ids: list[str]) -> dict[str, list[TargetInfo]] | None:
        """Targets by rule LocationId for the given listeners; None if the CLB is gone."""
        by_rule: dict[str, list[TargetInfo]] = {}
        for batch in chunks(listener_ids, TARGET_LISTENER_BATCH):
            request = _clb().DescribeTargetsRequest()
            request.LoadBalancerId = load_balancer_id
            request.ListenerIds = batch
            try:
                response = self._session.call("clb", "DescribeTargets", request)
            except ProviderError as error:
                if error.code == "InvalidParameter.LBIdNotFound":
                    return None
                raise
            for listener in listed(response, "Listeners", "DescribeTargets"):
                for rule in listener.Rules or ():
                    targets = by_rule.setdefault(rule.LocationId, [])
                    targets.extend(mapping.target_info(t) for t in rule.Targets or ())
        return by_rule

    def rule_target_keys(self, load_balancer_id: str, listener_id: str,
                         rule_id: str) -> set[tuple[str, int]] | None:
        """The (server, port) keys bound to one rule; None if the CLB, listener or rule is gone."""
        by_rule = self._targets(load_balancer_id, [listener_id])
        if by_rule is None or rule_id not in by_rule:
            return None
        return {target.key for target in by_rule[rule_id]}

    def listeners(self, load_balancer_id: str) -> dict[str, ListenerInfo] | None:
        raw = self.describe_listeners(load_balancer_id)
        if raw is None:
            return None
        # Targets of L7 listeners live on their rules; listeners without rules have none to read.
        with_rules = [listener.ListenerId for listener in raw if listener.Rules]
        by_rule = self._targets(load_balancer_id, with_rules) if with_rules else {}
        if by_rule is None:
            return None
        infos = (mapping.listener_info(listener, by_rule) for listener in raw)
        return {info.id: info for info in sorted(infos, key=lambda i: (i.port, i.protocol, i.id))}

    def certificates(self, ids: Sequence[str]) -> dict[str, CertificateInfo]:
        from tencentcloud.ssl.v20191205 import models

        found: dict[str, CertificateInfo] = {}
        for batch in chunks(_unique(ids), CERTIFICATE_BATCH):
            request = models.DescribeCertificatesRequest()
            request.CertIds = batch
            request.Offset = 0
            request.Limit = len(batch)
            response = self._session.call("ssl", "DescribeCertificates", request)
            page = list(listed(response, "Certificates", "DescribeCertificates",
                               total=len(batch)))
            strangers = [c.CertificateId for c in page if c.CertificateId not in batch]
            if strangers or (response.TotalCount or 0) > len(batch):
                # Without a working CertIds filter this read would silently miss certificates.
                raise ProviderError(
                    "DescribeCertificates ignored the CertIds filter (it returned certificates "
                    "that were not asked for)", code="UnexpectedResponse",
                    request_id=response.RequestId or "", action="DescribeCertificates")
            for cert in page:
                found[cert.CertificateId] = mapping.certificate_info(cert)
        return found

    def certificate_bindings(self, certificate_id: str) -> list[str]:
        """The load balancers (in this region) an upload is bound to, as `lb-x (name)`."""
        request = _clb().DescribeLoadBalancerListByCertIdRequest()
        request.CertIds = [certificate_id]
        response = self._session.call("clb", "DescribeLoadBalancerListByCertId", request)
        sets = listed(response, "CertSet", "DescribeLoadBalancerListByCertId")
        bound: list[str] = []
        for entry in sets:
            if entry.CertId != certificate_id:
                continue
            for lb in listed(entry, "LoadBalancers", "DescribeLoadBalancerListByCertId"):
                name = f" ({lb.LoadBalancerName})" if lb.LoadBalancerName else ""
                bound.append(f"{lb.LoadBalancerId}{name}")
        return sorted(dict.fromkeys(bound))
