#!/usr/bin/env bash
# secrets_dump: sealed data survives pg_dump / pg_restore and COPY.
#
# A source database with a protected table holding a secret column (two
# tenants, two data key versions, a blind index column) and vault entries is
# dumped with pg_dump -Fc and restored with pg_restore into a fresh database
# of the same cluster (same master key). In the restored database: the
# values reveal in the right tenant (and only there), blind indexes still
# match, the vault works, the tenants, role bindings, protected-table registry,
# isolation (isolation_report() is empty) and the audit events all survive. A ciphertext taken
# into an unrelated database, even one with a tenant of the same id, does not
# open there. COPY TO STDOUT / FROM STDIN (text and binary) as superuser
# round-trips secret columns; COPY cannot smuggle a plaintext into one.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=secrets_dump
source test/suites/lib/checks.sh

SRC=tg_suite_secrets_dump_src
DST=tg_suite_secrets_dump_dst
OTHER=tg_suite_secrets_dump_other
ADMIN=tgsuite_dump_admin     # LOGIN, member of tenantguard_admin
BOUND=tgsuite_dump_bound     # LOGIN, member of tenantguard_app, bound to tenant A
T=

if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  tg_suite_finish
  exit 1
fi
unset PGOPTIONS PGDATABASE

q() { psql -X -q -A -t -d postgres "$@" 2>&1; }
dropall() {
  q -c "DROP DATABASE IF EXISTS $SRC WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DST WITH (FORCE)" \
    -c "DROP DATABASE IF EXISTS $OTHER WITH (FORCE)" -c "DROP ROLE IF EXISTS $ADMIN" -c "DROP ROLE IF EXISTS $BOUND" >/dev/null
}
cleanup() {
  dropall
  [ -n "$T" ] && rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

T=$(mktemp -d /tmp/tenantguard-secrets-dump-XXXXXX)
dropall

# --- the source database ----------------------------------------------------------
setup=$(q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $SRC" -c "CREATE ROLE $ADMIN LOGIN IN ROLE tenantguard_admin" \
          -c "CREATE ROLE $BOUND LOGIN IN ROLE tenantguard_app" &&
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$SRC" 2>&1 <<SQL
CREATE EXTENSION tenantguard;
CREATE TABLE accounts (
    tenant_id  uuid NOT NULL,
    id         int  NOT NULL,
    api_key    tenantguard.secret,
    email_bidx bytea,
    note       text,
    PRIMARY KEY (tenant_id, id)
);
SELECT tenantguard.protect('accounts');
GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO tenantguard_app, tenantguard_admin;
SELECT 'A=' || tenantguard.create_tenant('dump-a');
SELECT 'B=' || tenantguard.create_tenant('dump-b');
SELECT tenantguard.bind_role('$BOUND', tenantguard.tenant_id('dump-a'));
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('dump-a'));
INSERT INTO accounts (id, api_key, email_bidx, note)
     SELECT i, tenantguard.seal('a-key-' || i), tenantguard.blind_index('a' || i || '@example.com', 'email'), 'a' || i
       FROM generate_series(1, 3) i;
SELECT tenantguard.put_secret('api.token', 'a-token-1');
SELECT tenantguard.put_secret('api.token', 'a-token-2');
SELECT tenantguard.put_secret('db.password', 'a-staging-pw', 'staging');
SELECT tenantguard.grant_permission('developer', 'deploy.*', 'project/*');
SELECT tenantguard.grant_permission('developer', 'deploy.production', '*', 'deny');
COMMIT;
SELECT tenantguard.rotate_data_key();
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('dump-a'));
INSERT INTO accounts (id, api_key, email_bidx, note)
     VALUES (4, tenantguard.seal('a-key-4'), tenantguard.blind_index('a4@example.com', 'email'), 'a4'),
            (5, tenantguard.seal('\x00ff'::bytea), NULL, 'a5-binary'),
            (6, NULL, NULL, 'a6-null');
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('dump-b'));
INSERT INTO accounts (id, api_key, email_bidx, note)
     SELECT i, tenantguard.seal('b-key-' || i), tenantguard.blind_index('b' || i || '@example.com', 'email'), 'b' || i
       FROM generate_series(1, 2) i;
SELECT tenantguard.put_secret('api.token', 'b-token-1');
COMMIT;
SELECT 'NKEYS=' || count(*) FROM tenantguard.data_keys;
SELECT 'CT_A1=' || api_key::text FROM accounts WHERE note = 'a1';
SQL
)
A=$(printf '%s\n' "$setup" | sed -n 's/^A=//p')
B=$(printf '%s\n' "$setup" | sed -n 's/^B=//p')
NKEYS=$(printf '%s\n' "$setup" | sed -n 's/^NKEYS=//p')
CT_A1=$(printf '%s\n' "$setup" | sed -n 's/^CT_A1=//p')
if [ -z "$A" ] || [ -z "$B" ] || [ "$NKEYS" != 3 ] || [ -z "$CT_A1" ]; then
  tg_fail "set up the source database" "$setup"
  exit 1
fi

# --- the checks, run against a database ---------------------------------------------
# as DB USER SQL: verbose errors, unaligned, stop at the first error
# (empty lines, such as the void result of set_tenant(), are dropped)
as() {
  local db=$1 user=$2
  shift 2
  psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" -U "$user" -c "$*" 2>&1 | sed '/^$/d'
}
REVEAL_A="BEGIN; SELECT tenantguard.set_tenant('$A');
  SELECT string_agg(id || '=' || coalesce(tenantguard.reveal(api_key), 'NULL'), ',' ORDER BY id) FROM accounts WHERE id <> 5;
  COMMIT;"
REVEAL_B="BEGIN; SELECT tenantguard.set_tenant('$B');
  SELECT string_agg(id || '=' || tenantguard.reveal(api_key), ',' ORDER BY id) FROM accounts; COMMIT;"
WANT_A="1=a-key-1,2=a-key-2,3=a-key-3,4=a-key-4,6=NULL"
WANT_B="1=b-key-1,2=b-key-2"
VAULT_A="BEGIN; SELECT tenantguard.set_tenant('$A');
  SELECT tenantguard.get_secret('api.token') || ',' || tenantguard.get_secret('api.token', 'default', 1) || ','
      || tenantguard.get_secret('db.password', 'staging') || ',' || tenantguard.resolve_ref('tgref:dump-a/default/api.token@1');
  COMMIT;"

tg_check_eq "source: tenant A's values reveal" "$(as "$SRC" "$ADMIN" "$REVEAL_A")" "$WANT_A"
tg_check_eq "source: tenant B's values reveal" "$(as "$SRC" "$ADMIN" "$REVEAL_B")" "$WANT_B"
tg_check_eq "source: the vault works" "$(as "$SRC" "$ADMIN" "$VAULT_A")" "a-token-2,a-token-1,a-staging-pw,a-token-1"
tg_check_eq "source: isolation_report() is empty" "$(as "$SRC" postgres "SELECT count(*) FROM tenantguard.isolation_report()")" "0"
KEYS_SRC=$(as "$SRC" postgres "SELECT string_agg(purpose || version || ':' || master_key_id, ',' ORDER BY purpose, version) FROM tenantguard.key_versions")

# --- pg_dump -Fc / pg_restore ----------------------------------------------------------
EVENTS_SRC=$(as "$SRC" postgres "SELECT count(*) || ':' || coalesce(max(id), 0) FROM tenantguard_audit.events")
dump_out=$(pg_dump -Fc -d "$SRC" -f "$T/src.dump" 2>&1)
tg_check_eq "pg_dump -Fc of the source database succeeds" "$?:$dump_out" "0:"
tg_check_lacks "the dump does not contain a plaintext value" "$(strings "$T/src.dump")" "a-key-1"
tg_check_lacks "the dump does not contain a vault value" "$(strings "$T/src.dump")" "a-token-2"
q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DST" >/dev/null
restore_out=$(pg_restore -d "$DST" "$T/src.dump" 2>&1)
rc=$?
tg_check_eq "pg_restore into a fresh database succeeds without errors" "$rc:$restore_out" "0:"

tg_check_eq "restored: the tenants survive" \
  "$(as "$DST" postgres "SELECT string_agg(slug || '=' || id, ',' ORDER BY slug) FROM tenantguard.tenants")" "dump-a=$A,dump-b=$B"
tg_check_eq "restored: the same wrapped keys, under the same master key" \
  "$(as "$DST" postgres "SELECT string_agg(purpose || version || ':' || master_key_id, ',' ORDER BY purpose, version) FROM tenantguard.key_versions")" "$KEYS_SRC"
tg_check_eq "restored: the protected-table registry lists the table, the agents, the permission rules and the vault tables" \
  "$(as "$DST" postgres "SELECT string_agg(rel::text || ':' || tenant_column, ',' ORDER BY rel::text) FROM tenantguard.protected_tables")" \
  "accounts:tenant_id,tenantguard.agents:tenant_id,tenantguard.role_permissions:tenant_id,tenantguard.vault:tenant_id,tenantguard.vault_versions:tenant_id"
RULES="SELECT string_agg(role || ':' || permission || ':' || resource || ':' || effect, ',' ORDER BY permission) FROM tenantguard.role_permissions"
tg_check_eq "restored: the permission rules of a tenant survive" \
  "$(as "$DST" postgres "$RULES")" "developer:deploy.*:project/*:allow,developer:deploy.production:*:deny"
tg_check_eq "restored: the isolation policy exists on the table" \
  "$(as "$DST" postgres "SELECT count(*) FROM pg_policies WHERE tablename = 'accounts' AND policyname = 'tenantguard_isolation'")" "1"
report=$(as "$DST" postgres "SELECT severity || ' ' || object || ': ' || finding FROM tenantguard.isolation_report()")
tg_check_eq "restored: isolation_report() is empty" "$report" ""
tg_check_eq "restored: the audit events of the source survive (count:max id)" \
  "$(as "$DST" postgres "SELECT count(*) || ':' || coalesce(max(id), 0) FROM tenantguard_audit.events WHERE id <= ${EVENTS_SRC#*:}")" "$EVENTS_SRC"

tg_check_eq "restored: tenant A's values reveal in A" "$(as "$DST" "$ADMIN" "$REVEAL_A")" "$WANT_A"
tg_check_eq "restored: tenant B's values reveal in B" "$(as "$DST" "$ADMIN" "$REVEAL_B")" "$WANT_B"
tg_check_eq "restored: a binary value reveals with reveal_bytea()" \
  "$(as "$DST" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.reveal_bytea(api_key) FROM accounts WHERE id = 5; COMMIT;")" '\x00ff'
out=$(as "$DST" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT tenantguard.reveal('$CT_A1'::tenantguard.secret); COMMIT;")
tg_check_eq "restored: an A value does not reveal in B (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_lacks "restored: ... and shows nothing of it" "$out" "a-key-1"
tg_check_eq "restored: the admin in A sees only A's rows" \
  "$(as "$DST" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT string_agg(note, ',' ORDER BY id) FROM accounts; COMMIT;")" \
  "a1,a2,a3,a4,a5-binary,a6-null"
out=$(as "$DST" "$ADMIN" "SELECT count(*) FROM accounts")
tg_check_eq "restored: without a context the table fails closed (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_eq "restored: the bound role is still bound to A and reveals A's values" \
  "$(as "$DST" "$BOUND" "SELECT tenantguard.current_tenant() || ' ' || string_agg(tenantguard.reveal(api_key), ',' ORDER BY id) FROM accounts WHERE id IN (1, 4)")" \
  "$A a-key-1,a-key-4"
tg_check_eq "restored: blind indexes still match (the index key was restored)" \
  "$(as "$DST" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT string_agg(note, ',') FROM accounts WHERE email_bidx = tenantguard.blind_index('a2@example.com', 'email'); COMMIT;")" "a2"
tg_check_eq "restored: the vault works (latest, by version, by scope, by reference)" "$(as "$DST" "$ADMIN" "$VAULT_A")" \
  "a-token-2,a-token-1,a-staging-pw,a-token-1"
tg_check_eq "restored: B's vault entry is B's" \
  "$(as "$DST" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT tenantguard.get_secret('api.token'); COMMIT;")" "b-token-1"
out=$(as "$DST" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT tenantguard.resolve_ref('tgref:dump-a/default/api.token@1'); COMMIT;")
tg_check_eq "restored: an A reference does not resolve in B (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_eq "restored: put_secret() continues the version sequence" \
  "$(as "$DST" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.put_secret('api.token', 'a-token-3'); SELECT tenantguard.get_secret('api.token'); COMMIT;")" \
  "3
a-token-3"
tg_check_eq "restored: new seals use the restored newest key version (2) and reveal" \
  "$(as "$DST" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.secret_key_version(s) || ':' || tenantguard.reveal(s) FROM (SELECT tenantguard.seal('fresh') AS s) x; COMMIT;")" "2:fresh"
tg_check_eq "restored: rotation continues at version 3" "$(as "$DST" postgres "SELECT tenantguard.rotate_data_key()")" "3"
tg_check_eq "restored: reencrypt() moves every sealed row to version 3" \
  "$(as "$DST" postgres "SELECT tenantguard.reencrypt('accounts', 'api_key')")" "7"
tg_check_eq "restored: after reencrypt() A's values still reveal" "$(as "$DST" "$ADMIN" "$REVEAL_A")" "$WANT_A"

# --- an unrelated database with a tenant of the same id: other keys -------------------
setup2=$(q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $OTHER" && as "$OTHER" postgres "CREATE EXTENSION tenantguard;
  INSERT INTO tenantguard.tenants (id, slug) VALUES ('$A', 'dump-a');
  BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.seal('own') IS NOT NULL; COMMIT;")
tg_check_eq "(an unrelated database has tenant A and its own data key 1)" "$setup2" "t"
out=$(as "$OTHER" postgres "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.reveal('$CT_A1'::tenantguard.secret); COMMIT;")
tg_check_eq "a ciphertext taken into another database with the same tenant id does not open (XX001)" "$(tg_sqlstate "$out")" "XX001"
tg_check_lacks "... and shows nothing of it" "$out" "a-key-1"

# --- COPY TO STDOUT / FROM STDIN as superuser -------------------------------------------
as "$SRC" postgres "CREATE TABLE accounts_text (LIKE accounts); CREATE TABLE accounts_bin (LIKE accounts);
  SELECT tenantguard.protect('accounts_text'); SELECT tenantguard.protect('accounts_bin');
  GRANT SELECT ON accounts_text, accounts_bin TO tenantguard_admin;" >/dev/null
psql -X -q -d "$SRC" -c "COPY accounts TO STDOUT" >"$T/accounts.copy" 2>"$T/copy.err"
tg_check_eq "COPY accounts TO STDOUT (text) works" "$(cat "$T/copy.err")|$(wc -l <"$T/accounts.copy")" "|8"
tg_check_lacks "the COPY text output holds no plaintext" "$(cat "$T/accounts.copy")" "a-key-"
tg_check_match "the COPY text output holds tgs1: ciphertexts" "$(cat "$T/accounts.copy")" 'tgs1:[A-Za-z0-9_-]+'
out=$(psql -X -q -v ON_ERROR_STOP=1 -d "$SRC" -c "COPY accounts_text FROM STDIN" <"$T/accounts.copy" 2>&1)
tg_check_eq "COPY ... FROM STDIN (text) loads it back" "$out" ""
psql -X -q -d "$SRC" -c "COPY accounts TO STDOUT (FORMAT binary)" >"$T/accounts.bin" 2>"$T/copy.err"
out=$(psql -X -q -v ON_ERROR_STOP=1 -d "$SRC" -c "COPY accounts_bin FROM STDIN (FORMAT binary)" <"$T/accounts.bin" 2>&1)
tg_check_eq "COPY binary out and in works (send/recv)" "$(cat "$T/copy.err")|$out" "|"
tg_check_eq "both copies hold byte-identical ciphertexts" \
  "$(as "$SRC" postgres "SELECT count(*) FROM accounts a JOIN accounts_text t USING (tenant_id, id) JOIN accounts_bin b USING (tenant_id, id)
     WHERE a.api_key::text IS NOT DISTINCT FROM t.api_key::text AND a.api_key::text IS NOT DISTINCT FROM b.api_key::text")" "8"
tg_check_eq "the text COPY reveals in A" \
  "$(as "$SRC" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT string_agg(id || '=' || coalesce(tenantguard.reveal(api_key), 'NULL'), ',' ORDER BY id) FROM accounts_text WHERE id <> 5; COMMIT;")" "$WANT_A"
tg_check_eq "the binary COPY reveals in B" \
  "$(as "$SRC" "$ADMIN" "BEGIN; SELECT tenantguard.set_tenant('$B'); SELECT string_agg(id || '=' || tenantguard.reveal(api_key), ',' ORDER BY id) FROM accounts_bin; COMMIT;")" "$WANT_B"
out=$(printf '%s\t7\tsk_live_PLAINTEXT\t\\N\tsmuggled\n' "$A" | psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$SRC" -c "COPY accounts_text FROM STDIN" 2>&1)
tg_check_eq "COPY FROM STDIN cannot load a plaintext into a secret column (22P02)" "$(tg_sqlstate "$out")" "22P02"
tg_check_lacks "... and the error does not echo the plaintext" "$(printf '%s\n' "$out" | grep -E '^(ERROR|DETAIL|HINT)')" "sk_live_PLAINTEXT"
# a binary COPY whose secret field is raw bytes, not an envelope
psql -X -q -d "$SRC" -c "CREATE TABLE fake_src (tenant_id uuid, id int, api_key bytea, email_bidx bytea, note text)" \
  -c "INSERT INTO fake_src VALUES ('$A', 8, convert_to('sk_live_PLAINTEXT', 'UTF8'), NULL, 'fake')" >/dev/null 2>&1
psql -X -q -d "$SRC" -c "COPY fake_src TO STDOUT (FORMAT binary)" >"$T/fake.bin" 2>/dev/null
out=$(psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$SRC" -c "COPY accounts_bin FROM STDIN (FORMAT binary)" <"$T/fake.bin" 2>&1)
tg_check_eq "binary COPY cannot load raw bytes that are not an envelope (22P02)" "$(tg_sqlstate "$out")" "22P02"
tg_check_eq "nothing was loaded by the refused COPYs" \
  "$(as "$SRC" postgres "SELECT (SELECT count(*) FROM accounts_text) || ',' || (SELECT count(*) FROM accounts_bin)")" "8,8"
