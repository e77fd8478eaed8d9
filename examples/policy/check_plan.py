#!/usr/bin/env python3
"""A policy check over mtlsform's plan JSON (`mtlsform show PLAN --json`; the format is
schemas/plan.schema.json, documented in docs/plan-format.md).

The rule: a plan may not destroy a listener or a load balancer (deleting it, or replacing it,
which deletes it first or after) unless --allow-destroy is given, which the pipeline does
when the pull request carries the label `allow-destroy`. Dropping a listener cuts every
client of its port; reviewers should say so on purpose.

    python3 check_plan.py plan.json [--allow-destroy]

Exit 0: allowed; 1: refused (each refused change on one line) or the file is not a plan this
check understands. Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PROTECTED = ("listener", "load_balancer")  # resource types that may not be destroyed
KNOWN_MAJOR = "1"  # the format_version major this check understands


def refusals(plan: dict[str, Any], *, allow_destroy: bool) -> list[str]:
    """One line for each change the policy refuses."""
    found = []
    for change in plan.get("resource_changes", []):
        actions = change["change"]["actions"]
        if change["type"] in PROTECTED and "delete" in actions and not allow_destroy:
            how = "destroyed" if actions == ["delete"] else "replaced (destroyed and created)"
            found.append(f"{change['address']} would be {how} "
                         f"({change.get('action_reason', 'no reason given')})")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan_json", help="the output of `mtlsform show PLAN --json`")
    parser.add_argument("--allow-destroy", action="store_true",
                        help="allow destroying listeners and load balancers")
    args = parser.parse_args(argv)
    try:
        with open(args.plan_json, encoding="utf-8") as file:
            plan = json.load(file)
        version = str(plan["format_version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"policy: {args.plan_json} is not an mtlsform plan JSON: {exc}", file=sys.stderr)
        return 1
    if version.split(".")[0] != KNOWN_MAJOR:
        print(f"policy: {args.plan_json} has format_version {version}; this check knows "
              f"{KNOWN_MAJOR}.x", file=sys.stderr)
        return 1
    refused = refusals(plan, allow_destroy=args.allow_destroy)
    for line in refused:
        print(f"policy: refused: {line}", file=sys.stderr)
    if refused:
        print("policy: destroying a listener or a load balancer needs the pull-request label "
              "allow-destroy (ALLOW_DESTROY=true)", file=sys.stderr)
        return 1
    summary = plan.get("summary", {})
    print(f"policy: allowed ({summary.get('add', 0)} to add, {summary.get('change', 0)} to "
          f"change, {summary.get('destroy', 0)} to destroy)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
