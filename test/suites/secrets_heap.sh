#!/usr/bin/env bash
# secrets_heap: sealed values never reach the disk (or the log) in plaintext.
#
# A distinctive canary is sealed into a protected table (short, bytea and a
# long value that goes to TOAST) and stored in the vault (short and long).
# After CHECKPOINT the raw relation files of the table, the vault and their
# TOAST tables, and then every file of the database directory, are scanned
# for the canary: it must not appear. A control table holding the same canary
# in a plain text column (inline, and a long uncompressed value in TOAST) is
# scanned the same way and must show it, which proves the scan can see it.
# (The WAL is out of scope.)
# Then failing reveals of the canary's ciphertexts (wrong tenant, tampered,
# binary as text, no context, a reference from another tenant) must leave no
# trace of the canary in the server log.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=secrets_heap
source test/suites/lib/checks.sh

DB=tg_suite_secrets_heap
CANARY='TG-PLAINTEXT-CANARY-1234567890'

if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  tg_suite_finish
  exit 1
fi
unset PGOPTIONS PGDATABASE

q() { psql -X -q -A -t -d postgres "$@" 2>&1; }
cleanup() { q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; }
trap 'cleanup; tg_suite_finish' EXIT
# run SQL in the test database; verbose errors; empty lines dropped
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" -c "$1" 2>&1 | sed '/^$/d'; }

q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
setup=$(q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" && psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" 2>&1 <<SQL
CREATE EXTENSION tenantguard;
CREATE TABLE sealed (tenant_id uuid NOT NULL, id int NOT NULL, s tenantguard.secret, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('sealed');
CREATE TABLE control (id int PRIMARY KEY, plain text);
ALTER TABLE control ALTER COLUMN plain SET STORAGE EXTERNAL;   -- long values go to TOAST uncompressed
SELECT 'A=' || tenantguard.create_tenant('heap-a');
SELECT 'B=' || tenantguard.create_tenant('heap-b');
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('heap-a'));
INSERT INTO sealed (id, s) VALUES
    (1, tenantguard.seal('$CANARY')),
    (2, tenantguard.seal(convert_to('$CANARY', 'UTF8'))),
    (3, tenantguard.seal(repeat('$CANARY ', 4000))),
    (4, tenantguard.seal('\xff'::bytea || convert_to('$CANARY', 'UTF8')));
SELECT tenantguard.put_secret('canary', '$CANARY');
SELECT tenantguard.put_secret('canary.long', repeat('$CANARY;', 4000));
SELECT 'REF=' || tenantguard.secret_ref('canary');
COMMIT;
INSERT INTO control VALUES (1, 'control row: $CANARY'), (2, repeat('$CANARY|', 4000));
CHECKPOINT;
SELECT 'DATA=' || current_setting('data_directory');
SELECT 'DBDIR=' || current_setting('data_directory') || '/base/' || oid FROM pg_database WHERE datname = current_database();
SQL
)
A=$(printf '%s\n' "$setup" | sed -n 's/^A=//p')
B=$(printf '%s\n' "$setup" | sed -n 's/^B=//p')
REF=$(printf '%s\n' "$setup" | sed -n 's/^REF=//p')
DATA=$(printf '%s\n' "$setup" | sed -n 's/^DATA=//p')
DBDIR=$(printf '%s\n' "$setup" | sed -n 's/^DBDIR=//p')
if [ -z "$A" ] || [ -z "$B" ] || [ -z "$REF" ] || [ -z "$DATA" ] || [ ! -d "$DBDIR" ]; then
  tg_fail "set up the test database" "$setup"
  exit 1
fi

# files REL: the relation's data files (all segments), for a table and its TOAST table
files_of() {
  local rel=$1 p
  for p in $(sql "SELECT pg_relation_filepath('$rel'::regclass)
                  UNION ALL SELECT pg_relation_filepath(reltoastrelid) FROM pg_class WHERE oid = '$rel'::regclass AND reltoastrelid <> 0
                  UNION ALL SELECT pg_relation_filepath(i.indexrelid) FROM pg_index i
                           WHERE i.indrelid IN (SELECT '$rel'::regclass UNION ALL SELECT reltoastrelid FROM pg_class WHERE oid = '$rel'::regclass)"); do
    ls "$DATA/$p" "$DATA/$p".[0-9]* 2>/dev/null
  done
}
# hits FILE...: number of lines (in the grep -a sense) holding the canary, over all files
hits() {
  local n=0 f c
  for f in "$@"; do
    c=$(grep -a -c -F -- "$CANARY" "$f" 2>/dev/null)
    n=$((n + ${c:-0}))
  done
  echo "$n"
}

# --- sanity of the fixture -----------------------------------------------------------
tg_check_eq "the long sealed value and the long vault value went to TOAST" \
  "$(sql "SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE oid IN ('sealed'::regclass, 'tenantguard.vault'::regclass) ORDER BY oid")" "t
t"
tg_check_eq "the long control value went to TOAST" \
  "$(sql "SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE oid = 'control'::regclass")" "t"
tg_check_eq "the sealed values reveal (the canary was really sealed)" \
  "$(sql "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT count(*) FROM sealed WHERE id <> 4 AND position('$CANARY' IN tenantguard.reveal(s)) > 0; SELECT tenantguard.get_secret('canary'); COMMIT;")" \
  "3
$CANARY"

# --- the scan ----------------------------------------------------------------------------
mapfile -t CONTROL_MAIN < <(sql "SELECT '$DATA/' || pg_relation_filepath('control')")
mapfile -t CONTROL_TOAST < <(sql "SELECT '$DATA/' || pg_relation_filepath(reltoastrelid) FROM pg_class WHERE oid = 'control'::regclass")
mapfile -t CONTROL_ALL < <(files_of control)
mapfile -t SEALED_ALL < <(files_of sealed)
mapfile -t VAULT_ALL < <(files_of tenantguard.vault)

tg_check_ne "control: the canary appears in the table's own file (the scan works)" "$(hits "${CONTROL_MAIN[@]}")" "0"
tg_check_ne "control: the canary appears in the TOAST file (the scan sees TOAST)" "$(hits "${CONTROL_TOAST[@]}")" "0"
tg_check_match "the sealed table has a main and a TOAST file to scan" "${#SEALED_ALL[@]}" '^[2-9][0-9]*$'
tg_check_match "the vault has a main and a TOAST file to scan" "${#VAULT_ALL[@]}" '^[2-9][0-9]*$'
tg_check_eq "the canary does not appear in the sealed table's files (main, TOAST, indexes)" "$(hits "${SEALED_ALL[@]}")" "0"
tg_check_eq "the canary does not appear in the vault's files (main, TOAST, indexes)" "$(hits "${VAULT_ALL[@]}")" "0"
# every file of the database except the control table's
others=()
for f in "$DBDIR"/*; do
  skip=
  for c in "${CONTROL_ALL[@]}"; do [ "$f" == "$c" ] && skip=1; done
  [ -z "$skip" ] && [ -f "$f" ] && others+=("$f")
done
tg_check_match "(the database directory has files to scan)" "${#others[@]}" '^[0-9]{2,}$'
tg_check_eq "the canary appears in no other file of the database directory (catalogs, audit, indexes)" "$(hits "${others[@]}")" "0"

# --- failing reveals and the server log ------------------------------------------------
LOG="$(dirname "$DATA")/server.log"
if [ ! -f "$LOG" ]; then
  tg_fail "find the server log" "$LOG"
  exit 1
fi
off=$(stat -c %s "$LOG")
CT1=$(sql "SELECT s::text FROM sealed WHERE id = 1")
CT4=$(sql "SELECT s::text FROM sealed WHERE id = 4")
# the canary ciphertext with its last tag byte changed: the last character of
# the text form, swapped between 'A' and 'E' (both leave the unused low bits of
# the final base64 group zero, so the text form stays canonical)
last=${CT1: -1}
if [ "$last" == A ]; then repl=E; else repl=A; fi
TAMPERED="${CT1:0:${#CT1}-1}$repl"

out=$(sql "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT tenantguard.reveal('$CT1'::tenantguard.secret); COMMIT;")
tg_check_eq "a reveal in the wrong tenant fails (42501)" "$(tg_sqlstate "$out")" "42501"
out=$(sql "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.reveal('$TAMPERED'::tenantguard.secret); COMMIT;")
tg_check_eq "a reveal of the tampered ciphertext fails (XX001)" "$(tg_sqlstate "$out")" "XX001"
out=$(sql "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.reveal('$CT4'::tenantguard.secret); COMMIT;")
tg_check_eq "reveal() of the binary canary as text fails (22021)" "$(tg_sqlstate "$out")" "22021"
tg_check_lacks "... and the error does not show the bytes" "$out" "$CANARY"
out=$(sql "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.reveal(s) FROM sealed ORDER BY id; COMMIT;")
tg_check_eq "a query that reveals rows until one fails (22021) ..." "$(tg_sqlstate "$out")" "22021"
out=$(sql "SELECT tenantguard.reveal('$CT1'::tenantguard.secret)")
tg_check_eq "a reveal without a context fails (42501)" "$(tg_sqlstate "$out")" "42501"
out=$(sql "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT tenantguard.resolve_ref('$REF'); COMMIT;")
tg_check_eq "resolving the canary's reference in another tenant fails (42501)" "$(tg_sqlstate "$out")" "42501"
out=$(sql "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.reveal(s) FROM sealed WHERE id = 1; SELECT 1/0; COMMIT;")
tg_check_eq "a transaction that revealed the canary and then failed (22012)" "$(tg_sqlstate "$out")" "22012"
sleep 0.2
newlog=$(tail -c +$((off + 1)) "$LOG")
tg_check_contains "(the server log recorded the wrong-tenant reveal)" "$newlog" "secret belongs to another tenant"
tg_check_contains "(the server log recorded the failed authentication)" "$newlog" "secret failed authentication"
tg_check_contains "(the server log recorded the binary-as-text reveal)" "$newlog" "not valid text"
tg_check_lacks "the server log does not contain the canary after the failing reveals" "$newlog" "$CANARY"
tg_check_lacks "the server log does not contain a fragment of the canary" "$newlog" "PLAINTEXT-CANARY"
