#!/usr/bin/env bash
# startup_spoof: the tenant context cannot be smuggled in through connection
# startup options (PGOPTIONS / the startup packet) or role/database defaults;
# bound roles get their tenant in every new connection and keep it through
# RESET ALL / DISCARD ALL; unbound roles lose a session context there.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=startup_spoof
source test/suites/lib/checks.sh

DB=tg_suite_startup_spoof
APP=tgsuite_spoof_app        # member of tenantguard_app, unbound
BOUND=tgsuite_spoof_bound    # member of tenantguard_app, bound to tenant A
ADMIN=tgsuite_spoof_admin    # member of tenantguard_admin, unbound
ROLES="$APP $BOUND $ADMIN"

cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  for r in $ROLES; do
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
  done
}
trap 'cleanup; tg_suite_finish' EXIT

if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  exit 1
fi
unset PGOPTIONS PGDATABASE

cleanup
setup=$(psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" 2>&1 &&
  tg_psql -d "$DB" <<SQL
CREATE EXTENSION tenantguard;
CREATE ROLE $APP LOGIN;   GRANT tenantguard_app TO $APP;
CREATE ROLE $BOUND LOGIN; GRANT tenantguard_app TO $BOUND;
CREATE ROLE $ADMIN LOGIN; GRANT tenantguard_admin TO $ADMIN;
CREATE TABLE items (id int, tenant_id uuid, note text);
SELECT tenantguard.protect('items');
GRANT SELECT ON items TO $APP, $BOUND, $ADMIN;
SELECT 'A=' || tenantguard.create_tenant('spoof-a');
SELECT 'B=' || tenantguard.create_tenant('spoof-b');
SQL
)
A=$(printf '%s\n' "$setup" | sed -n 's/^A=//p')
B=$(printf '%s\n' "$setup" | sed -n 's/^B=//p')
if [ -z "$A" ] || [ -z "$B" ]; then
  tg_fail "set up the test database" "$setup"
  exit 1
fi
tg_psql -d "$DB" <<SQL >/dev/null
INSERT INTO items VALUES (1, '$A', 'a1'), (2, '$A', 'a2'), (3, '$B', 'b1');
SELECT tenantguard.bind_role('$BOUND', '$A');
SQL

# Connect over TCP (-h 127.0.0.1) as ROLE with PGOPTIONS=OPTS and run SQL.
tcp() {
  local role=$1 opts=$2
  shift 2
  PGOPTIONS="$opts" psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
    -h 127.0.0.1 -p "$PGPORT" -U "$role" -d "$DB" "$@" 2>&1
}
# The same over the Unix socket.
sock() {
  local role=$1 opts=$2
  shift 2
  PGOPTIONS="$opts" psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
    -h "$PGHOST" -p "$PGPORT" -U "$role" -d "$DB" "$@" 2>&1
}

CTX_A="tgctx1;$A;S;0;admin;admin:x"
PROBE="SELECT 'connected-as:' || session_user"

# --- spoofing through startup options --------------------------------------
out=$(tcp "$APP" "-c tenantguard.tenant=$A" -c "$PROBE"); rc=$?
tg_check_eq "startup -c tenantguard.tenant: connection is refused (psql exit 2)" "$rc" "2"
tg_check_lacks "startup -c tenantguard.tenant: no statement runs" "$out" "connected-as:"
tg_check_match "startup -c tenantguard.tenant: FATAL 'read-only'" "$out" "FATAL: +tenant context settings are read-only"

out=$(tcp "$APP" "-c tenantguard.context=$CTX_A" -c "$PROBE"); rc=$?
tg_check_eq "startup -c tenantguard.context=<internal form>: connection is refused" "$rc" "2"
tg_check_lacks "startup -c tenantguard.context=<internal form>: no statement runs" "$out" "connected-as:"
tg_check_match "startup -c tenantguard.context=<internal form>: FATAL 'cannot be set directly'" "$out" \
  "FATAL: +tenant context cannot be set directly"

out=$(sock "$APP" "-c tenantguard.context=$CTX_A" -c "$PROBE"); rc=$?
tg_check_eq "startup -c tenantguard.context over the Unix socket is refused too" "$rc" "2"

out=$(tcp "$APP" "-c tenantguard.principal=admin:postgres" -c "$PROBE"); rc=$?
tg_check_eq "startup -c tenantguard.principal: connection is refused" "$rc" "2"
tg_check_match "startup -c tenantguard.principal: FATAL 'read-only'" "$out" "FATAL: +tenant context settings are read-only"

out=$(tcp "$APP" "-c tenantguard.context=not-a-token" -c "$PROBE"); rc=$?
tg_check_eq "startup -c tenantguard.context=<garbage>: connection is refused" "$rc" "2"
tg_check_match "startup -c tenantguard.context=<garbage>: FATAL 'invalid context token'" "$out" "FATAL: +invalid context token"

# A bound role cannot be moved to another tenant by startup options either.
out=$(tcp "$BOUND" "-c tenantguard.context=tgctx1;$B;S;0;member;role:$BOUND" -c "$PROBE"); rc=$?
tg_check_eq "bound role with startup context of another tenant: connection is refused" "$rc" "2"

# Nor can a non-superuser switch enforcement off at startup or as a default.
out=$(tcp "$APP" "-c tenantguard.require_context=off" -c "$PROBE"); rc=$?
tg_check_eq "startup -c tenantguard.require_context=off by a non-superuser: connection is refused" "$rc" "2"
tg_check_match "... with 'permission denied to set parameter'" "$out" 'FATAL: +permission denied to set parameter "tenantguard.require_context"'
out=$(tcp "$APP" "-c tenantguard.ddl_guard=off" -c "$PROBE"); rc=$?
tg_check_eq "startup -c tenantguard.ddl_guard=off by a non-superuser: connection is refused" "$rc" "2"
out=$(tcp "$APP" "" -c "ALTER ROLE $APP SET tenantguard.require_context = off")
tg_check_eq "a non-superuser cannot ALTER ROLE itself SET tenantguard.require_context (42501)" "$(tg_sqlstate "$out")" "42501"

# After the refused attempts, a normal connection has no context.
out=$(tcp "$APP" "" -c "SELECT '[' || current_setting('tenantguard.tenant') || '|' || current_setting('tenantguard.principal') || '|' || coalesce(tenantguard.current_tenant()::text, 'null') || ']'")
tg_check_eq "a normal connection afterwards has no context" "$out" "[||null]"
out=$(tcp "$APP" "" -c "SELECT 'rows:' || count(*) FROM items")
tg_check_eq "a normal connection afterwards cannot read the protected table (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_lacks "a normal connection afterwards sees no rows" "$out" "rows:"

# --- role and database defaults --------------------------------------------
out=$(tg_psql -d "$DB" -c "ALTER ROLE $APP SET tenantguard.context = '$CTX_A'")
tg_check_eq "ALTER ROLE ... SET tenantguard.context by a superuser fails with 42501" "$(tg_sqlstate "$out")" "42501"
out=$(tg_psql -d "$DB" -c "ALTER ROLE $APP IN DATABASE $DB SET tenantguard.context = '$CTX_A'")
tg_check_eq "ALTER ROLE ... IN DATABASE ... SET tenantguard.context fails with 42501" "$(tg_sqlstate "$out")" "42501"
out=$(tg_psql -d "$DB" -c "ALTER ROLE $APP SET tenantguard.tenant = '$A'")
tg_check_eq "ALTER ROLE ... SET tenantguard.tenant by a superuser fails with 42501" "$(tg_sqlstate "$out")" "42501"
out=$(tg_psql -d "$DB" -c "ALTER DATABASE $DB SET tenantguard.context = '$CTX_A'")
tg_check_eq "ALTER DATABASE ... SET tenantguard.context fails with 42501" "$(tg_sqlstate "$out")" "42501"
out=$(tg_psql -d "$DB" -c "ALTER ROLE ALL SET tenantguard.principal = 'admin:x'")
tg_check_eq "ALTER ROLE ALL SET tenantguard.principal fails with 42501" "$(tg_sqlstate "$out")" "42501"
out=$(tg_psql -d "$DB" -c "ALTER ROLE $APP SET tenantguard.context = 'not-a-token'")
tg_check_eq "ALTER ROLE ... SET tenantguard.context = <garbage> fails with 28000" "$(tg_sqlstate "$out")" "28000"
out=$(tg_psql -d "$DB" -c "SELECT count(*) FROM pg_db_role_setting s, unnest(s.setconfig) c WHERE c LIKE 'tenantguard.%'")
tg_check_eq "no tenantguard setting was stored as a role or database default" "$out" "0"

# --- a bound role: its tenant in every new connection -----------------------
SHOWCTX="SELECT 'ctx:' || current_setting('tenantguard.tenant') || '|' || coalesce(tenantguard.current_tenant()::text, 'null')"
out=$(tcp "$BOUND" "" -c "$SHOWCTX" \
  -c "SELECT 'principal:' || current_setting('tenantguard.principal')" \
  -c "SELECT 'rows:' || string_agg(note, ',' ORDER BY id) FROM items" \
  -c "RESET ALL" -c "$SHOWCTX" \
  -c "DISCARD ALL" -c "$SHOWCTX" \
  -c "SELECT 'rows-after-discard:' || string_agg(note, ',' ORDER BY id) FROM items")
tg_check_contains "bound role, new connection: tenantguard.tenant and current_tenant() are its tenant" \
  "$(printf '%s\n' "$out" | sed -n 1p)" "ctx:$A|$A"
tg_check_contains "bound role, new connection: principal is role:<name>" "$out" "principal:role:$BOUND"
tg_check_contains "bound role, new connection: sees exactly its tenant's rows" "$out" "rows:a1,a2"
tg_check_eq "bound role after RESET ALL still has its tenant" "$(printf '%s\n' "$out" | grep '^ctx:' | sed -n 2p)" "ctx:$A|$A"
tg_check_eq "bound role after DISCARD ALL still has its tenant" "$(printf '%s\n' "$out" | grep '^ctx:' | sed -n 3p)" "ctx:$A|$A"
tg_check_contains "bound role after DISCARD ALL sees exactly its tenant's rows" "$out" "rows-after-discard:a1,a2"

out=$(sock "$BOUND" "" -c "$SHOWCTX")
tg_check_eq "bound role over the Unix socket: its tenant too" "$out" "ctx:$A|$A"

# --- unbound roles: a session context ends with RESET ALL / DISCARD ALL -----
out=$(tcp "$ADMIN" "" -c "$SHOWCTX" \
  -c "SELECT tenantguard.set_tenant('$A', false)" -c "$SHOWCTX" \
  -c "RESET ALL" -c "$SHOWCTX" \
  -c "SELECT tenantguard.set_tenant('$B', false)" -c "$SHOWCTX" \
  -c "DISCARD ALL" -c "$SHOWCTX" \
  -c "SELECT 'rows:' || count(*) FROM items")
ctx() { printf '%s\n' "$out" | grep '^ctx:' | sed -n "${1}p"; }
tg_check_eq "unbound admin, new connection: no context" "$(ctx 1)" "ctx:|null"
tg_check_eq "unbound admin: set_tenant(A, false) enters A" "$(ctx 2)" "ctx:$A|$A"
tg_check_eq "unbound admin: RESET ALL clears the session context" "$(ctx 3)" "ctx:|null"
tg_check_eq "unbound admin: set_tenant(B, false) after RESET ALL enters B" "$(ctx 4)" "ctx:$B|$B"
tg_check_eq "unbound admin: DISCARD ALL clears the session context" "$(ctx 5)" "ctx:|null"
tg_check_lacks "unbound admin after DISCARD ALL reads no rows" "$out" "rows:"
tg_check_eq "unbound admin after DISCARD ALL gets 42501 on the protected table" "$(tg_sqlstate "$out")" "42501"

# RESET of a context setting, and its other spelling SET ... TO DEFAULT
# (PostgreSQL: "RESET is an alternative spelling for SET ... TO DEFAULT").
out=$(tcp "$ADMIN" "" \
  -c "SELECT tenantguard.set_tenant('$A', false)" -c "RESET tenantguard.tenant" -c "$SHOWCTX" \
  -c "SELECT tenantguard.set_tenant('$A', false)" -c "RESET tenantguard.context" -c "$SHOWCTX" \
  -c "SELECT tenantguard.set_tenant('$A', false)" -c "SET tenantguard.tenant TO DEFAULT" -c "$SHOWCTX" \
  -c "SELECT tenantguard.set_tenant('$A', false)" -c "SET tenantguard.context TO DEFAULT" -c "$SHOWCTX")
tg_check_eq "unbound admin: RESET tenantguard.tenant clears the session context" "$(ctx 1)" "ctx:|null"
tg_check_eq "unbound admin: RESET tenantguard.context clears the session context" "$(ctx 2)" "ctx:|null"
tg_check_eq "unbound admin: SET tenantguard.tenant TO DEFAULT clears the session context (as RESET does)" "$(ctx 3)" "ctx:|null"
tg_check_eq "unbound admin: SET tenantguard.context TO DEFAULT clears the session context" "$(ctx 4)" "ctx:|null"

out=$(tcp "$APP" "" -c "DISCARD ALL" -c "$SHOWCTX")
tg_check_eq "unbound app role after DISCARD ALL has no context" "$out" "ctx:|null"
