"""Building the model from the (substituted, schema-checked) tree: defaults and positions.

Each named item is built on its own, and only when the schema found nothing wrong inside it, so
the semantic checks can still run on the rest of a stack that has shape errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Protocol

from mtlsform.diagnostics import Position
from mtlsform.stack.interpolation import parse_template
from mtlsform.stack.model import (
    Backend,
    Certificate,
    CertificateFiles,
    Export,
    HealthCheck,
    Listener,
    LoadBalancer,
    Moved,
    Output,
    Positions,
    ProviderConfig,
    Redirect,
    Reference,
    Rollover,
    Rule,
    RuleBackend,
    Stack,
    StateBackendConfig,
    Subject,
    Tls,
)
from mtlsform.stack.tlspolicy import TlsPolicy
from mtlsform.stack.tree import (
    MapNode,
    Node,
    Path,
    PathPart,
    Scalar,
    SeqNode,
    flatten_positions,
    position_in,
    to_plain,
)
from mtlsform.stack.values import as_text

SECTIONS = ("certificates", "load_balancers", "backends", "listeners", "outputs")


class _Clean(Protocol):
    """Whether no shape problem lies at or below a path (`skip_rules`: except in one rule)."""

    def __call__(self, *prefix: PathPart, skip_rules: bool = False) -> bool: ...


@dataclass
class Parts:
    """The items that could be built, and the name and position of every item (built or not)."""

    version: int | None = None
    name: str | None = None
    provider: ProviderConfig | None = None
    backend: StateBackendConfig | None = None
    variables: dict[str, str] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    backends: dict[str, Backend] = field(default_factory=dict)
    listeners: dict[str, Listener] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    names: dict[str, dict[str, Position]] = field(default_factory=dict)
    # The rules of each listener that could be built, even when the listener itself could not
    # (a rule with shape errors is left out, so the checks still run on the others), and the
    # index in the file of each of them.
    rules: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    rule_indexes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)  # listeners not built, or with rules left out
    # Of a listener that could not be built, the references that could (its tls block, its
    # load balancer's name and position), so a problem elsewhere in it hides none of them.
    partial_tls: dict[str, Tls] = field(default_factory=dict)
    partial_load_balancers: dict[str, tuple[str, Position | None]] = field(default_factory=dict)
    moved: list[Moved] = field(default_factory=list)

    def rule_path(self, listener: str, i: int) -> str:
        """Where the i-th built rule of a listener is: `listeners.https.rules[3]`."""
        return f"listeners.{listener}.rules[{self.rule_index(listener, i)}]"

    def rule_index(self, listener: str, i: int) -> int:
        """The index in the file of the i-th built rule of a listener."""
        indexes = self.rule_indexes.get(listener)
        return indexes[i] if indexes is not None and i < len(indexes) else i

    def all_listeners_built(self) -> bool:
        """True when every listener and every rule could be built (nothing is missing)."""
        return not self.incomplete and set(self.listeners) == set(self.names.get("listeners", {}))


def build_parts(root: MapNode, bad_paths: Iterable[Path],
                variables: dict[str, object]) -> Parts:
    """Every item of the stack whose subtree is free of shape problems, as model objects."""
    bad = [p for p in bad_paths if p]

    def ok(*prefix: str | int, skip_rules: bool = False) -> bool:
        for p in bad:
            if p[: len(prefix)] != prefix[: len(p)]:
                continue
            if skip_rules and len(p) > 3 and p[2] == "rules" and isinstance(p[3], int):
                continue  # a problem inside one rule: that rule alone is left out
            return False
        return True

    parts = Parts(variables={name: as_text(value) for name, value in variables.items()})
    version = root.values.get("version")
    if ok("version") and isinstance(version, Scalar) and isinstance(version.value, int | float):
        parts.version = int(version.value)  # the schema allows 1.0 as well as 1
    name = root.values.get("stack")
    if ok("stack") and isinstance(name, Scalar) and isinstance(name.value, str):
        parts.name = name.value
    provider = root.values.get("provider")
    if provider is None or (isinstance(provider, Scalar) and provider.value is None):
        parts.provider = ProviderConfig()
    elif ok("provider") and isinstance(provider, MapNode):
        parts.provider = _provider(provider, root.keys["provider"])
    backend = root.values.get("backend")
    if backend is None or (isinstance(backend, Scalar) and backend.value is None):
        parts.backend = StateBackendConfig()
    elif ok("backend") and isinstance(backend, MapNode):
        parts.backend = _backend_block(backend, root.keys["backend"])
    builders: dict[str, Callable[[str, Node, Position], object]] = {
        "certificates": _certificate,
        "load_balancers": _load_balancer,
        "backends": _backend,
        "listeners": lambda n, node, pos: _listener(n, node, pos, parts.rules[n]),
        "outputs": _output,
    }
    moved = root.values.get("moved")
    if ok("moved") and isinstance(moved, SeqNode):
        parts.moved = [_moved(item) for item in moved.items]
    for section in SECTIONS:
        node = root.values.get(section)
        if not isinstance(node, MapNode):
            continue
        parts.names[section] = dict(node.keys)
        built = getattr(parts, section)
        for item_name, item in node.values.items():
            if section == "listeners":
                _rules(parts, item_name, item, ok)
            if ok(section, item_name, skip_rules=section == "listeners"):
                built[item_name] = builders[section](item_name, item, node.keys[item_name])
            elif section == "listeners":
                parts.incomplete.add(item_name)
                _listener_references(parts, item_name, item, ok)
    return parts


def _listener_references(parts: Parts, name: str, node: Node, ok: _Clean) -> None:
    """What a listener that could not be built refers to, where that part is free of shape
    problems."""
    if not isinstance(node, MapNode):
        return
    if ok("listeners", name, "tls"):
        tls = _tls(node, "tls")
        if tls is not None:
            parts.partial_tls[name] = tls
    lb = node.values.get("load_balancer")
    if ok("listeners", name, "load_balancer") and isinstance(lb, Scalar) \
            and isinstance(lb.value, str):
        parts.partial_load_balancers[name] = (lb.value, _positions(node).at("load_balancer"))


def _rules(parts: Parts, listener: str, node: Node, ok: _Clean) -> None:
    """The rules of a listener that are free of shape problems (even if the listener is not)."""
    rules = node.values.get("rules") if isinstance(node, MapNode) else None
    items = rules.items if isinstance(rules, SeqNode) else []
    indexes = tuple(i for i in range(len(items)) if ok("listeners", listener, "rules", i))
    parts.rule_indexes[listener] = indexes
    parts.rules[listener] = tuple(_rule(items[i]) for i in indexes)
    if len(indexes) < len(items):
        parts.incomplete.add(listener)


def assemble(parts: Parts, path: FilePath, root: MapNode) -> Stack:
    """The Stack, once checks found no error (so every part is present)."""
    assert parts.version is not None and parts.name is not None and parts.provider is not None
    return Stack(
        version=parts.version,
        name=parts.name,
        path=path,
        provider=parts.provider,
        variables=dict(sorted(parts.variables.items())),
        certificates=parts.certificates,
        load_balancers=parts.load_balancers,
        backends=parts.backends,
        listeners=parts.listeners,
        outputs=parts.outputs,
        positions=Positions(root.pos, flatten_positions(root, depth=2)),
        moved=tuple(parts.moved),
        backend=parts.backend or StateBackendConfig(),
    )


def _moved(node: Node) -> Moved:
    assert isinstance(node, MapNode)  # the schema found no problem in it
    data = to_plain(node)
    return Moved(source=str(data["from"]), destination=str(data["to"]),
                 positions=_positions(node))


def certificates_only(parts: Parts, path: FilePath, root: MapNode,
                      leave_out: Iterable[str] = ()) -> Stack:
    """A Stack of only the certificates that could be built (but those in `leave_out`), for
    the checks of each certificate on its own when other parts have errors."""
    left_out = set(leave_out)
    return Stack(
        version=parts.version or 1,
        name=parts.name or "",
        path=path,
        provider=parts.provider or ProviderConfig(),
        variables=dict(sorted(parts.variables.items())),
        certificates={name: cert for name, cert in parts.certificates.items()
                      if name not in left_out},
        load_balancers={}, backends={}, listeners={}, outputs={},
        positions=Positions(root.pos, flatten_positions(root, depth=2)),
    )


def _positions(node: Node, own: Position | None = None) -> Positions:
    return Positions(own or node.pos, flatten_positions(node))


def _provider(node: MapNode, own: Position) -> ProviderConfig:
    data = to_plain(node)
    return ProviderConfig(kind=data.get("kind", "emulator"), region=data.get("region"),
                          endpoint=data.get("endpoint"), positions=_positions(node, own))


def _backend_block(node: MapNode, own: Position) -> StateBackendConfig:
    data = to_plain(node)
    return StateBackendConfig(
        kind=data.get("kind", "local"), conn_str_env=data.get("conn_str_env"),
        schema_name=data.get("schema_name"), bucket=data.get("bucket"),
        prefix=data.get("prefix"), region=data.get("region"), endpoint=data.get("endpoint"),
        positions=_positions(node, own))


def _certificate(name: str, node: Node, own: Position) -> Certificate:
    assert isinstance(node, MapNode)  # the schema found no problem in it: it is a mapping
    data = to_plain(node)
    kind = data["type"]
    files = data.get("files")
    export = data.get("export")

    # Paths stay as written (relative to the stack file's directory, `Stack.directory`), so
    # messages show them as the user wrote them; readers join them with that directory.
    def as_path(value: str | None) -> FilePath | None:
        return FilePath(value) if value is not None else None

    return Certificate(
        name=name,
        type=kind,
        subject=Subject(**data["subject"]) if "subject" in data else None,
        key=data.get("key", "rsa-2048"),
        issuer=data.get("issuer"),
        dns_names=tuple(data.get("dns_names", ())),
        ip_addresses=tuple(data.get("ip_addresses", ())),
        validity_days=int(data.get("validity_days", 3650 if kind == "ca" else 365)),
        renew_before_days=int(data.get("renew_before_days", 30)),
        path_length=_optional_int(data["path_length"]) if "path_length" in data else 0,
        files=CertificateFiles(
            certificate=FilePath(files["certificate"]),
            private_key=as_path(files.get("private_key")),
            chain=as_path(files.get("chain")),
            passphrase_env=files.get("passphrase_env"),
        ) if files is not None else None,
        export=Export(dir=FilePath(export["dir"]), pkcs12=export.get("pkcs12", False),
                      legacy_pkcs12=export.get("legacy_pkcs12", False),
                      outside_stack_folder=export.get("outside_stack_folder", False))
        if export is not None else None,
        id=data.get("id"),
        rollover=_rollover(node.values["rollover"], node.keys["rollover"])
        if "rollover" in node.values else None,
        positions=_positions(node, own),
    )


def _rollover(node: Node, own: Position) -> Rollover:
    assert isinstance(node, MapNode)  # the schema allows only a mapping
    data = to_plain(node)
    return Rollover(subject=Subject(**data["subject"]) if "subject" in data else None,
                    key=data.get("key"), validity_days=data.get("validity_days"),
                    retire=str(data.get("retire", "auto")), positions=_positions(node, own))


def _load_balancer(name: str, node: Node, own: Position) -> LoadBalancer:
    assert isinstance(node, MapNode)  # the schema found no problem in it: it is a mapping
    data = to_plain(node)
    return LoadBalancer(name=name, display_name=data.get("name"),
                        network=data.get("network", "public"), id=data.get("id"),
                        vpc_id=data.get("vpc_id"), subnet_id=data.get("subnet_id"),
                        tags=dict(data.get("tags", {})), positions=_positions(node, own),
                        security_groups=tuple(data["security_groups"])
                        if "security_groups" in data else None,
                        pass_to_target=data.get("pass_to_target"),
                        delete_protection=data.get("delete_protection"))


def _backend(name: str, node: Node, own: Position) -> Backend:
    assert isinstance(node, MapNode)  # the schema found no problem in it: it is a mapping
    data = to_plain(node)
    return Backend(name=name, port=int(data["port"]), instance=data.get("instance"),
                   ip=data.get("ip"), weight=int(data.get("weight", 10)),
                   positions=_positions(node, own))


def _listener(name: str, node: Node, own: Position, rules: tuple[Rule, ...]) -> Listener:
    assert isinstance(node, MapNode)  # the schema found no problem in it: it is a mapping
    data = to_plain(node)
    return Listener(
        name=name,
        load_balancer=data["load_balancer"],
        port=int(data["port"]),
        protocol=data.get("protocol", "HTTPS"),
        sni=bool(data.get("sni", False)),
        tls=_tls(node, "tls"),
        rules=rules,
        positions=_positions(node, own),
        display_name=data.get("name"),
        default_domain=data.get("default_domain"),
        clients_without_sni=bool(data.get("clients_without_sni", False)),
    )


def _tls(parent: MapNode, key: str) -> Tls | None:
    node = parent.values.get(key)
    if not isinstance(node, MapNode):
        return None
    data = to_plain(node)
    mode = data.get("mode", "mutual" if data.get("client_ca") else "one-way")
    cas = data.get("client_ca")
    listed = [str(name) for name in cas] if isinstance(cas, list) else []
    certs = data.get("certificate")
    servers = [str(name) for name in certs] if isinstance(certs, list) else []
    return Tls(mode=mode, certificate=servers[0] if servers else certs,
               extra_certificates=tuple(servers[1:]),
               client_ca=listed[0] if listed else cas,
               extra_client_cas=tuple(listed[1:]),
               verify_client=data.get("verify_client", "required"),
               positions=_positions(node, parent.keys[key]), policy=_tls_policy(node))


def _tls_policy(tls: MapNode) -> TlsPolicy | None:
    node = tls.values.get("policy")
    if node is None:
        return None
    data = to_plain(node)
    if isinstance(data, str):
        return TlsPolicy(preset=data, positions=_positions(node))
    assert isinstance(node, MapNode) and isinstance(data, dict)
    return TlsPolicy(min_version=data["min_version"], ciphers=tuple(data.get("ciphers", ())),
                     positions=_positions(node, tls.keys["policy"]))


def _rule(node: Node) -> Rule:
    assert isinstance(node, MapNode)
    data = to_plain(node)
    backends = node.values.get("backends")
    domains = data["domain"] if isinstance(data["domain"], list) else [data["domain"]]
    return Rule(
        domain=str(domains[0]),
        domains=tuple(str(d) for d in domains) if len(domains) > 1 else (),
        url=data.get("url", "/"),
        scheduler=data.get("scheduler", "WRR"),
        backend_protocol=data.get("backend_protocol", "HTTP"),
        session_persistence=int(data.get("session_persistence", 0)),
        health_check=_health_check(node),
        backends=tuple(_rule_backend(item) for item in backends.items)
        if isinstance(backends, SeqNode) else (),
        tls=_tls(node, "tls"),
        positions=_positions(node),
        http2=bool(data.get("http2", False)),
        quic=bool(data.get("quic", False)),
        redirect=_redirect(node),
    )


def _redirect(rule: MapNode) -> Redirect | None:
    node = rule.values.get("redirect")
    if not isinstance(node, MapNode):
        return None
    data = to_plain(node)
    return Redirect(listener=str(data["listener"]), url=data.get("url"),
                    code=int(data.get("code", 301)), take_url=bool(data.get("take_url", False)),
                    positions=_positions(node, rule.keys["redirect"]))


def _health_check(rule: MapNode) -> HealthCheck:
    node = rule.values.get("health_check")
    if not isinstance(node, MapNode):
        return HealthCheck()
    data = to_plain(node)
    return HealthCheck(
        enabled=data.get("enabled", True),
        path=data.get("path", "/"),
        interval=int(data.get("interval", 5)),
        timeout=int(data.get("timeout", 2)),
        healthy_threshold=int(data.get("healthy_threshold", 3)),
        unhealthy_threshold=int(data.get("unhealthy_threshold", 3)),
        http_codes=tuple(data.get("http_codes", ("2xx", "3xx"))),
        method=data.get("method", "HEAD"),
        domain=data.get("domain"),
        check_type=data.get("type"),
        source_ip=data.get("source_ip", "vip"),
        grpc_codes=data.get("grpc_codes"),
        positions=_positions(node, rule.keys["health_check"]),
    )


def _rule_backend(node: Node) -> RuleBackend:
    if isinstance(node, Scalar):
        return RuleBackend(backend=str(node.value),
                           positions=Positions(node.pos, {"backend": node.pos}))
    assert isinstance(node, MapNode)  # a name, or {backend: NAME, weight: N}
    data = to_plain(node)
    weight = data.get("weight")
    return RuleBackend(backend=data["backend"], weight=int(weight) if weight is not None else None,
                       positions=_positions(node))


def _output(name: str, node: Node, own: Position) -> Output:
    value = to_plain(node)
    template = value if isinstance(value, str) else as_text(value)
    references: list[Reference] = []
    fields = {"value": node.pos}
    for part in parse_template(template):
        if (part.kind == "ref" and part.reference is not None
                and part.reference not in references):
            if isinstance(node, Scalar):  # where the reference was written, for checks
                fields[f"references.{len(references)}"] = position_in(
                    node, f"${{{part.reference}}}")
            references.append(part.reference)
    return Output(name=name, template=template, references=tuple(references),
                  positions=Positions(own, fields))


def _optional_int(value: float | None) -> int | None:
    return int(value) if value is not None else None
