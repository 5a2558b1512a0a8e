#!/usr/bin/env bash
# secrets_concurrency: reencrypt() under a concurrent writer.
#
# A protected table holds 5000 sealed rows (two tenants) at data key version
# 1; the key is rotated. Session B (a psql in the background running a
# bounded loop of transactions) keeps overwriting random rows, half of them in
# a small hot set, with newly sealed values, and records each value it wrote
# in a side table in the same transaction. Meanwhile session A runs
# reencrypt(): one large call (its row locks make B wait) and then resumable
# max_rows calls until nothing is left.
# Afterwards: every row reveals, every row is at the newest key version, and
# each row holds exactly the value B wrote last (or its original value when B
# never touched it): reencrypt() lost no update and resurrected no old value.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=secrets_concurrency
source test/suites/lib/checks.sh

DB=tg_suite_secrets_conc
ROWS=5000
WRITES=1200
T=
BPID=

if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  tg_suite_finish
  exit 1
fi
unset PGOPTIONS PGDATABASE

q() { psql -X -q -A -t -d postgres "$@" 2>&1; }
cleanup() {
  if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
    kill "$BPID" 2>/dev/null
    wait "$BPID" 2>/dev/null
  fi
  q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  [ -n "$T" ] && rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" -c "$1" 2>&1 | sed '/^$/d'; }

T=$(mktemp -d /tmp/tenantguard-secrets-conc-XXXXXX)
q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
setup=$(q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" && psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" 2>&1 <<SQL
CREATE EXTENSION tenantguard;
CREATE TABLE items (tenant_id uuid NOT NULL, id int NOT NULL, s tenantguard.secret NOT NULL, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('items');
-- what B wrote, in commit order (B is one session, so seq order is commit order)
CREATE TABLE writes (seq bigserial PRIMARY KEY, tid uuid NOT NULL, id int NOT NULL, val text NOT NULL,
                     at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE a_runs (call int PRIMARY KEY, started timestamptz, finished timestamptz, n bigint);
SELECT 'A=' || tenantguard.create_tenant('conc-a');
SELECT 'B=' || tenantguard.create_tenant('conc-b');
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('conc-a'));
INSERT INTO items (id, s) SELECT i, tenantguard.seal('orig-' || i) FROM generate_series(1, $ROWS) i WHERE i % 5 <> 0;
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('conc-b'));
INSERT INTO items (id, s) SELECT i, tenantguard.seal('orig-' || i) FROM generate_series(1, $ROWS) i WHERE i % 5 = 0;
COMMIT;
SELECT 'NEWEST=' || tenantguard.rotate_data_key();
SQL
)
A=$(printf '%s\n' "$setup" | sed -n 's/^A=//p')
B=$(printf '%s\n' "$setup" | sed -n 's/^B=//p')
NEWEST=$(printf '%s\n' "$setup" | sed -n 's/^NEWEST=//p')
if [ -z "$A" ] || [ -z "$B" ] || [ "$NEWEST" != 2 ]; then
  tg_fail "set up the test database" "$setup"
  exit 1
fi
tg_check_eq "before: all $ROWS rows are at key version 1, the newest is 2" \
  "$(sql "SELECT count(*) FILTER (WHERE tenantguard.secret_key_version(s) = 1) FROM items")" "$ROWS"

# --- session B: a bounded loop of write transactions -----------------------------------
{
  echo '\set ON_ERROR_STOP 1'
  for ((k = 1; k <= WRITES; k++)); do
    if ((k % 2)); then id=$((RANDOM % 40 + 1)); else id=$(((RANDOM * 32768 + RANDOM) % ROWS + 1)); fi
    if ((id % 5 == 0)); then t=$B; else t=$A; fi
    v="w$k-$id"
    printf "BEGIN;\nSELECT tenantguard.set_tenant('%s');\nUPDATE items SET s = tenantguard.seal('%s') WHERE id = %d;\n" "$t" "$v" "$id"
    printf "INSERT INTO writes (tid, id, val) VALUES ('%s', %d, '%s');\nCOMMIT;\n" "$t" "$id" "$v"
  done
} >"$T/writer.sql"
psql -X -q -A -t -d "$DB" -f "$T/writer.sql" >"$T/writer.out" 2>"$T/writer.err" &
BPID=$!

# wait until B is under way
for _ in $(seq 1 200); do
  n=$(sql "SELECT count(*) FROM writes")
  [ "${n:-0}" -ge 20 ] 2>/dev/null && break
  kill -0 "$BPID" 2>/dev/null || break
  sleep 0.02
done

# --- session A: reencrypt while B writes -------------------------------------------------
a_err=
total=0
call=0
run_a() {   # run_a ARGS: one reencrypt() call in its own transaction, timed; sets RA_N
  local out
  call=$((call + 1))
  out=$(sql "INSERT INTO a_runs (call, started) VALUES ($call, clock_timestamp());
             UPDATE a_runs SET n = tenantguard.reencrypt('items', 's', $1), finished = clock_timestamp() WHERE call = $call
             RETURNING n")
  if [[ "$out" =~ ^[0-9]+$ ]]; then
    RA_N=$out
  else
    a_err+="$out"$'\n'
    RA_N=0
  fi
  total=$((total + RA_N))
}
run_a "100, 2000"
for _ in $(seq 1 50); do
  run_a "50, 500"
  [ "$RA_N" -eq 0 ] && break
done
b_running_after_a=no
kill -0 "$BPID" 2>/dev/null && b_running_after_a=yes
wait "$BPID"
b_rc=$?
BPID=

tg_check_eq "session A: every reencrypt() call succeeded" "$a_err" ""
tg_check_eq "session B: every write transaction succeeded" "$b_rc:$(cat "$T/writer.err")" "0:"
tg_check_eq "session B committed all $WRITES writes" "$(sql "SELECT count(*) FROM writes")" "$WRITES"
tg_check_match "reencrypt() rewrote a plausible number of rows (0 < n <= $ROWS)" "$total" '^[0-9]+$'
if [ "$total" -gt 0 ] && [ "$total" -le "$ROWS" ]; then tg_pass "... $total rows"; else tg_fail "... $total rows"; fi
tg_check_ne "the writer overlapped reencrypt(): B committed writes while A's calls ran" \
  "$(sql "SELECT count(*) FROM writes w, (SELECT min(started) s, max(finished) f FROM a_runs) r WHERE w.at BETWEEN r.s AND r.f")" "0"
tg_check_eq "the last reencrypt() call found nothing left to do" "$(sql "SELECT n FROM a_runs ORDER BY call DESC LIMIT 1")" "0"
echo "# reencrypt calls: $call, rows rewritten by A: $total, B still running when A finished: $b_running_after_a"

# --- the outcome -----------------------------------------------------------------------------
tg_check_eq "every row is at the newest key version" \
  "$(sql "SELECT count(*) FROM items WHERE tenantguard.secret_key_version(s) <> $NEWEST")" "0"
tg_check_eq "every row is still bound to its own tenant" \
  "$(sql "SELECT count(*) FROM items WHERE tenantguard.secret_tenant(s) <> tenant_id")" "0"
tg_check_eq "no row was lost or added" "$(sql "SELECT count(*) FROM items")" "$ROWS"
CHECK="SELECT count(*) || ',' || count(*) FILTER (WHERE got IS DISTINCT FROM want)
         FROM (SELECT tenantguard.reveal(i.s) AS got,
                      coalesce((SELECT w.val FROM writes w WHERE w.id = i.id ORDER BY w.seq DESC LIMIT 1), 'orig-' || i.id) AS want
                 FROM items i WHERE i.tenant_id = tenantguard.current_tenant()) x"
tg_check_eq "tenant A: every row reveals, holding B's last write or its original value" \
  "$(sql "BEGIN; SELECT tenantguard.set_tenant('$A'); $CHECK; COMMIT;")" "$((ROWS - ROWS / 5)),0"
tg_check_eq "tenant B: every row reveals, holding B's last write or its original value" \
  "$(sql "BEGIN; SELECT tenantguard.set_tenant('$B'); $CHECK; COMMIT;")" "$((ROWS / 5)),0"
tg_check_match "(B overwrote hot rows several times: the last-write check is meaningful)" \
  "$(sql "SELECT max(c) FROM (SELECT count(*) c FROM writes GROUP BY id) x")" '^([3-9]|[1-9][0-9]+)$'
