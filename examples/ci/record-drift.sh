#!/usr/bin/env bash
# Run by hand (a manual job) after the nightly check found drift that should stay: records
# what the cloud holds now in the state and changes nothing in the cloud. The stack still
# says what it says: the next plan shows how to bring the cloud back to it, or change the
# stack to match.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

step "apply --refresh-only $stack"
mtlsform apply "$stack" "${state_args[@]}" --lock-timeout 60 --refresh-only --auto-approve
