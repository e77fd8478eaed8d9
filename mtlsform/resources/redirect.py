"""redirect: a rule that redirects to a rule of another listener (`redirect:` on a rule:
ManualRewrite; DeleteRewrite to remove it).

Its address is its source rule's (`redirect.http["www.example.com/"]`), and it lives on that
rule in the cloud: it is read back from the `listeners` collection (a rule's RewriteTarget), so
it costs a no-op plan no call of its own. The API has no "modify" for a redirect: another
code, target or TakeUrl is a replacement (DeleteRewrite, then ManualRewrite). Deleting either
rule removes the redirect with it (its cascade parent is the rule). A redirect made by hand on
a rule the stack keeps is found (`under`) and deleted.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from mtlsform.addresses import Address, rule_key
from mtlsform.providers.base import RedirectSpec, RuleInfo
from mtlsform.references import Ref
from mtlsform.resources.base import ApplyContext, Attributes, CloudSnapshot, ResourceType
from mtlsform.resources.listener import LISTENER, LISTENERS, find_listener
from mtlsform.resources.load_balancer import LOAD_BALANCER
from mtlsform.resources.rule import RULE, find_rule
from mtlsform.stack.model import Stack, redirect_target

IDENTITY = ("load_balancer_id", "source_listener_id", "source_rule_id", "target_listener_id",
            "target_rule_id", "domain")


def redirect_attributes(info: RuleInfo, load_balancer_id: Any,
                        source_listener_id: str) -> Attributes | None:
    """The redirect of a rule as refresh read it, or None when the rule does not redirect."""
    rewrite = info.rewrite
    if rewrite is None:
        return None
    return {
        "id": info.id,
        "load_balancer_id": load_balancer_id,
        "source_listener_id": source_listener_id,
        "source_rule_id": info.id,
        "target_listener_id": rewrite.target_listener_id,
        "target_rule_id": rewrite.target_rule_id,
        "domain": info.domain,
        "code": rewrite.code,
        "take_url": rewrite.take_url,
    }


def redirect_spec(values: Mapping[str, Any]) -> RedirectSpec:
    return RedirectSpec(
        source_listener_id=values["source_listener_id"], source_rule_id=values["source_rule_id"],
        target_listener_id=values["target_listener_id"], target_rule_id=values["target_rule_id"],
        domain=values["domain"], code=values["code"], take_url=values["take_url"])


class RedirectType(ResourceType):
    name = "redirect"
    cascade_parent = RULE.name
    collections = (LISTENERS,)
    force_new = frozenset(IDENTITY) | frozenset({"code", "take_url"})  # no ModifyRewrite
    recorded = {
        "id": str, "load_balancer_id": str, "source_listener_id": str, "source_rule_id": str,
        "target_listener_id": str, "target_rule_id": str, "domain": str, "code": int,
        "take_url": bool,
    }

    def instances(self, stack: Stack) -> Iterable[Address]:
        return [Address(self.name, name, rule.key)
                for name, listener in stack.listeners.items() for rule in listener.rules
                if rule.redirect is not None]

    def config(self, stack: Stack, address: Address) -> Attributes:
        listener = stack.listeners[address.name]
        rule = find_rule(stack, address)
        redirect = rule.redirect
        assert redirect is not None
        url = redirect.url or rule.url
        goal = redirect_target(rule, stack.listeners[redirect.listener], url)
        target_key = goal.key if goal is not None else rule_key(rule.domain, url)
        return {
            "load_balancer_id": Ref(Address(LOAD_BALANCER.name, listener.load_balancer), "id"),
            "source_listener_id": Ref(Address(LISTENER.name, listener.name), "id"),
            "source_rule_id": Ref(Address(RULE.name, listener.name, rule.key), "id"),
            "target_listener_id": Ref(Address(LISTENER.name, redirect.listener), "id"),
            "target_rule_id": Ref(Address(RULE.name, redirect.listener, target_key), "id"),
            "domain": rule.domain,
            "code": redirect.code,
            "take_url": redirect.take_url,
        }

    def natural_key(self, attrs: Mapping[str, Any]) -> Hashable:
        return (attrs.get("source_rule_id"), attrs.get("target_rule_id"))

    def exclusive_keys(self, attrs: Mapping[str, Any]) -> frozenset[Hashable]:
        return frozenset({("redirect-from", attrs.get("source_rule_id"))})  # one per rule

    def read(self, cloud: CloudSnapshot, address: Address, prior: Mapping[str, Any] | None,
             desired: Mapping[str, Any] | None) -> Attributes | None:
        source = prior if prior is not None else (desired or {})
        lb_id = source.get("load_balancer_id")
        listener = find_listener(cloud, lb_id, source.get("source_listener_id"))
        if listener is None:
            return None
        info = next((r for r in listener.rules if r.id == source.get("source_rule_id")), None)
        attrs = redirect_attributes(info, lb_id, listener.id) if info is not None else None
        if attrs is None:
            return None
        if prior is None and self.natural_key(attrs) != self.natural_key(source):
            return None  # the rule redirects elsewhere: not an interrupted create of ours
        return attrs

    def under(self, cloud: CloudSnapshot, parent: Address,
              parent_attrs: Mapping[str, Any]) -> list[tuple[Address, Attributes]]:
        lb_id = parent_attrs.get("load_balancer_id")
        listener = find_listener(cloud, lb_id, parent_attrs.get("listener_id"))
        if listener is None:
            return []
        found = []
        for info in listener.rules:
            if info.id == parent_attrs.get("id"):
                attrs = redirect_attributes(info, lb_id, listener.id)
                if attrs is not None:
                    found.append((Address(self.name, parent.name, parent.key), attrs))
        return found

    def create(self, ctx: ApplyContext, address: Address,
               values: Mapping[str, Any]) -> Attributes:
        ctx.provider.create_redirect(values["load_balancer_id"], redirect_spec(values))
        return {**values, "id": values["source_rule_id"]}

    def delete(self, ctx: ApplyContext, address: Address, prior: Mapping[str, Any]) -> None:
        ctx.provider.delete_redirect(prior["load_balancer_id"], redirect_spec(prior))


REDIRECT = RedirectType()
