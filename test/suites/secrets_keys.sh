#!/usr/bin/env bash
# secrets_keys: the master key file and rewrap_keys().
#
# Runs in its own database of the main cluster from run-all.sh and changes
# the cluster-wide setting tenantguard.master_key_file with ALTER SYSTEM +
# pg_reload_conf(); the original setting is restored at the end (also on
# failure, from the EXIT trap).
#
# Part 1: a key file that is group/world readable, unreadable, malformed,
#         missing, a directory, or no setting at all: every use of a secret
#         fails with 55000 and a hint naming tenantguard.master_key_file.
# Part 2: the master key file is replaced: reveal fails with 55000 ("wrapped
#         by a different master key"); rewrap_keys() with a wrong, missing or
#         loose old key fails with 55000 and changes nothing; with the right
#         old key it rewraps every key, and every value reveals again (and
#         the audit ledger, signed with a key derived from the master key,
#         still verifies); then the same back to the original key.
# No error text and no server log line contains any key's hex.
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=secrets_keys
source test/suites/lib/checks.sh

DB=tg_suite_secrets_keys
T=
ORIG_FILE=
ORIG_FROM_AUTO=
LOG=
LOG_OFF=0
ALL_OUT=

if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  tg_suite_finish
  exit 1
fi
unset PGOPTIONS PGDATABASE

q() { psql -X -q -A -t -d postgres "$@" 2>&1; }

# set_key_file PATH: ALTER SYSTEM SET the setting, reload, and wait until new
# connections see it.
set_key_file() {
  local want=$1 got i
  q -c "ALTER SYSTEM SET tenantguard.master_key_file = '$want'" -c "SELECT pg_reload_conf()" >/dev/null
  for ((i = 0; i < 100; i++)); do
    got=$(q -c "SHOW tenantguard.master_key_file")
    [ "$got" == "$want" ] && return 0
    sleep 0.05
  done
  echo "setting did not change to '$want' (still '$got')" >&2
  return 1
}

restore_setting() {
  [ -n "$ORIG_FROM_AUTO" ] || return 0
  local i got
  if [ "$ORIG_FROM_AUTO" == yes ]; then
    q -c "ALTER SYSTEM SET tenantguard.master_key_file = '$ORIG_FILE'" >/dev/null
  else
    q -c "ALTER SYSTEM RESET tenantguard.master_key_file" >/dev/null
  fi
  q -c "SELECT pg_reload_conf()" >/dev/null
  for ((i = 0; i < 100; i++)); do
    got=$(q -c "SHOW tenantguard.master_key_file")
    [ "$got" == "$ORIG_FILE" ] && return 0
    sleep 0.05
  done
  echo "WARNING: could not restore tenantguard.master_key_file (now '$got')" >&2
}

cleanup() {
  restore_setting
  q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  [ -n "$T" ] && rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

# --- the original setting, the log, key files ----------------------------------
orig=$(q -F '|' -c "SELECT setting, coalesce(sourcefile, '') FROM pg_settings WHERE name = 'tenantguard.master_key_file'")
ORIG_FILE=${orig%%|*}
case "${orig#*|}" in
  *postgresql.auto.conf) ORIG_FROM_AUTO=yes ;;
  *) ORIG_FROM_AUTO=no ;;
esac
if [ -z "$ORIG_FILE" ] || ! tg_as_postgres test -r "$ORIG_FILE"; then
  tg_fail "the cluster has a readable master key file configured" "$orig"
  ORIG_FROM_AUTO=
  exit 1
fi
ORIG_HEX=$(tg_as_postgres cat "$ORIG_FILE" | tr -d ' \n')
LOG="$(dirname "$(q -c 'SHOW data_directory')")/server.log"
[ -f "$LOG" ] && LOG_OFF=$(stat -c %s "$LOG")

T=$(mktemp -d /tmp/tenantguard-secrets-keys-XXXXXX)
chmod 700 "$T"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T"
# mkkey FILE MODE [CONTENT]: a key file owned by postgres.
mkkey() {
  local f=$1 mode=$2 content=${3:-}
  [ -n "$content" ] || content=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$content" >"$f"
  chmod "$mode" "$f"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$f"
  return 0
}
NEW_HEX=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
WRONG_HEX=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
mkkey "$T/new.key" 600 "$NEW_HEX"
mkkey "$T/wrong.key" 600 "$WRONG_HEX"
mkkey "$T/orig-group.key" 640 "$ORIG_HEX"
mkkey "$T/orig-world.key" 604 "$ORIG_HEX"
mkkey "$T/orig-loose-old.key" 644 "$ORIG_HEX"
mkkey "$T/short.key" 600 "${ORIG_HEX:0:63}"
mkkey "$T/nonhex.key" 600 "${ORIG_HEX:0:62}zz"
mkkey "$T/trailing.key" 600 "${ORIG_HEX}x"
mkkey "$T/long.key" 600 "${ORIG_HEX}${ORIG_HEX:0:2}"
mkkey "$T/empty.key" 600 " "
mkkey "$T/rootowned.key" 600 "$ORIG_HEX"
[ "$(id -u)" -eq 0 ] && chown root: "$T/rootowned.key"
mkdir "$T/dir.key"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T/dir.key"

# --- the database ---------------------------------------------------------------
q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
setup=$(q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" && psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" 2>&1 <<'SQL'
CREATE EXTENSION tenantguard;
CREATE TABLE vals (tenant_id uuid NOT NULL, id int NOT NULL, s tenantguard.secret, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('vals');
SELECT 'A=' || tenantguard.create_tenant('keys-a');
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('keys-a'));
INSERT INTO vals (id, s) VALUES (1, tenantguard.seal('value-one')), (2, tenantguard.seal('value-two'));
SELECT tenantguard.put_secret('api.token', 'vault-value');
SELECT 'BIDX=' || encode(tenantguard.blind_index('alice', 'email'), 'hex');
COMMIT;
SELECT tenantguard.rotate_data_key();
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('keys-a'));
INSERT INTO vals (id, s) VALUES (3, tenantguard.seal('value-three'));
COMMIT;
SELECT 'NKEYS=' || count(*) FROM tenantguard.data_keys;
SQL
)
A=$(printf '%s\n' "$setup" | sed -n 's/^A=//p')
BIDX=$(printf '%s\n' "$setup" | sed -n 's/^BIDX=//p')
NKEYS=$(printf '%s\n' "$setup" | sed -n 's/^NKEYS=//p')
if [ -z "$A" ] || [ -z "$BIDX" ] || [ -z "$NKEYS" ]; then
  tg_fail "set up the test database" "$setup"
  exit 1
fi
tg_check_eq "setup: two data key versions and the index key are stored" "$NKEYS" "3"

# run SQL in the test database (verbose errors); collects every output
run() {
  local out
  out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" -c "$1" 2>&1)
  printf '%s\n' "$out" >>"$T/all.out"
  printf '%s\n' "$out"
}
REVEAL="BEGIN; SELECT tenantguard.set_tenant('$A');
  SELECT 'vals:' || string_agg(tenantguard.reveal(s), ',' ORDER BY id) FROM vals;
  SELECT 'vault:' || tenantguard.get_secret('api.token');
  SELECT 'bidx:' || encode(tenantguard.blind_index('alice', 'email'), 'hex');
  COMMIT;"
WANT_REVEAL="vals:value-one,value-two,value-three
vault:vault-value
bidx:$BIDX"
SEAL="BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT 'sealed:' || (tenantguard.seal('x') IS NOT NULL); COMMIT;"
KEYIDS="SELECT string_agg(DISTINCT master_key_id, ',') FROM tenantguard.key_versions"
hint_of() { printf '%s\n' "$1" | sed -n 's/^HINT: *//p' | head -n 1; }
msg_of() { printf '%s\n' "$1" | sed -nE 's/^(ERROR|FATAL): +[0-9A-Z]{5}: //p' | head -n 1; }

out=$(run "$REVEAL")
tg_check_eq "with the configured key every value, the vault and the blind index work" "$(printf '%s\n' "$out" | grep -E '^(vals|vault|bidx):')" "$WANT_REVEAL"
ID_ORIG=$(run "$KEYIDS")
tg_check_match "every key is wrapped by one master key (id shown, not the key)" "$ID_ORIG" '^[0-9a-f]{16}$'

# =============================================================================
# Part 1: bad key files
# =============================================================================
# bad_file LABEL PATH MESSAGE_ERE
bad_file() {
  local label=$1 path=$2 ere=$3 out sout
  if ! set_key_file "$path"; then
    tg_fail "$label: point tenantguard.master_key_file at it"
    return
  fi
  out=$(run "$REVEAL")
  tg_check_eq "$label: reveal fails with 55000" "$(tg_sqlstate "$out")" "55000"
  tg_check_match "$label: the message says what is wrong" "$(msg_of "$out")" "$ere"
  tg_check_contains "$label: the hint names tenantguard.master_key_file" "$(hint_of "$out")" "tenantguard.master_key_file"
  tg_check_lacks "$label: no value is revealed" "$out" "value-"
  sout=$(run "$SEAL")
  tg_check_eq "$label: seal fails with 55000 too" "$(tg_sqlstate "$sout")" "55000"
}
bad_file "group-readable key file (0640)" "$T/orig-group.key" 'accessible by other users'
bad_file "world-readable key file (0604)" "$T/orig-world.key" 'accessible by other users'
bad_file "key file the server cannot read (owned by root, 0600)" "$T/rootowned.key" 'could not open'
bad_file "malformed key file (63 hex digits)" "$T/short.key" 'malformed'
bad_file "malformed key file (non-hex digits)" "$T/nonhex.key" 'malformed'
bad_file "malformed key file (64 hex digits and junk)" "$T/trailing.key" 'malformed'
bad_file "malformed key file (66 hex digits)" "$T/long.key" 'malformed'
bad_file "empty key file" "$T/empty.key" 'malformed'
bad_file "missing key file" "$T/no-such.key" 'could not open'
bad_file "a directory as key file" "$T/dir.key" 'not a regular file'
bad_file "no master key configured (empty setting)" "" 'not configured'

set_key_file "$ORIG_FILE" || tg_fail "point the setting back at the original key"
out=$(run "$REVEAL")
tg_check_eq "back on the original key file everything reveals again" "$(printf '%s\n' "$out" | grep -E '^(vals|vault|bidx):')" "$WANT_REVEAL"

# =============================================================================
# Part 2: a new master key file, and rewrap_keys()
# =============================================================================
# the audit ledger is signed with a key derived from the master key: seal a
# block under the original key, it must still verify after the replacement
out=$(run "SELECT tenantguard_audit.seal() >= 0; SELECT ok FROM tenantguard_audit.verify()")
tg_check_eq "(a ledger block sealed under the original master key verifies)" "$out" "t
t"
set_key_file "$T/new.key" || tg_fail "point the setting at the new key"
out=$(run "$REVEAL")
tg_check_eq "new master key: reveal fails with 55000" "$(tg_sqlstate "$out")" "55000"
tg_check_contains "new master key: ... because the keys are wrapped by a different master key" "$out" "wrapped by a different master key"
tg_check_contains "new master key: ... with a hint naming rewrap_keys()" "$(hint_of "$out")" "rewrap_keys"
tg_check_lacks "new master key: no value is revealed" "$out" "value-"
out=$(run "$SEAL")
tg_check_eq "new master key: seal fails with 55000 as well" "$(tg_sqlstate "$out")" "55000"

out=$(run "SELECT tenantguard.rewrap_keys('$T/wrong.key')")
tg_check_eq "rewrap_keys() with a wrong old key fails with 55000" "$(tg_sqlstate "$out")" "55000"
out=$(run "SELECT tenantguard.rewrap_keys('$T/new.key')")
tg_check_eq "rewrap_keys() naming the current key as the old one fails with 55000" "$(tg_sqlstate "$out")" "55000"
out=$(run "SELECT tenantguard.rewrap_keys('$T/no-such.key')")
tg_check_eq "rewrap_keys() with a missing old key file fails with 55000" "$(tg_sqlstate "$out")" "55000"
out=$(run "SELECT tenantguard.rewrap_keys('$T/orig-loose-old.key')")
tg_check_eq "rewrap_keys() with a world-readable old key file fails with 55000" "$(tg_sqlstate "$out")" "55000"
out=$(run "SELECT tenantguard.rewrap_keys('$T/short.key')")
tg_check_eq "rewrap_keys() with a malformed old key file fails with 55000" "$(tg_sqlstate "$out")" "55000"
tg_check_eq "the failed rewraps changed no key" "$(run "$KEYIDS")" "$ID_ORIG"
out=$(run "$REVEAL")
tg_check_eq "after the failed rewraps reveal still fails with 55000" "$(tg_sqlstate "$out")" "55000"

out=$(run "SELECT 'n=' || tenantguard.rewrap_keys('$ORIG_FILE')")
tg_check_eq "rewrap_keys(old key file) returns the number of keys rewrapped" "$out" "n=$NKEYS"
ID_NEW=$(run "$KEYIDS")
tg_check_match "after rewrap every key is wrapped by one master key" "$ID_NEW" '^[0-9a-f]{16}$'
tg_check_ne "... a different one than before" "$ID_NEW" "$ID_ORIG"
out=$(run "$REVEAL")
tg_check_eq "after rewrap every value, the vault and the blind index work under the new key" \
  "$(printf '%s\n' "$out" | grep -E '^(vals|vault|bidx):')" "$WANT_REVEAL"
out=$(run "$SEAL")
tg_check_contains "after rewrap new values can be sealed" "$out" "sealed:true"
out=$(run "SELECT 'n=' || tenantguard.rewrap_keys('$ORIG_FILE')")
tg_check_eq "a second rewrap_keys() has nothing left to do" "$out" "n=0"
out=$(run "SELECT ok::text || coalesce(' ' || problem, '') FROM tenantguard_audit.verify()")
tg_check_eq "after the master key replacement and rewrap the audit ledger still verifies" "$out" "true"

# back to the original key: the old key no longer opens, until rewrapped back
set_key_file "$ORIG_FILE" || tg_fail "point the setting back at the original key"
out=$(run "$REVEAL")
tg_check_eq "the replaced (old) master key no longer opens the rewrapped keys (55000)" "$(tg_sqlstate "$out")" "55000"
out=$(run "SELECT 'n=' || tenantguard.rewrap_keys('$T/new.key')")
tg_check_eq "rewrap_keys() back to the original key rewraps every key again" "$out" "n=$NKEYS"
out=$(run "$REVEAL")
tg_check_eq "back on the original key everything reveals" "$(printf '%s\n' "$out" | grep -E '^(vals|vault|bidx):')" "$WANT_REVEAL"
tg_check_eq "the keys carry the original master key id again" "$(run "$KEYIDS")" "$ID_ORIG"

# =============================================================================
# No key material in any output or in the server log
# =============================================================================
ALL_OUT=$(cat "$T/all.out")
for pair in "original:$ORIG_HEX" "new:$NEW_HEX" "wrong:$WRONG_HEX" "truncated original:${ORIG_HEX:0:62}"; do
  tg_check_lacks "no error output contains the ${pair%%:*} key's hex" "$ALL_OUT" "${pair#*:}"
done
tg_check_contains "(the collected error output is not empty)" "$ALL_OUT" "55000"
if [ -f "$LOG" ]; then
  newlog=$(tail -c +$((LOG_OFF + 1)) "$LOG")
  tg_check_contains "(the server log recorded this suite's errors)" "$newlog" "wrapped by a different master key"
  for pair in "original:$ORIG_HEX" "new:$NEW_HEX" "wrong:$WRONG_HEX" "truncated original:${ORIG_HEX:0:62}"; do
    tg_check_lacks "the server log does not contain the ${pair%%:*} key's hex" "$newlog" "${pair#*:}"
  done
else
  tg_fail "find the server log" "$LOG"
fi
