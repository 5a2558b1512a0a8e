#!/usr/bin/env bash
# attack_shared_state: per-backend caches under invalidation storms, and
# locks another tenant can take (issue 7, items 4 and 10).
#
# 1. Cache loaders under an invalidation storm. tenantguard caches which
#    tables are protected and which roles are bound, per backend, and drops
#    the caches on relcache invalidation. A loader opens tenantguard's tables,
#    which processes invalidations; a "reset all" (sinval queue overflow)
#    arriving then used to free the hash the loader was filling (a
#    use-after-free: SIGSEGV, every backend of the cluster restarted).
#    Here, for STORM_SECONDS: two sessions create and drop temporary tables
#    as fast as they can (the storm), an administrator keeps changing
#    tenants, bindings and protections (invalidating the caches themselves),
#    and a bound application role runs a 10-way self-join of a protected table
#    over and over, in a PL/pgSQL loop and as separate statements. Checked:
#    no backend died (server log, every session's exit status), and every
#    join counted exactly the bound tenant's rows.
# 2. put_secret() used an advisory lock whose key anyone can compute for any
#    tenant's secret name: holding it blocked another tenant's writes. Here a
#    role of another tenant holds that very lock while the victim writes.
#
# Starts its own cluster (a crash must not take the other suites with it).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=attack_shared_state
source test/suites/lib/checks.sh
source test/cluster.sh

STORM_SECONDS=${STORM_SECONDS:-20}
T=$(mktemp -d /tmp/tenantguard-storm-XXXXXX)
chmod 777 "$T"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  tg_cluster_stop
  rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

unset PGOPTIONS
if ! tg_cluster_start "max_connections = 30"; then
  tg_fail "throwaway cluster starts"
  exit 1
fi
DB=storm
LOG=$TG_CLUSTER_DIR/server.log
sql() { tg_psql -d "$DB" "$@"; }

setup=$(tg_psql -d postgres -c "CREATE DATABASE $DB" && sql <<'SQL'
CREATE EXTENSION tenantguard;
CREATE ROLE storm_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE storm_spare LOGIN IN ROLE tenantguard_app;
CREATE ROLE storm_other LOGIN IN ROLE tenantguard_app;
CREATE TABLE notes (tenant_id uuid NOT NULL, id int NOT NULL, body text, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('notes');
CREATE TABLE spare (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
GRANT SELECT ON notes TO tenantguard_app;
SELECT tenantguard.create_tenant('acme');
SELECT tenantguard.create_tenant('globex');
SELECT tenantguard.bind_role('storm_app', tenantguard.tenant_id('acme'));
SELECT tenantguard.bind_role('storm_other', tenantguard.tenant_id('globex'));
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('acme'));
INSERT INTO notes (id, body) SELECT i, 'acme ' || i FROM generate_series(1, 100) i;
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('globex'));
INSERT INTO notes (id, body) SELECT i, 'globex ' || i FROM generate_series(1, 150) i;
COMMIT;
SQL
)
tg_check_lacks "setup succeeds" "$setup" "ERROR"

JOIN="SELECT count(*) FROM notes n1 JOIN notes n2 USING (tenant_id, id) JOIN notes n3 USING (tenant_id, id)
  JOIN notes n4 USING (tenant_id, id) JOIN notes n5 USING (tenant_id, id) JOIN notes n6 USING (tenant_id, id)
  JOIN notes n7 USING (tenant_id, id) JOIN notes n8 USING (tenant_id, id) JOIN notes n9 USING (tenant_id, id)
  JOIN notes n10 USING (tenant_id, id)"

# --- 1. the storm ---------------------------------------------------------
# storm: temporary tables created and dropped in a loop, for STORM_SECONDS
# (separate statements: in one transaction the locks would pile up)
for i in $(seq 1 200000); do echo "CREATE TEMP TABLE storm_t (x int, y text); DROP TABLE storm_t;"; done >"$T/storm.sql"
for s in 1 2; do
  timeout "$STORM_SECONDS" psql -X -q -d "$DB" -f "$T/storm.sql" >"$T/storm$s.out" 2>&1 &
  PIDS+=($!)
done
# administrator: tenants, bindings and protections change all the time
sql -c "DO \$\$
  DECLARE stop timestamptz := clock_timestamp() + interval '$STORM_SECONDS seconds';
          i int := 0;
  BEGIN
    WHILE clock_timestamp() < stop LOOP
      i := i + 1;
      PERFORM tenantguard.create_tenant('churn-' || i);
      PERFORM tenantguard.bind_role('storm_spare', tenantguard.tenant_id('churn-' || i));
      PERFORM tenantguard.protect('spare');
      PERFORM tenantguard.unbind_role('storm_spare');
      PERFORM tenantguard.unprotect('spare');
      PERFORM tenantguard.suspend_tenant(tenantguard.tenant_id('churn-' || i));
      PERFORM pg_sleep(0.01);
    END LOOP;
    RAISE NOTICE 'admin rounds: %', i;
  END \$\$" >"$T/admin.out" 2>&1 &
PIDS+=($!)
# bound role, in one statement: a PL/pgSQL loop of joins
tg_psql -d "$DB" -U storm_app -c "DO \$\$
  DECLARE stop timestamptz := clock_timestamp() + interval '$STORM_SECONDS seconds';
          n bigint; i int := 0;
  BEGIN
    WHILE clock_timestamp() < stop LOOP
      i := i + 1;
      EXECUTE \$q\$ $JOIN \$q\$ INTO n;
      IF n <> 100 THEN RAISE EXCEPTION 'join %: counted % rows, not 100', i, n; END IF;
    END LOOP;
    RAISE NOTICE 'loop joins: %', i;
  END \$\$" >"$T/loop.out" 2>&1 &
LOOP_PID=$!
PIDS+=($LOOP_PID)
# bound role, separate statements (more than it can run: stopped after STORM_SECONDS)
JOIN1=$(echo "$JOIN" | tr '\n' ' ')
for i in $(seq 1 20000); do echo "$JOIN1;"; done >"$T/joins.sql"
timeout "$STORM_SECONDS" psql -X -q -A -t -d "$DB" -U storm_app -f "$T/joins.sql" >"$T/joins.out" 2>&1 &
JOINS_PID=$!
PIDS+=($JOINS_PID)

wait "$LOOP_PID"; loop_rc=$?
wait "$JOINS_PID"; joins_rc=$?
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()

tg_check_eq "no backend died during the storm (server log)" \
  "$(grep -cE 'terminated by signal|was terminated|server process .* exited with exit code [^0]' "$LOG")" "0"
tg_check_eq "the bound role's join loop ran to its end" "$loop_rc" "0"
tg_check_contains "  ... and counted 100 rows every time" "$(cat "$T/loop.out")" "loop joins:"
echo "# $(grep -o 'loop joins: [0-9]*' "$T/loop.out")"
njoins=$(grep -cx 100 "$T/joins.out")
tg_check_eq "the separate join statements ran until stopped (exit $joins_rc: 124 = stopped by timeout)" \
  "$([ "$joins_rc" -eq 124 ] || [ "$joins_rc" -eq 0 ] && echo ok || echo "exit $joins_rc")" "ok"
tg_check_eq "  ... and each of them ($njoins) counted exactly acme's 100 rows" \
  "$(grep -vcx 100 "$T/joins.out")|$([ "$njoins" -gt 10 ] && echo many || echo "only $njoins")" "0|many"
echo "# separate joins: $njoins"
tg_check_lacks "the storm sessions saw no error" "$(cat "$T/storm1.out" "$T/storm2.out")" "ERROR"
tg_check_lacks "the administrator saw no error" "$(cat "$T/admin.out")" "ERROR"
echo "# $(grep -o 'admin rounds: [0-9]*' "$T/admin.out")"
tg_check_eq "after the storm the bound role still sees only its rows" \
  "$(tg_psql -d "$DB" -U storm_app -c "SELECT count(*), count(DISTINCT tenant_id) FROM notes")" "100|1"
tg_check_eq "and the other bound role only its own" \
  "$(tg_psql -d "$DB" -U storm_other -c "SELECT count(*), count(DISTINCT tenant_id) FROM notes")" "150|1"

# --- 2. put_secret() and a lock key anyone can compute --------------------
GLOBEX=$(sql -c "SELECT tenantguard.tenant_id('globex')")
# storm_app (acme) holds the advisory lock put_secret() used to take for globex's "db-password"
psql -X -q -A -t -d "$DB" -U storm_app >"$T/lock.out" 2>&1 <<SQL &
BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended('tenantguard.vault/' || '$GLOBEX' || '/default/db-password', 0));
SELECT pg_advisory_lock(hashtextextended('tenantguard.vault/' || '$GLOBEX' || '/default/db-password', 0));
SELECT 'holding';
SELECT pg_sleep(8);
COMMIT;
SQL
LOCK_PID=$!
PIDS+=($LOCK_PID)
for i in $(seq 1 50); do grep -q holding "$T/lock.out" 2>/dev/null && break; sleep 0.1; done
tg_check_contains "the other tenant's role holds the computed lock" "$(cat "$T/lock.out")" "holding"
start=$(date +%s%N)
out=$(tg_psql -d "$DB" -U storm_other -c "SET lock_timeout = '2s'" -c "SELECT tenantguard.put_secret('db-password', 's3cr3t-value')")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
tg_check_eq "globex's put_secret() is not blocked by a lock acme holds" "$out" "1"
tg_check_eq "  ... and does not wait for it (${ms} ms)" "$([ "$ms" -lt 1500 ] && echo fast || echo "waited ${ms} ms")" "fast"
tg_check_eq "a second version is numbered 2" \
  "$(tg_psql -d "$DB" -U storm_other -c "SELECT tenantguard.put_secret('db-password', 'v2')")" "2"
# concurrent writers of the same secret in one tenant still get distinct versions
for w in 1 2 3 4; do
  tg_psql -d "$DB" -U storm_other -c "SELECT tenantguard.put_secret('shared', 'w$w-' || g) FROM generate_series(1, 25) g" \
    >"$T/w$w.out" &
  PIDS+=($!)
done
wait
PIDS=()
tg_check_lacks "four concurrent writers of one secret saw no error" "$(cat "$T"/w?.out)" "ERROR"
tg_check_eq "  ... and got the versions 1 to 100, each once" \
  "$(tg_psql -d "$DB" -U storm_other -c "SELECT count(*), count(DISTINCT version), min(version), max(version) FROM tenantguard.vault WHERE name = 'shared'")" \
  "100|100|1|100"

# --- 3. savepoints used to hide reveals -------------------------------------
# Reveals of a transaction that rolls back are re-recorded as summary events
# (the in-transaction events vanish with it). The tally behind them was capped
# at 64 (tenant, savepoint) pairs: reveals under deeper savepoints left no trace.
tg_psql -d "$DB" -c "CREATE TABLE hidden (tenant_id uuid NOT NULL, id int, v tenantguard.secret, PRIMARY KEY (tenant_id, id));
                     SELECT tenantguard.protect('hidden'); GRANT SELECT, INSERT ON hidden TO tenantguard_app" >/dev/null
tg_psql -d "$DB" -U storm_other -c "INSERT INTO hidden (id, v) SELECT g, tenantguard.seal('hidden ' || g) FROM generate_series(1, 3) g" >/dev/null
{
  echo "BEGIN;"
  for i in $(seq 1 80); do echo "SAVEPOINT s$i; SELECT length(tenantguard.reveal(v)) FROM hidden WHERE id = 1;"; done
  echo "ROLLBACK;"
} >"$T/savepoints.sql"
psql -X -q -A -t -d "$DB" -U storm_other -f "$T/savepoints.sql" >"$T/savepoints.out" 2>&1
tg_check_eq "80 nested savepoints, each revealing once, then ROLLBACK" "$(grep -c '^8$' "$T/savepoints.out")" "80"
# a PL/pgSQL exception block undoes its reveals too
tg_psql -d "$DB" -U storm_other -c "DO \$\$ BEGIN
    FOR i IN 1..30 LOOP
      BEGIN
        PERFORM tenantguard.reveal(v) FROM hidden;
        RAISE EXCEPTION 'undo';
      EXCEPTION WHEN raise_exception THEN NULL;
      END;
    END LOOP;
  END \$\$" >/dev/null
summed() {
  tg_psql -d "$DB" -c "SELECT coalesce(sum((details->>'reveals')::int * coalesce((details->>'repeated')::int, 1)), 0)
                          FROM tenantguard_audit.events
                        WHERE action = 'reveal' AND details->>'rolled_back' = 'true' AND db_user = 'storm_other'"
}
for i in $(seq 1 100); do [ "$(summed)" -ge 170 ] && break; sleep 0.1; done
tg_check_eq "every rolled-back reveal is counted in summary events (80 + 30 x 3; reveals x repeated)" "$(summed)" "170"
