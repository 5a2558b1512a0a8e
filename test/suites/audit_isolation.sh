#!/usr/bin/env bash
# audit_isolation: concurrency specs of the audit ledger, run with
# pg_isolation_regress against the main cluster from run-all.sh.
#
# Specs: test/isolation/specs/*.spec, expected output:
# test/isolation/expected/*.out. Each spec runs in a database of its own
# (created by pg_isolation_regress with tenantguard loaded, dropped after);
# each spec counts as one check. On a failure the diff is shown.
#
#   audit_concurrent_appends  two tenants' interleaved inserts, commits and
#                             rollbacks; every committed row has exactly its
#                             insert event; seal() and verify() afterwards.
#   audit_concurrent_seal     concurrent seal() calls while another session
#                             holds an open transaction with events.
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=audit_isolation
source test/suites/lib/checks.sh

if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  tg_suite_finish
  exit 1
fi
unset PGOPTIONS PGDATABASE

PGXS_DIR=$(pg_config --pgxs 2>/dev/null | xargs -r dirname | xargs -r dirname)
ISO=${PG_ISOLATION_REGRESS:-${PGXS_DIR:-/usr/lib/postgresql/15/lib/pgxs/src}/test/isolation/pg_isolation_regress}
[ -x "$ISO" ] || ISO=/usr/lib/postgresql/15/lib/pgxs/src/test/isolation/pg_isolation_regress

OUT=$(mktemp -d /tmp/tenantguard-isolation-XXXXXX)
chmod 777 "$OUT"
DBS=()
cleanup() {
  local db
  for db in "${DBS[@]}"; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  done
  rm -rf "$OUT"
}
trap 'cleanup; tg_suite_finish' EXIT

if [ ! -x "$ISO" ]; then
  tg_fail "pg_isolation_regress is installed" "not found: $ISO"
  exit 1
fi

for spec in test/isolation/specs/*.spec; do
  [ -e "$spec" ] || continue
  name=$(basename "$spec" .spec)
  db="tg_suite_iso_$(echo "$name" | tr -c 'a-z0-9_\n' '_')"
  DBS+=("$db")
  mkdir -p "$OUT/$name"
  t0=$(date +%s.%N)
  out=$("$ISO" --host="$PGHOST" --port="$PGPORT" --user="${PGUSER:-postgres}" --dbname="$db" \
          --load-extension=tenantguard --inputdir=test/isolation --outputdir="$OUT/$name" "$name" 2>&1)
  rc=$?
  secs=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.1f", $1 - $2}')
  line=$(printf '%s\n' "$out" | grep -E "^(not )?ok .* $name|test $name |$name +\.\.\." | head -n 1)
  if [ $rc -eq 0 ] && printf '%s' "$line" | grep -qE '\.\.\. ok|^ok '; then
    tg_pass "$name (${secs}s)"
  else
    tg_fail "$name (${secs}s)" "${line:-$out}"
    [ -f "$OUT/$name/regression.diffs" ] && head -n 80 "$OUT/$name/regression.diffs" | sed 's/^/    # /'
  fi
done
