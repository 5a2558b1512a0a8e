#!/usr/bin/env bash
# Runs every suite against a throwaway cluster and ends with one line:
#   N passed, M failed
# Suites: core unit tests (test/unit); the layer check (test/check-layers.sh,
# when src/layers.txt exists); pg_regress (sql/ + expected/) and the isolation
# tester (test/isolation/), both through PGXS `make installcheck`, each file or
# spec one test; pgTAP (test/pgtap/*.sql via pg_prove, one fresh database per
# file); shell suites (test/suites/*.sh) but citus.sh, which make test-citus runs.
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

# The layer rule on the object files, once the other side of the issue has
# written its table (src/layers.txt); without the table there is nothing to check.
if [ -f src/layers.txt ]; then
  echo "== layers"
  layers_out=$(bash test/check-layers.sh src 2>&1)
  echo "$layers_out" | grep -v '^ok' | tail -n 30 | sed 's/^/  /'
  line=$(echo "$layers_out" | grep -E '^layers: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -n "$line" ]; then
    read -r _ p _ f _ <<<"$line"; count "$p" "$f"
  else
    echo "  check-layers did not report a result"; count 0 1
  fi
fi

echo "== starting a throwaway cluster"
# only settings PostgreSQL or tenantguard defines: no placeholders
tg_cluster_start || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
[ "$(id -u)" -eq 0 ] && chmod -R a+rwX "$logdir" 2>/dev/null
undefined=$(psql -X -A -t -q -d postgres -c "SELECT string_agg(DISTINCT f.name, ', ') FROM pg_file_settings f
  WHERE f.name LIKE 'tenantguard.%' AND f.name NOT IN (SELECT s.name FROM pg_settings s)" 2>&1)
if [ -z "$undefined" ]; then
  echo "  every tenantguard.* setting of the cluster's configuration is defined by the extension"
  count 1 0
else
  echo "  not ok - settings in the cluster's configuration that tenantguard does not define: $undefined"
  count 0 1
fi

# installcheck_suite TITLE RESULTS_DIR MAKE_ARGS...: one PGXS installcheck run
# (pg_regress or the isolation tester); each test file or spec counts once.
installcheck_suite() {
  local title=$1 dir=$2 out rc p f
  shift 2
  echo "== $title"
  rm -rf "$dir"
  mkdir -p "$dir"
  out=$(make -s installcheck "$@" EXTRA_REGRESS_OPTS="--host=$PGHOST --port=$PGPORT --user=postgres" 2>&1)
  rc=$?
  echo "$out" | grep -E '^(test| ok|not ok|#)|\.\.\. |tests (passed|failed)' | sed 's/^/  /'
  p=$(echo "$out" | grep -cE '\.\.\. ok|^ok ')
  f=$(echo "$out" | grep -cE '\.\.\. FAILED|^not ok ')
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1; echo "$out" | tail -n 20 | sed 's/^/  /'
  fi
  count "$p" "$f"
  [ "$f" -gt 0 ] && [ -f "$dir/regression.diffs" ] && head -n 200 "$dir/regression.diffs"
}
installcheck_suite "pg_regress" "$logdir/regress" ISOLATION=
installcheck_suite "isolation" "$logdir/isolation" REGRESS=

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
  # its own coordinator and workers, and Citus built when missing: make test-citus
  [ "$(basename "$extra")" = citus.sh ] && continue
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
