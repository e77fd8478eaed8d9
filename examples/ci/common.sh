# Shared by pr.sh, merge.sh, nightly.sh and record-drift.sh: the stack, where the state is
# kept, and where a run's plan files go. Sourced, not run.
#
#   MTLSFORM_STACK   the stack file (required), e.g. stacks/production.yaml
#   STATE_FILE       the state file, on storage that outlives the job (default: beside the
#                    stack, .mtlsform/<stack>.state.json, which a fresh checkout does not have)
#   PLAN_DIR         where pr.sh writes the saved plan, its JSON and the comment
#                    (default: mtlsform-plan)
set -euo pipefail

stack="${MTLSFORM_STACK:?set MTLSFORM_STACK to the stack file}"
plan_dir="${PLAN_DIR:-mtlsform-plan}"
state_args=()
if [[ -n "${STATE_FILE:-}" ]]; then
  mkdir -p "$(dirname "$STATE_FILE")"
  state_args=(--state "$STATE_FILE")
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*" >&2; }
