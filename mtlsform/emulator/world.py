"""The emulator's world: every object the emulated cloud holds, behind one lock, with change events.

Shape (plain dataclasses, field names in snake case, IDs and enums spelt as the cloud spells them):

    WorldState
      version            int, raised by every committed change
      instances          {instance_id: Instance(instance_id, name, private_ip, zone)}
      certificates       {cert_id: Certificate(cert_id, cert_type "SVR"|"CA", alias,
                          certificate_pem (leaf first, then chain), private_key_pem (SVR only),
                          fingerprint (SHA-1 hex of the leaf), domain, subject_alt_names,
                          not_before, not_after, key_algorithm, subject, issuer, is_ca, ...)}
      load_balancers     {lb_id: LoadBalancer(lb_id, region, name, lb_type "OPEN"|"INTERNAL",
                          vip (own loopback address, 127.64.x.y), status 0 creating | 1 normal,
                          tags, create_time, ..., listeners {listener_id: Listener})}
        Listener         listener_id, protocol, port, name, sni_switch 0|1,
                         certificate: CertBinding | None (non-SNI HTTPS, TCP_SSL, QUIC),
                         health_check / scheduler / session_expire_time (L4 only),
                         rules {location_id: Rule} (HTTP/HTTPS), targets [Target] (L4)
        Rule             location_id, domain, domains, url, scheduler "WRR"|"LEAST_CONN"|"IP_HASH",
                         forward_type "HTTP"|"HTTPS"|"GRPC"..., session_expire_time (0 or seconds),
                         health_check: HealthCheck, certificate: CertBinding | None (SNI: the
                         domain's certificate), default_server, http2, targets [Target]
        CertBinding      ssl_mode "UNIDIRECTIONAL"|"MUTUAL", ssl_verify_client "ON"|"OPTIONAL"|None,
                         cert_id (SVR), cert_ca_id (CA, MUTUAL only), ext_cert_ids
        Target           kind "CVM"|"ENI", instance_id (CVM) | None, ip (the address to connect
                         to: the instance's private IP, 127.32.x.y for demo instances, or the
                         ENI IP), port, weight 0..100
      tasks              {task_id: Task} async CLB tasks (status 2 running, 0 done, 1 failed),
                         shared between copies: replace a Task, never change one in place
      configs            {config_id: CustomizedConfig(config_id "pz-...", region, config_type,
                          name, content, lb_ids)} layer-7 customized configurations; a rule's
                          config_id is the one bound to its domain (clb_customized.py).
                          Replaced whole, never changed in place.
      delete_tasks       {task_id: DeleteTaskResult fields} of DeleteCertificate with
                          IsCheckResource (ssl_certificates.py)

Times are cloud time strings, "YYYY-MM-DD HH:MM:SS" in GMT+8, as the API shows them.

Versions. A committed WorldState is never changed again: a transaction works on a copy-on-write
draft (worlddraft.py) that copies only what it touches (the load balancer and listener a CLB
write names) and shares the rest, and on success becomes the committed version in one step. So
a write costs the size of one listener, not of the world, and every version handed out stays a
consistent picture for as long as anyone holds it.

Reading (the data plane does this in-process):
    snap = world.snapshot()            # a deep copy, consistent, safe to keep and to change
                                       # (its tasks are shared: do not change those)
    world.committed()                  # the current version itself, no copy: read only
    world.version                      # current version number
    world.wait_for_change(since, timeout) -> int    # blocks until version > since (or timeout)
    unsubscribe = world.subscribe(callback)         # callback(version) after each change,
                                                    # outside the lock, in the writer's thread
    world.set_target_health(rule_key, ip, port, "Alive"|"Dead"|"Unknown")   # probe results;
                                                    # rule_key is the location_id (L7) or the
                                                    # listener_id (L4); kept in memory only
Writing (the API does this):
    with world.transaction() as state: ...  # changes are committed, handed to persistence and
                                            # announced together, or (on an exception) not at
                                            # all. Whatever the draft hands out (by key or by
                                            # iterating) is its own copy, except what
                                            # worlddraft.shared_values yields (read-only scans).
    world.flush()                           # blocks until the world file holds every version
Persistence (worldwriter.py): a background writer saves the newest committed version,
coalescing bursts. The file is always complete and loadable; it holds everything committed once
`flush()` or `Emulator.stop()` returns, and before a simulated crash exits; a process killed
outright (kill -9) loses at most the changes of the last save or two, a few milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from mtlsform.emulator.worlddraft import deep_copy, draft_of, seal, shared_values

GMT8 = timezone(timedelta(hours=8))
L7_PROTOCOLS = ("HTTP", "HTTPS")
L4_PROTOCOLS = ("TCP", "UDP", "TCP_SSL", "QUIC")


def cloud_time(epoch: float | None = None) -> str:
    """The cloud's time format: local time of GMT+8, to the second."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, GMT8)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Instance:
    instance_id: str
    name: str
    private_ip: str
    zone: str = "ap-guangzhou-3"


@dataclass
class Certificate:
    cert_id: str
    cert_type: str
    alias: str
    certificate_pem: str
    private_key_pem: str | None
    fingerprint: str
    domain: str
    subject_alt_names: list[str]
    not_before: str
    not_after: str
    not_after_epoch: float
    key_algorithm: str
    subject: str
    issuer: str
    is_ca: bool
    insert_time: str
    project_id: int = 0
    certificate_use: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    chain: list[dict[str, str]] = field(default_factory=list)


@dataclass
class CertBinding:
    ssl_mode: str = "UNIDIRECTIONAL"
    ssl_verify_client: str | None = None
    cert_id: str | None = None
    cert_ca_id: str | None = None
    ext_cert_ids: list[str] = field(default_factory=list)

    def cert_ids(self) -> list[str]:
        """Every certificate this binding uses."""
        ids = [self.cert_id, *self.ext_cert_ids, self.cert_ca_id]
        return [cert_id for cert_id in ids if cert_id]


@dataclass
class HealthCheck:
    health_switch: int = 1
    timeout: int = 2
    interval: int = 5
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3
    http_code: int | None = None
    http_check_path: str | None = None
    http_check_domain: str | None = None
    http_check_method: str | None = None
    check_port: int | None = None
    context_type: str | None = None
    send_context: str | None = None
    recv_context: str | None = None
    check_type: str | None = None
    http_version: str | None = None
    source_ip_type: int = 0
    extended_code: str | None = None


@dataclass
class Target:
    kind: str
    instance_id: str | None
    ip: str
    port: int
    weight: int = 10
    tag: str = ""
    registered_time: str = ""

    @property
    def key(self) -> tuple[str, int]:
        """What identifies a binding on one rule: the instance (or ENI IP) and the port."""
        return (self.instance_id or self.ip, self.port)


@dataclass
class Rewrite:
    """A redirect from a rule to a rule of another listener (ManualRewrite, AutoRewrite)."""

    target_listener_id: str
    target_location_id: str
    rewrite_code: int = 301
    take_url: bool = False
    rewrite_type: str = "Manual"  # Manual | Auto


@dataclass
class Rule:
    location_id: str
    domain: str
    url: str
    domains: list[str] = field(default_factory=list)
    scheduler: str = "WRR"
    forward_type: str = "HTTP"
    session_expire_time: int = 0
    health_check: HealthCheck = field(default_factory=HealthCheck)
    certificate: CertBinding | None = None
    default_server: bool = False
    http2: bool = False
    quic: bool = False
    cookie_name: str | None = None
    target_type: str = "NODE"
    create_time: str = ""
    targets: list[Target] = field(default_factory=list)
    config_id: str | None = None  # the customized config bound to this rule's domain (server)
    rewrite: Rewrite | None = None  # this rule redirects (clb_rewrite.py)
    be_auto_created: bool = False  # made by AutoRewrite


@dataclass
class Listener:
    listener_id: str
    protocol: str
    port: int
    name: str = ""
    create_time: str = ""
    sni_switch: int = 0
    certificate: CertBinding | None = None
    health_check: HealthCheck | None = None
    scheduler: str | None = None
    session_expire_time: int | None = None
    keepalive_enable: int | None = None
    idle_connect_timeout: int | None = None
    deregister_target_rst: bool = False
    target_type: str = "NODE"
    session_type: str = "NORMAL"
    rules: dict[str, Rule] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    @property
    def is_l7(self) -> bool:
        return self.protocol in L7_PROTOCOLS


@dataclass
class LoadBalancer:
    lb_id: str
    region: str
    name: str
    lb_type: str
    vip: str
    create_time: str
    status: int = 1
    status_time: str = ""
    forward: int = 1
    project_id: int = 0
    vpc_id: str = "vpc-default0"
    subnet_id: str | None = None
    address_ip_version: str = "ipv4"
    zone: str = "ap-guangzhou-3"
    sla_type: str | None = None
    bandwidth_out: int = 10
    charge_type: str = "POSTPAID_BY_HOUR"
    internet_charge_type: str = "TRAFFIC_POSTPAID_BY_HOUR"
    client_token: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    # SetLoadBalancerSecurityGroups and ModifyLoadBalancerAttributes (clb_lbattrs.py)
    security_groups: list[str] = field(default_factory=list)
    pass_to_target: bool = False
    delete_protect: bool = False
    listeners: dict[str, Listener] = field(default_factory=dict)  # the last field (worldfile)


@dataclass
class Task:
    task_id: str
    action: str
    lb_ids: list[str]
    created: float
    due: float
    status: int = 2
    message: str | None = None
    deal_name: str | None = None
    result_lb_ids: list[str] | None = None
    cert_refs: list[str] = field(default_factory=list)


@dataclass
class CustomizedConfig:
    """A layer-7 customized configuration (nginx-style directives), of one region."""

    config_id: str
    region: str
    config_type: str
    name: str
    content: str
    create_time: str
    update_time: str
    lb_ids: list[str] = field(default_factory=list)  # bound to whole load balancers (BIND)


@dataclass
class WorldState:
    version: int = 0
    instances: dict[str, Instance] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    configs: dict[str, CustomizedConfig] = field(default_factory=dict)
    # DeleteCertificate IsCheckResource tasks: TaskId -> DeleteTaskResult fields (replaced
    # whole, never changed in place)
    delete_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def listener(self, lb_id: str, listener_id: str) -> Listener | None:
        lb = self.load_balancers.get(lb_id)
        return lb.listeners.get(listener_id) if lb else None

    def cert_usage(self, lb_ids: Iterable[str] | None = None,
                   ) -> dict[str, list[tuple[str, str, str | None]]]:
        """Certificate ID -> the (lb_id, listener_id, location_id or None) that use it, over
        every load balancer or only those of `lb_ids`."""
        usage: dict[str, list[tuple[str, str, str | None]]] = {}
        if lb_ids is None:  # reads only: plain lookups, which copy nothing in a draft
            lbs = list(shared_values(self.load_balancers))
        else:
            lbs = [dict.get(self.load_balancers, lb_id) for lb_id in lb_ids]
        for lb in lbs:
            if lb is None:
                continue
            for lst in shared_values(lb.listeners):
                if lst.certificate:
                    for cert_id in lst.certificate.cert_ids():
                        usage.setdefault(cert_id, []).append((lb.lb_id, lst.listener_id, None))
                for rule in lst.rules.values():
                    if rule.certificate:
                        for cert_id in rule.certificate.cert_ids():
                            usage.setdefault(cert_id, []).append(
                                (lb.lb_id, lst.listener_id, rule.location_id))
        return usage

    def pending_tasks(self) -> list[Task]:
        return [task for task in self.tasks.values() if task.status == 2]

    def __deepcopy__(self, memo: dict[int, object]) -> WorldState:
        # Task records are replaced, never changed in place, so copies may share them: a
        # copy then costs the size of the configuration, not of the task history.
        return WorldState(version=self.version, instances=deep_copy(self.instances),
                          certificates=deep_copy(self.certificates),
                          load_balancers=deep_copy(self.load_balancers),
                          tasks=dict(self.tasks), configs=deep_copy(self.configs),
                          delete_tasks=deep_copy(self.delete_tasks))


# Tests set this to check that no transaction changes a committed version in place (it costs a
# full encoding of the world per transaction; see tests/emulator/conftest.py).
CHECK_SHARING = False


def _fingerprint(state: WorldState) -> str:
    return json.dumps(state, default=vars, sort_keys=True)


class World:
    """The live world: one lock, copy-on-write transactions, persistence and change events."""

    def __init__(self, state: WorldState | None = None,
                 persist: Callable[[WorldState], None] | None = None,
                 flush: Callable[[], None] | None = None) -> None:
        """`persist(state)` receives each committed version (under the lock, in commit order;
        it must not change it); `flush()` blocks until what was persisted is durable."""
        self._state = state or WorldState()
        self._persist = persist
        self._flush = flush
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._subscribers: list[Callable[[int], None]] = []
        self._health: dict[tuple[str, str, int], str] = {}
        self._depth = 0
        self._draft: WorldState | None = None

    @property
    def version(self) -> int:
        return self._state.version

    def snapshot(self) -> WorldState:
        """A consistent deep copy of everything, with the version it was taken at."""
        return self._state.__deepcopy__({})  # committed versions never change: no lock needed

    def committed(self) -> WorldState:
        """The current committed version itself, no copy: consistent, never changed by the
        world (a new version replaces it); read it, never change it."""
        return self._state

    @contextmanager
    def read(self) -> Iterator[WorldState]:
        """The committed state under the lock (no commit happens meanwhile); do not change it."""
        with self._lock:
            yield self._state

    @contextmanager
    def transaction(self) -> Iterator[WorldState]:
        """Yields a copy-on-write draft; on normal exit it becomes the committed version, is
        handed to persistence and announced. On an exception nothing changes."""
        with self._lock:
            if self._depth and self._draft is not None:  # nested: part of the outer one
                yield self._draft
                return
            base = self._state
            before = _fingerprint(base) if CHECK_SHARING else None
            draft = draft_of(base)
            self._draft = draft
            self._depth = 1
            try:
                try:
                    yield draft
                finally:
                    if before is not None and _fingerprint(base) != before:
                        raise AssertionError("a transaction changed a committed version in "
                                             "place (look objects up by key before changing)")
                seal(draft)
                draft.version = base.version + 1
                if self._persist is not None:
                    self._persist(draft)
                self._state = draft
                self._changed.notify_all()
                subscribers = list(self._subscribers)
                version = draft.version
            finally:
                self._depth = 0
                self._draft = None
        for callback in subscribers:
            with contextlib.suppress(Exception):  # a subscriber's bug must not break the API
                callback(version)

    def flush(self) -> None:
        """Blocks until every committed version is in the world file (no-op without one)."""
        if self._flush is not None:
            self._flush()

    def subscribe(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """Calls `callback(version)` after every committed change; returns an unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def wait_for_change(self, since: int, timeout: float | None = None) -> int:
        """Blocks until the version is above `since` or the timeout passes; returns the version."""
        with self._lock:
            self._changed.wait_for(lambda: self._state.version > since, timeout)
            return self._state.version

    def set_target_health(self, rule_key: str, ip: str, port: int, detail: str) -> None:
        """Records a probe result: "Alive", "Dead", "Unknown" or "Close"."""
        with self._lock:
            self._health[(rule_key, ip, port)] = detail

    def target_health(self, rule_key: str, ip: str, port: int) -> str:
        with self._lock:
            return self._health.get((rule_key, ip, port), "Unknown")
