#!/usr/bin/env bash
# pooler: tenant contexts behind PgBouncer.
#
# One PgBouncer (run as OS user postgres, config in a temp dir, trust auth,
# 127.0.0.1 on a free port) with default_pool_size = 1, so all clients of a
# database alias share ONE server connection, and two aliases of the same
# database:
#   tx   - pool_mode = transaction
#   sess - pool_mode = session, server_reset_query = DISCARD ALL
# Clients are long-lived psql processes fed through FIFOs, so their
# statements can be interleaved. pg_backend_pid() proves the sharing.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=pooler
source test/suites/lib/checks.sh

PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}
DB=tg_suite_pooler
ADMIN=tgsuite_pool_admin   # LOGIN, member of tenantguard_admin, not superuser
T=
BOUNCER_PID=
CLIENTS=()                 # names of open clients
SEQ=0

cleanup() {
  local c pid fd
  for c in "${CLIENTS[@]}"; do
    eval "fd=\${CFD_$c:-}; pid=\${CPID_$c:-}"
    [ -n "$fd" ] && eval "exec $fd>&-"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  if [ -n "$BOUNCER_PID" ]; then
    kill "$BOUNCER_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$BOUNCER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$BOUNCER_PID" 2>/dev/null
  fi
  if [ -n "${PGPORT:-}" ]; then
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ADMIN" >/dev/null 2>&1
  fi
  [ -n "$T" ] && rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  exit 1
fi
if [ ! -x "$PGBOUNCER" ]; then
  tg_fail "pgbouncer is installed ($PGBOUNCER; make prereqs installs it)"
  exit 1
fi
unset PGOPTIONS PGDATABASE

# --- database, role, protected table ----------------------------------------
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $ADMIN" >/dev/null 2>&1
setup=$(psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" 2>&1 &&
  tg_psql -d "$DB" <<SQL
CREATE EXTENSION tenantguard;
CREATE ROLE $ADMIN LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT tenantguard_admin TO $ADMIN;
CREATE TABLE pool_items (id int, tenant_id uuid, note text);
SELECT tenantguard.protect('pool_items');
GRANT SELECT, INSERT ON pool_items TO $ADMIN;
SELECT 'A=' || tenantguard.create_tenant('pool-a');
SELECT 'B=' || tenantguard.create_tenant('pool-b');
SQL
)
A=$(printf '%s\n' "$setup" | sed -n 's/^A=//p')
B=$(printf '%s\n' "$setup" | sed -n 's/^B=//p')
if [ -z "$A" ] || [ -z "$B" ]; then
  tg_fail "set up the test database" "$setup"
  exit 1
fi
tg_psql -d "$DB" -c "INSERT INTO pool_items VALUES (1, '$A', 'a1'), (2, '$A', 'a2'), (3, '$B', 'b1'), (4, '$B', 'b2'), (5, '$B', 'b3')" >/dev/null

# --- PgBouncer ---------------------------------------------------------------
T=$(mktemp -d /tmp/tenantguard-pooler-XXXXXX)
chmod 755 "$T"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T"
BPORT=$(tg_random_free_port 56000 56999) || { tg_fail "find a free port for pgbouncer"; exit 1; }
cat >"$T/pgbouncer.ini" <<INI
[databases]
tx = host=127.0.0.1 port=$PGPORT dbname=$DB pool_mode=transaction
sess = host=127.0.0.1 port=$PGPORT dbname=$DB pool_mode=session

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = trust
auth_file = $T/userlist.txt
pool_mode = transaction
default_pool_size = 1
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 50
server_reset_query = DISCARD ALL
server_reset_query_always = 0
server_lifetime = 3600
server_idle_timeout = 600
query_wait_timeout = 30
logfile = $T/pgbouncer.log
pidfile = $T/pgbouncer.pid
INI
printf '"%s" ""\n' "$ADMIN" >"$T/userlist.txt"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T/pgbouncer.ini" "$T/userlist.txt"

if ! tg_as_postgres "$PGBOUNCER" -d "$T/pgbouncer.ini" >"$T/start.log" 2>&1; then
  tg_fail "start pgbouncer" "$(cat "$T/start.log" "$T/pgbouncer.log" 2>/dev/null)"
  exit 1
fi
for _ in $(seq 1 100); do
  [ -s "$T/pgbouncer.pid" ] && (echo >/dev/tcp/127.0.0.1/$BPORT) 2>/dev/null && break
  sleep 0.1
done
BOUNCER_PID=$(cat "$T/pgbouncer.pid" 2>/dev/null)
if [ -z "$BOUNCER_PID" ] || ! (echo >/dev/tcp/127.0.0.1/$BPORT) 2>/dev/null; then
  tg_fail "pgbouncer listens on 127.0.0.1:$BPORT" "$(cat "$T/pgbouncer.log" 2>/dev/null)"
  exit 1
fi

# --- long-lived clients over FIFOs -------------------------------------------
# client_open NAME ALIAS: a psql connected through PgBouncer, reading from a FIFO.
client_open() {
  local n=$1 alias=$2 fd
  mkfifo "$T/$n.in"
  : >"$T/$n.out"
  # The new psql must not inherit the write ends of the other clients' FIFOs,
  # or those clients would never see EOF when closed.
  (
    for c in "${CLIENTS[@]}"; do
      eval "fd=\${CFD_$c:-}"
      [ -n "$fd" ] && eval "exec $fd>&-"
    done
    exec stdbuf -oL -eL psql -X -q -A -t -v VERBOSITY=verbose \
      -h 127.0.0.1 -p "$BPORT" -U "$ADMIN" -d "$alias"
  ) <"$T/$n.in" >"$T/$n.out" 2>&1 &
  eval "CPID_$n=$!"
  exec {fd}>"$T/$n.in"
  eval "CFD_$n=$fd"
  CLIENTS+=("$n")
}

# client_send NAME SQL: send SQL followed by a unique marker; do not wait.
# (Often called inside $(...), so the marker must not depend on a counter
# kept in the parent shell.)
client_send() {
  local n=$1 fd mark
  eval "fd=\$CFD_$n"
  SEQ=$((SEQ + 1))
  mark="__tg_mark_${n}_${BASHPID}_${SEQ}_$(date +%s%N)__"
  eval "CMARK_$n=\$mark"
  eval "COFF_$n=\$(stat -c %s \"\$T/\$n.out\")"
  printf '%s\n\\echo %s\n' "$2" "$mark" >&"$fd"
}

# client_wait NAME: wait for the last marker; prints the output since the send.
client_wait() {
  local n=$1 mark off pid i
  eval "mark=\$CMARK_$n; off=\$COFF_$n; pid=\$CPID_$n"
  for ((i = 0; i < 300; i++)); do
    tail -c +$((off + 1)) "$T/$n.out" | grep -qx -- "$mark" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! tail -c +$((off + 1)) "$T/$n.out" | grep -qx -- "$mark"; then
    echo "CLIENT-TIMEOUT($n)"
  fi
  tail -c +$((off + 1)) "$T/$n.out" | sed "/^$mark\$/,\$d"
}

# client_run NAME SQL: send and wait.
client_run() {
  client_send "$1" "$2"
  client_wait "$1"
}

# client_close NAME: end the client (psql exits at EOF) and wait for it.
client_close() {
  local n=$1 fd pid i
  eval "fd=\$CFD_$n; pid=\$CPID_$n"
  eval "exec $fd>&-"
  eval "CFD_$n="
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "client $n did not exit at EOF"
    kill "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  eval "CPID_$n="
}

PID="SELECT 'pid:' || pg_backend_pid();"
ROWS="SELECT 'rows:' || coalesce(string_agg(note, ',' ORDER BY id), '') FROM pool_items;"
CTX="SELECT 'ctx:' || coalesce(tenantguard.current_tenant()::text, 'null');"
pid_of() { printf '%s\n' "$1" | sed -n 's/^pid://p' | head -n 1; }
# check_rows WHAT OUTPUT WANT: the client's 'rows:' line is exactly WANT.
check_rows() {
  local got
  got=$(printf '%s\n' "$2" | grep '^rows:')
  if [ "$got" == "rows:$3" ]; then
    tg_pass "$1"
  else
    tg_fail "$1" "expected: rows:$3
client output:
$2"
  fi
}

# =============================================================================
# Transaction pooling: is_local contexts, interleaved clients, one server conn
# =============================================================================
client_open c1 tx
client_open c2 tx

# c1 enters A in a transaction.
o1a=$(client_run c1 "BEGIN; SELECT tenantguard.set_tenant('$A'); $PID $ROWS")
p1a=$(pid_of "$o1a")
check_rows "tx pool: client 1 in tenant A sees only A's rows" "$o1a" "a1,a2"

# c2 starts its own transaction in B while c1's is open: it must wait for the
# single server connection.
client_send c2 "BEGIN; SELECT tenantguard.set_tenant('$B'); $PID $ROWS COMMIT;"
sleep 0.5
tg_check_eq "tx pool: client 2 waits while client 1 holds the only server connection" \
  "$(grep -c '^rows:' "$T/c2.out")" "0"

o1b=$(client_run c1 "$ROWS $PID COMMIT;")
check_rows "tx pool: client 1 still sees only A's rows later in its transaction" "$o1b" "a1,a2"

o2a=$(client_wait c2)
p2a=$(pid_of "$o2a")
check_rows "tx pool: client 2 in tenant B sees only B's rows" "$o2a" "b1,b2,b3"
tg_check_match "tx pool: client 1 got a backend pid" "$p1a" '^[0-9]+$'
tg_check_eq "tx pool: clients 1 and 2 were served by the same backend" "$p2a" "$p1a"

# Interleave again, the other way round, one transaction each.
o2b=$(client_run c2 "BEGIN; SELECT tenantguard.set_tenant('$B'); $PID $ROWS COMMIT;")
o1c=$(client_run c1 "BEGIN; SELECT tenantguard.set_tenant('$A'); $PID $ROWS COMMIT;")
o2c=$(client_run c2 "BEGIN; SELECT tenantguard.set_tenant('$B'); $PID $ROWS COMMIT;")
check_rows "tx pool: interleaved, client 2 sees only B's rows (1)" "$o2b" "b1,b2,b3"
check_rows "tx pool: interleaved, client 2 sees only B's rows (2)" "$o2c" "b1,b2,b3"
check_rows "tx pool: interleaved, client 1 sees only A's rows" "$o1c" "a1,a2"
tg_check_eq "tx pool: interleaved transactions all on the same backend" \
  "$(pid_of "$o2b") $(pid_of "$o1c") $(pid_of "$o2c")" "$p1a $p1a $p1a"

# A client that enters a tenant and then fails: the rollback ends the context.
o1d=$(client_run c1 "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT 1/0; ROLLBACK;")
tg_check_eq "tx pool: client 1's failed transaction raised its error" "$(tg_sqlstate "$o1d")" "22012"

# A client that sets nothing: no context, 42501, never another client's rows.
client_open c3 tx
o3=$(client_run c3 "$PID $CTX SELECT 'tenant:[' || current_setting('tenantguard.tenant') || ']'; $ROWS")
tg_check_eq "tx pool: a client that sets nothing is on the same backend" "$(pid_of "$o3")" "$p1a"
tg_check_contains "tx pool: a client that sets nothing has no current_tenant()" "$o3" "ctx:null"
tg_check_contains "tx pool: a client that sets nothing sees an empty tenantguard.tenant" "$o3" "tenant:[]"
tg_check_eq "tx pool: a client that sets nothing gets 42501 on the protected table" "$(tg_sqlstate "$o3")" "42501"
tg_check_contains "tx pool: ... with 'no tenant context is set'" "$o3" "no tenant context is set"
tg_check_lacks "tx pool: a client that sets nothing never gets rows" "$o3" "rows:"

# The same in a transaction block, and for the earlier clients after COMMIT.
o3b=$(client_run c3 "BEGIN; $PID $ROWS ROLLBACK;")
tg_check_eq "tx pool: no context inside a fresh transaction either (42501)" "$(tg_sqlstate "$o3b")" "42501"
tg_check_lacks "tx pool: no rows inside a fresh transaction" "$o3b" "rows:"
o1e=$(client_run c1 "$PID $ROWS")
tg_check_eq "tx pool: client 1 after its transactions ended has no context (42501)" "$(tg_sqlstate "$o1e")" "42501"
tg_check_eq "tx pool: ... on the same backend" "$(pid_of "$o1e")" "$p1a"

# Writes follow the context: client 2 inserts in B; client 1 in A cannot see it.
o2d=$(client_run c2 "BEGIN; SELECT tenantguard.set_tenant('$B'); INSERT INTO pool_items (id, note) VALUES (6, 'b4'); COMMIT;")
o1f=$(client_run c1 "BEGIN; SELECT tenantguard.set_tenant('$A'); $ROWS COMMIT;")
o2e=$(client_run c2 "BEGIN; SELECT tenantguard.set_tenant('$B'); $ROWS COMMIT;")
check_rows "tx pool: a row inserted by client 2 in B is not visible to client 1 in A" "$o1f" "a1,a2"
check_rows "tx pool: the row inserted by client 2 lands in B" "$o2e" "b1,b2,b3,b4"
tg_check_eq "tx pool: the insert itself raised no error" "$(tg_sqlstate "$o2d")" "none"

# SQL-level prepared statements live on the server connection, so behind a
# transaction pooler one client can run another's. The (generic, cached) plan
# must not carry a tenant: it reads the context of whoever executes it.
o1g=$(client_run c1 "PREPARE tg_q AS SELECT 'rows:' || coalesce(string_agg(note, ',' ORDER BY id), '') FROM pool_items;
BEGIN; SELECT tenantguard.set_tenant('$A'); EXECUTE tg_q; EXECUTE tg_q; EXECUTE tg_q; EXECUTE tg_q; EXECUTE tg_q; EXECUTE tg_q; $PID
SELECT 'plans:' || generic_plans FROM pg_prepared_statements WHERE name = 'tg_q'; COMMIT;")
tg_check_eq "tx pool: client 1 ran its prepared statement with a cached generic plan" \
  "$(printf '%s\n' "$o1g" | grep -c '^rows:a1,a2$')|$(printf '%s\n' "$o1g" | sed -n 's/^plans://p')" "6|6"
o2g=$(client_run c2 "BEGIN; SELECT tenantguard.set_tenant('$B'); EXECUTE tg_q; $PID COMMIT;")
check_rows "tx pool: client 2 in B executing client 1's prepared statement sees only B's rows" "$o2g" "b1,b2,b3,b4"
tg_check_eq "tx pool: ... on the backend where client 1 prepared it" "$(pid_of "$o2g")" "$(pid_of "$o1g")"
o3g=$(client_run c3 "EXECUTE tg_q;")
tg_check_eq "tx pool: a client without context executing it gets 42501" "$(tg_sqlstate "$o3g")" "42501"
tg_check_lacks "tx pool: ... and no rows" "$o3g" "rows:"

# Signed context tokens through the pooler: each transaction carries its own
# token with SET LOCAL (docs/identity.md); the next client on the same server
# connection has no context, and a session-level SET of a token is refused.
TKID=$(tg_psql -d "$DB" -c "SELECT kid FROM tenantguard.add_signing_key()")
TOKA=$(tg_psql -d "$DB" -c "SELECT tenantguard.mint_token('$A', 'pool-user-a', 'viewer')")
TOKB=$(tg_psql -d "$DB" -c "SELECT tenantguard.mint_token('$B', 'pool-user-b', 'viewer')")
ot1=$(client_run c1 "BEGIN; SET LOCAL tenantguard.context = '$TOKA'; $PID $ROWS COMMIT;")
ot2=$(client_run c2 "BEGIN; SELECT set_config('tenantguard.context', '$TOKB', true) IS NOT NULL; $PID $ROWS COMMIT;")
ot1b=$(client_run c1 "BEGIN; SET LOCAL tenantguard.context = '$TOKA'; $PID $ROWS COMMIT;")
ot3=$(client_run c3 "$PID $CTX")
check_rows "tx pool: a token (SET LOCAL) enters its tenant for the transaction" "$ot1" "a1,a2"
check_rows "tx pool: another client's token (set_config) enters its own tenant" "$ot2" "b1,b2,b3,b4"
check_rows "tx pool: the same token re-sent in the next transaction enters again" "$ot1b" "a1,a2"
tg_check_eq "tx pool: token transactions ran on the shared backend" \
  "$(pid_of "$ot1") $(pid_of "$ot2") $(pid_of "$ot3")" "$p1a $p1a $p1a"
tg_check_contains "tx pool: after them a client that sets nothing has no context" "$ot3" "ctx:null"
ot4=$(client_run c3 "SET tenantguard.context = '$TOKA'; $CTX")
tg_check_eq "tx pool: a session-level SET of a token is refused (42501)" "$(tg_sqlstate "$ot4")" "42501"
tg_check_contains "tx pool: ... and leaves no context" "$ot4" "ctx:null"

# Sessions through the pooler: resume(token) per transaction (docs/identity.md
# "Sessions"); the next client on the same server connection has no context,
# and a logout in another backend ends the session for the next transaction.
SUSER=$(tg_psql -d "$DB" -c "SELECT tenantguard.create_user('pool-user@example.com')")
tg_psql -d "$DB" -c "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT tenantguard.add_member('$SUSER', 'viewer'); COMMIT;" >/dev/null
STOK=$(tg_psql -d "$DB" -c "SELECT token FROM tenantguard._create_session('$SUSER', '$B', 1, 'password')")
os1=$(client_run c1 "BEGIN; SELECT tenantguard.resume('$STOK'); $PID $ROWS COMMIT;")
os3=$(client_run c3 "$PID $CTX")
check_rows "tx pool: resume(session) enters the session's tenant for the transaction" "$os1" "b1,b2,b3,b4"
tg_check_eq "tx pool: ... on the shared backend, and the next client has no context" \
  "$(pid_of "$os1") $(pid_of "$os3") $(printf '%s' "$os3" | grep -c 'ctx:null')" "$p1a $p1a 1"
tg_psql -d "$DB" -c "SELECT tenantguard.logout('$STOK')" >/dev/null
os1b=$(client_run c1 "BEGIN; SELECT tenantguard.resume('$STOK'); $ROWS COMMIT;")
tg_check_eq "tx pool: after a logout elsewhere the session is refused (28000)" "$(tg_sqlstate "$os1b")" "28000"

client_close c1
client_close c2
client_close c3

# =============================================================================
# Session pooling with server_reset_query = DISCARD ALL: session contexts
# =============================================================================
client_open s1 sess
os1=$(client_run s1 "SELECT tenantguard.set_tenant('$A', false); $PID $CTX $ROWS")
ps1=$(pid_of "$os1")
tg_check_contains "session pool: client 1 has a session context in A" "$os1" "ctx:$A"
check_rows "session pool: client 1 sees only A's rows" "$os1" "a1,a2"
os1b=$(client_run s1 "$CTX $ROWS")
tg_check_contains "session pool: client 1's session context outlives its transaction" "$os1b" "ctx:$A"
client_close s1

client_open s2 sess
os2=$(client_run s2 "$PID $CTX SELECT 'tenant:[' || current_setting('tenantguard.tenant') || '|' || current_setting('tenantguard.principal') || ']'; $ROWS")
tg_check_match "session pool: client 1 got a backend pid" "$ps1" '^[0-9]+$'
tg_check_eq "session pool: the next client is served by the same backend" "$(pid_of "$os2")" "$ps1"
tg_check_contains "session pool: the next client has no current_tenant()" "$os2" "ctx:null"
tg_check_contains "session pool: the next client sees empty context settings" "$os2" "tenant:[|]"
tg_check_eq "session pool: the next client gets 42501 on the protected table" "$(tg_sqlstate "$os2")" "42501"
tg_check_lacks "session pool: the next client never gets client 1's rows" "$os2" "rows:"
client_close s2

# PgBouncer resets the server connection after each session client leaves;
# the backend's last statement must be the configured DISCARD ALL.
last=
for _ in $(seq 1 100); do
  last=$(psql -X -A -t -d postgres -c "SELECT state || ':' || query FROM pg_stat_activity WHERE pid = ${ps1:-0}" 2>&1)
  [ "$last" = "idle:DISCARD ALL" ] && break
  sleep 0.05
done
tg_check_eq "session pool: PgBouncer reset the shared backend with DISCARD ALL" "$last" "idle:DISCARD ALL"
tg_check_eq "pgbouncer logged no errors" "$(grep -cE 'ERROR|FATAL|WARNING' "$T/pgbouncer.log" 2>/dev/null)" "0"
