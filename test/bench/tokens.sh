#!/usr/bin/env bash
# Signed context tokens benchmark (make bench BENCH=tokens): entering a tenant
# with a signed token + a point lookup on a protected table, against
# set_config('app.tenant', …) + the same lookup on a table with a hand-written
# current_setting() policy, in interleaved pgbench runs (every client picks one
# script at random per transaction, so all scripts see the same machine
# moments; reported: mean latency per script and the ratio of rates).
#
# Scripts (each: BEGIN; enter; one-row SELECT by primary key; COMMIT;):
#   base        set_config('app.tenant', <tenant of a random token row>, true); hand-written policy
#   hs_fresh    SET via set_config('tenantguard.context', <HS256 token>, true), a random one of
#               TOKENS_FRESH (default 20000) distinct tokens: per-backend cache of 1024 -> mostly
#               full verifications
#   hs_resent   the same, one of 8 tokens: the pooled pattern, verified once per backend
#   ed_fresh, ed_resent   the same with EdDSA (Ed25519) tokens
# Every script first reads its token (or tenant) and a row id from a table by
# a random id into pgbench variables (\gset), so all pay the same extra
# statement; the token then travels as a bind parameter, as from a driver.
#
# Environment: TOKENS_DURATION (seconds per run, default 8), TOKENS_ROUNDS
# (default 3), TOKENS_CLIENTS (default 2), TOKENS_FRESH (default 20000),
# BENCH_OUT (default test/results/bench-tokens). About 1.5 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/cluster.sh

DURATION=${TOKENS_DURATION:-8}
ROUNDS=${TOKENS_ROUNDS:-3}
CLIENTS=${TOKENS_CLIENTS:-2}
FRESH=${TOKENS_FRESH:-20000}
OUT=${BENCH_OUT:-test/results/bench-tokens}
mkdir -p "$OUT"
trap 'tg_cluster_stop' EXIT
tg_cluster_start "shared_buffers = 256MB" >/dev/null
S=$(mktemp -d /tmp/tenantguard-bench-tokens-XXXXXX)
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
CREATE TABLE toks (kind text, id int, tenant_id uuid, tok text, PRIMARY KEY (kind, id));
GRANT SELECT ON toks TO bench_app;
SQL
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL >/dev/null
SELECT kid AS hkid FROM tenantguard.add_signing_key() \gset
SELECT kid AS ekid, secret AS eseed FROM tenantguard.add_signing_key('EdDSA') \gset
CREATE TEMP TABLE tn AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM tenantguard.tenants;
INSERT INTO toks
SELECT k.kind, g, tn.id,
       tenantguard.sign_token(jsonb_build_object('tid', tn.id, 'sub', 'user-' || g, 'role', 'viewer',
                                                 'iat', extract(epoch FROM now())::bigint,
                                                 'exp', extract(epoch FROM now())::bigint + 3600),
                              CASE k.kind WHEN 'hs' THEN :'hkid' ELSE :'ekid' END,
                              CASE k.kind WHEN 'hs' THEN NULL ELSE :'eseed' END,
                              CASE k.kind WHEN 'hs' THEN 'HS256' ELSE 'EdDSA' END)
  FROM (VALUES ('hs'), ('ed')) k(kind), generate_series(1, $FRESH) g
  JOIN tn ON tn.n = 1 + g % 100;
ANALYZE;
SQL

# each script: a random token row (fresh: any; resent: one of 8) read into
# pgbench variables (outside the measured transaction's statements, the same
# for every script), then the transaction: enter with the token (or tenant)
# as a bind parameter, fetch one row of that tenant by primary key
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null
ALTER TABLE toks ADD COLUMN first_id int;
UPDATE toks SET first_id = f.id FROM (SELECT tenant_id, min(id) AS id FROM items_plain GROUP BY tenant_id) f
 WHERE f.tenant_id = toks.tenant_id;
VACUUM ANALYZE toks;
SQL
for s in base hs_fresh hs_resent ed_fresh ed_resent; do
  case $s in
    base) kind=hs; n=$FRESH; enter="SELECT set_config('app.tenant', :tenant_id, true);"; tbl=items_plain ;;
    *_fresh) kind=${s%_*}; n=$FRESH; enter="SELECT set_config('tenantguard.context', :tok, true) IS NOT NULL;"; tbl=items ;;
    *_resent) kind=${s%_*}; n=8; enter="SELECT set_config('tenantguard.context', :tok, true) IS NOT NULL;"; tbl=items ;;
  esac
  cat >"$S/$s.sql" <<SQL
\\set i random(1, $n)
\\set r random(0, 99)
SELECT tenant_id::text AS tenant_id, tok, first_id FROM toks WHERE kind = '$kind' AND id = :i \\gset
\\set row :first_id + :r
BEGIN;
$enter
SELECT body FROM $tbl WHERE id = :row;
COMMIT;
SQL
done
chmod 644 "$S"/*.sql

# one warm-up, then the rounds
args=()
for s in base hs_fresh hs_resent ed_fresh ed_resent; do args+=(-f "$S/$s.sql@1"); done
pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T 2 -U bench_app "${args[@]}" postgres >/dev/null 2>&1 || true
: >"$OUT/raw.txt"
for r in $(seq 1 "$ROUNDS"); do
  pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" -U bench_app "${args[@]}" postgres \
    >"$OUT/round$r.txt" 2>&1 || { cat "$OUT/round$r.txt"; exit 1; }
  # "SQL script N: <path>" ... " - latency average = X ms"
  awk -v r="$r" '/^SQL script [0-9]+:/ {s=$NF; sub(".*/", "", s); sub("\\.sql$", "", s)}
                 /latency average/ && s != "" {print r, s, $(NF-1); s=""}' "$OUT/round$r.txt" >>"$OUT/raw.txt"
done
if grep -qE "number of failed transactions: [1-9]|ERROR|aborted" "$OUT"/round*.txt; then
  echo "benchmark transactions failed:"; grep -h "ERROR" "$OUT"/round*.txt | head; exit 1
fi

{
  echo "Signed context tokens: set_config(tenantguard.context, token) + point lookup vs"
  echo "set_config(app.tenant) + point lookup (hand-written policy); interleaved pgbench,"
  echo "$CLIENTS clients, $ROUNDS x ${DURATION}s; mean latency per script (median over rounds)"
  echo
  printf '%-12s %12s %10s %s\n' script latency_ms "vs base" target
  awk '{k=$2; v[k]=v[k] " " $3} END {for (k in v) print k, v[k]}' "$OUT/raw.txt" |
  while read -r s vals; do
    med=$(printf '%s\n' $vals | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
    echo "$s $med"
  done | sort >"$OUT/medians.txt"
  base=$(awk '$1 == "base" {print $2}' "$OUT/medians.txt")
  while read -r s med; do
    case $s in *_fresh) t=">= 0.90" ;; *_resent) t=">= 0.97" ;; *) t="" ;; esac
    printf '%-12s %12.3f %10.3f %s\n' "$s" "$med" "$(awk -v b="$base" -v m="$med" 'BEGIN {print b / m}')" "$t"
  done <"$OUT/medians.txt"
  echo
  echo "(ratio = base latency / script latency = rate of the script relative to the baseline)"
} | tee "$OUT/summary.txt"
rm -rf "$S"
