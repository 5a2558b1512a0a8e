#!/usr/bin/env bash
# tenantguard audit benchmark: what tenantguard.audit_table() costs, against
# the same table unaudited, a PL/pgSQL jsonb audit trigger, and pgaudit object
# logging, in one run on a throwaway cluster (see docs/performance-secrets-audit.md).
#
#   1  single-row INSERT and UPDATE TPS, pgbench -M prepared, AUDIT_CLIENTS
#      clients of a login role bound to tenant A; the variants alternate
#      round by round; target: audited >= 0.80x unaudited
#   2  bulk INSERT ... SELECT of AUDIT_BULK_ROWS rows in one statement: the
#      time each trigger adds per row over the unaudited table; target:
#      tenantguard adds at most half of what the PL/pgSQL trigger adds. For
#      reference the PL/pgSQL trigger also runs into a table carrying the
#      same five btree indexes as tenantguard_audit.events (plpgsqlix)
#   3  pgaudit object logging (pgaudit.role = 'auditor', INSERT/UPDATE granted
#      to auditor, one server log line per statement) on 1 and 2
#   4  scaling: the audited single-row INSERT with 2 clients on 2 tenants (two
#      bound roles, two pgbench processes) vs 1 client; the unaudited table is
#      run the same way as a reference; target: >= 1.6x
#   5  tenantguard_audit.seal() and verify() over every event the run produced
# Tables, roles and triggers: test/bench/audit/setup.sql; pgbench scripts:
# test/bench/audit/{insert,update}_<variant>.sql.
# CPU columns: server CPU per transaction (user+system of every backend that
# exited during the run, read from the postmaster's children times) and, for
# the bulk insert, the backend's own CPU time (/proc/self/schedstat); unlike
# TPS and wall time they hardly move when other processes share the cores.
#
# Environment:
#   AUDIT_DURATION     seconds per pgbench run               (default 5)
#   AUDIT_ROUNDS       rounds of pgbench runs (parts 1, 3, 4) (default 3)
#   AUDIT_BULK_ROUNDS  rounds of the bulk insert (part 2)     (default 5)
#   AUDIT_BULK_ROWS    rows per bulk insert                   (default 100000)
#   AUDIT_CLIENTS      pgbench clients in part 1              (default 2)
#   AUDIT_ITEMS        pre-loaded rows per tenant and table   (default 10000)
#   AUDIT_WARMUP       untimed seconds per pgbench script     (default 2)
#   AUDIT_VARIANTS     subset of "plain tg plpgsql pgaudit"   (plain and tg are always run)
#   AUDIT_OUT          result directory            (default test/results/bench-audit)
#   AUDIT_PARTS        all (default), or ledger: only part 5, over about
#                      AUDIT_LEDGER_EVENTS events (default 1000000) written by
#                      bulk INSERTs of AUDIT_BULK_ROWS rows (tenants A and B
#                      in turn) and an UPDATE of a quarter of them (old and
#                      new row images), about a minute
# Defaults take about 4 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${AUDIT_DURATION:-5}
ROUNDS=${AUDIT_ROUNDS:-3}
BULK_ROUNDS=${AUDIT_BULK_ROUNDS:-5}
BULK_ROWS=${AUDIT_BULK_ROWS:-100000}
CLIENTS=${AUDIT_CLIENTS:-2}
ITEMS=${AUDIT_ITEMS:-10000}
WARMUP=${AUDIT_WARMUP:-2}
OUT=${AUDIT_OUT:-test/results/bench-audit}
PARTS=${AUDIT_PARTS:-all}
LEDGER_EVENTS=${AUDIT_LEDGER_EVENTS:-1000000}
case $PARTS in
  all|ledger) ;;
  *) echo "AUDIT_PARTS: all or ledger, not $PARTS" >&2; exit 2 ;;
esac
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGBENCH=$PGBIN/pgbench
DIR=test/bench/audit
DB=tgaudit
VARIANTS=(plain tg)
for v in ${AUDIT_VARIANTS:-plain tg plpgsql pgaudit}; do
  case $v in
    plain|tg) ;;
    plpgsql|pgaudit) VARIANTS+=("$v") ;;
    *) echo "AUDIT_VARIANTS: unknown variant $v" >&2; exit 2 ;;
  esac
done
WORKLOADS=(insert update)
# the bulk insert also runs the PL/pgSQL trigger into a table indexed like the events table
BULK_VARIANTS=("${VARIANTS[@]}")
printf '%s\n' "${VARIANTS[@]}" | grep -qx plpgsql && BULK_VARIANTS+=(plpgsqlix)

source test/cluster.sh
cleanup() { tg_cluster_stop; [ -n "${WORK:-}" ] && rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
# Working files of this run only (concurrent runs must not mix their rows);
# raw.tsv and summary.txt are copied to $OUT at the end.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-audit-XXXXXX")
RAW=$WORK/raw.tsv         # part, round, variant, workload/clients, TPS-or-rows, server CPU us per txn-or-row, wall us per row, pgbench CPU us per txn
: >"$RAW"

label_of() {
  case $1 in
    plain)   echo "unaudited (baseline)" ;;
    tg)      echo "tenantguard audit_table()" ;;
    plpgsql) echo "PL/pgSQL to_jsonb trigger" ;;
    plpgsqlix) echo "PL/pgSQL, events' 5 indexes" ;;
    pgaudit) echo "pgaudit object logging" ;;
  esac
}

rev='?'
if rev=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD -- src sql 2>/dev/null || rev+=" + uncommitted changes in src/ or sql/"
fi
echo "== tenantguard audit benchmark: variants ${VARIANTS[*]}; pgbench $ROUNDS rounds x ${DURATION}s," \
     "$CLIENTS clients, -M prepared; bulk insert $BULK_ROUNDS rounds x $BULK_ROWS rows"
echo "   $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $("$PGBIN/postgres" --version)," \
     "pgaudit $(dpkg-query -W -f='${Version}' postgresql-15-pgaudit 2>/dev/null || echo '?'), tenantguard $rev," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== starting a throwaway cluster (tenantguard and pgaudit preloaded)"
# Every variant runs on this one cluster, so pgaudit's per-statement hooks are
# present in all of them; automatic sealing is off (timed explicitly in part 5).
tg_cluster_start "shared_preload_libraries = 'tenantguard,pgaudit'" \
  "pgaudit.role = 'auditor'" "pgaudit.log_parameter = off" \
  "shared_buffers = 512MB" "autovacuum = off" "max_wal_size = 8GB" "checkpoint_timeout = 30min" \
  "max_connections = 20" "tenantguard.audit_seal_interval = 0"
echo "   $TG_CLUSTER_DIR, port $PGPORT (removed on exit)"
SERVER_LOG=$TG_CLUSTER_DIR/server.log

echo "== loading 2 tenants x $ITEMS rows into 4 copies of the items table"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v rows="$ITEMS" -f "$DIR/setup.sql" >"$WORK/setup.log" 2>&1 \
  || { cat "$WORK/setup.log" >&2; exit 1; }

CLK_TCK=$(getconf CLK_TCK)
PM_PID=$(head -1 "$TG_CLUSTER_DIR/data/postmaster.pid")
children_ticks() { sed 's/^.*) //' "/proc/$PM_PID/stat" | awk '{print $14 + $15}'; }
my_children_ticks() { sed 's/^.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'; }
wait_backends_gone() {
  local i
  for i in $(seq 1 100); do
    pgrep -P "$PM_PID" -f '^postgres: bench_' >/dev/null || return 0
    sleep 0.05
  done
  echo "warning: pgbench backends still running" >&2
}
tps_of() { sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)$/\1/p' "$1"; }
n_of() { sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$1"; }
check_log() {
  if grep -qE 'number of failed transactions: [1-9]' "$1" || [ -z "$(tps_of "$1")" ]; then
    echo "pgbench failed:" >&2; cat "$1" >&2; return 1
  fi
}

# pgbench ROLE... : one pgbench process per role (1 client each) when several
# roles are given, else CLIENTS clients of the one role. Sets TPS (sum), CPU
# (server us/txn), BCPU (pgbench us/txn).
run_pgbench() {
  local script=$1 secs=$2; shift 2
  local roles=("$@") t0 t1 b0 b1 n=0 nn i log
  local clients=$CLIENTS
  [ ${#roles[@]} -gt 1 ] && clients=1
  [ -n "${FORCE_CLIENTS:-}" ] && clients=$FORCE_CLIENTS
  wait_backends_gone
  t0=$(children_ticks); b0=$(my_children_ticks)
  for i in "${!roles[@]}"; do
    "$PGBENCH" -n -M prepared -c "$clients" -j "$clients" -T "$secs" -D rows="$ITEMS" \
      -U "${roles[$i]}" -f "$script" "$DB" >"$WORK/pgbench.$i.log" 2>&1 &
  done
  wait
  wait_backends_gone
  t1=$(children_ticks); b1=$(my_children_ticks)
  TPS=0
  for i in "${!roles[@]}"; do
    log=$WORK/pgbench.$i.log
    check_log "$log"
    TPS=$(awk -v a="$TPS" -v b="$(tps_of "$log")" 'BEGIN {print a + b}')
    nn=$(n_of "$log")
    n=$((n + ${nn:-0}))
  done
  CPU=$(awk -v n="$n" -v d=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", (n > 0) ? d * 1e6 / hz / n : 0}')
  BCPU=$(awk -v n="$n" -v d=$((b1 - b0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", (n > 0) ? d * 1e6 / hz / n : 0}')
}

if [ "$PARTS" = ledger ]; then
  echo "== ledger only: writing about $LEDGER_EVENTS events (bulk INSERTs of $BULK_ROWS rows, then an UPDATE of a quarter)"
  # each INSERT writes BULK_ROWS events, the UPDATE a quarter as many again
  k=$(( (LEDGER_EVENTS * 4 / 5 + BULK_ROWS / 2) / BULK_ROWS )); [ "$k" -ge 1 ] || k=1
  for i in $(seq 0 $((k - 1))); do
    psql -X -q -v ON_ERROR_STOP=1 -U "bench_t$((i % 2 + 1))" -d "$DB" -c "$(
      echo "INSERT INTO bench.bulk_tg (sku, qty, price, note)" \
           "SELECT 'sku-' || g, g % 100, (g % 10000) / 100.0, 'bulk row ' || g FROM generate_series(1, $BULK_ROWS) AS g")"
  done
  # the UPDATE's events carry old and new rows; each bound role sees its own tenant's rows
  for r in bench_t1 bench_t2; do
    psql -X -q -v ON_ERROR_STOP=1 -U "$r" -d "$DB" -c "UPDATE bench.bulk_tg SET qty = qty + 1 WHERE id % 4 = 0"
  done
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CHECKPOINT" >/dev/null
else
  if [ "$WARMUP" -gt 0 ]; then
    echo "== warm-up (${WARMUP}s per script, not counted)"
    for w in "${WORKLOADS[@]}"; do for v in "${VARIANTS[@]}"; do
      run_pgbench "$DIR/${w}_$v.sql" "$WARMUP" bench_t1
    done; done
  fi

  # ---------------------------------------------------------------------------
  echo "== 1+3: single-row INSERT/UPDATE, $CLIENTS clients, tenant A (round: variant/workload TPS ...)"
  nv=${#VARIANTS[@]}
  for r in $(seq 1 "$ROUNDS"); do
    line="   round $r:"
    for w in "${WORKLOADS[@]}"; do
      for i in $(seq 0 $((nv - 1))); do
        v=${VARIANTS[$(( (i + r - 1) % nv ))]}
        run_pgbench "$DIR/${w}_$v.sql" "$DURATION" bench_t1
        printf 'tps\t%s\t%s\t%s\t%s\t%s\t\t%s\n' "$r" "$v" "$w" "$TPS" "$CPU" "$BCPU" >>"$RAW"
        line+=" $v/$w=$(printf '%.0f' "$TPS")"
      done
    done
    echo "$line"
  done

  # ---------------------------------------------------------------------------
  echo "== 4: scaling, audited and unaudited single-row INSERT: 1 client vs 2 clients on 2 tenants"
  SCALE=(tg plain)
  for r in $(seq 1 "$ROUNDS"); do
    line="   round $r:"
    for i in 0 1; do
      v=${SCALE[$(( (i + r - 1) % 2 ))]}
      for c in 1 2; do
        if [ "$c" = 1 ]; then
          FORCE_CLIENTS=1 run_pgbench "$DIR/insert_$v.sql" "$DURATION" bench_t1
        else
          FORCE_CLIENTS=1 run_pgbench "$DIR/insert_$v.sql" "$DURATION" bench_t1 bench_t2
        fi
        printf 'scale\t%s\t%s\t%s\t%s\t%s\t\t%s\n' "$r" "$v" "$c" "$TPS" "$CPU" "$BCPU" >>"$RAW"
        line+=" $v/${c}c=$(printf '%.0f' "$TPS")"
      done
    done
    echo "$line"
  done

  # ---------------------------------------------------------------------------
  echo "== 2+3: bulk INSERT ... SELECT of $BULK_ROWS rows (round: variant seconds ...)"
  bulk_sql() { # variant
    echo "INSERT INTO bench.bulk_$1 (sku, qty, price, note)" \
         "SELECT 'sku-' || g, g % 100, (g % 10000) / 100.0, 'bulk row ' || g FROM generate_series(1, $BULK_ROWS) AS g;"
  }
  nb=${#BULK_VARIANTS[@]}
  for r in $(seq 1 "$BULK_ROUNDS"); do
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
      -c "TRUNCATE $(printf 'bench.bulk_%s, ' "${BULK_VARIANTS[@]}" | sed 's/, $//')" -c "CHECKPOINT" >/dev/null
    {
      echo '\set ON_ERROR_STOP on'
      echo '\o /dev/null'
      # warm-up of this session's caches (triggers, events table), not timed
      for v in "${BULK_VARIANTS[@]}"; do
        echo "BEGIN; INSERT INTO bench.bulk_$v (sku, qty, price) VALUES ('warm-up', 0, 0); ROLLBACK;"
      done
      for i in $(seq 0 $((nb - 1))); do
        v=${BULK_VARIANTS[$(( (i + r - 1) % nb ))]}
        echo "SELECT bench.cpu_ns() AS c0, clock_timestamp() AS t0 \\gset"
        bulk_sql "$v"
        echo "SELECT bench.cpu_ns() - :c0 AS cpu_ns, round(extract(epoch FROM clock_timestamp() - :'t0') * 1e9) AS wall_ns \\gset"
        echo "\\echo B $r $v :cpu_ns :wall_ns"
      done
    } >"$WORK/bulk.sql"
    psql -X -q -U bench_t1 -d "$DB" -f "$WORK/bulk.sql" >"$WORK/bulk.log" 2>&1 \
      || { cat "$WORK/bulk.log" >&2; exit 1; }
    awk -v rows="$BULK_ROWS" '$1 == "B" {printf "bulk\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t\n", $2, $3, "bulk", rows, $4 / rows / 1000, $5 / rows / 1000}' \
      "$WORK/bulk.log" >>"$RAW"
    echo "   round $r: $(awk '$1 == "B" {printf "%s=%.2fs ", $3, $5 / 1e9}' "$WORK/bulk.log")"
  done
  if printf '%s\n' "${VARIANTS[@]}" | grep -qx pgaudit; then
    PGAUDIT_LINES=$(grep -c 'AUDIT: OBJECT' "$SERVER_LOG" || true)
    PGAUDIT_BULK_LINES=$(grep -c 'AUDIT: OBJECT.*INSERT INTO bench.bulk_pgaudit' "$SERVER_LOG" || true)
  fi

fi

# ---------------------------------------------------------------------------
echo "== 5: sealing and verifying every event of this run"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -At -F ' ' >"$WORK/ledger.log" 2>&1 <<'EOF' || { cat "$WORK/ledger.log" >&2; exit 1; }
\set ON_ERROR_STOP on
SELECT count(*) AS n_events, pg_total_relation_size('tenantguard_audit.events') AS ev_bytes FROM tenantguard_audit.events \gset
SELECT bench.cpu_ns() AS c0, clock_timestamp() AS t0 \gset
SELECT tenantguard_audit.seal() AS sealed \gset
SELECT bench.cpu_ns() - :c0 AS cpu_ns, round(extract(epoch FROM clock_timestamp() - :'t0') * 1e9) AS wall_ns \gset
\echo L seal :sealed :cpu_ns :wall_ns
SELECT bench.cpu_ns() AS c0, clock_timestamp() AS t0 \gset
SELECT ok, events_checked, blocks_checked FROM tenantguard_audit.verify() \gset
SELECT bench.cpu_ns() - :c0 AS cpu_ns, round(extract(epoch FROM clock_timestamp() - :'t0') * 1e9) AS wall_ns \gset
\echo L verify :events_checked :cpu_ns :wall_ns :ok :blocks_checked
SELECT bench.cpu_ns() AS c0, clock_timestamp() AS t0 \gset
SELECT ok, events_checked, blocks_checked FROM tenantguard_audit.verify(tenantguard.tenant_id('bench-b')) \gset
SELECT bench.cpu_ns() - :c0 AS cpu_ns, round(extract(epoch FROM clock_timestamp() - :'t0') * 1e9) AS wall_ns \gset
\echo L verify_tenant :events_checked :cpu_ns :wall_ns :ok :blocks_checked
\echo L total :n_events :ev_bytes
EOF
cat "$WORK/ledger.log" | sed -n 's/^L /   /p'

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -F'\t' -v p="$1" -v v="$2" -v w="$3" -v c="$4" '$1==p && $3==v && $4==w {print $c}' "$RAW"; }
med() { col "$@" | median; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}'; }
verdict() { awk -v x="$1" -v t="$2" -v op="${3:->=}" 'BEGIN {ok = (op == ">=") ? (x >= t) : (x <= t); print ok ? "met" : "MISSED"}'; }
# per-round ratios a/b of TPS in the same round
paired() {
  awk -F'\t' -v p="$1" -v a="$2" -v b="$3" -v w="$4" '
    $1==p && $4==w && $3==a {x[$2]=$5} $1==p && $4==w && $3==b {y[$2]=$5}
    END {for (r in x) if ((r in y) && y[r] > 0) print x[r]/y[r]}' "$RAW" | median
}
has() { local x; for x in "${VARIANTS[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }

SUMMARY=$WORK/summary.txt
cp "$RAW" "$OUT/raw.tsv"
{
  if [ "$PARTS" = all ]; then
    echo
    echo "== 1+3: single-row statements, pgbench -M prepared, $CLIENTS clients, tenant A; median of $ROUNDS alternating ${DURATION}s runs"
    echo "   ratio = TPS / unaudited TPS (paired: median of per-round ratios); CPU = server CPU us per transaction; CPU ratio = unaudited CPU / CPU"
    printf '   %-28s %-7s %9s %15s %7s %7s %8s %7s %9s\n' variant stmt TPS "min..max" ratio paired "CPU us" "ratio" "pgbench"
    for w in "${WORKLOADS[@]}"; do
      for v in "${VARIANTS[@]}"; do
        m=$(med tps "$v" "$w" 5); c=$(med tps "$v" "$w" 6); bc=$(med tps "$v" "$w" 8)
        lo=$(col tps "$v" "$w" 5 | sort -g | head -1); hi=$(col tps "$v" "$w" 5 | sort -g | tail -1)
        printf '   %-28s %-7s %9.0f %7.0f..%-7.0f %7s %7s %8.1f %7s %9.1f\n' "$(label_of "$v")" "$w" "$m" "$lo" "$hi" \
          "$(div "$m" "$(med tps plain "$w" 5)")" "$(paired tps "$v" plain "$w" | awk '{printf "%.3f", $1}')" \
          "$c" "$(div "$(med tps plain "$w" 6)" "$c")" "$bc"
      done
    done

    echo
    echo "== 2+3: bulk INSERT ... SELECT of $BULK_ROWS rows into a protected table, tenant A; median of $BULK_ROUNDS alternating runs"
    echo "   us/row of the whole statement (backend CPU and wall); added = variant - unaudited"
    printf '   %-28s %10s %10s %12s %12s\n' variant "CPU us/row" "wall us/row" "added (CPU)" "added (wall)"
    bc0=$(med bulk plain bulk 6); bw0=$(med bulk plain bulk 7)
    for v in "${BULK_VARIANTS[@]}"; do
      c=$(med bulk "$v" bulk 6); w=$(med bulk "$v" bulk 7)
      printf '   %-28s %10.2f %10.2f %12.2f %12.2f\n' "$(label_of "$v")" "$c" "$w" \
        "$(awk -v a="$c" -v b="$bc0" 'BEGIN {print a - b}')" "$(awk -v a="$w" -v b="$bw0" 'BEGIN {print a - b}')"
    done
    [ -n "${PGAUDIT_LINES:-}" ] && echo "   pgaudit wrote $PGAUDIT_LINES object-audit lines to the server log in the whole run," \
      "$PGAUDIT_BULK_LINES of them for the $BULK_ROUNDS bulk inserts of $BULK_ROWS rows (one line per statement, no row values)"

    echo
    echo "== 4: scaling, single-row INSERT, one bound role per client; median of $ROUNDS alternating ${DURATION}s runs"
    echo "   2 clients = two pgbench processes (1 client each) on tenants A and B at once; TPS summed"
    printf '   %-28s %9s %9s %7s %9s %9s %11s %11s\n' table "1 client" "2 clients" ratio "CPU us 1c" "CPU us 2c" "pgbench 1c" "pgbench 2c"
    for v in "${SCALE[@]}"; do
      t1=$(med scale "$v" 1 5); t2=$(med scale "$v" 2 5)
      printf '   %-28s %9.0f %9.0f %7s %9.1f %9.1f %11.1f %11.1f\n' "$(label_of "$v")" "$t1" "$t2" "$(div "$t2" "$t1")" \
        "$(med scale "$v" 1 6)" "$(med scale "$v" 2 6)" "$(med scale "$v" 1 8)" "$(med scale "$v" 2 8)"
    done
    echo "   (CPU us = server CPU per transaction; pgbench = the pgbench processes' own CPU per transaction;"
    echo "    $(nproc) CPUs in all: 2 clients cannot exceed 1e6 x $(nproc) / (server + pgbench CPU per txn) TPS)"

  fi
  echo
  echo "== 5: ledger"
  awk '$1 == "L" && $2 == "total" {printf "   %d events in tenantguard_audit.events (%.0f MB with indexes)\n", $3, $4 / 1048576}' "$WORK/ledger.log"
  awk '$1 == "L" && $2 != "total" {
         printf "   %-38s %9d events  CPU %7.2fs  wall %7.2fs  %9.0f events/s (CPU)  %9.0f events/s (wall)%s\n",
           ($2 == "seal" ? "tenantguard_audit.seal()" : ($2 == "verify" ? "tenantguard_audit.verify()" : "tenantguard_audit.verify(tenant B)")),
           $3, $4 / 1e9, $5 / 1e9, ($4 > 0) ? $3 / ($4 / 1e9) : 0, ($5 > 0) ? $3 / ($5 / 1e9) : 0,
           ($2 == "seal") ? "" : sprintf("  ok=%s, %s blocks", $6, $7) }' "$WORK/ledger.log"
  echo "   (verify(tenant) reads and hashes every event, and counts only the tenant's)"

  echo
  echo "== targets (reported, not asserted)"
  if [ "$PARTS" = all ]; then
    for w in "${WORKLOADS[@]}"; do
      tr=$(div "$(med tps tg "$w" 5)" "$(med tps plain "$w" 5)"); cr=$(div "$(med tps plain "$w" 6)" "$(med tps tg "$w" 6)")
      printf '   %-58s TPS %s %-6s  CPU %s %s\n' "$w: tenantguard / unaudited >= 0.80" "$tr" "$(verdict "$tr" 0.80)" "$cr" "$(verdict "$cr" 0.80)"
    done
    if has plpgsql; then
      for k in 6 7; do
        a=$(awk -v a="$(med bulk tg bulk $k)" -v b="$(med bulk plain bulk $k)" 'BEGIN {print a - b}')
        p=$(awk -v a="$(med bulk plpgsql bulk $k)" -v b="$(med bulk plain bulk $k)" 'BEGIN {print a - b}')
        x=$(div "$a" "$p")
        printf '   %-58s %s  %s\n' "bulk: tenantguard added / PL/pgSQL added <= 0.5 ($([ $k = 6 ] && echo CPU || echo wall))" \
          "$(printf '%.2f / %.2f us = %s' "$a" "$p" "$x")" "$(verdict "$x" 0.5 '<=')"
      done
      a=$(awk -v a="$(med bulk tg bulk 6)" -v b="$(med bulk plain bulk 6)" 'BEGIN {print a - b}')
      p=$(awk -v a="$(med bulk plpgsqlix bulk 6)" -v b="$(med bulk plain bulk 6)" 'BEGIN {print a - b}')
      printf '   %-58s %s  (no target)\n' "bulk: tenantguard added / PL/pgSQL into 5 indexes added (CPU)" \
        "$(printf '%.2f / %.2f us = %s' "$a" "$p" "$(div "$a" "$p")")"
    fi
  fi
  for l in seal verify; do
    x=$(awk -v l=$l '$1 == "L" && $2 == l && $4 > 0 {printf "%.0f", $3 / ($4 / 1e9)}' "$WORK/ledger.log")
    printf '   %-58s %s %s\n' "ledger: $l() events/s (CPU) >= 200000" "$x" "$(verdict "$x" 200000)"
  done
  if [ "$PARTS" = all ]; then
    x=$(div "$(med scale tg 2 5)" "$(med scale tg 1 5)")
    printf '   %-58s %s %s   (unaudited: %s)\n' "scaling: tenantguard 2 clients / 1 client >= 1.6" "$x" "$(verdict "$x" 1.6)" \
      "$(div "$(med scale plain 2 5)" "$(med scale plain 1 5)")"
  fi
  echo
  echo "raw runs: $OUT/raw.tsv (part, round, variant, workload or clients, TPS or rows, server CPU us per txn or per row, wall us per row, pgbench CPU us per txn)"
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$SUMMARY"
cp "$SUMMARY" "$OUT/summary.txt"
