#!/usr/bin/env bash
# On a pull (merge) request: validate, plan with the saved plan as an artefact, post the
# Markdown comment (updated in place on every push), and check the plan JSON against policy.
#
#   COMMENT_ON     github | gitlab | none (default none): where `mtlsform comment` posts
#   ARTIFACT_URL   the address of this run's artefacts, linked from the comment (optional)
#   ALLOW_DESTROY  true: the policy lets listeners and load balancers be destroyed (set it
#                  from a pull-request label); on GitLab the label allow-destroy does it too
#
# Writes $PLAN_DIR/stack.plan (apply it on merge), plan.json and comment.md. Exits non-zero
# when the stack is invalid, the plan fails, or the policy refuses the plan (after the
# comment is posted, so reviewers see why).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mkdir -p "$plan_dir"

step "validate $stack"
mtlsform validate "$stack"

step "plan $stack"
mtlsform plan "$stack" "${state_args[@]}" --lock-timeout 60 --out "$plan_dir/stack.plan"
mtlsform show "$plan_dir/stack.plan" --json > "$plan_dir/plan.json"
mtlsform show "$plan_dir/stack.plan" --format markdown \
  ${ARTIFACT_URL:+--artifact-url "$ARTIFACT_URL"} > "$plan_dir/comment.md"

if [[ "${COMMENT_ON:-none}" != none ]]; then
  step "comment on the pull request"
  mtlsform comment --on "$COMMENT_ON" "$plan_dir/comment.md"
fi

step "policy check"
allow=()
if [[ "${ALLOW_DESTROY:-false}" == true || ",${CI_MERGE_REQUEST_LABELS:-}," == *,allow-destroy,* ]]
then
  allow=(--allow-destroy)
fi
"$python" "$here/../policy/check_plan.py" "$plan_dir/plan.json" "${allow[@]}"
