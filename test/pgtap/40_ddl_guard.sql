-- Cross-tenant attack catalogue, part 5: weakening a protected table with DDL.
--
-- The DDL guard refuses, even to a superuser, every statement that would
-- switch off or widen a protected table's isolation; only unprotect() may undo
-- protect(), and it must restore exactly the previous state.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg40_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(90);

CREATE ROLE tg40_owner LOGIN;     -- ordinary table owner
CREATE ROLE tg40_other LOGIN;     -- not the owner

CREATE SCHEMA tg40;
GRANT USAGE, CREATE ON SCHEMA tg40 TO tg40_owner, tg40_other;
CREATE TABLE tg40.docs (tenant_id uuid, id int NOT NULL, body text, note text DEFAULT 'n');
SELECT tenantguard.protect('tg40.docs') \gset

-- The state protect() establishes, as one comparable row.
CREATE FUNCTION tg40.state(rel regclass, col name DEFAULT 'tenant_id')
RETURNS TABLE(rls boolean, forced boolean, not_null boolean, col_default text, policies text, indexes text)
LANGUAGE sql AS $$
    SELECT c.relrowsecurity, c.relforcerowsecurity, a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
           (SELECT string_agg(format('%s:%s:%s:%s', p.polname, p.polpermissive, pg_get_expr(p.polqual, p.polrelid),
                                     pg_get_expr(p.polwithcheck, p.polrelid)), ' | ' ORDER BY p.polname)
              FROM pg_policy p WHERE p.polrelid = c.oid),
           (SELECT string_agg(i.indexrelid::regclass::text, ',' ORDER BY i.indexrelid::regclass::text)
              FROM pg_index i WHERE i.indrelid = c.oid)
      FROM pg_class c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = col
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
     WHERE c.oid = rel
$$;

CREATE TEMP TABLE protected_state AS SELECT * FROM tg40.state('tg40.docs');

SELECT results_eq('SELECT * FROM tg40.state(''tg40.docs'')',
    $$VALUES (true, true, true, 'tenantguard.current_tenant()'::text,
              'tenantguard_isolation:t:(tenant_id = tenantguard.current_tenant()):(tenant_id = tenantguard.current_tenant())'::text,
              'tg40.docs_tenant_id_tg_idx'::text)$$,
    'protect() enabled and forced RLS, made the column NOT NULL DEFAULT current_tenant(), added the policy and an index');

-- ---------------------------------------------------------------------------
-- 1. Refused, even for a superuser
-- ---------------------------------------------------------------------------
SELECT throws_ok('ALTER TABLE tg40.docs DISABLE ROW LEVEL SECURITY', '42501', NULL,
    'DISABLE ROW LEVEL SECURITY is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs NO FORCE ROW LEVEL SECURITY', '42501', NULL,
    'NO FORCE ROW LEVEL SECURITY is refused (42501)');
SELECT throws_ok('ALTER TABLE ONLY tg40.docs NO FORCE ROW LEVEL SECURITY', '42501', NULL,
    'ALTER TABLE ONLY ... NO FORCE ROW LEVEL SECURITY is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs ADD COLUMN extra int, DISABLE ROW LEVEL SECURITY', '42501', NULL,
    'a harmful subcommand hidden behind a harmless one is refused (42501)');
SELECT throws_ok('DROP POLICY tenantguard_isolation ON tg40.docs', '42501', NULL,
    'DROP POLICY tenantguard_isolation is refused (42501)');
SELECT throws_ok('DROP POLICY IF EXISTS tenantguard_isolation ON tg40.docs CASCADE', '42501', NULL,
    'DROP POLICY IF EXISTS ... CASCADE is refused (42501)');
SELECT throws_ok('ALTER POLICY tenantguard_isolation ON tg40.docs USING (true)', '42501', NULL,
    'ALTER POLICY tenantguard_isolation USING (true) is refused (42501)');
SELECT throws_ok('ALTER POLICY tenantguard_isolation ON tg40.docs WITH CHECK (true)', '42501', NULL,
    'ALTER POLICY tenantguard_isolation WITH CHECK (true) is refused (42501)');
SELECT throws_ok('ALTER POLICY tenantguard_isolation ON tg40.docs TO tg40_owner', '42501', NULL,
    'ALTER POLICY tenantguard_isolation TO <role> is refused (42501)');
SELECT throws_ok('ALTER POLICY tenantguard_isolation ON tg40.docs RENAME TO old_isolation', '42501', NULL,
    'renaming policy tenantguard_isolation is refused (42501)');
SELECT throws_ok('CREATE POLICY open_door ON tg40.docs USING (true)', '42501', NULL,
    'adding a policy that is permissive by default is refused (42501)');
SELECT throws_ok('CREATE POLICY open_door ON tg40.docs AS PERMISSIVE FOR SELECT TO PUBLIC USING (true)', '42501', NULL,
    'adding an explicitly PERMISSIVE policy is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs ALTER COLUMN tenant_id TYPE text', '42501', NULL,
    'ALTER COLUMN tenant_id TYPE is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs ALTER COLUMN tenant_id DROP NOT NULL', '42501', NULL,
    'ALTER COLUMN tenant_id DROP NOT NULL is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs ALTER COLUMN tenant_id DROP DEFAULT', '42501', NULL,
    'ALTER COLUMN tenant_id DROP DEFAULT is refused (42501)');
SELECT throws_ok($$ALTER TABLE tg40.docs ALTER COLUMN tenant_id SET DEFAULT '00000000-0000-0000-0000-000000000001'$$, '42501', NULL,
    'ALTER COLUMN tenant_id SET DEFAULT is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs DROP COLUMN tenant_id', '42501', NULL,
    'DROP COLUMN tenant_id is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs DROP COLUMN tenant_id CASCADE', '42501', NULL,
    'DROP COLUMN tenant_id CASCADE is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs RENAME COLUMN tenant_id TO tid', '42501', NULL,
    'RENAME COLUMN tenant_id is refused (42501)');
SET LOCAL search_path = tg40, public;
SELECT throws_ok('ALTER TABLE docs DISABLE ROW LEVEL SECURITY', '42501', NULL,
    'an unqualified name found through search_path is guarded too (42501)');
RESET search_path;

ALTER TABLE tg40.docs OWNER TO tg40_owner;
SET ROLE tg40_owner;
SELECT throws_ok('ALTER TABLE tg40.docs NO FORCE ROW LEVEL SECURITY', '42501', NULL,
    'the non-superuser owner is refused NO FORCE ROW LEVEL SECURITY (42501)');
SELECT throws_ok('DROP POLICY tenantguard_isolation ON tg40.docs', '42501', NULL,
    'the non-superuser owner is refused DROP POLICY tenantguard_isolation (42501)');
SELECT throws_ok('ALTER TABLE tg40.docs ALTER COLUMN tenant_id DROP DEFAULT', '42501', NULL,
    'the non-superuser owner is refused DROP DEFAULT on the tenant column (42501)');
RESET ROLE;
ALTER TABLE tg40.docs OWNER TO postgres;

SELECT results_eq('SELECT * FROM tg40.state(''tg40.docs'')', 'SELECT * FROM protected_state',
    'after all the refused DDL the protection is exactly as protect() left it');

-- ---------------------------------------------------------------------------
-- 2. Allowed: DDL that does not weaken isolation
-- ---------------------------------------------------------------------------
SELECT lives_ok('CREATE POLICY only_positive ON tg40.docs AS RESTRICTIVE USING (id > 0)',
    'a RESTRICTIVE policy may be added (it narrows access within a tenant)');
SELECT lives_ok('ALTER POLICY only_positive ON tg40.docs USING (id >= 0)', 'and altered');
SELECT lives_ok('DROP POLICY only_positive ON tg40.docs', 'and dropped');
SELECT lives_ok('ALTER TABLE tg40.docs ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY',
    'enabling and forcing row level security again is allowed');
SELECT lives_ok('ALTER TABLE tg40.docs ALTER COLUMN note DROP DEFAULT', 'other columns: DROP DEFAULT is allowed');
SELECT lives_ok('ALTER TABLE tg40.docs ALTER COLUMN body SET NOT NULL', 'other columns: SET NOT NULL is allowed');
SELECT lives_ok('ALTER TABLE tg40.docs ALTER COLUMN body DROP NOT NULL', 'other columns: DROP NOT NULL is allowed');
SELECT lives_ok('ALTER TABLE tg40.docs ALTER COLUMN note TYPE varchar(200)', 'other columns: TYPE is allowed');
SELECT lives_ok('ALTER TABLE tg40.docs RENAME COLUMN note TO remark', 'other columns: RENAME is allowed');
SELECT lives_ok('ALTER TABLE tg40.docs ADD COLUMN extra int', 'ADD COLUMN is allowed');
SELECT lives_ok('ALTER TABLE tg40.docs DROP COLUMN extra', 'DROP COLUMN of another column is allowed');
SELECT results_eq('SELECT * FROM tg40.state(''tg40.docs'')', 'SELECT * FROM protected_state',
    'the allowed DDL left the protection untouched');

-- ---------------------------------------------------------------------------
-- 3. The guard follows the table's own tenant column name
-- ---------------------------------------------------------------------------
CREATE TABLE tg40.orgs (org_id uuid, tenant_id int, alt_id uuid);
SELECT tenantguard.protect('tg40.orgs', 'org_id') \gset
SELECT is((SELECT tenant_column FROM tenantguard.protected_tables WHERE rel = 'tg40.orgs'::regclass), 'org_id'::name,
    'protected_tables records the custom tenant column');
SELECT throws_ok('ALTER TABLE tg40.orgs ALTER COLUMN org_id DROP DEFAULT', '42501', NULL,
    'the custom tenant column is guarded (42501)');
SELECT throws_ok('ALTER TABLE tg40.orgs DROP COLUMN org_id', '42501', NULL,
    'the custom tenant column cannot be dropped (42501)');
SELECT lives_ok('ALTER TABLE tg40.orgs DROP COLUMN tenant_id', 'a column that merely is called tenant_id is not guarded there');
SELECT throws_ok($$SELECT tenantguard.protect('tg40.orgs', 'alt_id')$$, '22023', NULL,
    'protecting an already protected table on another column is refused (22023)');

-- ---------------------------------------------------------------------------
-- 4. Indirect routes to the tenant column
-- ---------------------------------------------------------------------------
CREATE TABLE tg40.base1 (tenant_id uuid, x int);
CREATE TABLE tg40.child1 () INHERITS (tg40.base1);
SELECT tenantguard.protect('tg40.child1') \gset
SELECT throws_ok('ALTER TABLE tg40.base1 ALTER COLUMN tenant_id DROP DEFAULT', '42501', NULL,
    'DROP DEFAULT on an inheritance parent that reaches a protected child''s tenant column is refused (42501)');
SELECT is((SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
            JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
           WHERE d.adrelid = 'tg40.child1'::regclass AND a.attname = 'tenant_id'),
    'tenantguard.current_tenant()', 'the protected child keeps its tenant default');

CREATE TABLE tg40.base2 (tenant_id uuid, x int);
CREATE TABLE tg40.child2 () INHERITS (tg40.base2);
SELECT tenantguard.protect('tg40.child2') \gset
SELECT throws_ok('ALTER TABLE tg40.base2 RENAME COLUMN tenant_id TO tid', '42501', NULL,
    'RENAME COLUMN on an inheritance parent that would rename a protected child''s tenant column is refused (42501)');
SELECT throws_ok('ALTER TABLE tg40.child2 ALTER COLUMN tenant_id DROP NOT NULL', '42501', NULL,
    'so the tenant column keeps its name and stays guarded (42501)');

CREATE TYPE tg40.doc_row AS (tenant_id uuid, x int);
CREATE TABLE tg40.typed OF tg40.doc_row;
SELECT tenantguard.protect('tg40.typed') \gset
SELECT throws_ok('ALTER TYPE tg40.doc_row DROP ATTRIBUTE tenant_id CASCADE', '42501', NULL,
    'ALTER TYPE ... DROP ATTRIBUTE CASCADE on the type of a protected typed table is refused (42501)');
SELECT ok(EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = 'tg40.typed'::regclass AND polname = 'tenantguard_isolation'),
    'the typed table keeps its isolation policy');

-- ---------------------------------------------------------------------------
-- 5. The emergency switch (superuser only) and unprotect()
-- ---------------------------------------------------------------------------
CREATE TABLE tg40.emergency (tenant_id uuid, id int);
SELECT tenantguard.protect('tg40.emergency') \gset
SET LOCAL tenantguard.ddl_guard = off;
SELECT lives_ok('ALTER TABLE tg40.emergency NO FORCE ROW LEVEL SECURITY',
    'with tenantguard.ddl_guard = off a superuser can weaken a protected table');
SET LOCAL tenantguard.ddl_guard = on;
SELECT throws_ok('ALTER TABLE tg40.emergency DISABLE ROW LEVEL SECURITY', '42501', NULL,
    'with the guard back on the same table is guarded again (42501)');

SELECT lives_ok($$SELECT tenantguard.unprotect('tg40.docs')$$, 'unprotect() removes the protection');
SELECT is((SELECT count(*)::int FROM tenantguard.protected_tables WHERE rel = 'tg40.docs'::regclass), 0,
    'the table is no longer listed in protected_tables');
SELECT lives_ok('ALTER TABLE tg40.docs ALTER COLUMN tenant_id DROP DEFAULT', 'after unprotect() DROP DEFAULT works');
SELECT lives_ok('ALTER TABLE tg40.docs ALTER COLUMN tenant_id SET DEFAULT NULL', 'after unprotect() SET DEFAULT works');
SELECT lives_ok('ALTER TABLE tg40.docs ENABLE ROW LEVEL SECURITY', '(enable RLS to try disabling it)');
SELECT lives_ok('ALTER TABLE tg40.docs DISABLE ROW LEVEL SECURITY', 'after unprotect() DISABLE ROW LEVEL SECURITY works');
SELECT lives_ok('CREATE POLICY tenantguard_isolation ON tg40.docs USING (true)', 'after unprotect() a permissive policy can be created');
SELECT lives_ok('ALTER POLICY tenantguard_isolation ON tg40.docs USING (false)', 'after unprotect() the policy of that name can be altered');
SELECT lives_ok('DROP POLICY tenantguard_isolation ON tg40.docs', 'after unprotect() the policy of that name can be dropped');
SELECT lives_ok('ALTER TABLE tg40.docs ALTER COLUMN tenant_id DROP NOT NULL', 'after unprotect() DROP NOT NULL works');
SELECT lives_ok('ALTER TABLE tg40.docs ALTER COLUMN tenant_id TYPE text', 'after unprotect() TYPE works');
SELECT lives_ok('ALTER TABLE tg40.docs RENAME COLUMN tenant_id TO tid', 'after unprotect() RENAME COLUMN works');
SELECT lives_ok('ALTER TABLE tg40.docs DROP COLUMN tid', 'after unprotect() DROP COLUMN works');

-- ---------------------------------------------------------------------------
-- 6. unprotect() restores the previous state exactly
-- ---------------------------------------------------------------------------
-- (a) a bare table
CREATE TABLE tg40.bare (tenant_id uuid, id int);
CREATE TEMP TABLE bare_before AS SELECT * FROM tg40.state('tg40.bare');
SELECT tenantguard.protect('tg40.bare') \gset
SELECT isnt((SELECT row(s.*)::text FROM tg40.state('tg40.bare') s), (SELECT row(b.*)::text FROM bare_before b),
    'protect() changed the bare table');
SELECT tenantguard.unprotect('tg40.bare') \gset
SELECT results_eq('SELECT * FROM tg40.state(''tg40.bare'')', 'SELECT * FROM bare_before',
    'unprotect() of a bare table: RLS off, not forced, nullable, no default, no policy, its created index dropped');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'bare_tenant_id_tg_idx'), 0,
    'the index protect() created is gone');

-- (b) a table that already had RLS, NOT NULL, a default, its own index and policy
CREATE TABLE tg40.prepared (tenant_id uuid NOT NULL DEFAULT gen_random_uuid(), id int);
CREATE INDEX prepared_own_idx ON tg40.prepared (tenant_id, id);
ALTER TABLE tg40.prepared ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rule ON tg40.prepared AS RESTRICTIVE USING (id > 0);
CREATE TEMP TABLE prepared_before AS SELECT * FROM tg40.state('tg40.prepared');
SELECT tenantguard.protect('tg40.prepared') \gset
SELECT is((SELECT created_index FROM tenantguard.protected_registry WHERE rel = 'tg40.prepared'::regclass), NULL,
    'protect() reuses an existing index led by the tenant column instead of creating one');
SELECT tenantguard.unprotect('tg40.prepared') \gset
SELECT results_eq('SELECT * FROM tg40.state(''tg40.prepared'')', 'SELECT * FROM prepared_before',
    'unprotect() of a prepared table: RLS still on but not forced, NOT NULL and its default kept, its own index and policy kept');

-- (c) a table whose RLS was already forced
CREATE TABLE tg40.forced (tenant_id uuid, id int);
ALTER TABLE tg40.forced ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE TEMP TABLE forced_before AS SELECT * FROM tg40.state('tg40.forced');
SELECT tenantguard.protect('tg40.forced') \gset
SELECT tenantguard.unprotect('tg40.forced') \gset
SELECT results_eq('SELECT * FROM tg40.state(''tg40.forced'')', 'SELECT * FROM forced_before',
    'unprotect() of a table that was already forced leaves it forced');

SELECT lives_ok($$SELECT tenantguard.unprotect('tg40.bare')$$, 'unprotect() of an unprotected table is a harmless no-op');

-- ---------------------------------------------------------------------------
-- 7. protect(): idempotent, and its argument checks
-- ---------------------------------------------------------------------------
CREATE TABLE tg40.twice (tenant_id uuid, id int);
SELECT tenantguard.protect('tg40.twice') \gset
CREATE TEMP TABLE twice_once AS SELECT * FROM tg40.state('tg40.twice');
SELECT lives_ok($$SELECT tenantguard.protect('tg40.twice')$$, 'protect() a second time succeeds');
SELECT lives_ok($$SELECT tenantguard.protect('tg40.twice', 'tenant_id', true)$$, 'and a third time');
SELECT results_eq('SELECT * FROM tg40.state(''tg40.twice'')', 'SELECT * FROM twice_once',
    'protect() is idempotent: same flags, one policy, one index');
SELECT is((SELECT count(*)::int FROM tenantguard.protected_tables WHERE rel = 'tg40.twice'::regclass), 1,
    'protect() is idempotent: one protected_tables row');
SELECT results_eq($$SELECT tenant_column, protected_by FROM tenantguard.protected_tables WHERE rel = 'tg40.twice'::regclass$$,
    $$VALUES ('tenant_id'::name, 'postgres'::name)$$, 'protected_tables records the column and who protected it');
SELECT tenantguard.unprotect('tg40.twice') \gset
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'twice_tenant_id_tg_idx'), 0,
    'after repeated protect() a single unprotect() still removes the created index');

CREATE TABLE tg40.textual (tenant_id text, id int);
SELECT throws_ok($$SELECT tenantguard.protect('tg40.textual')$$, '42804', NULL,
    'protect() on a non-uuid tenant column is refused (42804)');
CREATE TABLE tg40.nocol (id int);
SELECT throws_ok($$SELECT tenantguard.protect('tg40.nocol')$$, '42703', NULL,
    'protect() on a table without the tenant column is refused (42703)');
SELECT throws_ok($$SELECT tenantguard.protect('tg40.docs', 'missing')$$, '42703', NULL,
    'protect() naming a missing column is refused (42703)');
CREATE VIEW tg40.a_view AS SELECT gen_random_uuid() AS tenant_id;
SELECT throws_ok($$SELECT tenantguard.protect('tg40.a_view')$$, '42809', NULL,
    'protect() on a view is refused (42809)');
SELECT throws_ok($$SELECT tenantguard.protect(NULL)$$, '22004', NULL,
    'protect(NULL) is refused (22004)');
SELECT throws_ok($$SELECT tenantguard.protect('tg40.no_such_table')$$, '42P01', NULL,
    'protect() of a missing table is refused (42P01)');

CREATE TABLE tg40.owned (tenant_id uuid, id int);
ALTER TABLE tg40.owned OWNER TO tg40_owner;
SET ROLE tg40_other;
SELECT throws_ok($$SELECT tenantguard.protect('tg40.owned')$$, '42501', NULL,
    'protect() by a role that does not own the table is refused (42501)');
RESET ROLE;
SET ROLE tg40_owner;
SELECT lives_ok($$SELECT tenantguard.protect('tg40.owned')$$, 'the non-superuser owner may protect its table');
SELECT results_eq($$SELECT protected_by FROM tenantguard.protected_tables WHERE rel = 'tg40.owned'::regclass$$,
    $$VALUES ('postgres'::name)$$, '(protected_by is the session user)');
RESET ROLE;
SET ROLE tg40_other;
SELECT throws_ok($$SELECT tenantguard.unprotect('tg40.owned')$$, '42501', NULL,
    'unprotect() by a role that does not own the table is refused (42501)');
SELECT throws_ok($$SELECT tenantguard._guard_bypass(true)$$, '42501', NULL,
    'the guard''s internal bypass switch is not executable by ordinary roles (42501)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tenantguard.protected_tables WHERE rel = 'tg40.owned'::regclass), 1,
    'the table is still protected');
SET ROLE tg40_owner;
SELECT lives_ok($$SELECT tenantguard.unprotect('tg40.owned')$$, 'the owner may unprotect its table');
RESET ROLE;

-- Dropping a protected table forgets it.
CREATE TABLE tg40.doomed (tenant_id uuid);
SELECT tenantguard.protect('tg40.doomed') \gset
CREATE TEMP TABLE doomed_oid AS SELECT 'tg40.doomed'::regclass::oid AS oid;
DROP TABLE tg40.doomed;
SELECT is((SELECT count(*)::int FROM tenantguard.protected_registry WHERE rel::oid = (SELECT oid FROM doomed_oid)), 0,
    'DROP TABLE removes the table from the registry');

SELECT * FROM finish();
ROLLBACK;
