#!/usr/bin/env bash
# Runs every suite against a throwaway cluster and ends with one line:
#   N passed, M failed
# Suites: core unit tests (test/unit), pg_regress (sql/ + expected/),
# pgTAP (test/pgtap/*.sql via pg_prove, one fresh database per file).
set -u
cd "$(dirname "$0")/.."
source test/cluster.sh

passed=0
failed=0
logdir=test/results
mkdir -p "$logdir"

count() { passed=$((passed + $1)); failed=$((failed + $2)); }

trap 'tg_cluster_stop' EXIT

echo "== core unit tests"
unit_out=$(make -s -C test/unit run 2>&1)
echo "$unit_out" | tail -n 20
unit_lines=$(echo "$unit_out" | grep -E '^unit: [0-9]+ passed, [0-9]+ failed$')
if [ -n "$unit_lines" ]; then
  while read -r _ p _ f _; do count "$p" "$f"; done <<<"$unit_lines"
else
  echo "unit tests did not report a result"; count 0 1
fi

echo "== starting a throwaway cluster"
tg_cluster_start "tenantguard.scrypt_log_n = 10" || { echo "0 passed, 1 failed"; exit 1; }
[ "$(id -u)" -eq 0 ] && chmod -R a+rwX "$logdir" 2>/dev/null

echo "== pg_regress"
rm -rf "$logdir/regress"
mkdir -p "$logdir/regress"
regress_out=$(make -s installcheck REGRESS_OPTS="--inputdir=. --outputdir=$logdir/regress --host=$PGHOST --port=$PGPORT --user=postgres" 2>&1)
echo "$regress_out" | grep -E '^(test| ok|not ok|#)|\.\.\. |tests (passed|failed)' | sed 's/^/  /'
rp=$(echo "$regress_out" | grep -cE '\.\.\. ok|^ok ')
rf=$(echo "$regress_out" | grep -cE '\.\.\. FAILED|^not ok ')
count "$rp" "$rf"
[ "$rf" -gt 0 ] && [ -f "$logdir/regress/regression.diffs" ] && head -n 200 "$logdir/regress/regression.diffs"

echo "== pgTAP"
for f in test/pgtap/*.sql; do
  [ -e "$f" ] || continue
  db="tap_$(basename "$f" .sql | tr -c 'a-z0-9_\n' '_')"
  psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  psql -q -X -d "$db" -c "CREATE EXTENSION tenantguard" -c "CREATE EXTENSION pgtap" >/dev/null
  out=$(pg_prove -v -d "$db" "$f" 2>&1)
  rc=$?
  tp=$(echo "$out" | grep -cE '^\s*ok [0-9]+')
  tf=$(echo "$out" | grep -cE '^\s*not ok [0-9]+')
  if [ $rc -ne 0 ] && [ "$tf" -eq 0 ]; then tf=1; fi
  count "$tp" "$tf"
  printf '  %-40s %d passed, %d failed\n' "$(basename "$f")" "$tp" "$tf"
  if [ $rc -ne 0 ]; then echo "$out" | grep -vE '^\s*ok [0-9]+' | head -n 60 | sed 's/^/    /'; fi
  psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
done

for extra in test/suites/*.sh; do
  [ -e "$extra" ] || continue
  echo "== $(basename "$extra" .sh)"
  out=$(bash "$extra" 2>&1)
  echo "$out" | tail -n 30 | sed 's/^/  /'
  line=$(echo "$out" | grep -E '^[a-z_-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -n "$line" ]; then
    count "$(echo "$line" | sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/')" "$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')"
  else
    count 0 1
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
