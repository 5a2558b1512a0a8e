#!/usr/bin/env bash
# lockout_restart: locks outlive a server restart and a crash restart.
#
# The failed-login table lives in shared memory, which a restart empties.
# Each database's first login after the start restores, from its audit
# ledger, the locks still in force (a login.lockout event within
# tenantguard.login_lockout and no unlock_user() after it). Here:
#   - a known and an unknown email locked, then a crash (immediate stop) and
#     a clean restart: both stay locked; the right password is refused;
#   - an email unlocked by unlock_user() before the crash stays unlocked;
#   - the same email in another database of the cluster is not locked there;
#   - a lock that expired during the downtime is not restored;
#   - counts below the limit are not restored (documented: at most
#     login_max_failures - 1 guesses per restart).
#
# Starts its own cluster (it crashes it).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=lockout_restart
source test/suites/lib/checks.sh
source test/cluster.sh

trap 'tg_cluster_stop; tg_suite_finish' EXIT
unset PGOPTIONS
if ! tg_cluster_start "tenantguard.scrypt_log_n = 4" "tenantguard.scrypt_r = 1" "tenantguard.scrypt_p = 1"; then
  tg_fail "throwaway cluster starts"
  exit 1
fi
PW='correct horse battery'
restart() {  # restart MODE: immediate (a crash: recovery) or fast
  tg_as_owner "$PGBIN/pg_ctl" -D "$TG_CLUSTER_DIR/data" -m "$1" -w stop >/dev/null 2>&1
  tg_as_owner "$PGBIN/pg_ctl" -D "$TG_CLUSTER_DIR/data" -l "$TG_CLUSTER_DIR/server.log" -w -t 60 start >/dev/null ||
    tg_fail "the cluster restarts ($1)" "$(tail -n 20 "$TG_CLUSTER_DIR/server.log")"
}
status() {  # status DB EMAIL PASSWORD
  tg_psql -d "$1" -c "SELECT status FROM tenantguard.login('$2', '$3')"
}
fail_n() {  # fail_n DB EMAIL N: N wrong passwords
  tg_psql -d "$1" -c "SELECT count(*) FROM generate_series(1, $3) g,
                        LATERAL tenantguard.login('$2', 'wrong password number ' || g) l" >/dev/null
}

for db in one two; do
  tg_psql -d postgres -c "CREATE DATABASE $db" >/dev/null
  tg_psql -d "$db" -c "CREATE EXTENSION tenantguard" >/dev/null
  t=$(tg_psql -d "$db" -c "SELECT tenantguard.create_tenant('acme')")
  for u in alice bob carol dave; do
    id=$(tg_psql -d "$db" -c "SELECT tenantguard.create_user('$u@example.com', '$PW')")
    tg_psql -d "$db" -c "BEGIN; SELECT tenantguard.set_tenant('$t'); SELECT tenantguard.add_member('$id', 'viewer'); COMMIT;" >/dev/null
  done
done

fail_n one alice@example.com 5
fail_n one ghost@example.com 5
fail_n one bob@example.com 5
fail_n one dave@example.com 4
tg_psql -d one -c "SELECT tenantguard.unlock_user(id) FROM tenantguard.users WHERE email = 'bob@example.com'" >/dev/null
tg_check_eq "before the restart: alice is locked" "$(status one alice@example.com "$PW")" "locked"
tg_check_eq "... bob, unlocked by an administrator, is not" "$(status one bob@example.com "$PW")" "ok"
if tg_wait_for one "SELECT count(*) = 2 FROM tenantguard_audit.events WHERE action = 'login.lockout'
                      AND object IN ('alice@example.com', 'ghost@example.com')"; then
  tg_pass "the lockouts are in the ledger"
else
  tg_fail "the lockouts are in the ledger" "$(tg_psql -d one -c "SELECT action, object FROM tenantguard_audit.events WHERE category = 'auth'")"
fi

restart immediate
tg_check_contains "the restart went through crash recovery" "$(cat "$TG_CLUSTER_DIR/server.log")" "database system was interrupted"
tg_check_eq "after a crash: alice is still locked (the right password is refused)" "$(status one alice@example.com "$PW")" "locked"
tg_check_eq "... an unknown email is still locked too (no account oracle)" "$(status one ghost@example.com "$PW")" "locked"
tg_check_eq "... bob, unlocked before the crash, stays unlocked" "$(status one bob@example.com "$PW")" "ok"
tg_check_eq "... alice of another database was never locked" "$(status two alice@example.com "$PW")" "ok"
fail_n one dave@example.com 4
tg_check_eq "... counts below the limit are not restored (dave: 4 more guesses, then his password works)" \
  "$(status one dave@example.com "$PW")" "ok"

restart fast
tg_check_eq "after a clean restart: alice is still locked" "$(status one alice@example.com "$PW")" "locked"
tg_psql -d one -c "SELECT tenantguard.unlock_user(id) FROM tenantguard.users WHERE email = 'alice@example.com'" >/dev/null
tg_check_eq "... until an administrator unlocks her" "$(status one alice@example.com "$PW")" "ok"

# a lock that ends during the downtime is not restored
tg_psql -d postgres -c "ALTER SYSTEM SET tenantguard.login_lockout = '3s'" -c "SELECT pg_reload_conf()" >/dev/null
fail_n one carol@example.com 5
tg_check_eq "carol locked for 3 s" "$(status one carol@example.com "$PW")" "locked"
tg_wait_for one "SELECT count(*) > 0 FROM tenantguard_audit.events WHERE action = 'login.lockout' AND object = 'carol@example.com'" >/dev/null
tg_as_owner "$PGBIN/pg_ctl" -D "$TG_CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1
sleep 4
tg_as_owner "$PGBIN/pg_ctl" -D "$TG_CLUSTER_DIR/data" -l "$TG_CLUSTER_DIR/server.log" -w -t 60 start >/dev/null
tg_check_eq "... her lock ended while the server was down: not restored" "$(status one carol@example.com "$PW")" "ok"
