#!/usr/bin/env bash
# Enrollment under real parallelism (docs/agents.md "Enrolling an agent"):
# 20 psql processes, each its own backend and connection as an application
# role without a context, enroll at once with one token of max_uses = 5:
# exactly 5 get an agent id, the 15 others get 28000 "invalid or expired
# enrollment token", the token shows uses = 5, the tenant has 5 agents, and
# the audit records 15 refusals with the reason "token used up".
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=enroll_parallel
source test/suites/lib/checks.sh

DB=tg_suite_enroll
APP=tgsuite_enroll_app
N=20
MAX=5
KEY='mIPGXD0fEhq7kUPnbUiB6MqQfi9c4JI6Fe+tJ4kivbg='
OUT=$(mktemp -d)

cleanup() { tg_drop_database_and_roles "$DB" "$APP"; }
trap 'cleanup; rm -rf "$OUT"; tg_suite_finish' EXIT
cleanup

as_super() { tg_psql -d "$DB" -c "$1"; }

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $APP LOGIN IN ROLE tenantguard_app" >/dev/null
T=$(as_super "SELECT tenantguard.create_tenant('enr-par')")
TOK=$(as_super "SELECT tenantguard.create_enrollment_token('parallel', '1 hour', $MAX)
                  FROM (SELECT tenantguard.set_tenant('$T')) s")
tg_check_match "a token for the run" "$TOK" '^tgenr_[0-9A-Za-z]{17}_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}$'
TID=$(printf '%s' "$TOK" | cut -d_ -f2)

# every process waits for the same instant (a file appearing) before enrolling
for i in $(seq 1 $N); do
  ( while [ ! -e "$OUT/go" ]; do sleep 0.01; done
    tg_psql -d "$DB" -U "$APP" -c "SELECT tenantguard.enroll('$TOK', 'par-$i', '$KEY')" >"$OUT/$i" ) &
done
sleep 0.5
touch "$OUT/go"
wait

ok=0; refused=0; other=0
for i in $(seq 1 $N); do
  r=$(cat "$OUT/$i")
  if printf '%s' "$r" | grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'; then
    ok=$((ok + 1))
  elif [ "$(tg_sqlstate "$r")" = 28000 ] && printf '%s' "$r" | grep -qF "invalid or expired enrollment token"; then
    refused=$((refused + 1))
  else
    other=$((other + 1)); echo "unexpected: $r"
  fi
done
tg_check_eq "exactly $MAX of $N parallel enrolls got an agent id" "$ok" "$MAX"
tg_check_eq "the other $((N - MAX)) got 28000 invalid or expired enrollment token" "$refused" "$((N - MAX))"
tg_check_eq "no other outcome" "$other" 0
tg_check_eq "the token shows uses = $MAX" "$(as_super "SELECT uses FROM tenantguard.enrollment_token_store WHERE id = '$TID'")" "$MAX"
tg_check_eq "the tenant has $MAX agents" "$(as_super "SELECT count(*) FROM tenantguard.agents WHERE tenant_id = '$T'")" "$MAX"
tg_check_eq "$MAX enrollments audited" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE category = 'enrollment' AND action = 'enroll' AND decision = 'allow' AND tenant_id = '$T'")" "$MAX"
if tg_wait_for "$DB" "SELECT count(*) = $((N - MAX)) FROM tenantguard_audit.events WHERE category = 'enrollment' AND action = 'enroll'
                      AND decision = 'deny' AND reason = 'token used up' AND object = 'enrollment_token:$TID'"; then
  tg_pass "the $((N - MAX)) refusals are audited as token used up"
else
  tg_fail "the $((N - MAX)) refusals are audited as token used up" \
    "$(as_super "SELECT reason, count(*) FROM tenantguard_audit.events WHERE category = 'enrollment' AND decision = 'deny' GROUP BY 1")"
fi
tg_check_eq "no event holds the token's secret" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events e WHERE e::text LIKE '%$(printf '%s' "$TOK" | cut -d_ -f3)%'")" 0
