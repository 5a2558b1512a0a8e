#!/usr/bin/env bash
# Login sessions across backends and transactions (docs/identity.md "Sessions"):
#   - logout(), revoke_sessions(), removing the membership, changing its
#     role and disabling the user, each in another backend, end a context
#     resumed from the session at its next statement (session scope, and
#     transaction scope inside an open transaction);
#   - contexts that are not from a session are not touched by such changes;
#   - the idle timeout (lowered to 2 s with ALTER SYSTEM) ends a session
#     that is not resumed, and resume() keeps an active one alive;
#   - a refused resume() is recorded although the caller rolls back, and no
#     audit event contains the token;
#   - two backends resumed from one session both lose it at one logout;
#   - DISCARD ALL clears a session-scope context (poolers).
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=sessions
source test/suites/lib/checks.sh

DB=tg_suite_sessions
APP=tgsuite_sessions_app
ADM=tgsuite_sessions_admin

cleanup() { tg_drop_database_and_roles "$DB" "$APP" "$ADM"; }
trap 'cleanup; tg_suite_finish' EXIT
cleanup

as_app() { PGAPPNAME=sessions tg_psql -d "$DB" -U "$APP" "$@"; }
as_super() { tg_psql -d "$DB" -c "$1"; }

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $APP LOGIN IN ROLE tenantguard_app" \
                       -c "CREATE ROLE $ADM LOGIN IN ROLE tenantguard_admin" >/dev/null
A=$(as_super "SELECT tenantguard.create_tenant('ses-a')")
ALICE=$(as_super "INSERT INTO tenantguard.users (email) VALUES ('alice@example.com') RETURNING id")
as_super "INSERT INTO tenantguard.memberships (tenant_id, user_id, role) VALUES ('$A', '$ALICE', 'viewer');
          CREATE TABLE docs (tenant_id uuid NOT NULL, id int, body text);
          SELECT tenantguard.protect('docs');
          GRANT SELECT ON docs TO $APP, $ADM;
          SELECT tenantguard.set_tenant('$A'); INSERT INTO docs VALUES ('$A', 1, 'a1'), ('$A', 2, 'a2');" >/dev/null

session() {  # session [AAL]: a new session token of alice in tenant A
  as_super "SELECT token FROM tenantguard._create_session('$ALICE', '$A', ${1:-1}, 'password')"
}
membership() {  # membership viewer|none: alice's membership in A
  if [ "$1" = none ]; then as_super "DELETE FROM tenantguard.memberships WHERE user_id = '$ALICE'" >/dev/null
  else as_super "INSERT INTO tenantguard.memberships VALUES ('$A', '$ALICE', '$1')
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = EXCLUDED.role" >/dev/null; fi
}

# revoked_by WHAT SCOPE COMMAND: resume in one backend, COMMAND in another, then the next statement
revoked_by() {
  local what=$1 scope=$2 cmd=$3 tok out
  tok=$(session)
  if [ "$scope" = session ]; then
    out=$(as_app -v ON_ERROR_STOP=0 <<SQL
SELECT tenantguard.resume('$tok', false);
SELECT 'before=' || count(*) FROM docs;
\\! psql -X -q -d $DB -c "${cmd//TOKEN/$tok}" >/dev/null
SELECT 'tenant=' || coalesce(tenantguard.current_tenant()::text, 'none');
SELECT 'after=' || count(*) FROM docs;
SQL
)
  else
    out=$(as_app -v ON_ERROR_STOP=0 <<SQL
BEGIN;
SELECT tenantguard.resume('$tok');
SELECT 'before=' || count(*) FROM docs;
\\! psql -X -q -d $DB -c "${cmd//TOKEN/$tok}" >/dev/null
SELECT 'tenant=' || coalesce(tenantguard.current_tenant()::text, 'none');
SELECT 'after=' || count(*) FROM docs;
COMMIT;
SQL
)
  fi
  tg_check_contains "$what ($scope scope): the context works before" "$out" "before=2"
  tg_check_contains "... and ends at the next statement after the other backend's commit" "$out" "tenant=none"
  tg_check_match "... the protected table then fails closed (42501)" "$out" "ERROR: +42501: no tenant context"
  tg_check_lacks "... without rows" "$out" "after="
}

revoked_by "logout() in another backend" session "SELECT tenantguard.logout('TOKEN')"
revoked_by "logout() in another backend" transaction "SELECT tenantguard.logout('TOKEN')"
revoked_by "an administrator's revoke_sessions() in another backend" session \
  "SET ROLE $ADM; SELECT tenantguard.revoke_sessions('$ALICE')"
revoked_by "an administrator's revoke_sessions() in another backend" transaction \
  "SET ROLE $ADM; SELECT tenantguard.revoke_sessions('$ALICE')"
revoked_by "removing the membership in another backend" session \
  "DELETE FROM tenantguard.memberships WHERE user_id = '$ALICE'"
membership viewer
revoked_by "changing the membership's role in another backend" session \
  "UPDATE tenantguard.memberships SET role = 'operator' WHERE user_id = '$ALICE'"
membership viewer
revoked_by "disabling the user in another backend" transaction \
  "UPDATE tenantguard.users SET status = 'disabled' WHERE id = '$ALICE'"
as_super "UPDATE tenantguard.users SET status = 'active' WHERE id = '$ALICE'" >/dev/null

# a role change ends the context, not the session: the next resume takes the new role
tok=$(session)
out=$(as_app -v ON_ERROR_STOP=0 <<SQL
SELECT tenantguard.resume('$tok', false);
SELECT 'role=' || tenantguard.current_role_name();
\\! psql -X -q -d $DB -c "UPDATE tenantguard.memberships SET role = 'operator' WHERE user_id = '$ALICE'" >/dev/null
SELECT 'tenant=' || coalesce(tenantguard.current_tenant()::text, 'none');
SELECT tenantguard.resume('$tok', false);
SELECT 'role=' || tenantguard.current_role_name();
SQL
)
tg_check_contains "a role change: the context resumed as viewer" "$out" "role=viewer"
tg_check_contains "... ends at the next statement" "$out" "tenant=none"
tg_check_contains "... and resuming again gives the new role" "$out" "role=operator"
membership viewer

# contexts that are not from a session are not touched
out=$(tg_psql -d "$DB" -U "$ADM" -v ON_ERROR_STOP=0 <<SQL
SELECT tenantguard.set_tenant('$A', false);
\\! psql -X -q -d $DB -c "UPDATE tenantguard.memberships SET role = 'viewer' WHERE user_id = '$ALICE'" >/dev/null
SELECT 'count=' || count(*) FROM docs;
SQL
)
tg_check_contains "an administrator's set_tenant() context outlives membership changes" "$out" "count=2"

# two backends resumed from one session: a logout in a third ends both
tok=$(session)
first=$(mktemp /tmp/tenantguard-sessions-XXXXXX)
as_app -v ON_ERROR_STOP=0 >"$first" <<SQL &
SELECT tenantguard.resume('$tok', false);
SELECT 'one=' || count(*) FROM docs;
\\! sleep 3
SELECT 'one_tenant=' || coalesce(tenantguard.current_tenant()::text, 'none');
SQL
out=$(as_app -v ON_ERROR_STOP=0 <<SQL
\\! sleep 1
SELECT tenantguard.resume('$tok', false);
SELECT 'two=' || count(*) FROM docs;
\\! psql -X -q -d $DB -c "SELECT tenantguard.logout('$tok')" >/dev/null
SELECT 'two_tenant=' || coalesce(tenantguard.current_tenant()::text, 'none');
SQL
)
wait
out1=$(cat "$first")
rm -f "$first"
tg_check_eq "two backends resume one session" "$(printf '%s\n' "$out1" "$out" | grep -cE '^(one|two)=2$')" "2"
tg_check_contains "a logout in a third backend ends the first's context" "$out1" "one_tenant=none"
tg_check_contains "... and the second's" "$out" "two_tenant=none"

# --- idle timeout ---------------------------------------------------------------
psql -X -q -d postgres -c "ALTER SYSTEM SET tenantguard.session_idle_timeout = '2s'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
idle=$(session)
busy=$(session)
out=$(as_app -v ON_ERROR_STOP=0 <<SQL
SELECT 'r1=' || count(*) FROM (SELECT tenantguard.resume('$busy')) s;
SELECT pg_sleep(1.2);
SELECT 'r2=' || count(*) FROM (SELECT tenantguard.resume('$busy')) s;
SELECT pg_sleep(1.2);
SELECT 'r3=' || count(*) FROM (SELECT tenantguard.resume('$busy')) s;
SELECT tenantguard.resume('$idle');
SQL
)
psql -X -q -d postgres -c "ALTER SYSTEM RESET tenantguard.session_idle_timeout" -c "SELECT pg_reload_conf()" >/dev/null
tg_check_contains "with a 2 s idle timeout, a session resumed every 1.2 s stays alive" "$out" "r3=1"
tg_check_match "... a session not resumed for 2.4 s is refused (28000)" "$out" "ERROR: +28000: invalid session token"
tg_check_contains "... saying it was idle" "$out" "idle for longer than tenantguard.session_idle_timeout"

# --- refusals survive rollback; nothing shows the token ---------------------------
tok=$(session)
as_super "SELECT tenantguard.logout('$tok')" >/dev/null
as_app -v ON_ERROR_STOP=0 -c "BEGIN; SELECT tenantguard.resume('$tok'); ROLLBACK;" >/dev/null
if tg_wait_for "$DB" "SELECT count(*) > 0 FROM tenantguard_audit.events WHERE action = 'context.resume'
                      AND decision = 'deny' AND reason = 'session revoked' AND db_user = '$APP'"; then
  tg_pass "a refused (logged-out) session token is recorded although the caller rolled back"
else
  tg_fail "a refused (logged-out) session token is recorded although the caller rolled back"
fi
secret=${tok:6:43}
tg_check_eq "no audit event contains a token" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events e WHERE e::text LIKE '%$secret%'")" "0"

# --- DISCARD ALL ------------------------------------------------------------------
tok=$(session)
out=$(as_app -v ON_ERROR_STOP=0 <<SQL
SELECT tenantguard.resume('$tok', false);
DISCARD ALL;
SELECT 'tenant=' || coalesce(tenantguard.current_tenant()::text, 'none');
SQL
)
tg_check_contains "DISCARD ALL clears a session-scope context resumed from a session" "$out" "tenant=none"
