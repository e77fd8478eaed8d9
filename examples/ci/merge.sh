#!/usr/bin/env bash
# On merge: apply exactly the plan the pull request saved and reviewers saw. mtlsform refuses
# it when the stack or the state changed since (another merge applied first): then plan
# again (re-run the pull request's pipeline) and merge that plan.
#
#   merge.sh [PLAN]   default: $PLAN_DIR/stack.plan
#
# The CI runs this in one concurrency group (GitHub `concurrency:`, GitLab `resource_group:`),
# so two applies never overlap; the state lock refuses a second writer anyway.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
plan="${1:-$plan_dir/stack.plan}"
[[ -f "$plan" ]] || { echo "error: no saved plan at $plan (download the pull request's artefact)" >&2; exit 1; }

step "apply $plan"
mtlsform apply "$plan" "${state_args[@]}" --lock-timeout 60
