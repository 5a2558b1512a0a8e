#!/usr/bin/env bash
# tenantguard authorization benchmark (make bench BENCH=authz): the cost per
# row of tenantguard.authorize() inside a row-level security policy, on a
# sequential scan of a tenant's rows (AUTHZ_ROWS, default 10,000).
#
# One backend per role (test/bench/authz/setup.sql has the tables, policies
# and roles) runs SELECT count(*) over each copy of the table, index scans
# and parallelism off, in rounds whose order rotates; each variant's time is
# the median over AUTHZ_ROUNDS rounds of the backend's CPU time (from
# /proc/self/schedstat: unaffected by waiting for a core on a shared
# machine) for AUTHZ_REPEAT scans. Reported:
#   ns per row added = (median scan CPU time of the variant - of its baseline) / rows
#   concat   the documented policy: authorize('docs.read', 'project/' || project),
#            a glob (project/*) matched per row                  (target <= 50 ns/row)
#   column   the same resource from a column (no concatenation)
#   catonly  the concatenation alone, without authorize()
#   const    authorize('docs.read'): the resource is constant (a role whose
#            rule is docs.read on *)
#   fixed    the documented policy for that role: the decision does not
#            depend on the resource, so no matching per row
#   denied   the documented policy for a role without a rule: every row
#            refused, and counted for the one audit event of the statement
# Targets are reported, never asserted.
#
# Environment:
#   AUTHZ_ROWS     rows of the tenant per table            (default 10000)
#   AUTHZ_ROUNDS   rounds                                  (default 11)
#   AUTHZ_REPEAT   scans per variant and round             (default 400: the
#                  CPU clock of a backend may tick in 4 ms steps)
#   AUTHZ_OUT      result directory         (default test/results/bench-authz)
# Defaults take about a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS=${AUTHZ_ROWS:-10000}
ROUNDS=${AUTHZ_ROUNDS:-11}
REPEAT=${AUTHZ_REPEAT:-400}
OUT=${AUTHZ_OUT:-test/results/bench-authz}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DIR=test/bench/authz
DB=tgauthz

source test/cluster.sh
cleanup() { tg_cluster_stop; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"

rev='?'
if rev=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD -- src sql 2>/dev/null || rev+=" + uncommitted changes in src/ or sql/"
fi
echo "== tenantguard authorization benchmark: $ROWS rows, $ROUNDS rounds x $REPEAT scans per variant"
echo "   $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $("$PGBIN/postgres" --version)," \
     "tenantguard $rev, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== starting a throwaway cluster"
tg_cluster_start "shared_buffers = 256MB" "autovacuum = off" "tenantguard.audit_seal_interval = 0"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v rows="$ROWS" -f "$DIR/setup.sql" >"$OUT/setup.log" 2>&1 \
  || { cat "$OUT/setup.log" >&2; exit 1; }

# measure ROLE VARIANT:TABLE...: one backend of ROLE; prints "variant round ns-per-scan"
measure() {
  local role=$1
  shift
  psql -X -q -A -t -v ON_ERROR_STOP=1 -U "$role" -d "$DB" <<SQL
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE m (variant text, round int, ns float8);
DO \$\$
DECLARE
    variants text[] := '{$(IFS=,; echo "$*")}';
    n int := array_length(variants, 1);
    r int; i int; k int; v text; tbl text; c0 bigint; c bigint;
BEGIN
    -- warm-up: caches, buffers, plans
    FOR i IN 1..n LOOP
        EXECUTE format('SELECT count(*) FROM bench.%I', split_part(variants[i], ':', 2)) INTO c;
    END LOOP;
    FOR r IN 1..$ROUNDS LOOP
        FOR i IN 0..n - 1 LOOP
            v := variants[1 + (i + r) % n];
            tbl := split_part(v, ':', 2);
            c0 := bench.cpu_ns();
            FOR k IN 1..$REPEAT LOOP
                EXECUTE format('SELECT count(*) FROM bench.%I', tbl) INTO c;
            END LOOP;
            INSERT INTO m VALUES (split_part(v, ':', 1), r, (bench.cpu_ns() - c0)::float8 / $REPEAT);
        END LOOP;
    END LOOP;
END
\$\$;
SELECT variant || ' ' || round || ' ' || ns FROM m;
SQL
}

echo "== measuring"
RAW=$OUT/raw.tsv
{
  measure bench_reader base:docs_base concat:docs_concat column:docs_column catonly:docs_catonly
  measure bench_anyreader base_fixed:docs_base const:docs_const fixed:docs_concat
  measure bench_denied base_denied:docs_base denied:docs_concat
} | tr ' ' '\t' >"$RAW"
counts=$(psql -X -A -t -F ' ' -U bench_reader -d "$DB" -c "SELECT (SELECT count(*) FROM bench.docs_concat), (SELECT count(*) FROM bench.docs_base)")
denied_count=$(psql -X -A -t -U bench_denied -d "$DB" -c "SELECT count(*) FROM bench.docs_concat")
psql -X -d "$DB" -U bench_reader -c "SET enable_indexscan = off" -c "SET enable_bitmapscan = off" \
  -c "SET max_parallel_workers_per_gather = 0" -c "EXPLAIN SELECT count(*) FROM bench.docs_concat" >"$OUT/plans.txt" 2>&1

med() { awk -F'\t' -v v="$1" '$1 == v {print $3}' "$RAW" | sort -g |
        awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
per_row() { awk -v a="$(med "$1")" -v b="$(med "$2")" -v n="$ROWS" 'BEGIN {printf "%.1f", (a - b) / n}'; }

SUMMARY=$OUT/summary.txt
{
  echo
  echo "== results: median of $ROUNDS rounds, backend CPU time; one scan of $ROWS rows (visible to the reader: $counts; to the denied role: $denied_count)"
  printf '   %-10s %-86s %12s %14s\n' variant policy "us per scan" "ns/row added"
  line() { # variant baseline policy-text
    printf '   %-10s %-86s %12.1f %14s\n' "$1" "$3" "$(awk -v x="$(med "$1")" 'BEGIN {print x / 1000}')" \
      "$( [ "$1" = "$2" ] && echo - || per_row "$1" "$2")"
  }
  line base     base        "tenant_id = current_tenant() (protect() alone)"
  line concat   base        "... AND authorize('docs.read', 'project/' || project), rule docs.read on project/*"
  line column   base        "... AND authorize('docs.read', resource), the same resource from a column"
  line catonly  base        "... AND ('project/' || project) IS NOT NULL: the concatenation alone"
  line const    base_fixed  "... AND authorize('docs.read'): a constant resource, rule docs.read on *"
  line fixed    base_fixed  "the documented policy, rule docs.read on * (decided once per call site)"
  line denied   base_denied "the documented policy, no rule: every row refused and counted"
  echo
  concat=$(per_row concat base)
  echo "== target (reported, not asserted)"
  awk -v x="$concat" 'BEGIN {printf "   authorize() in the documented policy: %s ns/row added, target <= 50: %s\n", x, (x <= 50) ? "met" : "MISSED"}'
  awk -v a="$(per_row concat base)" -v b="$(per_row catonly base)" \
    'BEGIN {printf "   of which authorize() itself (concat - catonly): %.1f ns/row\n", a - b}'
  echo
  echo "raw: $RAW (variant, round, CPU ns per scan); plan: $OUT/plans.txt; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$SUMMARY"
