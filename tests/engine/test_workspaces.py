"""Several environments of one stack, isolated (issue 13, item 6): two workspaces with their own
--var-file apply side by side against one embedded emulator, and a second state made with
--state (no workspace) never takes the first environment's objects."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.engine.conftest import edit

EXAMPLE = Path("stacks/example.yaml")
DOT = Path("stacks/.mtlsform")
WORLD = DOT / "emulator/world.json"


def _world(workdir: Path) -> dict:
    """The emulator's cloud (its version counter aside: it also counts reads)."""
    world = json.loads((workdir / WORLD).read_text())["world"]
    return {k: v for k, v in world.items() if k != "version"}


def _tags(lb: dict) -> dict[str, str]:
    return {t["TagKey"]: t["TagValue"] for t in lb.get("tags", [])}


def _environments(workdir: Path) -> None:
    """The example stack with its environment in a variable (the CLB's name and the client
    files' directory), and one variable file per environment: YAML and JSON."""
    stack = workdir / EXAMPLE
    edit(stack, "  domain: www.example.com ", "  env: dev\n  domain: www.example.com ")
    edit(stack, "name: example-clb ", "name: ${var.env}-clb ")
    edit(stack, "export: {dir: out/client-1,", 'export: {dir: "out/${var.env}/client-1",')
    (workdir / "staging.yaml").write_text("# staging\nenv: staging\ndomain: staging.example.com\n")
    (workdir / "prod.json").write_text('{"env": "prod", "domain": "prod.example.com"}\n')


def test_two_workspaces_apply_side_by_side_and_never_see_each_other(workdir, cli):
    _environments(workdir)
    staging = ("--workspace", "staging", "--var-file", "staging.yaml")
    prod = ("--workspace", "prod", "--var-file", "prod.json")
    applied = cli("apply", EXAMPLE, *staging, "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Workspace: staging" in applied.out
    # prod through a saved plan: it records its workspace and variables, and is applied there
    assert cli("plan", EXAMPLE, *prod, "--out", "prod.plan").code == 0
    elsewhere = cli("apply", "prod.plan", "--workspace", "staging")
    assert elsewhere.code == 1
    assert "prod.plan was planned for the workspace 'prod', not 'staging'" in elsewhere.err
    applied = cli("apply", "prod.plan")
    assert applied.code == 0, applied.text
    assert "Workspace: prod" in applied.out

    lbs = _world(workdir)["load_balancers"]
    assert len(lbs) == 2  # each its own CLB
    by_workspace = {_tags(lb)["mtlsform:workspace"]: (ident, lb) for ident, lb in lbs.items()}
    assert sorted(by_workspace) == ["prod", "staging"]
    assert by_workspace["prod"][1]["name"] == "prod-clb"
    assert by_workspace["staging"][1]["name"] == "staging-clb"
    for name in ("staging", "prod"):
        path = workdir / DOT / f"example.{name}.state.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (workdir / DOT / "example.state.json").exists()  # the default is untouched
    assert (workdir / "stacks/out/prod/client-1/client.crt").exists()
    assert (workdir / "stacks/out/staging/client-1/client.crt").exists()

    # A no-op plan after each is empty, and neither mentions the other's objects.
    for env, other in ((staging, "prod"), (prod, "staging")):
        planned = cli("plan", EXAMPLE, *env, "--detailed-exitcode", "--json")
        assert planned.code == 0, planned.text
        document = json.loads(planned.out)
        assert document["workspace"] == env[1]
        assert document["found_by_tags"] == []
        assert by_workspace[other][0] not in planned.out
        assert all(c["change"]["actions"] == ["no-op"] for c in document["resource_changes"])
        comment = cli("plan", EXAMPLE, *env, "--format", "markdown")
        assert comment.code == 0, comment.text
        assert comment.out.startswith(f"<!-- mtlsform-plan: example/{env[1]} -->\n")
        assert f", workspace `{env[1]}`" in comment.out
        assert by_workspace[other][0] not in comment.out

    # Destroying one leaves the other intact.
    destroyed = cli("destroy", EXAMPLE, *prod, "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert list(_world(workdir)["load_balancers"]) == [by_workspace["staging"][0]]
    assert cli("plan", EXAMPLE, *staging, "--detailed-exitcode").code == 0


def test_a_second_state_without_a_workspace_is_refused_even_when_adopting(workdir, cli):
    """The issue's reproduction: `--state prod.state.json --var domain=prod.example.com`
    beside the first environment's state, so that it sees the same (embedded) cloud."""
    assert cli("apply", EXAMPLE, "--auto-approve").code == 0
    before = _world(workdir)
    (lb_id,) = before["load_balancers"]
    second = ("--state", str(DOT / "prod.state.json"), "--var", "domain=prod.example.com")
    for extra in ((), ("--adopt-found",)):
        refused = cli("apply", EXAMPLE, *second, *extra, "--auto-approve")
        assert refused.code == 1, refused.text
        assert (f"load_balancer.web: {lb_id} (tags mtlsform:address=load_balancer.web, "
                f"mtlsform:stack=example): recorded in {DOT / 'example.state.json'}") \
            in refused.err
        assert "give each its own workspace (--workspace NAME" in refused.err
        assert "Traceback" not in refused.text
    assert _world(workdir) == before  # the first environment's certificates and rule stand
    assert not (workdir / DOT / "prod.state.json").exists() or \
        json.loads((workdir / DOT / "prod.state.json").read_text())["resources"] == []
    assert cli("plan", EXAMPLE, "--detailed-exitcode").code == 0
