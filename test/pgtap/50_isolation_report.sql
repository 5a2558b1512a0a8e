-- Cross-tenant attack catalogue, part 6: isolation_report() finds the holes.
--
-- Starting from a clean setup (empty report), each hole is planted inside a
-- savepoint, its finding is matched on severity, object and a LIKE pattern,
-- and the savepoint is rolled back so the next check starts clean again.
-- Holes that the DDL guard prevents are planted by a superuser with
-- SET tenantguard.ddl_guard = off.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg50_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(56);

-- ---------------------------------------------------------------------------
-- A clean setup
-- ---------------------------------------------------------------------------
CREATE ROLE tg50_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg50_auditor LOGIN IN ROLE tenantguard_auditor;
CREATE ROLE tg50_dev LOGIN;                         -- an ordinary role that owns views and functions

SELECT tenantguard.create_tenant('acme') AS acme \gset

CREATE SCHEMA tg50;
GRANT USAGE, CREATE ON SCHEMA tg50 TO tg50_dev;
GRANT USAGE ON SCHEMA tg50 TO tenantguard_app;
CREATE TABLE tg50.docs (tenant_id uuid, id int, title text, PRIMARY KEY (tenant_id, id));
CREATE TABLE tg50.items (
    tenant_id uuid, id int, doc_id int,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, doc_id) REFERENCES tg50.docs (tenant_id, id)
);
SELECT tenantguard.protect('tg50.docs') \gset
SELECT tenantguard.protect('tg50.items') \gset
GRANT SELECT ON tg50.docs, tg50.items TO tenantguard_app, tg50_dev;
CREATE VIEW tg50.doc_titles WITH (security_invoker = true) AS SELECT id, title FROM tg50.docs;
CREATE FUNCTION tg50.doc_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM tg50.docs';
CREATE TABLE tg50.settings (key text PRIMARY KEY, value text);     -- no tenant column: not a finding
CREATE TABLE tg50.legacy (tenant_id text, x int);                 -- text tenant_id: not a uuid, not a finding

-- finding(severity, object, LIKE pattern): is there such a row?
CREATE FUNCTION tg50.finding(sev text, obj text, pattern text) RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM tenantguard.isolation_report() r
                    WHERE r.severity = sev AND r.object = obj AND r.finding LIKE pattern)
$$;
-- the fix proposed for that row
CREATE FUNCTION tg50.fix_for(obj text, pattern text) RETURNS text LANGUAGE sql AS $$
    SELECT r.fix FROM tenantguard.isolation_report() r WHERE r.object = obj AND r.finding LIKE pattern LIMIT 1
$$;

SELECT is_empty('SELECT * FROM tenantguard.isolation_report()',
    'a clean setup has no finding (protected tables, composite keys, security_invoker view, invoker function)');

-- Who may run the report.
SET ROLE tg50_app;
SELECT throws_ok('SELECT * FROM tenantguard.isolation_report()', '42501', NULL,
    'an application role cannot run isolation_report() (42501)');
RESET ROLE;
SET ROLE tg50_auditor;
SELECT lives_ok('SELECT * FROM tenantguard.isolation_report()', 'an auditor can run isolation_report()');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
CREATE TABLE tg50.loose (tenant_id uuid, x int);
SELECT ok(tg50.finding('error', 'tg50.loose', 'table has uuid column "tenant_id" but is not protected'),
    'an unprotected table with a uuid tenant_id column is an error');
SELECT lives_ok(tg50.fix_for('tg50.loose', 'table has uuid column%'), 'the proposed fix runs');
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'and after it the report is clean again');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
SET LOCAL tenantguard.ddl_guard = off;
ALTER TABLE tg50.docs DISABLE ROW LEVEL SECURITY;
SET LOCAL tenantguard.ddl_guard = on;
SELECT ok(tg50.finding('error', 'tg50.docs', 'row level security is disabled'),
    'row level security disabled on a protected table is an error');
SELECT lives_ok(tg50.fix_for('tg50.docs', 'row level security is disabled'), 'the proposed fix runs');
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'and after it the report is clean again');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
SET LOCAL tenantguard.ddl_guard = off;
ALTER TABLE tg50.docs NO FORCE ROW LEVEL SECURITY;
SET LOCAL tenantguard.ddl_guard = on;
SELECT ok(tg50.finding('error', 'tg50.docs', 'row level security is not forced%'),
    'row level security not forced (the owner bypasses it) is an error');
SELECT lives_ok(tg50.fix_for('tg50.docs', 'row level security is not forced%'), 'the proposed fix runs');
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'and after it the report is clean again');
ROLLBACK TO SAVEPOINT hole;

-- ---------------------------------------------------------------------------
-- Policies
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
SET LOCAL tenantguard.ddl_guard = off;
ALTER POLICY tenantguard_isolation ON tg50.docs USING (true);
SET LOCAL tenantguard.ddl_guard = on;
SELECT ok(tg50.finding('error', 'tg50.docs policy tenantguard_isolation', 'policy tenantguard_isolation was altered%USING expression changed%'),
    'a tenantguard policy whose USING expression was altered is an error');
SELECT lives_ok(tg50.fix_for('tg50.docs policy tenantguard_isolation', 'policy tenantguard_isolation was altered%'), 'the proposed fix runs');
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'and after it the report is clean again');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
SET LOCAL tenantguard.ddl_guard = off;
ALTER POLICY tenantguard_isolation ON tg50.docs TO tg50_dev;
SET LOCAL tenantguard.ddl_guard = on;
SELECT ok(tg50.finding('error', 'tg50.docs policy tenantguard_isolation', 'policy tenantguard_isolation was altered%no longer applies to PUBLIC%'),
    'a tenantguard policy narrowed to one role is an error');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
SET LOCAL tenantguard.ddl_guard = off;
DROP POLICY tenantguard_isolation ON tg50.docs;
SET LOCAL tenantguard.ddl_guard = on;
SELECT ok(tg50.finding('error', 'tg50.docs', 'policy tenantguard_isolation is missing'),
    'a protected table without its tenantguard policy is an error');
SELECT lives_ok(tg50.fix_for('tg50.docs', 'policy tenantguard_isolation is missing'), 'the proposed fix runs');
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'and after it the report is clean again');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE TABLE tg50.shared (tenant_id uuid, id int);
ALTER TABLE tg50.shared ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON tg50.shared USING (true);          -- permissive, created before protect()
SELECT tenantguard.protect('tg50.shared') \gset
SELECT ok(tg50.finding('error', 'tg50.shared policy everyone', 'extra permissive policy widens tenant isolation%'),
    'an extra permissive policy on a protected table is an error');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE TABLE tg50.narrowed (tenant_id uuid, id int);
SELECT tenantguard.protect('tg50.narrowed') \gset
CREATE POLICY positive_only ON tg50.narrowed AS RESTRICTIVE USING (id > 0);
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'an extra RESTRICTIVE policy is not a finding');
ROLLBACK TO SAVEPOINT hole;

-- ---------------------------------------------------------------------------
-- Partitions
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
CREATE TABLE tg50.events (tenant_id uuid NOT NULL, k int NOT NULL) PARTITION BY LIST (k);
CREATE TABLE tg50.events_1 PARTITION OF tg50.events FOR VALUES IN (1);
SELECT tenantguard.protect('tg50.events') \gset
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'a protected partitioned table with protected partitions is clean');
CREATE TABLE tg50.events_2 (tenant_id uuid NOT NULL, k int NOT NULL);
SET LOCAL tenantguard.ddl_guard = off;
ALTER TABLE tg50.events ATTACH PARTITION tg50.events_2 FOR VALUES IN (2);
SET LOCAL tenantguard.ddl_guard = on;
SELECT ok(tg50.finding('error', 'tg50.events_2', 'partition of protected table tg50.events is not protected%'),
    'an unprotected partition of a protected table is an error');
SELECT lives_ok(tg50.fix_for('tg50.events_2', 'partition of protected table%'), 'the proposed fix runs');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object = 'tg50.events_2' AND severity = 'error'),
    'and after it the partition is no longer an error');
ROLLBACK TO SAVEPOINT hole;

-- ---------------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
SET ROLE tg50_dev;
CREATE VIEW tg50.dev_titles AS SELECT id, title FROM tg50.docs;
RESET ROLE;
SELECT ok(tg50.finding('warning', 'tg50.dev_titles', 'view reads protected table tg50.docs with its owner''s rights (no security_invoker)'),
    'a view without security_invoker owned by an ordinary role is a warning');
SELECT lives_ok(tg50.fix_for('tg50.dev_titles', 'view reads protected table%'), 'the proposed fix runs');
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'and after it the report is clean again');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE VIEW tg50.su_titles AS SELECT id, title FROM tg50.docs;
SELECT ok(tg50.finding('error', 'tg50.su_titles', 'view reads protected table tg50.docs%owner postgres bypasses row level security%'),
    'a view without security_invoker owned by a superuser is an error');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE MATERIALIZED VIEW tg50.titles_snapshot AS SELECT id, title FROM tg50.docs;
SELECT ok(tg50.finding('error', 'tg50.titles_snapshot', '%view%protected table tg50.docs%'),
    'a materialized view over a protected table (a copy outside isolation) is flagged');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE VIEW tg50.yes_titles WITH (security_invoker = yes) AS SELECT id, title FROM tg50.docs;
CREATE VIEW tg50.upper_titles WITH (security_invoker = 'TRUE') AS SELECT id, title FROM tg50.docs;
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()',
    'views whose security_invoker is spelled yes or TRUE are security_invoker views and not a finding');
ROLLBACK TO SAVEPOINT hole;

-- ---------------------------------------------------------------------------
-- Members of tenantguard_app that bypass isolation
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
CREATE ROLE tg50_super SUPERUSER IN ROLE tenantguard_app;
SELECT ok(tg50.finding('error', 'role tg50_super', 'member of tenantguard_app is a superuser%'),
    'a superuser member of tenantguard_app is an error');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE ROLE tg50_group IN ROLE tenantguard_app;
CREATE ROLE tg50_nested SUPERUSER IN ROLE tg50_group;
SELECT ok(tg50.finding('error', 'role tg50_nested', 'member of tenantguard_app is a superuser%'),
    'an indirect (nested) superuser member of tenantguard_app is an error');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE ROLE tg50_bypass BYPASSRLS IN ROLE tenantguard_app;
SELECT ok(tg50.finding('error', 'role tg50_bypass', 'member of tenantguard_app has BYPASSRLS'),
    'a BYPASSRLS member of tenantguard_app is an error');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
ALTER TABLE tg50.docs OWNER TO tg50_app;
SELECT ok(tg50.finding('error', 'role tg50_app', 'member of tenantguard_app owns protected table tg50.docs%'),
    'a member of tenantguard_app that owns a protected table is an error');
ROLLBACK TO SAVEPOINT hole;

-- ---------------------------------------------------------------------------
-- SECURITY DEFINER functions
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
CREATE FUNCTION tg50.all_docs() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS 'SELECT count(*) FROM tg50.docs';
SELECT ok(tg50.finding('error', 'function tg50.all_docs()', 'SECURITY DEFINER function executable by tenantguard_app reads protected table tg50.docs as postgres, which bypasses row level security'),
    'a superuser-owned SECURITY DEFINER function executable by tenantguard_app that reads a protected table is an error');
SELECT lives_ok(tg50.fix_for('function tg50.all_docs()', 'SECURITY DEFINER function%'), 'the proposed fix runs');
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'and after it the report is clean again');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
SET ROLE tg50_dev;
CREATE FUNCTION tg50.dev_docs() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS 'SELECT count(*) FROM tg50.docs';
RESET ROLE;
SELECT ok(tg50.finding('warning', 'function tg50.dev_docs()', 'SECURITY DEFINER function executable by tenantguard_app reads protected table tg50.docs as tg50_dev'),
    'an ordinary-owner SECURITY DEFINER function executable by tenantguard_app that reads a protected table is a warning');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE FUNCTION tg50.private_docs() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS 'SELECT count(*) FROM tg50.docs';
REVOKE EXECUTE ON FUNCTION tg50.private_docs() FROM PUBLIC;
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()',
    'a SECURITY DEFINER function that tenantguard_app cannot execute is not a finding');
ROLLBACK TO SAVEPOINT hole;

-- ---------------------------------------------------------------------------
-- Keys and indexes
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
ALTER TABLE tg50.docs ADD CONSTRAINT docs_title_key UNIQUE (title);
SELECT ok(tg50.finding('warning', 'tg50.docs index docs_title_key', 'unique index does not include the tenant column%'),
    'a unique constraint without the tenant column is a warning');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE UNIQUE INDEX docs_title_uidx ON tg50.docs (lower(title));
SELECT ok(tg50.finding('warning', 'tg50.docs index docs_title_uidx', 'unique index does not include the tenant column%'),
    'a unique index without the tenant column is a warning');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE TABLE tg50.docs_by_id (id int PRIMARY KEY, tenant_id uuid NOT NULL);
CREATE TABLE tg50.notes (tenant_id uuid, id int, doc_id int REFERENCES tg50.docs_by_id (id), PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('tg50.docs_by_id') \gset
SELECT tenantguard.protect('tg50.notes') \gset
SELECT ok(tg50.finding('warning', 'tg50.notes constraint notes_doc_id_fkey', 'foreign key to tg50.docs_by_id does not include the tenant column%'),
    'a foreign key without the tenant column is a warning');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
CREATE TABLE tg50.unindexed (tenant_id uuid, id int);
SELECT tenantguard.protect('tg50.unindexed', create_index => false) \gset
SELECT ok(tg50.finding('info', 'tg50.unindexed', 'no index is led by the tenant column%'),
    'a protected table without an index led by the tenant column is an info');
SELECT lives_ok(tg50.fix_for('tg50.unindexed', 'no index is led by the tenant column%'), 'the proposed fix runs');
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'and after it the report is clean again');
ROLLBACK TO SAVEPOINT hole;

-- ---------------------------------------------------------------------------
-- Bindings and configuration
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
CREATE ROLE tg50_bound LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.bind_role('tg50_bound', :'acme') \gset
SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'a sound role binding is not a finding');
ALTER ROLE tg50_bound BYPASSRLS;
SELECT ok(tg50.finding('warning', 'role binding tg50_bound', 'bound role is a superuser or has BYPASSRLS%'),
    'a bound role that later gained BYPASSRLS is flagged');
ALTER ROLE tg50_bound NOBYPASSRLS;
ALTER ROLE tg50_bound RENAME TO tg50_renamed;
SELECT ok(tg50.finding('warning', 'role binding tg50_bound', 'bound role was renamed to tg50_renamed'),
    'a bound role that was renamed is flagged');
DROP ROLE tg50_renamed;
SELECT ok(tg50.finding('warning', 'role binding tg50_bound', 'bound role no longer exists%'),
    'a binding whose role was dropped is flagged');
ROLLBACK TO SAVEPOINT hole;

SAVEPOINT hole;
SET LOCAL tenantguard.require_context = off;
SELECT ok(tg50.finding('warning', 'setting tenantguard.require_context', 'require_context is off%'),
    'require_context = off (fail open) is flagged');
ROLLBACK TO SAVEPOINT hole;

-- ---------------------------------------------------------------------------
-- Every hole at once: every row is well-formed and has a fix
-- ---------------------------------------------------------------------------
SAVEPOINT hole;
CREATE TABLE tg50.loose (tenant_id uuid, x int);
CREATE TABLE tg50.unindexed (tenant_id uuid, id int);
SELECT tenantguard.protect('tg50.unindexed', create_index => false) \gset
SET LOCAL tenantguard.ddl_guard = off;
ALTER TABLE tg50.docs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tg50.items DISABLE ROW LEVEL SECURITY;
ALTER POLICY tenantguard_isolation ON tg50.docs USING (true);
CREATE POLICY everyone ON tg50.items USING (true);
SET LOCAL tenantguard.ddl_guard = on;
CREATE VIEW tg50.su_titles AS SELECT id, title FROM tg50.docs;
CREATE ROLE tg50_super SUPERUSER IN ROLE tenantguard_app;
CREATE ROLE tg50_bypass BYPASSRLS IN ROLE tenantguard_app;
CREATE FUNCTION tg50.all_docs() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS 'SELECT count(*) FROM tg50.docs';
ALTER TABLE tg50.docs ADD CONSTRAINT docs_title_key UNIQUE (title);
SET LOCAL tenantguard.require_context = off;
SELECT cmp_ok((SELECT count(*)::int FROM tenantguard.isolation_report()), '>=', 12,
    'with every hole planted the report lists at least a dozen findings');
SELECT is_empty($$SELECT * FROM tenantguard.isolation_report()
                   WHERE severity NOT IN ('error', 'warning', 'info')$$,
    'every severity is error, warning or info');
SELECT is_empty($$SELECT * FROM tenantguard.isolation_report()
                   WHERE coalesce(btrim(fix), '') = '' OR coalesce(btrim(object), '') = '' OR coalesce(btrim(finding), '') = ''$$,
    'every finding names its object and has a non-empty fix');
SELECT ok((SELECT bool_and(ok) FROM (
              SELECT (CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END)
                     >= lag(CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, 1, 0) OVER (ORDER BY ord) AS ok
                FROM tenantguard.isolation_report() WITH ORDINALITY AS r(severity, object, finding, fix, ord)) s),
    'findings come errors first, then warnings, then infos');
ROLLBACK TO SAVEPOINT hole;

SELECT is_empty('SELECT * FROM tenantguard.isolation_report()', 'after every hole is rolled back the report is empty again');

SELECT * FROM finish();
ROLLBACK;
