-- Cross-tenant attack catalogue, part 8: protect_schema().
--
-- A protected schema protects every table with the tenant column, now and
-- later, so a forgotten protect() on a new table cannot leave it open. Only
-- the schema's owner (or a superuser) may register or change that.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg65_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(28);

CREATE ROLE tg65_owner LOGIN IN ROLE tenantguard_admin;   -- owns schema tg65
CREATE ROLE tg65_dev LOGIN;                               -- may create tables in tg65
CREATE ROLE tg65_app LOGIN IN ROLE tenantguard_app;       -- bound to Acme; not the schema owner

SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset
SELECT tenantguard.bind_role('tg65_app', :'acme') \gset

CREATE SCHEMA tg65 AUTHORIZATION tg65_owner;
GRANT USAGE ON SCHEMA tg65 TO PUBLIC;
GRANT CREATE ON SCHEMA tg65 TO tg65_dev;
CREATE SCHEMA tg65_other;
GRANT USAGE, CREATE ON SCHEMA tg65_other TO tg65_dev;

SET ROLE tg65_owner;
CREATE TABLE tg65.a (tenant_id uuid, id int);
CREATE TABLE tg65.b (tenant_id uuid, id int);
CREATE TABLE tg65.no_tenant (id int);
CREATE TABLE tg65.text_tenant (tenant_id text, id int);
CREATE TABLE tg65.parts (tenant_id uuid NOT NULL, k int) PARTITION BY LIST (k);
CREATE TABLE tg65.parts_1 PARTITION OF tg65.parts FOR VALUES IN (1);
SELECT is(tenantguard.protect_schema('tg65'), 3, 'protect_schema() protects the three existing tables with a uuid tenant_id (partitions follow their parent)');
RESET ROLE;

SELECT set_eq($$SELECT rel::text FROM tenantguard.protected_tables WHERE rel::text LIKE 'tg65.%'$$,
    $$VALUES ('tg65.a'), ('tg65.b'), ('tg65.parts'), ('tg65.parts_1')$$,
    'the existing tables with the column, and the partition, are protected; the others are not');
SELECT results_eq($$SELECT schema_name, tenant_column FROM tenantguard.protected_schemas$$,
    $$VALUES ('tg65'::name, 'tenant_id'::name)$$, 'the schema is registered with its tenant column');

-- Tables created later.
SET ROLE tg65_dev;
CREATE TABLE tg65.later (tenant_id uuid, id int, body text);
CREATE TABLE tg65.later_as AS SELECT :'acme'::uuid AS tenant_id, 1 AS id;
SELECT :'acme'::uuid AS tenant_id, 2 AS id INTO tg65.later_into;
CREATE TABLE tg65.later_plain (id int);
CREATE TABLE tg65_other.elsewhere (tenant_id uuid, id int);
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg65.later'::regclass),
    'a table created later in the schema (by another role) is protected');
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg65.later_as'::regclass),
    'a table created later with CREATE TABLE AS is protected');
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg65.later_into'::regclass),
    'a table created later with SELECT INTO is protected');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg65.later_plain'::regclass),
    'a later table without the tenant column is left alone');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg65_other.elsewhere'::regclass),
    'a table created in another schema is not protected by it');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'tg65.later'::regclass),
    'the later table has forced row level security');

-- The later table is really isolated, also from its (non-superuser) owner.
SET ROLE tg65_dev;
GRANT SELECT, INSERT ON tg65.later TO tenantguard_app, tg65_owner;
SELECT throws_ok('SELECT * FROM tg65.later', '42501', 'no tenant context is set',
    'the owner of the later table cannot read it without a context (42501)');
RESET ROLE;
INSERT INTO tg65.later VALUES (:'acme', 1, 'acme-1'), (:'globex', 2, 'globex-1');
SET ROLE tg65_app;
SELECT results_eq('SELECT body FROM tg65.later', $$VALUES ('acme-1')$$, 'an application bound to Acme sees only Acme rows of the later table');
SELECT lives_ok($$INSERT INTO tg65.later (id, body) VALUES (3, 'acme-2')$$, 'and inserts with the tenant default');
RESET ROLE;
SELECT is((SELECT tenant_id FROM tg65.later WHERE id = 3), :'acme'::uuid, '(the new row belongs to Acme)');
SELECT throws_ok('ALTER TABLE tg65.later DISABLE ROW LEVEL SECURITY', '42501', NULL,
    'the later table is guarded by the DDL guard (42501)');

-- A partition created later in the schema follows its parent.
SET ROLE tg65_owner;
CREATE TABLE tg65.parts_2 PARTITION OF tg65.parts FOR VALUES IN (2);
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg65.parts_2'::regclass),
    'a partition created later in the schema is protected');

-- Adding the tenant column to an existing table of the schema.
SET ROLE tg65_owner;
ALTER TABLE tg65.no_tenant ADD COLUMN tenant_id uuid;
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg65.no_tenant'::regclass),
    'a table of the schema that gains the tenant column is protected');

-- A custom tenant column.
CREATE SCHEMA tg65_orgs;
CREATE TABLE tg65_orgs.x (org_id uuid, id int);
CREATE TABLE tg65_orgs.y (tenant_id uuid, id int);
SELECT is(tenantguard.protect_schema('tg65_orgs', 'org_id'), 1, 'protect_schema() with a custom tenant column protects the tables that have it');
SELECT is((SELECT tenant_column FROM tenantguard.protected_tables WHERE rel = 'tg65_orgs.x'::regclass), 'org_id'::name,
    'with that column');
CREATE TABLE tg65_orgs.z (org_id uuid, id int);
SELECT is((SELECT tenant_column FROM tenantguard.protected_tables WHERE rel = 'tg65_orgs.z'::regclass), 'org_id'::name,
    'a later table with the custom column is protected on it');

-- Argument checks and who may call it.
SELECT throws_ok($$SELECT tenantguard.protect_schema('no_such_schema')$$, '3F000', NULL,
    'protect_schema() of a missing schema is refused (3F000)');
SELECT throws_ok($$SELECT tenantguard.protect_schema(NULL)$$, '22004', NULL,
    'protect_schema(NULL) is refused (22004)');

-- The schema owner (logged in as itself) may.
SET SESSION AUTHORIZATION tg65_owner;
SELECT lives_ok($$SELECT tenantguard.protect_schema('tg65')$$, 'the schema owner may call protect_schema() again (idempotent, although other roles own some of its protected tables)');
RESET SESSION AUTHORIZATION;

-- A role that does not own the schema, logged in as itself.
CREATE SCHEMA tg65_empty;
SET SESSION AUTHORIZATION tg65_app;
SELECT throws_ok($$SELECT tenantguard.protect_schema('tg65', 'not_a_column')$$, '42501', NULL,
    'a role that does not own the schema cannot re-register it with another tenant column (42501)');
SELECT throws_ok($$SELECT tenantguard.protect_schema('tg65_empty')$$, '42501', NULL,
    'a role that does not own the schema cannot register it (42501)');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT tenant_column FROM tenantguard.protected_schemas WHERE schema_name = 'tg65'$$,
    $$VALUES ('tenant_id'::name)$$, 'the schema is still registered on tenant_id');
SELECT is((SELECT count(*)::int FROM tenantguard.protected_schemas WHERE schema_name = 'tg65_empty'), 0,
    'and the other schema was not registered');
SET ROLE tg65_dev;
CREATE TABLE tg65.after_attempt (tenant_id uuid, id int);
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg65.after_attempt'::regclass),
    'so a table created afterwards is still protected automatically');

-- Dropping the schema forgets it.
DROP SCHEMA tg65_orgs CASCADE;
SELECT is((SELECT count(*)::int FROM tenantguard.protected_schemas WHERE schema_name = 'tg65_orgs'), 0,
    'DROP SCHEMA removes it from protected_schemas');

SELECT * FROM finish();
ROLLBACK;
