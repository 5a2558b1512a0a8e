#!/usr/bin/env bash
# Context entries when the ledger worker's queue has no room for their events
# (docs/audit.md, "Context entries without a write"): with a role limit of 2
# and the worker held up by a lock on the events table, an administrator's
#   - identical entry is coalesced (not refused),
#   - different entry in a read-only transaction fails closed (53400),
#   - entry in a transaction that rolls back is dropped with a warning and
#     counted in audit.events_dropped,
#   - entry in a read-write transaction that commits is written in that
#     transaction instead (no warning, nothing dropped),
# and another role's entries are not affected.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=audit_entry
source test/suites/lib/checks.sh

DB=tg_suite_audit_entry
ADMIN=tgsuite_entry_admin
ADMIN2=tgsuite_entry_admin2

cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ADMIN" -c "DROP ROLE IF EXISTS $ADMIN2" >/dev/null 2>&1
  psql -X -q -d postgres -c "ALTER SYSTEM RESET tenantguard.audit_queue_role_limit" \
    -c "SELECT pg_reload_conf()" >/dev/null 2>&1
}
trap 'cleanup; tg_suite_finish' EXIT
cleanup

as_admin() { PGAPPNAME=$1 tg_psql -d "$DB" -U "$ADMIN" -c "$2"; }
as_super() { tg_psql -d "$DB" -c "$1"; }

# wait_for SQL: poll (at most 10 s) until SQL returns t
wait_for() { tg_wait_for "$DB" "$1"; }

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $ADMIN LOGIN IN ROLE tenantguard_admin" \
  -c "CREATE ROLE $ADMIN2 LOGIN IN ROLE tenantguard_admin" >/dev/null
A=$(as_super "SELECT tenantguard.create_tenant('entry-a')")
B=$(as_super "SELECT tenantguard.create_tenant('entry-b')")

psql -X -q -d postgres -c "ALTER SYSTEM SET tenantguard.audit_queue_role_limit = 2" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
as_super "BEGIN; LOCK TABLE tenantguard_audit.events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" >/dev/null &
locker=$!
sleep 0.5

# the admin's share of 2: one entry and one audit_log() event, both queued
out=$(as_admin entry-fill "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.audit_log('entry.fill'); COMMIT;")
tg_check_eq "with a role limit of 2, a read-only entry and an audit_log() event are queued" "$(tg_sqlstate "$out")" "none"
out=$(as_admin entry-fill "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$A'); COMMIT;")
tg_check_eq "... an identical entry is coalesced into the waiting one (no error)" "$(tg_sqlstate "$out")" "none"
out=$(as_admin entry-ro-full "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$B'); COMMIT;")
tg_check_eq "... a different entry in a read-only transaction fails closed (53400)" "$(tg_sqlstate "$out")" "53400"
tg_check_contains "... naming the action" "$out" "audit queue is full; the set_tenant action is refused because it cannot be audited"
out=$(as_admin entry-rb-full "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT 1; ROLLBACK;")
tg_check_contains "... an entry whose transaction rolls back is dropped with a warning" "$out" \
  "WARNING:  53400: audit queue is full; an audit event was not recorded"
out=$(PGAPPNAME=entry-other tg_psql -d "$DB" -U "$ADMIN2" -c "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$B'); COMMIT;")
tg_check_eq "... another administrator's read-only entry is queued (its own share)" "$(tg_sqlstate "$out")" "none"
# blocks on the lock until it is gone: it writes in its own transaction
out=$(as_admin entry-rw-full "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT 1; COMMIT;")
tg_check_eq "... an entry of a read-write transaction that commits succeeds" "$(tg_sqlstate "$out")" "none"
tg_check_eq "... without a warning" "$(printf '%s\n' "$out" | grep -c WARNING)" "0"
wait "$locker"

tg_check_eq "... and is written in that transaction (its own txid, not shared with a worker batch)" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events e WHERE e.application_name = 'entry-rw-full' AND e.action = 'set_tenant'
               AND NOT EXISTS (SELECT 1 FROM tenantguard_audit.events o WHERE o.txid = e.txid AND o.id <> e.id)")" "1"
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE db_user = '$ADMIN' AND action = 'audit.events_dropped')"
tg_check_eq "once the lock is gone, the drops are counted: two other events (the refused and the rolled-back entry)" \
  "$(as_super "SELECT details->>'dropped', details->>'refusals', details->>'other', details->>'role_limit'
               FROM tenantguard_audit.events WHERE db_user = '$ADMIN' AND action = 'audit.events_dropped'")" "2|0|2|2"
tg_check_eq "... the coalesced entry is one row standing for two" \
  "$(as_super "SELECT count(*) || ':' || string_agg(coalesce(details->>'repeated', '1'), ',')
               FROM tenantguard_audit.events WHERE application_name = 'entry-fill' AND action = 'set_tenant'")" "1:2"
tg_check_eq "... the refused and the rolled-back entries are not recorded as entries" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE application_name IN ('entry-ro-full', 'entry-rb-full') AND action = 'set_tenant'")" "0"
tg_check_eq "... the other administrator's entry is recorded" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE application_name = 'entry-other' AND action = 'set_tenant' AND db_user = '$ADMIN2'")" "1"
