#!/usr/bin/env bash
# Events written by the ledger worker (read-only transactions, long and
# multibyte texts, reveals rolled back, a lock on the events table longer than
# the worker's lock timeout), protected children read through unprotected
# parents, and the audit trigger names on tables that are not audited.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=audit_async
source test/suites/lib/checks.sh

DB=tg_suite_audit_async
ADMIN=tgsuite_async_admin

cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ADMIN" >/dev/null 2>&1
}
trap 'cleanup; tg_suite_finish' EXIT
cleanup

# run SQL in the test database as the admin role (non-superuser)
as_admin() { tg_psql -d "$DB" -U "$ADMIN" -c "$1"; }
as_super() { tg_psql -d "$DB" -c "$1"; }

# wait_for SQL: poll (at most 10 s) until SQL returns t
wait_for() { tg_wait_for "$DB" "$1"; }

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $ADMIN LOGIN IN ROLE tenantguard_admin" >/dev/null
A=$(as_super "SELECT tenantguard.create_tenant('async-a')")
as_super "CREATE TABLE s (id int, tenant_id uuid, v tenantguard.secret, PRIMARY KEY (tenant_id, id));
          SELECT tenantguard.protect('s'); GRANT SELECT, INSERT ON s TO $ADMIN;" >/dev/null
as_admin "BEGIN; SELECT tenantguard.set_tenant('$A'); INSERT INTO s (id, v) SELECT g, tenantguard.seal('v' || g) FROM generate_series(1, 3) g; COMMIT;" >/dev/null

# 1. an event of a read-only transaction is queued and written by the worker
out=$(as_admin "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.audit_log('ro.export', 'report'); COMMIT;")
tg_check_eq "audit_log() works in a read-only transaction" "$(tg_sqlstate "$out")" "none"
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE action = 'ro.export' AND principal = 'admin:$ADMIN' AND db_user = '$ADMIN' AND tenant_id = '$A')"
tg_check_eq "... and its event is stored with actor and tenant" "$?" "0"

# 2. details too long for the queue become a marker, not a lost batch
as_admin "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$A');
          SELECT tenantguard.audit_log('ro.long', NULL, jsonb_build_object('k', repeat('x', 2000)));
          SELECT tenantguard.audit_log('ro.after'); COMMIT;" >/dev/null
wait_for "SELECT count(*) = 2 FROM tenantguard_audit.events WHERE action IN ('ro.long', 'ro.after')"
tg_check_eq "a read-only event with long details and the next one are both stored" "$?" "0"
tg_check_eq "... the long details are replaced by a truncation marker" \
  "$(as_super "SELECT details::text FROM tenantguard_audit.events WHERE action = 'ro.long'")" '{"truncated": true}'

# 3. reveals in a transaction that rolls back leave a summary event with the actor
as_admin "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT count(tenantguard.reveal(v)) FROM s; ROLLBACK;" >/dev/null
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE action = 'reveal' AND details->>'rolled_back' = 'true')"
tg_check_eq "rolled-back reveals leave a summary event" "$?" "0"
tg_check_eq "... counting them, with principal, db_user and tenant" \
  "$(as_super "SELECT details->>'reveals', principal, db_user, tenant_id = '$A' FROM tenantguard_audit.events WHERE details->>'rolled_back' = 'true'")" \
  "3|admin:$ADMIN|$ADMIN|t"
as_admin "BEGIN; SELECT tenantguard.set_tenant('$A'); SAVEPOINT p; SELECT count(tenantguard.reveal(v)) FROM s WHERE id = 1; ROLLBACK TO p; COMMIT;" >/dev/null
wait_for "SELECT count(*) = 2 FROM tenantguard_audit.events WHERE details->>'rolled_back' = 'true'"
tg_check_eq "a savepoint rolled back after a reveal leaves a summary too" "$?" "0"

# 3b. a top-level statement that reveals and then fails: its count was never
# written as an event, and the summary still has it (with the column)
out=$(as_admin "BEGIN; SELECT tenantguard.set_tenant('$A');
                SELECT CASE WHEN id < 3 THEN tenantguard.reveal(v) ELSE (1 / (id - id))::text END FROM s ORDER BY id; COMMIT;")
tg_check_eq "a statement that reveals two rows and then fails (22012)" "$(tg_sqlstate "$out")" "22012"
wait_for "SELECT count(*) = 3 FROM tenantguard_audit.events WHERE details->>'rolled_back' = 'true'"
tg_check_eq "... leaves a summary of its two unwritten reveals, naming the column" \
  "$(as_super "SELECT details->>'reveals', object, details->>'site' FROM tenantguard_audit.events
               WHERE details->>'rolled_back' = 'true' ORDER BY id DESC LIMIT 1")" "2|public.s.v|column"

# 3c. a read-only statement revealing three values: its first reveal is queued
# at once (so that a full queue refuses it before any plaintext is out), the
# other two at the statement's end; the same column, three reveals in all
before=$(as_super "SELECT coalesce(max(id), 0) FROM tenantguard_audit.events")
out=$(as_admin "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$A'); SELECT count(tenantguard.reveal(v)) FROM s; COMMIT;")
tg_check_eq "reveals work in a read-only transaction" "$(tg_sqlstate "$out")" "none"
wait_for "SELECT coalesce(sum((details->>'reveals')::int), 0) = 3 FROM tenantguard_audit.events
           WHERE id > $before AND action = 'reveal'"
tg_check_eq "... its events are queued: the first reveal, then the rest of the statement" \
  "$(as_super "SELECT string_agg(details->>'reveals' || ':' || object, ',' ORDER BY id) FROM tenantguard_audit.events
               WHERE id > $before AND action = 'reveal'")" "1:public.s.v,2:public.s.v"

# 4. a lock on the events table longer than the worker's lock timeout loses nothing
as_super "BEGIN; LOCK TABLE tenantguard_audit.events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" >/dev/null &
locker=$!
sleep 0.5
out=$(as_admin "SET tenantguard.tenant = '$A'")
tg_check_eq "a forged SET is refused (42501) while the events table is locked" "$(tg_sqlstate "$out")" "42501"
wait "$locker"
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE action = 'context.set' AND db_user = '$ADMIN')"
tg_check_eq "... and the refusal is stored once the lock is gone" "$?" "0"

# 5. a protected child read through an unprotected parent is refused even with require_context off
as_super "CREATE TABLE par (tenant_id uuid, k int); CREATE TABLE kid () INHERITS (par);
          SELECT tenantguard.protect('kid'); INSERT INTO kid VALUES ('$A', 1);
          GRANT SELECT ON par, kid TO $ADMIN;
          ALTER ROLE $ADMIN IN DATABASE $DB SET tenantguard.require_context = off;" >/dev/null
out=$(as_admin "SELECT count(*) FROM par")
tg_check_eq "with require_context off, reading the unprotected parent is still refused (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_eq "... and the protected child itself shows no rows without a context" "$(as_admin "SELECT count(*) FROM kid")" "0"

# 6. ... also when a protected table with a context comes first in the query
as_super "ALTER ROLE $ADMIN IN DATABASE $DB RESET tenantguard.require_context;
          INSERT INTO kid VALUES ('$(as_super "SELECT tenantguard.create_tenant('async-b')")', 2);" >/dev/null
out=$(as_admin "BEGIN; SELECT tenantguard.set_tenant('$A'); SELECT DISTINCT p.tenant_id FROM s, par p; COMMIT;")
tg_check_eq "a protected table before the unprotected parent does not let the parent through (42501)" "$(tg_sqlstate "$out")" "42501"

# 7. queued text is cut at a character boundary, so the stored event stays valid
as_admin "BEGIN READ ONLY; SELECT tenantguard.set_tenant('$A');
          SELECT tenantguard.audit_log('ro.multibyte', repeat('é', 200)); COMMIT;" >/dev/null
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE action = 'ro.multibyte')"
tg_check_eq "a long multibyte object is stored, cut to whole characters" \
  "$(as_super "SELECT length(object) BETWEEN 100 AND 127 AND object ~ '^é+\$' FROM tenantguard_audit.events WHERE action = 'ro.multibyte'")" "t"

# 8. trigger names of the audit prefix are free on tables that are not audited
as_super "CREATE TABLE plain (x int); ALTER TABLE plain OWNER TO $ADMIN;
          CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';" >/dev/null
out=$(as_admin "CREATE TRIGGER tenantguard_audit_mine AFTER INSERT ON plain FOR EACH ROW EXECUTE FUNCTION noop();
                ALTER TRIGGER tenantguard_audit_mine ON plain RENAME TO tenantguard_audit_other;
                DROP TRIGGER tenantguard_audit_other ON plain;")
tg_check_eq "an owner may create, rename and drop a tenantguard_audit_* trigger on an unaudited table" "$(tg_sqlstate "$out")" "none"
