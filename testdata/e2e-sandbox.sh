#!/usr/bin/env bash
# End to end across processes, as a newcomer would do it: build idpctl, start `idpctl sandbox`, run the setup
# command it prints (manual backend, SCIM values given), run it again and check that nothing changes, then
# the same with the backend API. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "${sandbox_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/idpctl" .
"$work/idpctl" sandbox --initial-cycle-delay 40m >"$work/sandbox.out" 2>"$work/sandbox.err" &
sandbox_pid=$!
for _ in $(seq 1 100); do grep -q '^export IDPCTL_SCIM_TOKEN=' "$work/sandbox.out" 2>/dev/null && break; sleep 0.1; done
eval "$(grep '^export ' "$work/sandbox.out")"
graph_url=$(awk '/Graph URL/ {print $3}' "$work/sandbox.out")
scim_url=$(awk '/SCIM URL/ {print $3}' "$work/sandbox.out")
backend_url=$(awk '/Backend URL/ {print $3}' "$work/sandbox.out")
tenant=$(awk '/^Simulated Entra tenant/ {print $4}' "$work/sandbox.out")

setup() {
  "$work/idpctl" setup entra --auth token --graph-url "$graph_url" --tenant-id "$tenant" \
    --assign-group "Smallstep Users" --non-interactive --yes --state-dir "$work/state" "$@"
}

fail() { echo "e2e: $*" >&2; exit 1; }

setup --scim-url "$scim_url" --secret-out "$work/client-secret" --output json >"$work/run1.json"
grep -q '"outcome": "arrived"' "$work/run1.json" || fail "no user arrived: $(cat "$work/run1.json")"
[ "$(stat -c %a "$work/client-secret")" = 600 ] || fail "the secret file is not 0600"

setup --scim-url "$scim_url" --secret-out "$work/client-secret" --dry-run --detailed-exitcode >"$work/plan2.txt" \
  || fail "the second run would change something (exit $?): $(cat "$work/plan2.txt")"

setup --backend http --backend-url "$backend_url" --app-name "Smallstep API" --output json >"$work/run3.json"
grep -q '"outcome": "arrived"' "$work/run3.json" || fail "no user arrived with the backend API"

for s in "$IDPCTL_ACCESS_TOKEN" "$IDPCTL_SCIM_TOKEN" "$IDPCTL_BACKEND_TOKEN" "$(cat "$work/client-secret")"; do
  if grep -rqF -- "$s" "$work"/run*.json "$work/plan2.txt" "$work/state"; then fail "a secret reached the output or the state"; fi
done
echo "e2e: sandbox setup, idempotent re-run and backend API run passed"
