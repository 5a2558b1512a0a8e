#!/usr/bin/env bash
# preload: CREATE EXTENSION needs shared_preload_libraries, and installs
# cleanly over and over.
#
# Part 1 starts a second, private cluster WITHOUT tenantguard preloaded (Unix
# socket only, in its own directory): CREATE EXTENSION must fail with 55000 and
# a hint naming the exact setting, and leave nothing behind. The same cluster
# is then restarted with the preload, where CREATE EXTENSION creates the
# missing roles.
# Part 2 uses the main (preloaded) cluster from run-all.sh (PGHOST/PGPORT):
# create, drop and create again in one session; pre-existing roles.
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=preload
source test/suites/lib/checks.sh

T=
DB=tg_suite_preload
PRE_ROLE=tgsuite_preload_admin
SECOND_UP=

cleanup() {
  if [ -n "$SECOND_UP" ]; then
    tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -m immediate -w stop >/dev/null 2>&1
  fi
  if [ -n "${PGPORT:-}" ]; then
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $PRE_ROLE" >/dev/null 2>&1
  fi
  [ -n "$T" ] && rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

# ---------------------------------------------------------------------------
# Part 1: a second cluster without the preload
# ---------------------------------------------------------------------------
T=$(mktemp -d /tmp/tenantguard-preload-XXXXXX)
chmod 755 "$T"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T"
# Only a Unix socket in $T: the port number just names the socket file.
P2=$((56000 + RANDOM % 1000))

if ! tg_as_postgres "$PGBIN/initdb" -D "$T/data" -U postgres -A trust --no-sync \
      -E UTF8 --locale=C >"$T/initdb.log" 2>&1; then
  tg_fail "initdb of the second cluster" "$(cat "$T/initdb.log")"
  exit 1
fi
{
  echo "port = $P2"
  echo "listen_addresses = ''"
  echo "unix_socket_directories = '$T'"
  echo "fsync = off"
  echo "max_connections = 10"
  echo "shared_buffers = 16MB"
  echo "lc_messages = 'C'"
} >>"$T/data/postgresql.conf"
if ! tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -l "$T/server.log" -w -t 60 start >/dev/null 2>&1; then
  tg_fail "start the second cluster" "$(tail -n 20 "$T/server.log")"
  exit 1
fi
SECOND_UP=1
p2() { tg_psql -h "$T" -p "$P2" -U postgres -d postgres "$@"; }

out=$(p2 -c "SHOW shared_preload_libraries")
tg_check_eq "second cluster runs without tenantguard preloaded" "$out" ""

out=$(p2 -c "CREATE EXTENSION tenantguard")
tg_check_eq "CREATE EXTENSION without the preload fails with SQLSTATE 55000" "$(tg_sqlstate "$out")" "55000"
tg_check_contains "the error says the library must be preloaded" "$out" "shared_preload_libraries"
tg_check_match "the hint says exactly what to add" "$out" "^HINT: .*shared_preload_libraries = 'tenantguard'"

out=$(p2 -c "SELECT count(*) FROM pg_namespace WHERE nspname IN ('tenantguard', 'tenantguard_audit')")
tg_check_eq "failed CREATE EXTENSION leaves no tenantguard schema" "$out" "0"
out=$(p2 -c "SELECT count(*) FROM pg_extension WHERE extname = 'tenantguard'")
tg_check_eq "failed CREATE EXTENSION leaves no pg_extension row" "$out" "0"
out=$(p2 -c "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tenantguard%'")
tg_check_eq "failed CREATE EXTENSION creates no roles" "$out" "0"
out=$(p2 -c "SELECT count(*) FROM pg_proc WHERE proname LIKE '%assert_preloaded%' OR prosrc LIKE 'tg\_%'")
tg_check_eq "failed CREATE EXTENSION leaves no functions" "$out" "0"

# LOAD in the session does not count as a preload.
out=$(p2 -c "LOAD 'tenantguard'" -c "CREATE EXTENSION tenantguard")
tg_check_eq "CREATE EXTENSION after LOAD 'tenantguard' still fails with 55000" "$(tg_sqlstate "$out")" "55000"
out=$(p2 -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'tenantguard'")
tg_check_eq "no tenantguard schema after the LOAD attempt" "$out" "0"

# CREATE EXTENSION ... CASCADE or with an explicit schema fails the same way.
out=$(p2 -c "CREATE SCHEMA tenantguard" -c "CREATE EXTENSION tenantguard SCHEMA tenantguard")
tg_check_eq "CREATE EXTENSION into an existing schema without the preload fails with 55000" "$(tg_sqlstate "$out")" "55000"
out=$(p2 -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'tenantguard'")
tg_check_eq "nothing is created in a pre-existing tenantguard schema" "$out" "0"
p2 -c "DROP SCHEMA tenantguard" >/dev/null

# Restart the same cluster with the preload: now it installs and creates the roles.
echo "shared_preload_libraries = 'tenantguard'" >>"$T/data/postgresql.conf"
if tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -l "$T/server.log" -m fast -w -t 60 restart >/dev/null 2>&1; then
  out=$(p2 -c "CREATE EXTENSION tenantguard" -c "SELECT extversion FROM pg_extension WHERE extname = 'tenantguard'")
  tg_check_eq "after adding the preload and restarting, CREATE EXTENSION succeeds" "$out" "0.1.0"
  out=$(p2 -c "SELECT string_agg(rolname || ':' || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'tenantguard%'")
  tg_check_eq "missing roles are created NOLOGIN" "$out" \
    "tenantguard_admin:false,tenantguard_app:false,tenantguard_auditor:false"
else
  tg_fail "restart the second cluster with the preload" "$(tail -n 20 "$T/server.log")"
fi
tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -m fast -w stop >/dev/null 2>&1
SECOND_UP=

# ---------------------------------------------------------------------------
# Part 2: the main, preloaded cluster
# ---------------------------------------------------------------------------
if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  exit 1
fi
unset PGOPTIONS
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null 2>&1
m() { tg_psql -d "$DB" "$@"; }

# The roles exist before CREATE EXTENSION: make sure they do (they are
# cluster-wide and other suites' databases may use them, so never drop them).
m -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantguard_app') THEN CREATE ROLE tenantguard_app NOLOGIN; END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantguard_admin') THEN CREATE ROLE tenantguard_admin NOLOGIN; END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantguard_auditor') THEN CREATE ROLE tenantguard_auditor NOLOGIN; END IF;
      END \$\$" >/dev/null
roles_before=$(m -c "SELECT string_agg(oid::text, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('tenantguard_app', 'tenantguard_admin', 'tenantguard_auditor')")
tg_check_match "the three roles exist before CREATE EXTENSION" "$roles_before" '^[0-9]+,[0-9]+,[0-9]+$'

out=$(m -c "CREATE EXTENSION tenantguard" -c "SELECT count(*) FROM pg_extension WHERE extname = 'tenantguard'")
tg_check_eq "CREATE EXTENSION succeeds when the roles already exist" "$out" "1"
out=$(m -c "SELECT has_function_privilege('tenantguard_admin', 'tenantguard.set_tenant(uuid, boolean)', 'EXECUTE'),
                   has_function_privilege('tenantguard_app', 'tenantguard.set_tenant(uuid, boolean)', 'EXECUTE'),
                   has_table_privilege('tenantguard_admin', 'tenantguard.tenants', 'SELECT')")
tg_check_eq "pre-existing roles get the extension's grants" "$out" "t|f|t"

# PostgreSQL does not make the schema it creates for a non-relocatable
# extension a member of it, so DROP EXTENSION leaves an empty schema behind;
# what must go is everything in it.
out=$(m -c "DROP EXTENSION tenantguard" \
        -c "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'tenantguard')
                 + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'tenantguard')
                 + (SELECT count(*) FROM pg_extension WHERE extname = 'tenantguard')")
tg_check_eq "DROP EXTENSION removes every tenantguard object" "$out" "0"
roles_after=$(m -c "SELECT string_agg(oid::text, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('tenantguard_app', 'tenantguard_admin', 'tenantguard_auditor')")
tg_check_eq "the roles remain (same OIDs) after DROP EXTENSION" "$roles_after" "$roles_before"

out=$(m -c "CREATE EXTENSION tenantguard" -c "SELECT count(*) FROM pg_extension WHERE extname = 'tenantguard'")
tg_check_eq "CREATE EXTENSION again after DROP EXTENSION succeeds" "$out" "1"
roles_again=$(m -c "SELECT string_agg(oid::text, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('tenantguard_app', 'tenantguard_admin', 'tenantguard_auditor')")
tg_check_eq "re-creating the extension reuses the existing roles" "$roles_again" "$roles_before"
m -c "DROP EXTENSION tenantguard" >/dev/null

# Create, drop, create in ONE session; the re-created extension must enforce
# isolation in that same session (no stale per-backend state).
m -c "DROP ROLE IF EXISTS $PRE_ROLE" >/dev/null 2>&1
m -c "CREATE ROLE $PRE_ROLE LOGIN" -c "GRANT tenantguard_admin TO $PRE_ROLE" >/dev/null
out=$(m <<SQL
CREATE EXTENSION tenantguard;
SELECT tenantguard.create_tenant('first-life');
CREATE TABLE pre_items (id int, tenant_id uuid);
SELECT tenantguard.protect('pre_items');
DROP EXTENSION tenantguard CASCADE;
DROP TABLE pre_items;
CREATE EXTENSION tenantguard;
\echo created-again
SELECT count(*) FROM tenantguard.tenants;
SELECT tenantguard.create_tenant('second-life') AS t \gset
CREATE TABLE pre_items (id int, tenant_id uuid);
SELECT tenantguard.protect('pre_items');
INSERT INTO pre_items VALUES (1, :'t'), (2, gen_random_uuid());
GRANT SELECT ON pre_items TO $PRE_ROLE;
SET ROLE $PRE_ROLE;
BEGIN;
SELECT tenantguard.set_tenant(:'t');
SELECT 'rows:' || string_agg(id::text, ',') FROM pre_items;
COMMIT;
SELECT 'no-context:' || count(*) FROM pre_items;
SQL
)
tg_check_contains "create, drop, create in one session succeeds" "$out" "created-again"
tg_check_eq "the re-created extension starts empty" "$(printf '%s\n' "$out" | sed -n '/^created-again$/{n;p}')" "0"
tg_check_contains "in the same session the re-created extension isolates rows" "$out" "rows:1"
tg_check_lacks "in the same session a statement without context does not read rows" "$out" "no-context:"
tg_check_eq "in the same session a statement without context fails with 42501" "$(tg_sqlstate "$out")" "42501"
