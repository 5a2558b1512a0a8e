#!/usr/bin/env bash
# A flood of the ledger worker's queue must not starve anyone else.
#
# While six backends flood the queue --
#   four of a role with no privileges at all, looping failed
#   set_config('tenantguard.context', ...) in PL/pgSQL exception blocks
#   (varying values; two of them also change application_name every time,
#   so that their refusals cannot be coalesced), and
#   two of a role that may reveal, looping reveals in subtransactions that
#   roll back (each leaves a rolled-back reveal summary; varying
#   application_name again)
# -- another role produces 100 refusals, rolled-back reveals and read-only
# reveals in the flooded database, and a third role 20 refusals in another
# database. Every one of the victims' events must be recorded, no read-only
# reveal may fail with 53400, the flood must appear coalesced (details
# "repeated"), and every refusal of the flooder must be accounted for: recorded,
# coalesced into a recorded event, or counted by an audit.events_dropped event.
# Then, with the worker held up by a lock on the events table, the exact
# limits: a role's share, coalescing from half of it, the drop count, and the
# settings themselves.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=audit_flood
source test/suites/lib/checks.sh

DB=tg_suite_audit_flood
DB2=tg_suite_audit_flood2
FLOOD=tgsuite_flood_nobody      # no privileges at all
FLOOD2=tgsuite_flood_revealer   # may reveal: floods rolled-back reveal summaries
VICTIM=tgsuite_flood_victim
VICTIM2=tgsuite_flood_victim2
# long enough that the victims (7 s on a quiet 2-core machine, more under load)
# finish while every flooder still floods
FLOOD_SECS=${TG_FLOOD_SECS:-16}
WORK=$(mktemp -d /tmp/tenantguard-flood-XXXXXX)
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" >/dev/null 2>&1
  for r in $FLOOD $FLOOD2 $VICTIM $VICTIM2; do
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
  done
  psql -X -q -d postgres -c "ALTER SYSTEM RESET tenantguard.audit_queue_role_limit" \
    -c "SELECT pg_reload_conf()" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap 'cleanup; tg_suite_finish' EXIT
cleanup
WORK=$(mktemp -d /tmp/tenantguard-flood-XXXXXX)

as_super() { tg_psql -d "$DB" -c "$1"; }
as_victim() { tg_psql -d "$DB" -U "$VICTIM" -c "$1"; }

# wait_for SQL [SECONDS]: poll (at most 15 s by default) until SQL returns t
wait_for() { tg_wait_for "$DB" "$1" "${2:-15}"; }

psql -X -q -d postgres -c "CREATE DATABASE $DB" -c "CREATE DATABASE $DB2" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
tg_psql -d "$DB2" -c "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $FLOOD LOGIN" \
  -c "CREATE ROLE $FLOOD2 LOGIN IN ROLE tenantguard_admin" \
  -c "CREATE ROLE $VICTIM LOGIN IN ROLE tenantguard_admin" \
  -c "CREATE ROLE $VICTIM2 LOGIN" >/dev/null
A=$(as_super "SELECT tenantguard.create_tenant('flood-a')")
as_super "CREATE TABLE s (id int, tenant_id uuid, v tenantguard.secret, PRIMARY KEY (tenant_id, id));
          SELECT tenantguard.protect('s'); GRANT SELECT, INSERT ON s TO $VICTIM, $FLOOD2;" >/dev/null
as_victim "BEGIN; SELECT tenantguard.set_tenant('$A');
           INSERT INTO s (id, v) SELECT g, tenantguard.seal('v' || g) FROM generate_series(1, 100) g; COMMIT;" >/dev/null
tg_check_eq "set-up: 100 secrets sealed" "$(as_super "SELECT count(*) FROM s")" "100"

# --- the flood ---------------------------------------------------------------
# flood_refusals N VARY: one backend of the unprivileged role; prints its count
flood_refusals() {
  local appname="PERFORM 1;"
  [ "$2" = vary ] && appname="PERFORM set_config('application_name', 'flood-$1-' || i, true);"
  tg_psql -d "$DB" -U "$FLOOD" -c "DO \$\$
    DECLARE i int := 0; t0 timestamptz := clock_timestamp();
    BEGIN
      WHILE clock_timestamp() < t0 + interval '$FLOOD_SECS s' LOOP
        i := i + 1;
        $appname
        BEGIN
          PERFORM set_config('tenantguard.context', 'forged-$1-' || i, false);
        EXCEPTION WHEN invalid_authorization_specification THEN NULL;
        END;
      END LOOP;
      RAISE NOTICE 'attempts=%', i;
    END \$\$" >"$WORK/flood-$1.out" 2>&1
}
# flood_summaries N: one backend of the revealing role
flood_summaries() {
  tg_psql -d "$DB" -U "$FLOOD2" -c "DO \$\$
    DECLARE i int := 0; t0 timestamptz := clock_timestamp();
    BEGIN
      PERFORM tenantguard.set_tenant('$A');
      WHILE clock_timestamp() < t0 + interval '$FLOOD_SECS s' LOOP
        i := i + 1;
        PERFORM set_config('application_name', 'flood2-$1-' || i, true);
        BEGIN
          PERFORM tenantguard.reveal(v) FROM s WHERE id = 1;
          RAISE EXCEPTION 'undo';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
      END LOOP;
      RAISE NOTICE 'attempts=%', i;
    END \$\$" >"$WORK/flood2-$1.out" 2>&1
}
for n in 1 2; do flood_refusals "$n" vary & PIDS+=($!); done
for n in 3 4; do flood_refusals "$n" same & PIDS+=($!); done
for n in 1 2; do flood_summaries "$n" & PIDS+=($!); done
sleep 2     # the queue is saturated by now

# --- the victims, during the flood --------------------------------------------
t_start=$(date +%s)
# 100 refusals of a role of its own (two kinds, fifty each)
out=$(as_victim "DO \$\$
  DECLARE n int := 0;
  BEGIN
    FOR i IN 1..50 LOOP
      BEGIN PERFORM set_config('tenantguard.tenant', 'mine', false);
      EXCEPTION WHEN insufficient_privilege THEN n := n + 1; END;
      BEGIN PERFORM set_config('tenantguard.context', 'not-a-token', false);
      EXCEPTION WHEN invalid_authorization_specification THEN n := n + 1; END;
    END LOOP;
    RAISE NOTICE 'refused=%', n;
  END \$\$")
tg_check_contains "during the flood the victim's 100 attempts are all refused" "$out" "refused=100"

# another database: 20 refusals, each with its own application_name
out=$(tg_psql -d "$DB2" -U "$VICTIM2" -c "DO \$\$
  DECLARE n int := 0;
  BEGIN
    FOR i IN 1..20 LOOP
      PERFORM set_config('application_name', 'victim2-' || i, true);
      BEGIN PERFORM set_config('tenantguard.context', 'not-a-token', false);
      EXCEPTION WHEN invalid_authorization_specification THEN n := n + 1; END;
    END LOOP;
    RAISE NOTICE 'refused=%', n;
  END \$\$")
tg_check_contains "during the flood a role in another database has its 20 attempts refused" "$out" "refused=20"

# five transactions revealing 100 values each, rolled back
ro_fail=0
for k in 1 2 3 4 5; do
  out=$(as_victim "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT count(tenantguard.reveal(v)) FROM s; ROLLBACK;")
  [ "$(tg_sqlstate "$out")" = none ] || ro_fail=$((ro_fail + 1))
done
tg_check_eq "five rolled-back transactions reveal 100 values each" "$ro_fail" "0"

# five read-only transactions revealing 100 values each in one statement
ro_states=""
for k in 1 2 3 4 5; do
  out=$(as_victim "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$A'); SELECT count(tenantguard.reveal(v)) FROM s; COMMIT;")
  ro_states="$ro_states $(tg_sqlstate "$out")"
done
tg_check_eq "read-only reveals during the flood do not fail (no 53400)" "$ro_states" " none none none none none"
t_end=$(date +%s)

flooding=0
for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && flooding=$((flooding + 1)); done
tg_check_eq "... all of the above ran while the six flooding backends were still flooding" "$flooding" "6"
echo "# victims took $((t_end - t_start)) s"

for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()

# --- what the ledger shows ------------------------------------------------------
# an event stands for 1 + its coalesced repetitions
W="coalesce((details->>'repeated')::bigint, 1)"

wait_for "SELECT coalesce(sum($W), 0) = 100 FROM tenantguard_audit.events
           WHERE db_user = '$VICTIM' AND decision = 'deny' AND action IN ('context.set', 'context.token')"
tg_check_eq "all 100 refusals of the victim are recorded" \
  "$(as_super "SELECT action, sum($W) FROM tenantguard_audit.events
               WHERE db_user = '$VICTIM' AND decision = 'deny' GROUP BY 1 ORDER BY 1" | tr '\n' ' ')" \
  "context.set|50 context.token|50 "
wait_for "SELECT count(*) = 20 FROM tenantguard_audit.events WHERE db_user = '$VICTIM2' AND decision = 'deny'" 10 \
  >/dev/null 2>&1 || true
tg_check_eq "all 20 refusals in the other database are recorded, one event each" \
  "$(tg_psql -d "$DB2" -c "SELECT count(*), count(DISTINCT application_name), sum($W) FROM tenantguard_audit.events
                           WHERE db_user = '$VICTIM2' AND decision = 'deny' AND action = 'context.token'")" \
  "20|20|20"

wait_for "SELECT coalesce(sum($W), 0) = 5 FROM tenantguard_audit.events
           WHERE db_user = '$VICTIM' AND action = 'reveal' AND details->>'rolled_back' = 'true'"
tg_check_eq "the five rolled-back reveal summaries of the victim exist, 100 reveals each" \
  "$(as_super "SELECT sum($W), min((details->>'reveals')::int), max((details->>'reveals')::int)
               FROM tenantguard_audit.events
               WHERE db_user = '$VICTIM' AND action = 'reveal' AND details->>'rolled_back' = 'true'")" "5|100|100"

# a reveal event counts details->>'reveals' reveals (one event per statement and column)
R="(details->>'reveals')::bigint * $W"
wait_for "SELECT coalesce(sum($R), 0) = 500 FROM tenantguard_audit.events
           WHERE db_user = '$VICTIM' AND action = 'reveal' AND decision = 'allow' AND reason IS NULL"
tg_check_eq "the 500 read-only reveals of the victim are all recorded, in at most two events per statement" \
  "$(as_super "SELECT sum($R), count(*) <= 10, bool_and(tenant_id = '$A' AND principal = 'admin:$VICTIM' AND object = 'public.s.v')
               FROM tenantguard_audit.events
               WHERE db_user = '$VICTIM' AND action = 'reveal' AND decision = 'allow' AND reason IS NULL")" "500|t|t"

# the flooder: every refusal is recorded, coalesced or counted as dropped
attempts=0
for n in 1 2 3 4; do
  a=$(sed -nE 's/.*attempts=([0-9]+).*/\1/p' "$WORK/flood-$n.out")
  attempts=$((attempts + ${a:-0}))
done
echo "# the unprivileged flooder made $attempts attempts"
tg_check_ne "the unprivileged flooder made thousands of attempts" "$([ "$attempts" -gt 5000 ] && echo yes)" ""
ACCOUNTED="SELECT coalesce(sum($W) FILTER (WHERE action = 'context.token'), 0)
                + coalesce(sum((details->>'dropped')::bigint) FILTER (WHERE action = 'audit.events_dropped'), 0)
             FROM tenantguard_audit.events WHERE db_user = '$FLOOD'"
wait_for "SELECT ($ACCOUNTED) = $attempts" 20
tg_check_eq "every refusal of the flooder is recorded, coalesced or counted as dropped" \
  "$(as_super "$ACCOUNTED")" "$attempts"
echo "# the flooder's events (events|coalesced|drop events|dropped): $(as_super "SELECT count(*) FILTER (WHERE action = 'context.token'),
    count(*) FILTER (WHERE details ? 'repeated'), count(*) FILTER (WHERE action = 'audit.events_dropped'),
    sum((details->>'dropped')::bigint) FROM tenantguard_audit.events WHERE db_user = '$FLOOD'")"
tg_check_eq "the flood appears coalesced: events of the flooder with a count and a time range" \
  "$(as_super "SELECT bool_or((details->>'repeated')::bigint > 100
                              AND (details->>'last_at')::timestamptz > (details->>'first_at')::timestamptz
                              AND occurred_at = (details->>'first_at')::timestamptz)
               FROM tenantguard_audit.events WHERE db_user = '$FLOOD' AND action = 'context.token'")" "t"
tg_check_eq "the refusals the flooder lost are recorded as audit.events_dropped, naming the flooder" \
  "$(as_super "SELECT count(*) > 0, bool_and(category = 'policy' AND decision = 'deny' AND tenant_id IS NULL
                                            AND (details->>'dropped')::bigint > 0
                                            AND (details->>'refusals')::bigint = (details->>'dropped')::bigint)
               FROM tenantguard_audit.events WHERE db_user = '$FLOOD' AND action = 'audit.events_dropped'")" "t|t"

# the revealing flooder: its rolled-back summaries are recorded, coalesced or counted
attempts2=0
for n in 1 2; do
  a=$(sed -nE 's/.*attempts=([0-9]+).*/\1/p' "$WORK/flood2-$n.out")
  attempts2=$((attempts2 + ${a:-0}))
done
echo "# the revealing flooder rolled back $attempts2 reveals"
ACCOUNTED2="SELECT coalesce(sum($W) FILTER (WHERE action = 'reveal' AND details->>'rolled_back' = 'true'), 0)
                 + coalesce(sum((details->>'dropped')::bigint) FILTER (WHERE action = 'audit.events_dropped'), 0)
              FROM tenantguard_audit.events WHERE db_user = '$FLOOD2'"
wait_for "SELECT ($ACCOUNTED2) = $attempts2" 20
tg_check_eq "every rolled-back reveal of the revealing flooder is recorded, coalesced or counted as dropped" \
  "$(as_super "$ACCOUNTED2")" "$attempts2"

# nothing is left behind in the queue: a new refusal is written promptly, alone
out=$(PGAPPNAME=after-the-flood tg_psql -d "$DB" -U "$FLOOD" -c "SET tenantguard.context = 'after-the-flood'")
tg_check_eq "after the flood the flooder is still refused (28000)" "$(tg_sqlstate "$out")" "28000"
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE db_user = '$FLOOD'
                          AND application_name = 'after-the-flood')" 5
tg_check_eq "... and that refusal is written as one plain event" \
  "$(as_super "SELECT count(*), bool_and(details = '{}') FROM tenantguard_audit.events
               WHERE db_user = '$FLOOD' AND application_name = 'after-the-flood'")" "1|t"

# --- the exact limits, with the worker held up ---------------------------------
tg_check_eq "the queue has 1024 slots by default" "$(as_super "SHOW tenantguard.audit_queue_size")" "1024"
tg_check_eq "... a role may hold 64 of each kind by default" "$(as_super "SHOW tenantguard.audit_queue_role_limit")" "64"
out=$(as_super "SET tenantguard.audit_queue_role_limit = 1000")
tg_check_eq "the role limit cannot be SET (55P02)" "$(tg_sqlstate "$out")" "55P02"
out=$(as_victim "SET tenantguard.audit_queue_size = 100000")
tg_check_eq "the queue size cannot be SET (55P02)" "$(tg_sqlstate "$out")" "55P02"

psql -X -q -d postgres -c "ALTER SYSTEM SET tenantguard.audit_queue_role_limit = 6" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
as_super "BEGIN; LOCK TABLE tenantguard_audit.events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" >/dev/null &
locker=$!
sleep 0.5
out=$(as_victim "BEGIN READ ONLY;
                 SELECT count(tenantguard.audit_log('limit.' || g)) FROM generate_series(1, 6) g;
                 SELECT count(tenantguard.audit_log('limit.1')) FROM generate_series(1, 10);
                 COMMIT;")
tg_check_eq "with a role limit of 6, six different read-only events and ten repetitions are queued" \
  "$(tg_sqlstate "$out")" "none"
out=$(as_victim "BEGIN READ ONLY; SELECT tenantguard.audit_log('limit.7'); COMMIT;")
tg_check_eq "... a seventh different one fails closed (53400)" "$(tg_sqlstate "$out")" "53400"
tg_check_contains "... after a warning naming the role limit" "$out" \
  "This session's role already has 6 audit events of this kind waiting in this database, the limit set by tenantguard.audit_queue_role_limit."
out=$(as_victim "DO \$\$
  BEGIN
    FOR i IN 1..8 LOOP
      PERFORM set_config('application_name', 'limit-' || i, true);
      BEGIN PERFORM set_config('tenantguard.tenant', 'x', false);
      EXCEPTION WHEN insufficient_privilege THEN NULL; END;
    END LOOP;
  END \$\$")
tg_check_eq "... eight different refusals: six queued, two dropped with a warning each" \
  "$(printf '%s\n' "$out" | grep -c 'WARNING:  53400: audit queue is full; an audit event was not recorded')" "2"
out=$(tg_psql -d "$DB" -U "$FLOOD2" -c "BEGIN READ ONLY; SELECT tenantguard.audit_log('other.role'); COMMIT;")
tg_check_eq "... another role is not affected by the victim's full share" "$(tg_sqlstate "$out")" "none"
wait "$locker"

wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE db_user = '$VICTIM' AND action = 'audit.events_dropped'
                          AND occurred_at > now() - interval '1 min')" 10
tg_check_eq "once the lock is gone: limit.1 is one event standing for 11, limit.2-6 one each, no limit.7" \
  "$(as_super "SELECT string_agg(action || '=' || coalesce(details->>'repeated', '1'), ' ' ORDER BY action)
               FROM tenantguard_audit.events WHERE db_user = '$VICTIM' AND action LIKE 'limit.%'")" \
  "limit.1=11 limit.2=1 limit.3=1 limit.4=1 limit.5=1 limit.6=1"
tg_check_eq "... the six queued refusals are stored" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE db_user = '$VICTIM' AND application_name LIKE 'limit-%'")" "6"
tg_check_eq "... and the three lost events are counted: two refusals, one read-only event" \
  "$(as_super "SELECT details->>'dropped', details->>'refusals', details->>'other', details->>'role_limit', reason
               FROM tenantguard_audit.events WHERE db_user = '$VICTIM' AND action = 'audit.events_dropped'
                AND occurred_at > now() - interval '1 min'")" "3|2|1|6|audit queue share exhausted"
tg_check_eq "... the other role's event is stored" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE db_user = '$FLOOD2' AND action = 'other.role'")" "1"

# reveals are counted per statement, but the first one of a read-only
# statement is queued before its plaintext is handed out: with the share full
# the statement fails before returning a single value. (The context is
# entered for the session before the events table is locked, so that entering
# it neither waits for the lock nor takes a slot.)
(sleep 0.5; as_super "BEGIN; LOCK TABLE tenantguard_audit.events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" >/dev/null) &
locker=$!
out=$(tg_psql -d "$DB" -U "$VICTIM" <<SQL
SELECT tenantguard.set_tenant('$A', false);
SELECT pg_sleep(1.5);
BEGIN READ ONLY;
SELECT count(tenantguard.audit_log('fill.' || g)) FROM generate_series(1, 6) g;
COMMIT;
BEGIN READ ONLY;
SELECT tenantguard.reveal(v) FROM s ORDER BY id;
COMMIT;
SQL
)
tg_check_eq "with the share full again, a read-only bulk reveal fails closed (53400)" "$(tg_sqlstate "$out")" "53400"
tg_check_eq "... before returning any plaintext" "$(printf '%s\n' "$out" | grep -cE '^v[0-9]+$')" "0"
wait "$locker"
