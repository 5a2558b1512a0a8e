#!/usr/bin/env bash
# Human identity benchmark (make bench BENCH=identity), three interleaved
# pgbench comparisons (every client picks one of the scripts at random per
# transaction, so the scripts of one comparison share the machine's moments):
#
#  1. login throughput vs raw scrypt at the same cost (target >= 0.90):
#       scrypt   SELECT tenantguard.verify_password(<password>, <stored PHC hash>)
#       login    SELECT status FROM tenantguard.login(<email>, <password>)   (status ok: a session is made)
#     both at the default cost (scrypt_log_n 15, r 8, p 3 = 32 MiB a hash), the hash and
#     password of one of USERS users read first by both scripts alike;
#  2. resume(session) + point lookup vs set_config('app.tenant') + the same lookup on a
#     table with a hand-written current_setting() policy (target >= 0.90);
#  3. failed logins: a known email with a wrong password vs an unknown email — the mean
#     latency of each and their difference (unknown emails hash a dummy at the same cost).
#     login_max_failures is raised for this run only, so that no email locks.
#
# Environment: IDENTITY_DURATION (seconds per run, default 10), IDENTITY_ROUNDS (3),
# IDENTITY_CLIENTS (2), IDENTITY_USERS (24), BENCH_OUT (test/results/bench-identity).
# About 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/cluster.sh

DURATION=${IDENTITY_DURATION:-10}
ROUNDS=${IDENTITY_ROUNDS:-3}
CLIENTS=${IDENTITY_CLIENTS:-2}
USERS=${IDENTITY_USERS:-24}
OUT=${BENCH_OUT:-test/results/bench-identity}
mkdir -p "$OUT"
trap 'tg_cluster_stop' EXIT
tg_cluster_start "shared_buffers = 256MB
tenantguard.login_max_failures = 1000" >/dev/null
S=$(mktemp -d /tmp/tenantguard-bench-identity-XXXXXX)
chmod 755 "$S"

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL >/dev/null
CREATE EXTENSION tenantguard;
CREATE ROLE bench_app LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.create_tenant('t' || g) FROM generate_series(1, 100) g;
CREATE TABLE items (tenant_id uuid NOT NULL, id int PRIMARY KEY, body text NOT NULL);
CREATE TABLE items_plain (tenant_id uuid NOT NULL, id int PRIMARY KEY, body text NOT NULL);
ALTER TABLE items_plain ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_setting ON items_plain USING (tenant_id = current_setting('app.tenant')::uuid);
INSERT INTO items SELECT t.id, row_number() OVER (), 'row ' || g
  FROM tenantguard.tenants t, generate_series(1, 100) g;
INSERT INTO items_plain SELECT * FROM items;
SELECT tenantguard.protect('items');
GRANT SELECT ON items, items_plain TO bench_app;
-- users at the default cost, each a member of one tenant
CREATE TABLE creds (id int PRIMARY KEY, email text, pw text, hash text, tenant_id uuid,
                    unknown_email text, tok text, first_id int);
CREATE TEMP TABLE tn AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM tenantguard.tenants;
INSERT INTO creds (id, email, pw, unknown_email, tenant_id)
SELECT g, 'bench-' || g || '@example.com', 'correct horse battery staple ' || g,
       'nobody-' || g || '@example.com', tn.id
  FROM generate_series(1, $USERS) g JOIN tn ON tn.n = 1 + g % 100;
UPDATE creds SET hash = tenantguard.hash_password(pw);
SELECT tenantguard.create_user(email, pw) FROM creds;
SQL
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT * FROM creds LOOP
    PERFORM tenantguard.set_tenant(c.tenant_id);
    PERFORM tenantguard.add_member(u.id, 'viewer') FROM tenantguard.users u WHERE u.email = c.email;
    PERFORM tenantguard.clear_context();
  END LOOP;
END $$;
-- one session per user for the resume comparison (made by login(), as an application would)
UPDATE creds SET tok = (SELECT session_token FROM tenantguard.login(creds.email, creds.pw));
UPDATE creds SET first_id = f.id FROM (SELECT tenant_id, min(id) AS id FROM items_plain GROUP BY tenant_id) f
 WHERE f.tenant_id = creds.tenant_id;
GRANT SELECT ON creds TO bench_app;
VACUUM ANALYZE;
SQL
if [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM creds WHERE tok LIKE 'tgses_%'")" != "$USERS" ]; then
  echo "setup: not every user could log in"; exit 1
fi

# every script reads one random user's row first (the same extra statement for all)
pick="\\set i random(1, $USERS)
\\set r random(0, 99)
SELECT email, pw, hash, unknown_email, tenant_id::text AS tenant_id, tok, first_id FROM creds WHERE id = :i \\gset
\\set row :first_id + :r"
cat >"$S/scrypt.sql" <<SQL
$pick
SELECT tenantguard.verify_password(:pw, :hash);
SQL
cat >"$S/login.sql" <<SQL
$pick
SELECT status FROM tenantguard.login(:email, :pw);
SQL
cat >"$S/set_config.sql" <<SQL
$pick
BEGIN;
SELECT set_config('app.tenant', :tenant_id, true);
SELECT body FROM items_plain WHERE id = :row;
COMMIT;
SQL
cat >"$S/resume.sql" <<SQL
$pick
BEGIN;
SELECT tenantguard.resume(:tok);
SELECT body FROM items WHERE id = :row;
COMMIT;
SQL
cat >"$S/known_wrong.sql" <<SQL
$pick
SELECT status FROM tenantguard.login(:email, 'wrong password, long enough');
SQL
cat >"$S/unknown.sql" <<SQL
$pick
SELECT status FROM tenantguard.login(:unknown_email, 'wrong password, long enough');
SQL
chmod 644 "$S"/*.sql

# run_pair NAME SCRIPT... : rounds of one interleaved pgbench run over the scripts
: >"$OUT/raw.txt"
run_group() {
  local name=$1; shift
  local args=() s r
  for s in "$@"; do args+=(-f "$S/$s.sql@1"); done
  pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T 2 -U bench_app "${args[@]}" postgres >/dev/null 2>&1 || true
  for r in $(seq 1 "$ROUNDS"); do
    pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" -U bench_app "${args[@]}" postgres \
      >"$OUT/$name-round$r.txt" 2>&1 || { cat "$OUT/$name-round$r.txt"; exit 1; }
    awk -v r="$r" -v g="$name" '/^SQL script [0-9]+:/ {s=$NF; sub(".*/", "", s); sub("\\.sql$", "", s)}
                   /latency average/ && s != "" {print g, r, s, $(NF-1); s=""}' "$OUT/$name-round$r.txt" >>"$OUT/raw.txt"
  done
}
run_group cost scrypt login
run_group context set_config resume
run_group failures known_wrong unknown
if grep -qE "number of failed transactions: [1-9]|ERROR|aborted" "$OUT"/*-round*.txt; then
  echo "benchmark transactions failed:"; grep -h "ERROR" "$OUT"/*-round*.txt | head; exit 1
fi
# the statuses the scripts saw (a locked email would make the comparison meaningless)
locked=$(psql -X -At -d postgres -c "SELECT count(*) FROM tenantguard_audit.events
                                      WHERE category = 'auth' AND (action = 'login.lockout' OR reason = 'locked')")

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
med() { awk -v s="$1" '$3 == s {print $4}' "$OUT/raw.txt" | median; }
ratio() { awk -v b="$1" -v m="$2" 'BEGIN {printf "%.3f", b / m}'; }
{
  echo "Human identity: interleaved pgbench, $CLIENTS clients, $ROUNDS x ${DURATION}s per comparison,"
  echo "mean latency per script in ms (median over rounds); ratio = rate relative to the baseline"
  echo
  sc=$(med scrypt); lg=$(med login)
  printf '%-34s %10s %10s %8s %s\n' comparison baseline_ms script_ms ratio target
  printf '%-34s %10.2f %10.2f %8s %s\n' "login vs verify_password (scrypt)" "$sc" "$lg" "$(ratio "$sc" "$lg")" ">= 0.90"
  sb=$(med set_config); rs=$(med resume)
  printf '%-34s %10.3f %10.3f %8s %s\n' "resume+lookup vs set_config+lookup" "$sb" "$rs" "$(ratio "$sb" "$rs")" ">= 0.90"
  kw=$(med known_wrong); un=$(med unknown)
  printf '%-34s %10.2f %10.2f %8s %s\n' "failed login: known vs unknown" "$kw" "$un" \
    "$(awk -v a="$kw" -v b="$un" 'BEGIN {printf "%+.2f ms", b - a}')" "(report)"
  echo
  echo "(known vs unknown: baseline = a known email with a wrong password, script = an unknown"
  echo " email; the last column is unknown minus known. Lockout events during the run: $locked)"
} | tee "$OUT/summary.txt"
rm -rf "$S"
