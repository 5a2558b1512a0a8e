#!/usr/bin/env bash
# The failed-login counter of login() (docs/identity.md "Lockout"):
#   - a brute force inside a transaction that rolls back still locks the
#     email (the count is in shared memory, not in the transaction), and the
#     refusals are in the ledger all the same;
#   - an unknown email locks exactly like a known one;
#   - two backends guessing in parallel get no more than
#     tenantguard.login_max_failures guesses through together;
#   - the lock ends after tenantguard.login_lockout (lowered here), and a
#     right password then works;
#   - an attempt cancelled in the middle of scrypt (statement_timeout)
#     counts as a failure.
# scrypt's cost is lowered with ALTER SYSTEM for the suite (superuser-only
# settings; the application role cannot change them).
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=login_throttle
source test/suites/lib/checks.sh

DB=tg_suite_login
APP=tgsuite_login_app
T=$(mktemp -d /tmp/tenantguard-login-XXXXXX)
SETTINGS="tenantguard.scrypt_log_n tenantguard.scrypt_r tenantguard.scrypt_p tenantguard.login_lockout"

reset_settings() {
  local s
  for s in $SETTINGS; do psql -X -q -d postgres -c "ALTER SYSTEM RESET $s" >/dev/null 2>&1; done
  psql -X -q -d postgres -c "SELECT pg_reload_conf()" >/dev/null 2>&1
}
cleanup() {
  tg_drop_database_and_roles "$DB" "$APP"
  reset_settings
  rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT
tg_drop_database_and_roles "$DB" "$APP"

as_app() { tg_psql -d "$DB" -U "$APP" "$@"; }
as_super() { tg_psql -d "$DB" -c "$1"; }

psql -X -q -d postgres -c "ALTER SYSTEM SET tenantguard.scrypt_log_n = 4" -c "ALTER SYSTEM SET tenantguard.scrypt_r = 1" \
  -c "ALTER SYSTEM SET tenantguard.scrypt_p = 1" -c "SELECT pg_reload_conf()" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $APP LOGIN IN ROLE tenantguard_app" >/dev/null
RUN=$(as_super "SELECT substr(md5(random()::text), 1, 10)")
PW='correct horse battery'
TENANT=$(as_super "SELECT tenantguard.create_tenant('login-suite')")
for u in rb par exp; do
  id=$(as_super "SELECT tenantguard.create_user('$u.$RUN@example.com', '$PW')")
  as_super "SELECT tenantguard.set_tenant('$TENANT'); SELECT tenantguard.add_member('$id', 'viewer')" >/dev/null
done

# status of one login in a fresh backend
login_status() {
  as_app -c "SELECT status FROM tenantguard.login('$1', '$2')"
}

# ---------------------------------------------------------------------------
# 1. Brute force in a transaction that rolls back
# ---------------------------------------------------------------------------
{
  echo "BEGIN;"
  for i in $(seq 1 8); do echo "SELECT status FROM tenantguard.login('rb.$RUN@example.com', 'guess number $i!');"; done
  echo "ROLLBACK;"
} >"$T/rb.sql"
out=$(as_app -f "$T/rb.sql" | tr '\n' ' ')
tg_check_eq "eight guesses in one transaction: five answered, then locked" "$out" \
  "invalid invalid invalid invalid invalid locked locked locked "
tg_check_eq "after the ROLLBACK, the right password in another backend: locked" "$(login_status "rb.$RUN@example.com" "$PW")" "locked"
if tg_wait_for "$DB" "SELECT count(*) = 5 FROM tenantguard_audit.events
                      WHERE action = 'login' AND reason = 'bad_password' AND object = 'rb.$RUN@example.com'"; then
  tg_pass "the five rolled-back failures are in the ledger"
else
  tg_fail "the five rolled-back failures are in the ledger" \
    "$(as_super "SELECT action, reason, count(*) FROM tenantguard_audit.events WHERE object = 'rb.$RUN@example.com' GROUP BY 1, 2")"
fi
if tg_wait_for "$DB" "SELECT count(*) = 1 FROM tenantguard_audit.events
                      WHERE action = 'login.lockout' AND object = 'rb.$RUN@example.com'"; then
  tg_pass "so is the lockout"
else
  tg_fail "so is the lockout"
fi

{
  echo "BEGIN;"
  for i in $(seq 1 6); do echo "SELECT status FROM tenantguard.login('ghost.$RUN@example.com', 'guess number $i!');"; done
  echo "ROLLBACK;"
} >"$T/ghost.sql"
out=$(as_app -f "$T/ghost.sql" | tr '\n' ' ')
tg_check_eq "an unknown email: the same answers" "$out" "invalid invalid invalid invalid invalid locked "
tg_check_eq "and it stays locked in another backend" "$(login_status "ghost.$RUN@example.com" "$PW")" "locked"

# a guess whose transaction fails afterwards counts too
out=$(as_app -c "BEGIN" -c "SELECT status FROM tenantguard.login('exp.$RUN@example.com', 'wrong one!')" -c "SELECT 1/0" 2>&1)
tg_check_eq "a failed transaction after a guess: the division by zero raised" "$(tg_sqlstate "$out")" "22012"
if tg_wait_for "$DB" "SELECT count(*) = 1 FROM tenantguard_audit.events
                      WHERE action = 'login' AND reason = 'bad_password' AND object = 'exp.$RUN@example.com'"; then
  tg_pass "and the guess before it is recorded"
else
  tg_fail "and the guess before it is recorded"
fi
as_super "SELECT tenantguard.unlock_user(id) FROM tenantguard.users WHERE email = 'exp.$RUN@example.com'" >/dev/null

# ---------------------------------------------------------------------------
# 2. Two backends guessing in parallel
# ---------------------------------------------------------------------------
for w in 1 2; do
  for i in $(seq 1 25); do echo "SELECT status FROM tenantguard.login('par.$RUN@example.com', 'parallel guess $w-$i');"; done >"$T/par$w.sql"
done
as_app -f "$T/par1.sql" >"$T/par1.out" &
p1=$!
as_app -f "$T/par2.sql" >"$T/par2.out" &
p2=$!
wait $p1 $p2
through=$(cat "$T/par1.out" "$T/par2.out" | grep -c '^invalid$')
locked=$(cat "$T/par1.out" "$T/par2.out" | grep -c '^locked$')
echo "  # parallel guessing: $through of 50 guesses got through, $locked answered locked"
tg_check_eq "two parallel backends: exactly login_max_failures (5) guesses got through" "$through" "5"
tg_check_eq "every other attempt was refused as locked" "$locked" "45"

# ---------------------------------------------------------------------------
# 3. The lock expires
# ---------------------------------------------------------------------------
psql -X -q -d postgres -c "ALTER SYSTEM SET tenantguard.login_lockout = '2s'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
for i in $(seq 1 5); do echo "SELECT status FROM tenantguard.login('exp.$RUN@example.com', 'wrong $i!');"; done >"$T/exp.sql"
out=$(as_app -f "$T/exp.sql" | tr '\n' ' ')
tg_check_eq "five failures (login_lockout = 2s)" "$out" "invalid invalid invalid invalid invalid "
tg_check_eq "locked at once" "$(login_status "exp.$RUN@example.com" "$PW")" "locked"
sleep 2.5
tg_check_eq "after login_lockout the right password works" "$(login_status "exp.$RUN@example.com" "$PW")" "ok"
tg_check_eq "and a wrong one is an ordinary failure again" "$(login_status "exp.$RUN@example.com" "wrong again!")" "invalid"

# the application role cannot lift or lengthen the limits
out=$(as_app -c "SET tenantguard.login_max_failures = 1000" 2>&1)
tg_check_eq "an application role cannot change login_max_failures" "$(tg_sqlstate "$out")" "42501"
out=$(as_app -c "SET tenantguard.login_lockout = '1s'" 2>&1)
tg_check_eq "nor login_lockout" "$(tg_sqlstate "$out")" "42501"

# ---------------------------------------------------------------------------
# 4. A cancelled attempt counts (statement_timeout during scrypt)
# ---------------------------------------------------------------------------
psql -X -q -d postgres -c "ALTER SYSTEM RESET tenantguard.login_lockout" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
out=$(tg_psql -d "$DB" -c "SET tenantguard.scrypt_log_n = 16" -c "SET tenantguard.scrypt_r = 8" \
  -c "SET statement_timeout = '20ms'" -c "SELECT status FROM tenantguard.login('cancel.$RUN@example.com', 'slow guess!')" 2>&1)
tg_check_eq "a guess cancelled by statement_timeout in scrypt raised 57014" "$(tg_sqlstate "$out")" "57014"
for i in $(seq 1 5); do echo "SELECT status FROM tenantguard.login('cancel.$RUN@example.com', 'wrong $i!');"; done >"$T/cancel.sql"
out=$(as_app -f "$T/cancel.sql" | tr '\n' ' ')
tg_check_eq "it counted: four more failures, then locked" "$out" "invalid invalid invalid invalid locked "
