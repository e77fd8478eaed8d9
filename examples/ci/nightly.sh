#!/usr/bin/env bash
# Nightly: has anything changed outside mtlsform, and is any certificate due? Both checks run;
# the job fails when either finds something.
#
# Exit 0: no drift and no certificate in its window; 2: findings (see the output);
# 1: a check could not run.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
findings=0
failed=0

step "drift check (plan --refresh-only)"
code=0
mtlsform plan "$stack" "${state_args[@]}" --lock-timeout 60 --refresh-only \
  --detailed-exitcode || code=$?
case "$code" in
  0) ;;
  2) echo "FINDING: objects changed outside mtlsform (above). Put them back with" \
          "\`mtlsform apply\`, or record them with record-drift.sh (apply --refresh-only)." >&2
     findings=1 ;;
  *) failed=1 ;;
esac

step "certificate expiry (certs status)"
code=0
mtlsform certs status "$stack" "${state_args[@]}" --refresh || code=$?
case "$code" in
  0) ;;
  2) echo "FINDING: a certificate is inside its renewal window, expired or missing (above)." >&2
     findings=1 ;;
  *) failed=1 ;;
esac

if (( failed )); then exit 1; fi
if (( findings )); then exit 2; fi
echo "No drift, no certificate due." >&2
