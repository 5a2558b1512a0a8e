#!/usr/bin/env bash
# audit_crash: the audit ledger across a crash (immediate shutdown).
#
# Starts a second, private cluster (Unix socket only, its own directory) with
# tenantguard preloaded, a fresh master key file (mode 0600, owned by the
# server's OS user) and automatic sealing every second, so that seals run
# while the writers do. Two pgbench clients run transactions that enter a
# tenant and insert two rows of an audited protected table (one transaction
# in four rolls back); after ~2.5 s the server is stopped with
# `pg_ctl stop -m immediate` and restarted (crash recovery). Then:
#   - every row in the table has exactly one insert event with its id (and
#     tenant) in new_row, and every insert event has its row: rows and their
#     events committed together or not at all;
#   - no event of a rolled back transaction survived;
#   - a digest taken before the crash still verifies; seal() + verify() ok;
#   - the ledger worker is back: a refusal after the restart is recorded.
# Prints the counts (transactions, rows, events, blocks) and timings.
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=audit_crash
source test/suites/lib/checks.sh
unset PGOPTIONS PGDATABASE

T=
UP=
BENCH_PID=
SUITE_T0=$(date +%s.%N)

cleanup() {
  if [ -n "$BENCH_PID" ]; then
    kill "$BENCH_PID" 2>/dev/null
    wait "$BENCH_PID" 2>/dev/null
  fi
  if [ -n "$UP" ]; then
    tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -m immediate -w stop >/dev/null 2>&1
  fi
  [ -n "$T" ] && rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

elapsed() { echo "$(date +%s.%N) $1" | awk '{printf "%.1f", $1 - $2}'; }

T=$(mktemp -d /tmp/tenantguard-audit-crash-XXXXXX)
chmod 755 "$T"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T"
P2=$((57000 + RANDOM % 1000))

if ! tg_as_postgres "$PGBIN/initdb" -D "$T/data" -U postgres -A trust --no-sync \
      -E UTF8 --locale=C >"$T/initdb.log" 2>&1; then
  tg_fail "initdb of the crash cluster" "$(cat "$T/initdb.log")"
  exit 1
fi
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$T/master.key"
echo >>"$T/master.key"
chmod 600 "$T/master.key"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T/master.key"
{
  echo "shared_preload_libraries = 'tenantguard'"
  echo "tenantguard.master_key_file = '$T/master.key'"
  echo "tenantguard.audit_seal_interval = 1"
  echo "port = $P2"
  echo "listen_addresses = ''"
  echo "unix_socket_directories = '$T'"
  echo "max_connections = 20"
  echo "shared_buffers = 32MB"
  echo "lc_messages = 'C'"
} >>"$T/data/postgresql.conf"

start() {
  tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -l "$T/server.log" -w -t 60 start >/dev/null 2>&1
}
if ! start; then
  tg_fail "start the crash cluster" "$(tail -n 20 "$T/server.log")"
  exit 1
fi
UP=1
c() { psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$T" -p "$P2" -U postgres -d crash "$@" 2>&1; }

psql -X -q -h "$T" -p "$P2" -U postgres -d postgres -c "CREATE DATABASE crash" >/dev/null
out=$(c <<'SQL'
CREATE EXTENSION tenantguard;
SELECT tenantguard.create_tenant('crash-1') \gset
SELECT tenantguard.create_tenant('crash-2') \gset
SELECT tenantguard.suspend_tenant(tenantguard.create_tenant('crash-frozen')) \gset
CREATE SEQUENCE crash_seq;
CREATE TABLE crash_items (
    id        bigint PRIMARY KEY DEFAULT nextval('crash_seq'),
    tenant_id uuid,
    payload   text,
    kept      boolean NOT NULL
);
SELECT tenantguard.protect('crash_items') \gset
SELECT tenantguard.audit_table('crash_items') \gset
SELECT tenantguard_audit.seal() \gset
SELECT 'ready';
SQL
)
tg_check_eq "the crash cluster runs tenantguard with an audited protected table" "$out" "ready"
D0=$(c -c "SELECT tenantguard_audit.digest()")
tg_check_match "a digest is taken before the writers start" "$D0" '"block_hash"'

cat >"$T/writer.sql" <<'SQL'
\set t random(1, 2)
\set r random(1, 4)
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('crash-' || :t));
\if :r = 1
INSERT INTO crash_items (payload, kept) VALUES (md5(random()::text), false);
INSERT INTO crash_items (payload, kept) VALUES ('rolled back', false);
ROLLBACK;
\else
INSERT INTO crash_items (payload, kept) VALUES (md5(random()::text), true);
INSERT INTO crash_items (payload, kept) VALUES ('second row', true);
COMMIT;
\endif
SQL
chmod 644 "$T/writer.sql"

t0=$(date +%s.%N)
pgbench -n -c 2 -T 5 -h "$T" -p "$P2" -U postgres -f "$T/writer.sql" crash >"$T/pgbench.log" 2>&1 &
BENCH_PID=$!
sleep 2.5
running=$(c -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench' AND datname = 'crash'")
tg_check_eq "two pgbench writers are running when the server is killed" "$running" "2"
before=$(c -c "SELECT count(*) FROM crash_items")
tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -m immediate -w stop >/dev/null 2>&1
UP=
crash_at=$(elapsed "$t0")
wait "$BENCH_PID" 2>/dev/null
BENCH_PID=
tg_check_match "pgbench lost its connections to the crash" "$(cat "$T/pgbench.log")" "(server closed the connection|terminat|lost|could not|aborted)"
echo "# crash after ${crash_at}s of writing ($before rows committed shortly before)"

t1=$(date +%s.%N)
if ! start; then
  tg_fail "restart after the crash (recovery)" "$(tail -n 30 "$T/server.log")"
  exit 1
fi
UP=1
recovery=$(elapsed "$t1")
tg_check_contains "the restart went through crash recovery" "$(cat "$T/server.log")" "database system was interrupted"
echo "# restart with recovery took ${recovery}s"

rows=$(c -c "SELECT count(*) FROM crash_items")
tg_check_match "the writers committed rows before the crash" "$rows" '^[1-9][0-9]*$'
tg_check_eq "every row has exactly one insert event with its id and tenant" \
  "$(c -c "WITH ev AS (SELECT (e.new_row->>'id')::bigint AS id, count(*) AS n,
                             count(DISTINCT e.tenant_id) AS tenants, min(e.tenant_id::text) AS tenant
                        FROM tenantguard_audit.events e
                       WHERE e.object = 'public.crash_items' AND e.action = 'insert'
                       GROUP BY 1)
          SELECT count(*) FROM crash_items r LEFT JOIN ev ON ev.id = r.id
           WHERE ev.n IS DISTINCT FROM 1 OR ev.tenants <> 1 OR ev.tenant <> r.tenant_id::text")" "0"
tg_check_eq "every insert event has its row (no event outlived its transaction)" \
  "$(c -c "SELECT count(*) FROM tenantguard_audit.events e
            LEFT JOIN crash_items r ON r.id = (e.new_row->>'id')::bigint
            WHERE e.object = 'public.crash_items' AND e.action = 'insert' AND r.id IS NULL")" "0"
tg_check_eq "no row and no event of a rolled back transaction survived" \
  "$(c -c "SELECT (SELECT count(*) FROM crash_items WHERE NOT kept)
                + (SELECT count(*) FROM tenantguard_audit.events WHERE object = 'public.crash_items' AND new_row->>'kept' = 'false')")" "0"
tg_check_eq "every committed transaction has its set_tenant event and both insert events" \
  "$(c -c "SELECT count(*) FROM (SELECT e.txid, count(*) AS n FROM tenantguard_audit.events e
                                  WHERE e.object = 'public.crash_items' AND e.action = 'insert' GROUP BY e.txid) t
            LEFT JOIN (SELECT txid FROM tenantguard_audit.events WHERE action = 'set_tenant') s ON s.txid = t.txid
            WHERE s.txid IS NULL OR t.n <> 2")" "0"
blocks_before_seal=$(c -c "SELECT count(*) FROM tenantguard_audit.blocks")
tg_check_match "automatic sealing ran while the writers did (more than the initial block)" "$((blocks_before_seal > 1))" '^1$'
tg_check_eq "the ledger verifies after the crash, before any new seal" \
  "$(c -c "SELECT ok || '|' || coalesce(problem, '') FROM tenantguard_audit.verify()")" "true|"
tg_check_eq "the digest taken before the crash still verifies" \
  "$(c -c "SELECT tenantguard_audit.verify_digest('$D0')")" "t"
c -c "SELECT tenantguard_audit.seal()" >/dev/null
tg_check_eq "after seal() no committed event is outside a block" \
  "$(c -c "SELECT count(*) FROM tenantguard_audit.events WHERE txid >= (SELECT max(to_xid) FROM tenantguard_audit.blocks)")" "0"
tg_check_eq "after seal() verify() is ok" \
  "$(c -c "SELECT ok || '|' || coalesce(problem, '') FROM tenantguard_audit.verify()")" "true|"

# the ledger worker is back after the restart: a refusal is recorded
mark=$(c -c "SELECT max(id) FROM tenantguard_audit.events")
c -c "BEGIN" -c "SELECT tenantguard.set_tenant(tenantguard.tenant_id('crash-frozen'))" -c "ROLLBACK" >/dev/null 2>&1
got=timeout
for ((i = 0; i < 100; i++)); do
  n=$(c -c "SELECT count(*) FROM tenantguard_audit.events WHERE id > $mark AND decision = 'deny' AND action = 'context.enter'")
  [ "$n" == "1" ] && { got=ok; break; }
  sleep 0.1
done
tg_check_eq "after the restart the ledger worker records refusals again" "$got" "ok"

events=$(c -c "SELECT count(*) FROM tenantguard_audit.events")
blocks=$(c -c "SELECT count(*) FROM tenantguard_audit.blocks")
echo "# counts: $rows rows, $events events, $blocks blocks; suite took $(elapsed "$SUITE_T0")s"
