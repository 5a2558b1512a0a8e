#!/usr/bin/env bash
# tenantguard isolation benchmark (make bench BENCH=isolation): the cost of
# tenant isolation, measured against an explicit WHERE tenant_id = ... baseline
# in the same run. Method and results: docs/performance.md.
#
# 100 tenants x 10,000 rows; pgbench -M prepared, 2 clients; every transaction
# is  BEGIN; <enter the tenant, or an equivalent call>; <query>; COMMIT;  so
# every variant sends the same four statements (test/bench/pgbench/*.sql):
#   explicit     1   unprotected table, WHERE tenant_id = <param>   (baseline)
#   explicit1    1b  the same, always tenant 1             (baseline of 4)
#   policy       2   hand-written RLS on current_setting('app.tenant')::uuid
#   tenantguard  3   tenantguard.protect(), set_tenant() per transaction
#   tgsub        3b  as 3, policy written as (SELECT tenantguard.current_tenant())
#   bound        4   tenantguard.protect(), login role bound with bind_role()
#   entry        3e  set_tenant() per transaction + variant 1's query (interleaved runs only)
#   control      1c  variant 1 on another identical copy: the noise floor (interleaved runs only)
# Workloads: lookup (one row by id) and aggregate (count/sum/max over the
# tenant's 10,000 rows).
#
# Three measurements:
#   A. alternating runs: every round runs every variant once per workload, in
#      an order that rotates from round to round; reported: median TPS, and
#      the server CPU per transaction of each run.
#   B. interleaved runs: one pgbench run executes several variants' scripts,
#      each client picking one at random per transaction, so every variant
#      sees the same machine at the same moment; reported: mean latency per
#      variant. This one stays stable when other processes load the machine.
#   C. inside one backend (test/bench/micro.sql): cost per call of the entry
#      functions, per row of each policy as a filter, per transaction of
#      entering and committing.
#
# Environment:
#   BENCH_DURATION        seconds per alternating run            (default 3)
#   BENCH_ROUNDS          alternating rounds                     (default 7)
#   BENCH_MIX_DURATION    seconds per interleaved run            (default 6)
#   BENCH_MIX_ROUNDS      interleaved rounds (0 = skip B)        (default 3)
#   BENCH_CLIENTS         pgbench clients (= threads)            (default 2)
#   BENCH_WARMUP          seconds of untimed warm-up per script  (default 1)
#   BENCH_PLAN_CACHE_MODE plan_cache_mode of the bench database
#                         (default force_generic_plan; see docs/performance.md)
#   BENCH_SHARED_BUFFERS  shared_buffers                         (default 2GB: ~800 MB of tables
#                         plus the audit events the runs write, ~0.5 GB per run)
#   BENCH_FSYNC           fsync of the cluster                   (default off, as test/cluster.sh)
#   BENCH_CONF            one more configuration line for the cluster, e.g.
#                         "tenantguard.audit_queue_role_limit = 128"   (default none)
#   BENCH_VARIANTS        subset for A, e.g. "explicit tenantguard"
#   BENCH_WORKLOADS       subset, e.g. "lookup"
#   BENCH_NICE            nice value for the cluster and pgbench, e.g. -10 on a
#                         shared machine (needs root; default: unchanged)
#   BENCH_OUT             result directory                       (default test/results/bench-isolation)
# Defaults take about 7 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${BENCH_DURATION:-3}
ROUNDS=${BENCH_ROUNDS:-7}
MIX_DURATION=${BENCH_MIX_DURATION:-6}
MIX_ROUNDS=${BENCH_MIX_ROUNDS:-3}
CLIENTS=${BENCH_CLIENTS:-2}
WARMUP=${BENCH_WARMUP:-1}
PLAN_CACHE_MODE=${BENCH_PLAN_CACHE_MODE:-force_generic_plan}
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-2GB}
VARIANTS=(${BENCH_VARIANTS:-explicit explicit1 policy tenantguard tgsub bound})
WORKLOADS=(${BENCH_WORKLOADS:-lookup aggregate})
OUT=${BENCH_OUT:-test/results/bench-isolation}
BENCHDIR=test/bench
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGBENCH=$PGBIN/pgbench
DB=tgbench
# Interleaved groups: one login per group (see setup.sql).
MIX_ADMIN=(explicit control policy tenantguard tgsub entry)
MIX_BOUND=(explicit1 bound)

source test/cluster.sh

if [ -n "${BENCH_NICE:-}" ]; then
  renice -n "$BENCH_NICE" -p $$ >/dev/null || echo "warning: could not renice to $BENCH_NICE" >&2
fi

cleanup() { tg_cluster_stop; }
trap cleanup EXIT
trap 'exit 130' INT TERM

role_of() {
  case $1 in
    explicit|explicit1|policy) echo bench_app ;;
    tenantguard|tgsub|entry|control) echo bench_admin ;;
    bound)                     echo bench_bound ;;
    *) echo "unknown variant $1" >&2; return 1 ;;
  esac
}

label_of() {
  case $1 in
    explicit)    echo "1  explicit WHERE tenant_id (baseline)" ;;
    explicit1)   echo "1b explicit WHERE, tenant 1 only" ;;
    policy)      echo "2  hand-written RLS, current_setting" ;;
    tenantguard) echo "3  tenantguard protect() + set_tenant" ;;
    tgsub)       echo "3b tenantguard, (SELECT current_tenant())" ;;
    bound)       echo "4  tenantguard, bound role (tenant 1)" ;;
    entry)       echo "3e set_tenant + explicit WHERE, no RLS" ;;
    control)     echo "1c control: 1 on another copy (A/A)" ;;
  esac
}

# The like-for-like baseline: the bound role always works in tenant 1.
baseline_of() {
  case $1 in
    bound|explicit1) echo explicit1 ;;
    *)               echo explicit ;;
  esac
}

mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] && chmod a+rwx "$OUT"
RAW=$OUT/raw.tsv
MIX=$OUT/interleaved.tsv
: >"$RAW"
: >"$MIX"

for v in "${VARIANTS[@]}" "${MIX_ADMIN[@]}" "${MIX_BOUND[@]}"; do
  role_of "$v" >/dev/null
  for w in "${WORKLOADS[@]}"; do
    [ -f "$BENCHDIR/pgbench/${v}_${w}.sql" ] || { echo "missing $BENCHDIR/pgbench/${v}_${w}.sql" >&2; exit 1; }
  done
done

rev='?'
if rev=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD -- src sql 2>/dev/null || rev+=" + uncommitted changes in src/ or sql/"
fi
echo "== tenantguard isolation benchmark: ${#VARIANTS[@]} variants x ${#WORKLOADS[@]} workloads," \
     "$CLIENTS clients, -M prepared, plan_cache_mode=$PLAN_CACHE_MODE"
echo "   A: $ROUNDS alternating rounds x ${DURATION}s; B: $MIX_ROUNDS interleaved rounds x ${MIX_DURATION}s"
echo "   $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GB RAM," \
     "$("$PGBIN/postgres" --version), tenantguard $rev, load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== starting a throwaway cluster"
# Automatic sealing of the audit ledger is off during the runs: a sealing pass
# over the events written by set_tenant() would land in whichever run happens
# to be going on. Its cost is measured separately at the end.
tg_cluster_start "shared_buffers = $SHARED_BUFFERS" "autovacuum = off" "max_connections = 20" \
  "tenantguard.audit_seal_interval = 0" "fsync = ${BENCH_FSYNC:-off}" ${BENCH_CONF:+"$BENCH_CONF"}
echo "   $TG_CLUSTER_DIR, port $PGPORT (removed on exit)"

echo "== loading 100 tenants x 10,000 rows into 6 copies of the table"
t0=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$BENCHDIR/setup.sql" >"$OUT/setup.log"
psql -X -q -v ON_ERROR_STOP=1 -d postgres \
  -c "ALTER DATABASE $DB SET plan_cache_mode = '$PLAN_CACHE_MODE'" >/dev/null
echo "   done in $(( $(date +%s) - t0 ))s"

psql -X -d "$DB" -f "$BENCHDIR/explain.sql" >"$OUT/plans.txt" 2>&1 \
  || { cat "$OUT/plans.txt" >&2; echo "explain.sql failed" >&2; exit 1; }
echo "   plans of every variant: $OUT/plans.txt"

# CPU time (clock ticks) of the postmaster's exited children: every backend
# adds its user+system time here when the postmaster reaps it. The delta over
# one pgbench run is the server CPU those transactions cost; it moves much
# less than TPS when other processes compete for the cores.
CLK_TCK=$(getconf CLK_TCK)
PM_PID=$(head -1 "$TG_CLUSTER_DIR/data/postmaster.pid")
children_ticks() { sed 's/^.*) //' "/proc/$PM_PID/stat" | awk '{print $14 + $15}'; }
# A backend's CPU reaches the postmaster's counters only once the postmaster
# has reaped it, so before reading them wait until every child that is not a
# long-lived auxiliary process (the set taken after set-up) is gone.
children() {
  local f line rest
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue   # the process may be gone
    rest=${line##*) }                      # after the command name: state ppid ...
    rest=${rest#* }
    if [ "${rest%% *}" = "$PM_PID" ]; then echo "${line%% *}"; fi
  done | sort -n | tr '\n' ' '
}
wait_quiet() {
  local i extra
  for i in $(seq 1 200); do
    extra=$(comm -13 <(tr ' ' '\n' <<<"$BASE_CHILDREN" | sort) <(children | tr ' ' '\n' | sort) | grep -c . || true)
    [ "$extra" -eq 0 ] && return 0
    sleep 0.05
  done
  echo "   (note: postmaster children changed; re-reading the set of long-lived ones)" >&2
  BASE_CHILDREN=$(children)
}

# Audit events written so far (set_tenant() records one per call).
events_seq() { psql -X -A -t -d "$DB" -c "SELECT last_value FROM tenantguard_audit.events_id_seq"; }

check_pgbench_log() { # log what
  if grep -qE 'number of failed transactions: [1-9]' "$1"; then
    echo "pgbench reported failed transactions for $2:" >&2; cat "$1" >&2; return 1
  fi
}

# A. One pgbench run of one variant; prints
#    "TPS server-CPU-us-per-transaction audit-events-per-transaction".
run_pgbench() {
  local v=$1 w=$2 secs=$3 log t0 t1 n e0 e1 tps
  log=$OUT/last_pgbench.log
  e0=$(events_seq)
  wait_quiet
  t0=$(children_ticks)
  if ! "$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$secs" \
        -U "$(role_of "$v")" -f "$BENCHDIR/pgbench/${v}_${w}.sql" "$DB" >"$log" 2>&1; then
    echo "pgbench failed for $v/$w:" >&2; cat "$log" >&2; return 1
  fi
  wait_quiet
  t1=$(children_ticks)
  e1=$(events_seq)
  check_pgbench_log "$log" "$v/$w"
  n=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$log")
  tps=$(sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)$/\1/p' "$log")
  awk -v tps="$tps" -v n="$n" -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v e=$((e1 - e0)) \
    'BEGIN {printf "%s %.2f %.3f\n", tps, (n > 0) ? d * 1e6 / hz / n : 0, (n > 0) ? e / n : 0}'
}

# B. One pgbench run of several variants' scripts (equal weights); prints
#    "variant latency-ms" per script.
run_mix() { # round workload role variants...
  local r=$1 w=$2 role=$3 log v args=()
  shift 3
  for v in "$@"; do args+=(-f "$BENCHDIR/pgbench/${v}_${w}.sql"); done
  log=$OUT/last_pgbench.log
  if ! "$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$MIX_DURATION" \
        -U "$role" "${args[@]}" "$DB" >"$log" 2>&1; then
    echo "pgbench failed for the interleaved run of $*:" >&2; cat "$log" >&2; return 1
  fi
  check_pgbench_log "$log" "the interleaved run of $*"
  awk '/^SQL script [0-9]+:/ {n = split($4, p, "/"); s = p[n]; sub(/_[a-z]+\.sql$/, "", s)}
       /^ - latency average = / && s != "" {print s, $5; s = ""}' "$log" \
    | while read -r v lat; do printf '%s\t%s\t%s\t%s\n' "$r" "$v" "$w" "$lat"; done
}

sleep 1
BASE_CHILDREN=$(children)

if [ "$WARMUP" -gt 0 ]; then
  echo "== warm-up (${WARMUP}s per script, not counted)"
  for w in "${WORKLOADS[@]}"; do for v in "${VARIANTS[@]}"; do
    run_pgbench "$v" "$w" "$WARMUP" >/dev/null
  done; done
fi

echo "== A: alternating runs (round: variant/workload TPS ...)"
nv=${#VARIANTS[@]}
for r in $(seq 1 "$ROUNDS"); do
  line="   round $r:"
  for w in "${WORKLOADS[@]}"; do
    for i in $(seq 0 $((nv - 1))); do
      v=${VARIANTS[$(( (i + r - 1) % nv ))]}
      read -r tps cpu ev < <(run_pgbench "$v" "$w" "$DURATION")
      [ -n "${tps:-}" ] || exit 1
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$v" "$w" "$tps" "$cpu" "$ev" >>"$RAW"
      line+=" $v/$w=$(printf '%.0f' "$tps")"
    done
  done
  line+=" (load $(cut -d' ' -f1 /proc/loadavg))"
  echo "$line" | fold -s -w 160 | sed '2,$s/^/      /'
done

# Phase A never reads the copies only B uses; load every copy again.
prewarm() {
  psql -X -q -A -t -d "$DB" -v ON_ERROR_STOP=1 -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bench' AND c.relkind IN ('r', 'i')" >/dev/null
}

if [ "$MIX_ROUNDS" -gt 0 ]; then
  prewarm
  echo "== B: interleaved runs (round: variant/workload mean latency in ms ...)"
  for r in $(seq 1 "$MIX_ROUNDS"); do
    line="   round $r:"
    for w in "${WORKLOADS[@]}"; do
      out=$(run_mix "$r" "$w" bench_admin "${MIX_ADMIN[@]}" || exit 1
            run_mix "$r" "$w" bench_bound "${MIX_BOUND[@]}" || exit 1)
      [ -n "$out" ] || exit 1
      echo "$out" >>"$MIX"
      line+=$(awk -F'\t' '{printf " %s/%s=%s", $2, $3, $4}' <<<"$out")
    done
    line+=" (load $(cut -d' ' -f1 /proc/loadavg))"
    echo "$line" | fold -s -w 160 | sed '2,$s/^/      /'
  done
fi

echo "== C: where the time goes, inside one backend (test/bench/micro.sql)"
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -f "$BENCHDIR/micro.sql" >"$OUT/micro.txt" 2>&1 \
  || { cat "$OUT/micro.txt" >&2; echo "micro.sql failed" >&2; exit 1; }

# The deferred cost of the audit events: one sealing pass over all of them.
seal_line=$(psql -X -A -t -F ' ' -d "$DB" -v ON_ERROR_STOP=1 <<'SQL'
SELECT count(*) FROM tenantguard_audit.events \gset
SELECT clock_timestamp() AS t0 \gset
SELECT tenantguard_audit.seal() AS sealed \gset
SELECT :'sealed', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2),
       round((extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1e6 / greatest(:'sealed'::bigint, 1))::numeric, 1),
       :'count';
SQL
) || seal_line="? ? ? ?"

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# raw.tsv: col 4 = TPS, col 5 = server CPU us per transaction, col 6 = audit events per transaction
col_of() { awk -F'\t' -v v="$1" -v w="$2" -v c="$3" '$2==v && $3==w {print $c}' "$RAW"; }
med() { col_of "$1" "$2" "$3" | median; }
# interleaved.tsv: col 4 = mean latency (ms)
lat() { awk -F'\t' -v v="$1" -v w="$2" '$2==v && $3==w {print $4}' "$MIX" | median; }
# Per-round TPS ratios a/b (both runs of a pair come from the same round).
paired() {
  awk -F'\t' -v a="$1" -v b="$2" -v w="$3" '
    $3==w && $2==a {x[$1]=$4} $3==w && $2==b {y[$1]=$4}
    END {for (r in x) if ((r in y) && y[r] > 0) print x[r]/y[r]}' "$RAW"
}
# Per-round latency ratios b/a in the interleaved runs (TPS direction).
mixratio() {
  awk -F'\t' -v a="$1" -v b="$2" -v w="$3" '
    $3==w && $2==a {x[$1]=$4} $3==w && $2==b {y[$1]=$4}
    END {for (r in x) if ((r in y) && x[r] > 0) print y[r]/x[r]}' "$MIX" | median
}
div() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || b <= 0) print "n/a"; else printf "%.3f", a / b}'; }
fmt3() { awk -v x="$1" 'BEGIN {if (x == "nan" || x == "") print "n/a"; else printf "%.3f", x}'; }
has() { local x; for x in "${VARIANTS[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
in_mix() { local x; for x in "${MIX_ADMIN[@]}" "${MIX_BOUND[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
mixed_done() { [ "$MIX_ROUNDS" -gt 0 ]; }

SUMMARY=$OUT/summary.txt
{
  echo
  echo "== results (ratios are in the TPS direction: 1.000 = as fast as the baseline, below 1 = slower)"
  echo "   A  TPS     median TPS of $ROUNDS alternating ${DURATION}s runs; ratio = median / median of the baseline;"
  echo "              paired = median of the per-round ratios"
  echo "   A  CPU     server CPU (backends, user+system) per transaction, median; ratio = baseline / variant"
  echo "   B  interl. mean latency in $MIX_ROUNDS interleaved ${MIX_DURATION}s runs, median; ratio = baseline / variant"
  printf '%-42s %-9s %-9s %7s %6s %6s %7s %6s %7s %6s\n' \
    variant workload baseline "A TPS" ratio paired "CPU us" ratio "B ms" ratio
  printf '%s\n' "$(printf '%.0s-' $(seq 1 119))"
  for w in "${WORKLOADS[@]}"; do
    for v in "${VARIANTS[@]}" control entry; do
      b=$(baseline_of "$v")
      if [ "$v" = entry ] || [ "$v" = control ]; then
        mixed_done || continue
        m=nan; tr=n/a; pr=n/a; c=nan; cr=n/a
      else
        m=$(med "$v" "$w" 4); c=$(med "$v" "$w" 5)
        if has "$b"; then
          tr=$(div "$m" "$(med "$b" "$w" 4)")
          pr=$(paired "$v" "$b" "$w" | median); pr=$(fmt3 "$pr")
          cr=$(div "$(med "$b" "$w" 5)" "$c")
        else
          tr=n/a; pr=n/a; cr=n/a
        fi
      fi
      if mixed_done && in_mix "$v"; then
        l=$(lat "$v" "$w"); lr=$(fmt3 "$(mixratio "$v" "$b" "$w")")
      else
        l=nan; lr=n/a
      fi
      awk -v lab="$(label_of "$v")" -v w="$w" -v b="$b" -v m="$m" -v tr="$tr" -v pr="$pr" \
          -v c="$c" -v cr="$cr" -v l="$l" -v lr="$lr" 'BEGIN {
        printf "%-42s %-9s %-9s %7s %6s %6s %7s %6s %7s %6s\n", lab, w, b,
          (m == "nan") ? "-" : sprintf("%.0f", m), tr, pr,
          (c == "nan") ? "-" : sprintf("%.1f", c), cr,
          (l == "nan") ? "-" : sprintf("%.3f", l), lr }'
    done
  done

  echo
  echo "== targets (reported, not asserted): ratios by measure A TPS / A CPU / B interleaved"
  target() { # label a b workload min
    local a=$2 b=$3 w=$4 min=$5 tr cr lr
    [[ " ${WORKLOADS[*]} " == *" $w "* ]] || return 0
    if has "$a" && has "$b"; then
      tr=$(div "$(med "$a" "$w" 4)" "$(med "$b" "$w" 4)")
      cr=$(div "$(med "$b" "$w" 5)" "$(med "$a" "$w" 5)")
    else
      tr=n/a; cr=n/a
    fi
    lr=n/a
    if mixed_done && in_mix "$a" && in_mix "$b"; then lr=$(fmt3 "$(mixratio "$a" "$b" "$w")"); fi
    printf '   %-40s %-9s %-22s %6s %6s %6s' "$1" "$w" "$a/$b" "$tr" "$cr" "$lr"
    if [ "$min" = - ]; then echo; return 0; fi
    awk -v t="$tr" -v c="$cr" -v l="$lr" -v m="$min" 'function v(x) {return (x == "n/a") ? "-" : (x >= m) ? "met" : "MISSED"}
      BEGIN {printf "   >= %s? %s / %s / %s\n", m, v(t), v(c), v(l)}'
  }
  target "protected vs explicit"                   tenantguard explicit    lookup    0.97
  target "protected vs explicit"                   tenantguard explicit    aggregate 0.95
  target "protected vs hand-written policy"        tenantguard policy      lookup    1.00
  target "protected vs hand-written policy"        tenantguard policy      aggregate 1.00
  target "bound role vs explicit (tenant 1)"       bound       explicit1   lookup    0.97
  target "bound role vs explicit (tenant 1)"       bound       explicit1   aggregate 0.95
  target "set_tenant()+lookup vs set_config()+lookup" tenantguard policy    lookup    0.95
  echo
  echo "== other comparisons (no target)"
  target "control: two identical variants (A/A)"  control     explicit    lookup    -
  target "control: two identical variants (A/A)"  control     explicit    aggregate -
  target "(SELECT current_tenant()) vs plain call"  tgsub      tenantguard lookup    -
  target "(SELECT current_tenant()) vs plain call"  tgsub      tenantguard aggregate -
  target "hand-written policy vs explicit"         policy      explicit    lookup    -
  target "hand-written policy vs explicit"         policy      explicit    aggregate -
  target "entering with set_tenant(), no RLS"      entry       explicit    lookup    -
  target "entering with set_tenant(), no RLS"      entry       explicit    aggregate -
  target "tenantguard policy alone (3 vs 3e)"      tenantguard entry       lookup    -
  target "tenantguard policy alone (3 vs 3e)"      tenantguard entry       aggregate -
  echo
  read -r sealed seal_s seal_us events_total <<<"$seal_line"
  echo "== audit: set_tenant() writes one event per call (events per transaction in A, median:$(
    for v in "${VARIANTS[@]}"; do printf ' %s=%s' "$v" "$(med "$v" "${WORKLOADS[0]}" 6)"; done))"
  echo "   $events_total events in the ledger after the runs; sealing them afterwards took ${seal_s}s" \
       "for $sealed events (${seal_us} us per event, not included above)"
  echo
  cat "$OUT/micro.txt"
  echo
  echo "raw: $RAW (round, variant, workload, TPS, CPU us/txn, events/txn), $MIX (round, variant, workload, latency ms)"
  echo "plans: $OUT/plans.txt; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$SUMMARY"
