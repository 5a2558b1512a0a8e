#!/usr/bin/env bash
# tenantguard secrets benchmark: seal()/reveal() against pgcrypto and a plain
# scan, in one run, on a throwaway cluster.
#
# For each value size (100 B and 1 KiB, 100,000 rows each) one backend of a
# non-superuser administrator (set_tenant() for the session) times:
#   copy       INSERT INTO dst SELECT i, v FROM src                 (insert baseline)
#   seal       INSERT INTO dst SELECT i, tenantguard.seal(v) FROM src
#   pgp_enc    INSERT ... pgp_sym_encrypt(v, 'pw')                  (pgcrypto defaults)
#   pgpf_enc   INSERT ... pgp_sym_encrypt(v, 'pw', 's2k-mode=1')   (pgcrypto, no S2K iterations)
#   seal_only  SELECT sum(pg_column_size(tenantguard.seal(v))) FROM src  (no insert)
#   scan       SELECT sum(length(v)) FROM src                       (read baseline)
#   scan_src   SELECT sum(pg_column_size(v)) FROM src               (read baseline of seal_only)
#   scan_tg    SELECT sum(pg_column_size(c)) FROM <sealed table>    (read baseline of reveal)
#   reveal     SELECT sum(length(tenantguard.reveal(c))) FROM <sealed table>
#   reveal_b   SELECT sum(length(tenantguard.reveal_bytea(c))) ...
#   pgp_dec    SELECT sum(length(pgp_sym_decrypt(c, 'pw'))) ...    (pgcrypto defaults)
#   pgpf_dec   the same on the s2k-mode=1 ciphertexts
#   aes_enc    INSERT ... encrypt(convert_to(v, 'UTF8'), <32-byte key>, 'aes')  (pgcrypto raw AES)
#   aes_dec    SELECT sum(length(convert_from(decrypt(c, <key>, 'aes'), 'UTF8'))) ...
#   event      SELECT count(tenantguard_audit._record('secret', 'reveal', ...)) FROM <sealed table>:
#              the cost of one audit event alone (reveals write one per statement
#              and call site now, so this is no longer part of a reveal's per-row cost)
# Reveals are audited (by design). A reveal's own cost is reveal - scan (both
# scan ~the same bytes and count the same characters); the share of one audit
# event in it is estimated as (event - scan_tg) / (reveal - scan).
# (tenantguard._reseal() only works inside reencrypt(), so "open without an
# event" is no longer timed directly.)
#
# pgcrypto with default options derives the key with an iterated S2K (65k-250k
# bytes of SHA-1 per call), so it is ~100x slower than everything else: its
# runs use SECRETS_PGCRYPTO_ROWS rows and every result is per row.
# Each round runs every measurement once per size, in an order that rotates
# from round to round; reported values are medians over the rounds of
# backend CPU time (/proc/self/schedstat) and wall time, per row.
# Between rounds the audit events table is emptied (superuser,
# session_replication_role = replica) so every round starts from the same size.
#
# Environment:
#   SECRETS_ROWS          rows per value size                     (default 100000)
#   SECRETS_PGCRYPTO_ROWS rows for pgcrypto with default options  (default 5000)
#   SECRETS_ROUNDS        rounds                                  (default 5)
#   SECRETS_SIZES         value sizes in bytes, subset of "100 1024" (default both)
#   SECRETS_OUT           result directory          (default test/results/bench-secrets)
# Defaults take about 3-4 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS=${SECRETS_ROWS:-100000}
PGROWS=${SECRETS_PGCRYPTO_ROWS:-5000}
ROUNDS=${SECRETS_ROUNDS:-5}
SIZES=(${SECRETS_SIZES:-100 1024})
OUT=${SECRETS_OUT:-test/results/bench-secrets}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DIR=test/bench/secrets
DB=tgsecrets
[ "$PGROWS" -le "$ROWS" ] || PGROWS=$ROWS
for s in "${SIZES[@]}"; do
  case $s in 100|1024) ;; *) echo "SECRETS_SIZES: only 100 and 1024 are set up" >&2; exit 2 ;; esac
done

source test/cluster.sh
cleanup() { tg_cluster_stop; [ -n "${WORK:-}" ] && rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
# Working files of this run only (concurrent runs must not mix their rows);
# raw.tsv and summary.txt are copied to $OUT at the end.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-secrets-XXXXXX")
RAW=$WORK/raw.tsv
: >"$RAW"

rev='?'
if rev=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD -- src sql 2>/dev/null || rev+=" + uncommitted changes in src/ or sql/"
fi
echo "== tenantguard secrets benchmark: sizes ${SIZES[*]} B x $ROWS rows (pgcrypto defaults: $PGROWS rows), $ROUNDS rounds"
echo "   $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $("$PGBIN/postgres" --version)," \
     "pgcrypto $(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || echo '?'), libsodium $(dpkg-query -W -f='${Version}' 'libsodium23' 2>/dev/null || echo '?')," \
     "tenantguard $rev, load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== starting a throwaway cluster"
# No automatic sealing during the runs: the ledger worker would compete for the CPU.
tg_cluster_start "shared_buffers = 512MB" "autovacuum = off" "max_wal_size = 8GB" \
  "checkpoint_timeout = 30min" "tenantguard.audit_seal_interval = 0"
echo "   $TG_CLUSTER_DIR, port $PGPORT (removed on exit)"

echo "== loading ${#SIZES[@]}x2 x $ROWS rows, sealing them (tenantguard and pgcrypto)"
t0=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v rows="$ROWS" -v pgrows="$PGROWS" \
  -f "$DIR/setup.sql" >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; exit 1; }
echo "   done in $(( $(date +%s) - t0 ))s"

NAMES=(copy seal pgp_enc pgpf_enc aes_enc seal_only scan scan_src scan_tg reveal reveal_b pgp_dec pgpf_dec aes_dec event)

# rows and SQL of a measurement for a size
rows_of() { case $1 in pgp_enc|pgp_dec) echo "$PGROWS" ;; *) echo "$ROWS" ;; esac; }
sql_of() {
  local n=$1 s=$2
  case $n in
    copy)      echo "INSERT INTO bench.dst_plain SELECT i, v FROM bench.src_$s" ;;
    seal)      echo "INSERT INTO bench.dst_tg SELECT i, tenantguard.seal(v) FROM bench.src_$s" ;;
    pgp_enc)   echo "INSERT INTO bench.dst_pgp SELECT i, pgp_sym_encrypt(v, 'pw') FROM bench.src_$s WHERE i <= $PGROWS" ;;
    pgpf_enc)  echo "INSERT INTO bench.dst_pgpfast SELECT i, pgp_sym_encrypt(v, 'pw', 's2k-mode=1') FROM bench.src_$s" ;;
    seal_only) echo "SELECT sum(pg_column_size(tenantguard.seal(v))) FROM bench.src_$s" ;;
    scan)      echo "SELECT sum(length(v)) FROM bench.src_$s" ;;
    scan_src)  echo "SELECT sum(pg_column_size(v)) FROM bench.src_$s" ;;
    scan_tg)   echo "SELECT sum(pg_column_size(c)) FROM bench.tg_$s" ;;
    reveal)    echo "SELECT sum(length(tenantguard.reveal(c))) FROM bench.tg_$s" ;;
    reveal_b)  echo "SELECT sum(length(tenantguard.reveal_bytea(c))) FROM bench.tg_$s" ;;
    pgp_dec)   echo "SELECT sum(length(pgp_sym_decrypt(c, 'pw'))) FROM bench.pgp_$s" ;;
    pgpf_dec)  echo "SELECT sum(length(pgp_sym_decrypt(c, 'pw'))) FROM bench.pgpfast_$s" ;;
    aes_enc)   echo "INSERT INTO bench.dst_aes SELECT i, encrypt(convert_to(v, 'UTF8'), '\\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea, 'aes') FROM bench.src_$s" ;;
    aes_dec)   echo "SELECT sum(length(convert_from(decrypt(c, '\\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea, 'aes'), 'UTF8'))) FROM bench.aes_$s" ;;
    event)     echo "SELECT count(tenantguard_audit._record('secret', 'reveal', NULL, 'allow', NULL, '{\"key_version\": 2, \"as\": \"text\"}')) FROM bench.tg_$s" ;;
  esac
}
truncate_of() {
  case $1 in
    copy) echo "TRUNCATE bench.dst_plain;" ;; seal) echo "TRUNCATE bench.dst_tg;" ;;
    pgp_enc) echo "TRUNCATE bench.dst_pgp;" ;; pgpf_enc) echo "TRUNCATE bench.dst_pgpfast;" ;;
    aes_enc) echo "TRUNCATE bench.dst_aes;" ;;
  esac
}

# One round: one bench_admin session runs every measurement once per size.
round_sql() {
  local r=$1 nn=${#NAMES[@]} ns=${#SIZES[@]} i j n s
  echo '\set ON_ERROR_STOP on'
  echo "SELECT tenantguard.set_tenant(tenantguard.tenant_id('bench-secrets'), false);"
  echo '\o /dev/null'
  # warm-up: key cache, catalog caches, pgcrypto loaded
  for s in "${SIZES[@]}"; do
    echo "SELECT sum(length(tenantguard.reveal(c))) FROM bench.tgold_$s WHERE i <= 200;"
    echo "SELECT sum(length(pgp_sym_decrypt(c, 'pw'))) FROM bench.pgpfast_$s WHERE i <= 200;"
  done
  for j in $(seq 0 $((ns - 1))); do
    s=${SIZES[$(( (j + r) % ns ))]}
    for i in $(seq 0 $((nn - 1))); do
      n=${NAMES[$(( (i + r - 1) % nn ))]}
      truncate_of "$n"
      echo "SELECT bench.cpu_ns() AS c0, clock_timestamp() AS t0 \\gset"
      echo "$(sql_of "$n" "$s");"
      echo "SELECT bench.cpu_ns() - :c0 AS cpu_ns, round(extract(epoch FROM clock_timestamp() - :'t0') * 1e9) AS wall_ns \\gset"
      echo "\\echo M $r $s $n $(rows_of "$n") :cpu_ns :wall_ns"
    done
  done
}

echo "== measuring (round: seconds)"
for r in $(seq 1 "$ROUNDS"); do
  t0=$(date +%s)
  round_sql "$r" >"$WORK/round.sql"
  psql -X -q -U bench_admin -d "$DB" -f "$WORK/round.sql" >"$WORK/round.log" 2>&1 \
    || { cat "$WORK/round.log" >&2; echo "round $r failed" >&2; exit 1; }
  awk '$1 == "M" {print $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7}' "$WORK/round.log" >>"$RAW"
  # the next round starts from an empty events table again
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
    -c "SET session_replication_role = replica" -c "TRUNCATE tenantguard_audit.events" \
    -c "CHECKPOINT" >/dev/null
  echo "   round $r: $(( $(date +%s) - t0 ))s"
done

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
# raw: round size name rows cpu_ns wall_ns; per-row microseconds, median over rounds
med() { # size name col(5=cpu,6=wall)
  awk -F'\t' -v s="$1" -v n="$2" -v c="$3" '$2==s && $3==n {print $c / $4 / 1000}' "$RAW" \
    | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
calc() { awk "BEGIN {x = $1; printf \"%.${2:-2}f\", x}"; }

SUMMARY=$WORK/summary.txt
cp "$RAW" "$OUT/raw.tsv"
{
  echo
  echo "== results: median of $ROUNDS rounds, microseconds per row (CPU = backend CPU time, wall = elapsed)"
  for s in "${SIZES[@]}"; do
    echo
    echo "-- $s-byte values ($ROWS rows; pgcrypto defaults $PGROWS rows)"
    printf '   %-10s %-92s %9s %9s\n' measure statement "CPU us" "wall us"
    for n in "${NAMES[@]}"; do
      st=$(sql_of "$n" "$s" | sed -E 's/bench\.//g; s/tenantguard\./tg./g; s/tenantguard_audit\./tg_audit./g')
      [ ${#st} -gt 92 ] && st="${st:0:89}..."
      printf '   %-10s %-92s %9.3f %9.3f\n' "$n" "$st" "$(med "$s" "$n" 5)" "$(med "$s" "$n" 6)"
    done
  done

  echo
  echo "== ratios (reported, not asserted), per value size: CPU-based | wall-based"
  printf '   %-70s %6s %17s %17s\n' comparison size "CPU" "wall"
  line() { # label size expr-with-{X}-placeholders target(or -)
    local label=$1 s=$2 e=$3 tgt=$4 c w ec ew n v
    ec=$e; ew=$e
    for n in "${NAMES[@]}"; do
      ec=${ec//\{$n\}/$(med "$s" "$n" 5)}
      ew=${ew//\{$n\}/$(med "$s" "$n" 6)}
    done
    c=$(calc "$ec" 2); w=$(calc "$ew" 2)
    if [ "$tgt" = - ]; then
      printf '   %-70s %6s %17s %17s\n' "$label" "$s" "$c" "$w"
    else
      printf '   %-70s %6s %17s %17s\n' "$label" "$s" \
        "$c $(awk -v x="$c" -v t="$tgt" 'BEGIN {print (x >= t) ? "met" : "MISSED"}')" \
        "$w $(awk -v x="$w" -v t="$tgt" 'BEGIN {print (x >= t) ? "met" : "MISSED"}')"
    fi
  }
  for s in "${SIZES[@]}"; do
    line "seal vs pgcrypto (INSERT ... pgp_enc / seal), target >= 10x"        "$s" "{pgp_enc} / {seal}" 10
    line "  the same, net of the plain INSERT (pgp_enc-copy)/(seal-copy)"     "$s" "({pgp_enc} - {copy}) / ({seal} - {copy})" -
    line "reveal vs pgcrypto (pgp_dec / reveal), target >= 10x"               "$s" "{pgp_dec} / {reveal}" 10
    line "seal+reveal vs pgcrypto pgp_sym (pgp_enc+pgp_dec)/(seal+reveal), target >= 20x" "$s" "({pgp_enc} + {pgp_dec}) / ({seal} + {reveal})" 20
    line "seal+reveal vs pgcrypto raw AES (aes_enc+aes_dec)/(seal+reveal), target >= 0.8x" "$s" "({aes_enc} + {aes_dec}) / ({seal} + {reveal})" 0.8
    line "reveal vs pgcrypto raw AES (aes_dec / reveal)"                      "$s" "{aes_dec} / {reveal}" -
    line "reveal_bytea vs pgcrypto (pgp_dec / reveal_b)"                      "$s" "{pgp_dec} / {reveal_b}" -
    line "seal vs pgcrypto s2k-mode=1 (pgpf_enc / seal)"                      "$s" "{pgpf_enc} / {seal}" -
    line "reveal vs pgcrypto s2k-mode=1 (pgpf_dec / reveal)"                  "$s" "{pgpf_dec} / {reveal}" -
    line "seal INSERT vs plain INSERT (seal / copy), x slower"                "$s" "{seal} / {copy}" -
    line "reveal scan vs plain length() scan (reveal / scan), x slower"       "$s" "{reveal} / {scan}" -
  done

  echo
  echo "== where a reveal's time goes (us per row; CPU | wall)"
  printf '   %-70s %6s %17s %17s\n' "" size "CPU" "wall"
  for s in "${SIZES[@]}"; do
    line "seal, function only (seal_only - scan_src)"                    "$s" "{seal_only} - {scan_src}" -
    line "reveal, function only (reveal - scan)"                         "$s" "{reveal} - {scan}" -
    line "  one audit event alone (event - scan_tg)"                     "$s" "{event} - {scan_tg}" -
    line "  audit share of reveal: (event - scan_tg)/(reveal - scan)"    "$s" "({event} - {scan_tg}) / ({reveal} - {scan})" -
  done
  echo
  echo "raw runs (round, size, measure, rows, CPU ns, wall ns): $OUT/raw.tsv"
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$SUMMARY"
cp "$SUMMARY" "$OUT/summary.txt"
