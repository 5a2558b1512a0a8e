#!/usr/bin/env bash
# scrypt_bound: the server-wide bound on concurrent scrypt runs
# (tenantguard.scrypt_max_concurrent, tenantguard.scrypt_max_memory;
# docs/identity.md, "Passwords and TOTP"):
#   - with scrypt_max_concurrent = 1, a second session hashing while a first
#     one does waits (wait event "Extension", one run in scrypt_activity())
#     and finishes about one hash after the first (timestamps);
#   - a waiter ends at once on pg_cancel_backend() and on statement_timeout
#     (57014) while the first run goes on; pg_terminate_backend() of a waiter
#     and of the running session gives their slots back;
#   - the memory budget: with 100 MB, two 64 MiB runs do not overlap even
#     though 4 runs are allowed, a 1 MiB run passes beside one, and a 128 MiB
#     run is refused at once (53400);
#   - a storm of 8 sessions with scrypt_max_concurrent = 2 never has more than
#     2 runs at once, and all of them finish;
#   - without shared_preload_libraries (a second cluster restarted without
#     it after CREATE EXTENSION) hashing fails with 55000 and a hint naming
#     the setting, while the TOTP functions, which need no shared memory, work.
# The settings are changed with ALTER SYSTEM + pg_reload_conf() and reset at
# the end. Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=scrypt_bound
source test/suites/lib/checks.sh

DB=tg_suite_scrypt_bound
T=$(mktemp -d /tmp/tenantguard-scrypt-XXXXXX)
chmod 755 "$T"
SECOND_UP=

cleanup() {
  local j
  for j in $(jobs -p); do kill "$j" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$SECOND_UP" ]; then
    tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -m immediate -w stop >/dev/null 2>&1
  fi
  psql -X -q -d postgres -c "ALTER SYSTEM RESET tenantguard.scrypt_max_concurrent" \
    -c "ALTER SYSTEM RESET tenantguard.scrypt_max_memory" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
tg_psql -d "$DB" -c "CREATE EXTENSION tenantguard" >/dev/null
q() { tg_psql -d "$DB" -c "$1"; }
now() { date +%s.%N; }

# bound MAX MEMORY: set the server-wide bound and wait until new sessions see it
bound() {
  local i
  psql -X -q -d postgres -c "ALTER SYSTEM SET tenantguard.scrypt_max_concurrent = $1" \
    -c "ALTER SYSTEM SET tenantguard.scrypt_max_memory = '$2'" -c "SELECT pg_reload_conf()" >/dev/null
  for ((i = 0; i < 100; i++)); do
    [ "$(q "SELECT current_setting('tenantguard.scrypt_max_concurrent') || ',' || current_setting('tenantguard.scrypt_max_memory')")" = "$1,$2" ] && return 0
    sleep 0.05
  done
  tg_fail "the bound $1 / $2 took effect"
}

# bg_hash NAME LN R P [SQL before]: hash in the background (application_name
# NAME); $T/NAME.out gets the epoch before, "hashed" and the epoch
# after, or the error.
bg_hash() {
  local name=$1 ln=$2 r=$3 p=$4 pre=${5:-}
  PGAPPNAME=$name tg_psql -d "$DB" >"$T/$name.out" <<SQL &
SET tenantguard.scrypt_log_n = $ln; SET tenantguard.scrypt_r = $r; SET tenantguard.scrypt_p = $p;
$pre
SELECT extract(epoch FROM clock_timestamp());
SELECT CASE WHEN tenantguard.hash_password('correct horse battery') LIKE '\$scrypt\$ln=$ln,r=$r,p=$p\$%' THEN 'hashed' END;
SELECT extract(epoch FROM clock_timestamp());
SQL
  eval "PID_$name=$!"
}
# start / end epoch of a background hash (lines 1 and 3 of its output)
t_start() { sed -n 1p "$T/$1.out"; }
t_end() { sed -n 3p "$T/$1.out"; }
# poll (10 s at most) until SQL returns t
until_true() {
  local i
  for ((i = 0; i < 200; i++)); do
    [ "$(q "$1")" = t ] && return 0
    sleep 0.05
  done
  return 1
}
running() { q "SELECT running FROM tenantguard.scrypt_activity()"; }
waiting_sql() { echo "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = '$1' AND wait_event_type = 'Extension')"; }
pid_of() { q "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"; }
# a > b + c ?
gt() { awk -v a="$1" -v b="$2" -v c="${3:-0}" 'BEGIN { exit !(a > b + c) }'; }

# ---------------------------------------------------------------------------
# 1. One at a time: the second session waits
# ---------------------------------------------------------------------------
bound 1 512MB
waits0=$(q "SELECT waits FROM tenantguard.scrypt_activity()")
bg_hash a 16 8 6
until_true "SELECT running = 1 FROM tenantguard.scrypt_activity()" || tg_fail "the first hash starts"
bg_hash b 16 8 6
if until_true "$(waiting_sql b)"; then
  tg_pass "with scrypt_max_concurrent = 1 the second session waits (wait event Extension) while the first hashes"
else
  tg_fail "with scrypt_max_concurrent = 1 the second session waits" "$(q "SELECT application_name, state, wait_event_type, wait_event FROM pg_stat_activity WHERE application_name IN ('a', 'b')")"
fi
tg_check_eq "one scrypt run is in progress meanwhile, 64 MiB and a bit" "$(q "SELECT running || ',' || (memory / 1048576) FROM tenantguard.scrypt_activity()")" "1,64"
wait
tg_check_eq "both hashes succeed" "$(sed -n 2p "$T/a.out"),$(sed -n 2p "$T/b.out")" "hashed,hashed"
a_len=$(awk -v s="$(t_start a)" -v e="$(t_end a)" 'BEGIN { print e - s }')
if gt "$(t_start a)" 0 && gt "$(t_end a)" "$(t_start b)" && gt "$(t_end b)" "$(t_end a)" "$(awk -v d="$a_len" 'BEGIN { print d / 2 }')"; then
  tg_pass "timestamps: b started before a ended and ended more than half a hash (a took ${a_len}s) after a"
else
  tg_fail "timestamps show b waiting for a" "a: $(t_start a) .. $(t_end a); b: $(t_start b) .. $(t_end b)"
fi
tg_check_eq "scrypt_activity() counts the wait, and nothing runs now" \
  "$(q "SELECT (waits - $waits0) || ',' || running || ',' || memory FROM tenantguard.scrypt_activity()")" "1,0,0"

# ---------------------------------------------------------------------------
# 2. Waiters are interruptible
# ---------------------------------------------------------------------------
bg_hash a 16 8 12
until_true "SELECT running = 1 FROM tenantguard.scrypt_activity()" || tg_fail "the first hash starts (cancel)"
bg_hash c 16 8 6
until_true "$(waiting_sql c)" || tg_fail "the second session waits (cancel)"
t_cancel=$(now)
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'c'" >/dev/null
wait "$PID_c"
t_canceled=$(now)
tg_check_eq "pg_cancel_backend() ends a waiting hash with 57014" "$(tg_sqlstate "$(cat "$T/c.out")")" "57014"
tg_check_eq "the cancel came while the first hash was still running" "$(running)" "1"
if ! gt "$t_canceled" "$t_cancel" 0.5; then
  tg_pass "the waiter ended within 0.5 s of the cancel"
else
  tg_fail "the waiter ended within 0.5 s of the cancel" "cancel $t_cancel, ended $t_canceled"
fi
bg_hash d 16 8 6 "SET statement_timeout = '200ms';"
wait "$PID_d"
tg_check_eq "statement_timeout ends a waiting hash with 57014" "$(tg_sqlstate "$(cat "$T/d.out")")" "57014"
tg_check_eq "(while the first hash was still running)" "$(running)" "1"
wait "$PID_a"
if [ "$(sed -n 2p "$T/a.out")" = hashed ]; then tg_pass "the first hash completes"; else tg_fail "the first hash completes" "$(cat "$T/a.out")"; fi

# terminate a waiter and the running session: their slots come back
bg_hash a 16 8 6
until_true "SELECT running = 1 FROM tenantguard.scrypt_activity()" || tg_fail "the first hash starts (terminate)"
bg_hash e 16 8 6
until_true "$(waiting_sql e)" || tg_fail "the second session waits (terminate)"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('e', 'a')" >/dev/null
wait
tg_check_match "pg_terminate_backend() ends the waiter and the running session" "$(cat "$T/a.out" "$T/e.out")" "57P01|terminat"
until_true "SELECT running = 0 AND memory = 0 FROM tenantguard.scrypt_activity()" && tg_pass "no slot is left taken after terminating both" ||
  tg_fail "no slot is left taken after terminating both" "$(q "SELECT * FROM tenantguard.scrypt_activity()")"
waits1=$(q "SELECT waits FROM tenantguard.scrypt_activity()")
out=$(q "SET tenantguard.scrypt_log_n = 10; SET tenantguard.scrypt_r = 8; SET tenantguard.scrypt_p = 1;
         SELECT length(tenantguard.hash_password('correct horse battery'))")
tg_check_eq "a new hash then runs without waiting" "$out,$(q "SELECT waits - $waits1 FROM tenantguard.scrypt_activity()")" "88,0"

# ---------------------------------------------------------------------------
# 3. The memory budget
# ---------------------------------------------------------------------------
bound 4 100MB
bg_hash a 16 8 6
until_true "SELECT running = 1 FROM tenantguard.scrypt_activity()" || tg_fail "the first hash starts (memory)"
bg_hash b 16 8 6
if until_true "$(waiting_sql b)"; then
  tg_pass "with 100 MB, a second 64 MiB run waits although 4 runs are allowed"
else
  tg_fail "with 100 MB, a second 64 MiB run waits"
fi
out=$(q "SET tenantguard.scrypt_log_n = 10; SET tenantguard.scrypt_r = 8; SET tenantguard.scrypt_p = 1;
         SELECT length(tenantguard.hash_password('correct horse battery'))")
tg_check_eq "a 1 MiB run passes beside the 64 MiB one" "$out,$(running)" "88,1"
out=$(q "SET tenantguard.scrypt_log_n = 17; SET tenantguard.scrypt_r = 8; SET tenantguard.scrypt_p = 1;
         SELECT tenantguard.hash_password('correct horse battery')")
tg_check_eq "a 128 MiB run, more than the whole budget, is refused (53400)" "$(tg_sqlstate "$out")" "53400"
tg_check_contains "(the error names tenantguard.scrypt_max_memory)" "$out" "tenantguard.scrypt_max_memory"
wait
tg_check_eq "both 64 MiB hashes complete" "$(sed -n 2p "$T/a.out"),$(sed -n 2p "$T/b.out")" "hashed,hashed"
if gt "$(t_end b)" "$(t_end a)" 0.2; then
  tg_pass "the two 64 MiB runs did not overlap"
else
  tg_fail "the two 64 MiB runs did not overlap" "a: $(t_start a) .. $(t_end a); b: $(t_start b) .. $(t_end b)"
fi

# ---------------------------------------------------------------------------
# 4. A storm: 8 sessions, 2 at a time
# ---------------------------------------------------------------------------
bound 2 512MB
for i in 1 2 3 4 5 6 7 8; do bg_hash "s$i" 16 8 1; done
max=0
seen_wait=0
end=$(( $(date +%s) + 30 ))
while [ "$(jobs -rp | wc -l)" -gt 0 ] && [ "$(date +%s)" -lt "$end" ]; do
  r=$(q "SELECT running || ',' || (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 's_' AND wait_event_type = 'Extension') FROM tenantguard.scrypt_activity()")
  [ "${r%,*}" -gt "$max" ] 2>/dev/null && max=${r%,*}
  [ "${r#*,}" -gt 0 ] 2>/dev/null && seen_wait=1
  sleep 0.03
done
wait
ok=0
for i in 1 2 3 4 5 6 7 8; do [ "$(sed -n 2p "$T/s$i.out")" = hashed ] && ok=$((ok + 1)); done
tg_check_eq "all 8 hashes of the storm complete" "$ok" "8"
tg_check_eq "never more than 2 runs at once (and the bound was reached), sessions waited" "$max,$seen_wait" "2,1"

# ---------------------------------------------------------------------------
# 5. Without the preload: 55000
# ---------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] && chown postgres: "$T"
P2=$((57000 + RANDOM % 1000))
if tg_as_postgres "$PGBIN/initdb" -D "$T/data" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$T/initdb.log" 2>&1; then
  {
    echo "port = $P2"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$T'"
    echo "fsync = off"
    echo "max_connections = 10"
    echo "shared_buffers = 16MB"
    echo "lc_messages = 'C'"
    echo "shared_preload_libraries = 'tenantguard'"
  } >>"$T/data/postgresql.conf"
  p2() { tg_psql -h "$T" -p "$P2" -U postgres -d postgres "$@"; }
  if tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -l "$T/server.log" -w -t 60 start >/dev/null 2>&1; then
    SECOND_UP=1
    p2 -c "CREATE EXTENSION tenantguard" >/dev/null
    sed -i "s/^shared_preload_libraries = 'tenantguard'$/shared_preload_libraries = ''/; /^tenantguard\./d" "$T/data/postgresql.conf"
    tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -l "$T/server.log" -m fast -w -t 60 restart >/dev/null 2>&1
    out=$(p2 -c "SELECT tenantguard.hash_password('correct horse battery')")
    tg_check_eq "hash_password() without the preload fails with 55000" "$(tg_sqlstate "$out")" "55000"
    tg_check_match "the hint names the setting exactly" "$out" "HINT: .*shared_preload_libraries = 'tenantguard'"
    out=$(p2 -c "SELECT tenantguard.verify_password('correct horse battery', '\$scrypt\$ln=4,r=1,p=1\$dGVuYW50Z3VhcmQtc2FsdA\$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc')")
    tg_check_eq "verify_password() without the preload fails with 55000 (not an unbounded run)" "$(tg_sqlstate "$out")" "55000"
    out=$(p2 -c "SELECT tenantguard.totp_code('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', to_timestamp(59), 8)")
    tg_check_eq "the TOTP functions need no shared memory and work" "$out" "94287082"
    tg_as_postgres "$PGBIN/pg_ctl" -D "$T/data" -m fast -w stop >/dev/null 2>&1
    SECOND_UP=
  else
    tg_fail "start the second cluster" "$(tail -n 20 "$T/server.log")"
  fi
else
  tg_fail "initdb of the second cluster" "$(cat "$T/initdb.log")"
fi
