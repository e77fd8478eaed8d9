"""The API core: routes an authenticated call to its action, applies the rate limit and injected
faults, validates the parameters against the action's table, runs the handler (writes inside one
world transaction) and counts every answer."""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mtlsform.emulator import (
    clb_customized,
    clb_lbattrs,
    clb_listeners,
    clb_loadbalancers,
    clb_params,
    clb_rewrite,
    clb_rules,
    clb_targets,
    ssl_certificates,
)
from mtlsform.emulator.apierror import ApiError, rate_limited
from mtlsform.emulator.cloudids import new_cert_id, new_id
from mtlsform.emulator.faults import Faults, RateLimiter
from mtlsform.emulator.params import CLB_CODES, SSL_CODES, Param, validate
from mtlsform.emulator.tasks import TaskRunner
from mtlsform.emulator.world import World, WorldState, cloud_time

VERSIONS = {"2018-03-17": "clb", "2019-12-05": "ssl"}
SSL_RATE_LIMIT = 10.0  # requests/s of each SSL action (the current API documentation)
CRASH_EXIT_CODE = 137  # what a shell reports for a server killed with SIGKILL
REGIONS = frozenset({
    "ap-guangzhou", "ap-shanghai", "ap-nanjing", "ap-beijing", "ap-chengdu", "ap-chongqing",
    "ap-hongkong", "ap-singapore", "ap-jakarta", "ap-seoul", "ap-tokyo", "ap-bangkok",
    "ap-mumbai", "ap-shanghai-fsi", "ap-shenzhen-fsi", "ap-beijing-fsi", "na-siliconvalley",
    "na-ashburn", "na-toronto", "eu-frankfurt", "sa-saopaulo"})

Handler = Callable[[Any, WorldState, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    service: str
    name: str
    params: Mapping[str, Param]
    handler: Handler
    mode: str  # "read" | "write" (lands at once) | "task" (lands when its async task finishes)


def _actions() -> dict[tuple[str, str], Action]:
    clb = [
        ("CreateLoadBalancer", clb_params.CREATE_LOAD_BALANCER,
         clb_loadbalancers.create_load_balancer, "write"),
        ("DescribeLoadBalancers", clb_params.DESCRIBE_LOAD_BALANCERS,
         clb_loadbalancers.describe_load_balancers, "read"),
        ("ModifyLoadBalancerAttributes", clb_params.MODIFY_LOAD_BALANCER_ATTRIBUTES,
         clb_loadbalancers.modify_load_balancer_attributes, "task"),
        ("DeleteLoadBalancer", clb_params.DELETE_LOAD_BALANCER,
         clb_loadbalancers.delete_load_balancer, "task"),
        ("DescribeTaskStatus", clb_params.DESCRIBE_TASK_STATUS,
         clb_loadbalancers.describe_task_status, "read"),
        ("DescribeLoadBalancerListByCertId", clb_params.DESCRIBE_LOAD_BALANCER_LIST_BY_CERT_ID,
         clb_loadbalancers.describe_load_balancer_list_by_cert_id, "read"),
        ("CreateListener", clb_params.CREATE_LISTENER, clb_listeners.create_listener, "task"),
        ("DescribeListeners", clb_params.DESCRIBE_LISTENERS, clb_listeners.describe_listeners,
         "read"),
        ("ModifyListener", clb_params.MODIFY_LISTENER, clb_listeners.modify_listener, "task"),
        ("DeleteListener", clb_params.DELETE_LISTENER, clb_listeners.delete_listener, "task"),
        ("CreateRule", clb_params.CREATE_RULE, clb_rules.create_rule, "task"),
        ("ModifyRule", clb_params.MODIFY_RULE, clb_rules.modify_rule, "task"),
        ("ModifyDomainAttributes", clb_params.MODIFY_DOMAIN_ATTRIBUTES,
         clb_rules.modify_domain_attributes, "task"),
        ("DeleteRule", clb_params.DELETE_RULE, clb_rules.delete_rule, "task"),
        ("RegisterTargets", clb_params.REGISTER_TARGETS, clb_targets.register_targets, "task"),
        ("DeregisterTargets", clb_params.DEREGISTER_TARGETS, clb_targets.deregister_targets,
         "task"),
        ("ModifyTargetWeight", clb_params.MODIFY_TARGET_WEIGHT, clb_targets.modify_target_weight,
         "task"),
        ("DescribeTargets", clb_params.DESCRIBE_TARGETS, clb_targets.describe_targets, "read"),
        ("DescribeTargetHealth", clb_params.DESCRIBE_TARGET_HEALTH,
         clb_targets.describe_target_health, "read"),
        ("SetCustomizedConfigForLoadBalancer", clb_customized.SET_CUSTOMIZED_CONFIG,
         clb_customized.set_customized_config, "write"),
        ("AssociateCustomizedConfig", clb_customized.ASSOCIATE_CUSTOMIZED_CONFIG,
         clb_customized.associate_customized_config, "write"),
        ("DisassociateCustomizedConfig", clb_customized.DISASSOCIATE_CUSTOMIZED_CONFIG,
         clb_customized.disassociate_customized_config, "write"),
        ("DescribeCustomizedConfigList", clb_customized.DESCRIBE_CUSTOMIZED_CONFIG_LIST,
         clb_customized.describe_customized_config_list, "read"),
        ("DescribeCustomizedConfigAssociateList",
         clb_customized.DESCRIBE_CUSTOMIZED_CONFIG_ASSOCIATE_LIST,
         clb_customized.describe_customized_config_associate_list, "read"),
        ("SetLoadBalancerSecurityGroups", clb_lbattrs.SET_LOAD_BALANCER_SECURITY_GROUPS,
         clb_lbattrs.set_load_balancer_security_groups, "task"),
        ("ManualRewrite", clb_rewrite.MANUAL_REWRITE, clb_rewrite.manual_rewrite, "task"),
        ("AutoRewrite", clb_rewrite.AUTO_REWRITE, clb_rewrite.auto_rewrite, "task"),
        ("DescribeRewrite", clb_rewrite.DESCRIBE_REWRITE, clb_rewrite.describe_rewrite, "read"),
        ("DeleteRewrite", clb_rewrite.DELETE_REWRITE, clb_rewrite.delete_rewrite, "task"),
    ]
    ssl = [
        ("UploadCertificate", ssl_certificates.UPLOAD_CERTIFICATE,
         ssl_certificates.upload_certificate, "write"),
        ("DescribeCertificateDetail", ssl_certificates.DESCRIBE_CERTIFICATE_DETAIL,
         ssl_certificates.describe_certificate_detail, "read"),
        ("DescribeCertificates", ssl_certificates.DESCRIBE_CERTIFICATES,
         ssl_certificates.describe_certificates, "read"),
        ("ModifyCertificateAlias", ssl_certificates.MODIFY_CERTIFICATE_ALIAS,
         ssl_certificates.modify_certificate_alias, "write"),
        ("DeleteCertificate", ssl_certificates.DELETE_CERTIFICATE,
         ssl_certificates.delete_certificate, "write"),
        ("DescribeDeleteCertificatesTaskResult",
         ssl_certificates.DESCRIBE_DELETE_CERTIFICATES_TASK_RESULT,
         ssl_certificates.describe_delete_certificates_task_result, "read"),
    ]
    table = {("clb", n): Action("clb", n, p, h, m) for n, p, h, m in clb}
    table.update({("ssl", n): Action("ssl", n, p, h, m) for n, p, h, m in ssl})
    return table


ACTIONS = _actions()


class IdSource:
    """Fresh IDs for one call, recorded so that replaying the call reuses the same ones."""

    def __init__(self) -> None:
        self._made: list[str] = []
        self._next = 0
        self.replaying = False

    def take(self, make: Callable[[], str], taken: Any) -> str:
        if self.replaying and self._next < len(self._made):
            value = self._made[self._next]
            self._next += 1
            if value not in taken:
                return value
        value = make()
        if not self.replaying:
            self._made.append(value)
        return value

    def replay(self) -> IdSource:
        again = IdSource()
        again._made, again.replaying = list(self._made), True
        return again


@dataclass
class Call:
    """What a handler knows about the call it serves.

    A "task" action's handler is plain validate-then-mutate code: it runs once when the request
    arrives (to answer it, or refuse it; its change is then taken back), and again on the live
    world when its task finishes (`replay`), with the same IDs and time.
    """

    request_id: str
    action: str
    region: str | None
    runner: TaskRunner
    faults: Faults
    now: float = field(default_factory=time.time)
    ids: IdSource = field(default_factory=IdSource)
    replay: bool = False
    health: Callable[[str, str, int], str] = field(default=lambda key, ip, port: "Unknown")
    lb_ids: list[str] = field(default_factory=list)
    new_tasks: list[Any] = field(default_factory=list)

    @property
    def time(self) -> str:
        return cloud_time(self.now)

    def lock(self, state: WorldState, lb_id: str) -> None:
        """Claims a load balancer for this write: refused while another task runs on it."""
        if not self.replay:
            self.runner.ensure_idle(state, lb_id)
        if lb_id not in self.lb_ids:
            self.lb_ids.append(lb_id)

    def new_id(self, prefix: str, taken: Any) -> str:
        return self.ids.take(lambda: new_id(prefix, taken), taken)

    def new_cert_id(self, taken: Any) -> str:
        return self.ids.take(lambda: new_cert_id(taken), taken)

    def submit_task(self, state: WorldState, lb_ids: list[str],
                    apply: Callable[[WorldState], None] | None, **options: Any) -> None:
        """For "write" actions that start a task themselves (CreateLoadBalancer)."""
        fail = self.faults.task_failure(self.action)
        self.new_tasks.append(self.runner.submit(state, self.request_id, self.action, lb_ids,
                                                 apply, fail_message=fail, **options))

    def replayed(self) -> Call:
        return Call(self.request_id, self.action, self.region, self.runner, self.faults,
                    now=self.now, ids=self.ids.replay(), replay=True, health=self.health)


class Stats:
    """Call counts per action and per error code (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: collections.Counter[str] = collections.Counter()
            self._errors: dict[str, collections.Counter[str]] = {}
            self._internal: list[str] = []

    def record(self, action: str, code: str | None, detail: str | None = None) -> None:
        with self._lock:
            self._calls[action] += 1
            if code is not None:
                self._errors.setdefault(action, collections.Counter())[code] += 1
            if detail is not None:
                self._internal = [*self._internal[-9:], detail]

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self._calls.values()),
                "calls": dict(sorted(self._calls.items())),
                "errors": {action: dict(sorted(codes.items()))
                           for action, codes in sorted(self._errors.items())},
                "internal_errors": list(self._internal),
            }


class Api:
    def __init__(self, world: World, runner: TaskRunner, faults: Faults, limiter: RateLimiter,
                 on_crash: Callable[[], None] | None = None):
        self.world = world
        self.runner = runner
        self.faults = faults
        self.limiter = limiter
        self.stats = Stats()
        self._on_crash = on_crash or self._exit_now

    def report(self) -> dict[str, Any]:
        """Call counts per action and error code, task counts, injected faults."""
        report = self.stats.as_dict()
        report["tasks"] = {"pending": self.runner.pending_count(),
                           "completed": self.runner.completed, "failed": self.runner.failed}
        report["faults_injected"] = self.faults.injected
        return report

    def _exit_now(self) -> None:
        os.write(2, b"emulator: simulated crash (--crash-after): exiting without answering\n")
        os._exit(CRASH_EXIT_CODE)

    def _crash(self) -> None:
        self.runner.flush()  # the cloud keeps what it accepted; only the front end dies
        with contextlib.suppress(Exception):  # a disk that fails now must not stop the crash
            self.world.flush()
        self._on_crash()

    def call(self, *, version: str | None, action: str | None, scope_service: str,
             region: str | None, params: Mapping[str, Any], request_id: str,
             strings: bool = False) -> dict[str, Any]:
        """Serves one authenticated call; returns the response fields or raises ApiError."""
        if not action:
            raise ApiError("MissingParameter",
                           "The request is missing a required parameter `Action`.")
        if not version:
            raise ApiError("MissingParameter",
                           "The request is missing a required parameter `Version`.")
        service = VERSIONS.get(version)
        if service is None:
            raise ApiError("NoSuchVersion", f"The requested version `{version}` is not valid.")
        spec = ACTIONS.get((service, action))
        if spec is None:
            raise ApiError("InvalidAction",
                           f"The requested action `{action}` does not exist in {service} "
                           f"version {version}.")
        if scope_service != service:
            raise ApiError("AuthFailure.SignatureFailure",
                           f"The credential scope names service `{scope_service}` but "
                           f"{action} belongs to `{service}`. (SDKs that take the service from "
                           f"the endpoint's first label need an endpoint named "
                           f"{service}.localhost:PORT: see docs/emulator.md.)")
        if service == "clb":
            if not region:
                raise ApiError("MissingParameter",
                               "The request is missing a required parameter `Region`.")
            if region not in REGIONS:
                raise ApiError("InvalidParameter.RegionNotFound",
                               f"The region `{region}` does not exist.")
        delay = self.faults.latency(action)
        if delay > 0:
            time.sleep(delay)
        cap = SSL_RATE_LIMIT if service == "ssl" else None
        count = self.limiter.admit(action, cap)
        if count is not None:
            code = "LimitExceeded.RateLimitExceeded" if service == "ssl" else "RequestLimitExceeded"
            raise rate_limited(code, count, self.limiter.limit_for(cap) or 0)
        injected = self.faults.error(action, _lb_hint(params), self.limiter.limit)
        if injected is not None:
            raise injected
        if spec.mode != "read":
            refused = self.faults.refused_call()
            if refused is not None:
                raise refused
            if self.faults.crash_before_call():
                self._crash()
        self.runner.run_due()
        clean = validate(spec.params, params, CLB_CODES if service == "clb" else SSL_CODES,
                         strings=strings)
        call = Call(request_id, action, region, self.runner, self.faults,
                    health=self.world.target_health)
        if spec.mode == "read":  # a committed version never changes: no lock needed
            return spec.handler(call, self.world.committed(), clean)
        if spec.mode == "write":
            with self.world.transaction() as state:
                result = spec.handler(call, state, clean)
        else:
            result = self._start_task(spec, call, clean)
        self.runner.activate(call.new_tasks)
        if self.faults.count_mutation(action):
            self._crash()
        return result

    def _start_task(self, spec: Action, call: Call, clean: dict[str, Any]) -> dict[str, Any]:
        """Runs the handler as a trial (to answer or refuse now), then takes its change back
        and records a task that replays it when due."""
        with self.world.transaction() as state:
            before = self.world.committed()  # never changed in place, so safe to share
            result = spec.handler(call, state, clean)
            refs = sorted(state.cert_usage(call.lb_ids))
            for lb_id in call.lb_ids:  # handlers change only these and certificates
                if lb_id in before.load_balancers:
                    state.load_balancers[lb_id] = before.load_balancers[lb_id]
                else:
                    state.load_balancers.pop(lb_id, None)
            state.certificates = dict(before.certificates)
            again = call.replayed()

            def apply(later: WorldState) -> None:
                spec.handler(again, later, clean)

            call.submit_task(state, call.lb_ids, apply, cert_refs=refs)
        return result


def _lb_hint(params: Mapping[str, Any]) -> str | None:
    value = params.get("LoadBalancerId")
    if isinstance(value, str):
        return value
    ids = params.get("LoadBalancerIds")
    if isinstance(ids, list) and ids and isinstance(ids[0], str):
        return ids[0]
    return None
