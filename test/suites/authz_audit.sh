#!/usr/bin/env bash
# Authorization decisions in the audit ledger across whole transactions
# (docs/authorization.md, "Auditing decisions"):
#   - a require() refused in a transaction that then rolls back is recorded;
#   - the refusals of a 10,000-row policy scan are one event, also when a
#     later statement of the transaction fails, and also when the scan's own
#     statement fails after it;
#   - a denied read never becomes a write: no transaction id is assigned,
#     in a read-write transaction as in a read-only one;
#   - three statements are three events, never one per row, and no event
#     names another tenant's rows (authorize() only ever sees the current
#     tenant's);
#   - a refusal caught by a PL/pgSQL exception block is recorded;
#   - audit_decisions = all adds one allow event per statement, none records
#     nothing; allows are not recorded with the default deny.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=authz_audit
source test/suites/lib/checks.sh

DB=tg_suite_authz_audit
DEV=tgsuite_authz_dev
trap 'tg_drop_database_and_roles $DB $DEV; tg_suite_finish' EXIT
tg_drop_database_and_roles $DB $DEV

as_dev() { PGAPPNAME=$1 tg_psql -d "$DB" -U "$DEV" -c "$2"; }
as_super() { tg_psql -d "$DB" -c "$1"; }
# as_dev_with APPNAME DECISIONS SQL: as the developer, with audit_decisions set by the superuser
as_dev_with() { PGAPPNAME=$1 tg_psql -d "$DB" -c "SET tenantguard.audit_decisions = '$2'; SET ROLE $DEV; $3"; }
wait_for() { tg_wait_for "$DB" "$1"; }
# events of one application_name: count|decision=decisions,...
events_of() {
  as_super "SELECT count(*) || '|' || coalesce(string_agg(decision || '=' || (details->>'decisions'), ',' ORDER BY id), '')
              FROM tenantguard_audit.events WHERE application_name = '$1' AND action = 'authorize'"
}

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $DEV LOGIN IN ROLE tenantguard_app" >/dev/null
A=$(as_super "SELECT tenantguard.create_tenant('authz-a')")
B=$(as_super "SELECT tenantguard.create_tenant('authz-b')")
setup=$(as_super "SELECT tenantguard.bind_role('$DEV', '$A', 'developer');
  CREATE TABLE docs (tenant_id uuid NOT NULL, id int NOT NULL, project text, PRIMARY KEY (tenant_id, id));
  SELECT tenantguard.protect('docs');
  INSERT INTO docs SELECT '$A', i, 'p' || i FROM generate_series(1, 10000) i;
  INSERT INTO docs SELECT '$B', i, 'b-secret-project-' || i FROM generate_series(1, 10000) i;
  CREATE POLICY docs_read ON docs AS RESTRICTIVE FOR SELECT
      USING (tenant_id = tenantguard.current_tenant() AND tenantguard.authorize('docs.read', 'project/' || project));
  GRANT SELECT ON docs TO tenantguard_app;
  BEGIN;
  SELECT tenantguard.set_tenant('$A');
  SELECT tenantguard.grant_permission('developer', 'docs.read', 'project/p1');
  COMMIT;
  ANALYZE docs;
  SELECT 'ready';")
tg_check_contains "set-up: 10,000 rows of each of two tenants, a policy that calls authorize() per row" "$setup" "ready"

# 1. a refusal whose transaction rolls back
out=$(as_dev authz-rollback "BEGIN; SELECT tenantguard.require('deploy.production', 'project/app-web'); ROLLBACK;")
tg_check_eq "require() without the permission is refused (42501)" "$(tg_sqlstate "$out")" "42501"
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE application_name = 'authz-rollback')"
tg_check_eq "... and recorded although its transaction rolled back" \
  "$(as_super "SELECT concat_ws(' ', category, decision, object, reason, principal, tenant_id, details->>'role',
                         details->>'resource', details->>'decisions')
               FROM tenantguard_audit.events WHERE application_name = 'authz-rollback'")" \
  "policy deny deploy.production implicit deny role:$DEV $A developer project/app-web 1"

# 2. a policy scan's refusals, then the transaction fails
out=$(as_dev authz-scan-fail "BEGIN; SELECT count(*) FROM docs; SELECT 1 / 0; COMMIT;")
tg_check_eq "a scan, then a failing statement (22012)" "$(tg_sqlstate "$out")" "22012"
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE application_name = 'authz-scan-fail')"
sleep 0.5
tg_check_eq "... its 9,999 refusals are one event, kept although the transaction failed (its one allow is not recorded)" \
  "$(events_of authz-scan-fail)" "1|deny=9999"

# the scan's own statement fails after the scan: the rows decided are recorded
out=$(as_dev authz-stmt-fail "SELECT 1 / (count(*) - 1) FROM docs;")
tg_check_eq "a statement that fails after its scan (22012)" "$(tg_sqlstate "$out")" "22012"
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE application_name = 'authz-stmt-fail')"
sleep 0.5
tg_check_eq "... the refusals decided before the error are one event" "$(events_of authz-stmt-fail)" "1|deny=9999"

# 3. a denied read never becomes a write
out=$(as_dev authz-rw "BEGIN; SELECT count(*) FROM docs; SELECT 'xid:' || (pg_current_xact_id_if_assigned() IS NULL); COMMIT;")
tg_check_contains "a read-write transaction whose scan is refused 9,999 times gets no transaction id" "$out" "xid:true"
out=$(as_dev authz-ro "BEGIN READ ONLY; SELECT count(*) FROM docs; SELECT 'xid:' || (pg_current_xact_id_if_assigned() IS NULL); COMMIT;")
tg_check_contains "... nor does a read-only one" "$out" "xid:true"
tg_check_eq "... which still succeeds" "$(tg_sqlstate "$out")" "none"
wait_for "SELECT count(*) = 2 FROM tenantguard_audit.events WHERE application_name IN ('authz-rw', 'authz-ro')"
tg_check_eq "... both refusals are recorded, through the ledger worker" "$(events_of authz-rw),$(events_of authz-ro)" \
  "1|deny=9999,1|deny=9999"

# 4. three statements, three events
as_dev authz-three "SELECT count(*) FROM docs; SELECT count(*) FROM docs; SELECT count(*) FROM docs;" >/dev/null
wait_for "SELECT count(*) >= 3 FROM tenantguard_audit.events WHERE application_name = 'authz-three'"
sleep 0.5
tg_check_eq "three statements over 10,000 rows: three events (not 30,000)" "$(events_of authz-three)" \
  "3|deny=9999,deny=9999,deny=9999"
tg_check_eq "... none of them names a row of the other tenant (authorize() never saw them)" \
  "$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE action = 'authorize' AND details::text LIKE '%b-secret-project%'")" "0"

# 5. a refusal caught by an exception block (a rolled-back subtransaction)
out=$(as_dev authz-subxact "DO \$\$ BEGIN
    PERFORM tenantguard.require('deploy.production', 'project/sub');
  EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'caught';
  END \$\$;")
tg_check_contains "a refusal caught by an exception block" "$out" "caught"
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE application_name = 'authz-subxact')"
tg_check_eq "... is recorded" "$(events_of authz-subxact)" "1|deny=1"

# 6. audit_decisions
as_dev_with authz-all all "SELECT count(*) FROM docs;" >/dev/null
wait_for "SELECT count(*) = 2 FROM tenantguard_audit.events WHERE application_name = 'authz-all'"
sleep 0.5
tg_check_eq "with audit_decisions = all, a scan is one allow and one deny event" "$(events_of authz-all)" \
  "2|allow=1,deny=9999"
as_dev_with authz-none none "SELECT count(*) FROM docs; SELECT tenantguard.authorize('deploy.production');" >/dev/null
as_dev_with authz-after-none deny "SELECT count(*) FROM docs;" >/dev/null
wait_for "SELECT EXISTS (SELECT 1 FROM tenantguard_audit.events WHERE application_name = 'authz-after-none')"
tg_check_eq "with audit_decisions = none, nothing is recorded (a later statement's refusals are)" \
  "$(events_of authz-none),$(events_of authz-after-none)" "0|,1|deny=9999"
