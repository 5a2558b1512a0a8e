-- Cross-tenant attack catalogue, part 7: partitions queried directly.
--
-- Row level security of a partitioned table applies only when the parent is
-- queried; a partition named directly has its own (absent) policies. protect()
-- on a partitioned table therefore protects every partition at every level,
-- and every partition created later, and refuses to attach an unprotected one.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg60_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(47);

CREATE ROLE tg60_owner LOGIN IN ROLE tenantguard_admin;   -- owns the partitioned table
CREATE ROLE tg60_app LOGIN IN ROLE tenantguard_app;       -- bound to Acme

SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset
SELECT tenantguard.bind_role('tg60_app', :'acme') \gset

CREATE SCHEMA tg60 AUTHORIZATION tg60_owner;
GRANT USAGE ON SCHEMA tg60 TO PUBLIC;

SET ROLE tg60_owner;
CREATE TABLE tg60.events (tenant_id uuid NOT NULL, k int NOT NULL, body text) PARTITION BY LIST (k);
CREATE TABLE tg60.events_1 PARTITION OF tg60.events FOR VALUES IN (1);
CREATE TABLE tg60.events_2 PARTITION OF tg60.events FOR VALUES IN (2, 3, 5) PARTITION BY LIST (k);   -- sub-partitioned
CREATE TABLE tg60.events_2a PARTITION OF tg60.events_2 FOR VALUES IN (2);
CREATE TABLE tg60.events_2b PARTITION OF tg60.events_2 FOR VALUES IN (3);
SELECT lives_ok($$SELECT tenantguard.protect('tg60.events')$$, 'the owner protects the partitioned table');
RESET ROLE;

SELECT set_eq($$SELECT rel::text FROM tenantguard.protected_tables WHERE rel::text LIKE 'tg60.%'$$,
    $$VALUES ('tg60.events'), ('tg60.events_1'), ('tg60.events_2'), ('tg60.events_2a'), ('tg60.events_2b')$$,
    'protect() protected the partitioned table and every existing partition at every level');
SELECT is((SELECT count(*)::int FROM pg_class c
            WHERE c.relname IN ('events_1', 'events_2a', 'events_2b') AND c.relnamespace = 'tg60'::regnamespace
              AND c.relrowsecurity AND c.relforcerowsecurity
              AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenantguard_isolation')), 3,
    'every leaf partition has forced RLS and its own tenantguard policy');

-- Partitions created later, at both levels, and a default partition.
SET ROLE tg60_owner;
CREATE TABLE tg60.events_4 PARTITION OF tg60.events FOR VALUES IN (4);
CREATE TABLE tg60.events_2c PARTITION OF tg60.events_2 FOR VALUES IN (5);
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg60.events_4'::regclass),
    'a partition created later is protected automatically');
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg60.events_2c'::regclass),
    'a sub-partition created later is protected automatically');
SET ROLE tg60_owner;
CREATE TABLE tg60.events_default PARTITION OF tg60.events DEFAULT;
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg60.events_default'::regclass),
    'a default partition created later is protected automatically');

-- Rows of both tenants in every partition.
INSERT INTO tg60.events VALUES
    (:'acme', 1, 'acme-1'), (:'globex', 1, 'globex-1'),
    (:'acme', 2, 'acme-2'), (:'globex', 2, 'globex-2'),
    (:'acme', 3, 'acme-3'), (:'globex', 3, 'globex-3'),
    (:'acme', 4, 'acme-4'), (:'globex', 4, 'globex-4'),
    (:'acme', 9, 'acme-9'), (:'globex', 9, 'globex-9');
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA tg60 TO tenantguard_app;

-- ---------------------------------------------------------------------------
-- Each partition queried directly is isolated
-- ---------------------------------------------------------------------------
SET ROLE tg60_app;    -- bound to Acme
SELECT results_eq('SELECT body FROM tg60.events ORDER BY k', $$VALUES ('acme-1'), ('acme-2'), ('acme-3'), ('acme-4'), ('acme-9')$$,
    'through the parent: only Acme rows');
SELECT results_eq('SELECT body FROM tg60.events_1', $$VALUES ('acme-1')$$, 'events_1 queried directly: only Acme rows');
SELECT results_eq('SELECT body FROM tg60.events_2 ORDER BY k', $$VALUES ('acme-2'), ('acme-3')$$, 'events_2 (sub-partitioned) queried directly: only Acme rows');
SELECT results_eq('SELECT body FROM tg60.events_2a', $$VALUES ('acme-2')$$, 'events_2a queried directly: only Acme rows');
SELECT results_eq('SELECT body FROM tg60.events_2b', $$VALUES ('acme-3')$$, 'events_2b queried directly: only Acme rows');
SELECT results_eq('SELECT body FROM tg60.events_4', $$VALUES ('acme-4')$$, 'the later partition events_4 queried directly: only Acme rows');
SELECT results_eq('SELECT body FROM tg60.events_default', $$VALUES ('acme-9')$$, 'the later default partition queried directly: only Acme rows');
SELECT throws_ok(format($$INSERT INTO tg60.events_1 VALUES (%L, 1, 'x')$$, :'globex'), '42501', NULL,
    'inserting a Globex row directly into a partition is refused (42501)');
SELECT lives_ok($$INSERT INTO tg60.events_4 (k, body) VALUES (4, 'acme-4b')$$,
    'inserting directly into a later partition takes the tenant default');
RESET ROLE;
SELECT is((SELECT tenant_id FROM tg60.events_4 WHERE body = 'acme-4b'), :'acme'::uuid, '(that row belongs to Acme)');

SET ROLE tg60_owner;     -- owner, no context
SELECT throws_ok('SELECT * FROM tg60.events_1', '42501', 'no tenant context is set',
    'a partition queried directly without a context is refused (42501)');
SELECT throws_ok('SELECT * FROM tg60.events_2b', '42501', 'no tenant context is set',
    'a sub-partition queried directly without a context is refused (42501)');
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT results_eq('SELECT body FROM tg60.events_2a', $$VALUES ('globex-2')$$,
    'the owner in Globex reading a partition directly sees only Globex rows');
SELECT tenantguard.clear_context() \gset
RESET ROLE;

-- ---------------------------------------------------------------------------
-- ATTACH / DETACH
-- ---------------------------------------------------------------------------
SET ROLE tg60_owner;
CREATE TABLE tg60.events_6 (tenant_id uuid NOT NULL, k int NOT NULL, body text);
SELECT throws_ok('ALTER TABLE tg60.events ATTACH PARTITION tg60.events_6 FOR VALUES IN (6)', '42501', NULL,
    'attaching an unprotected table as a partition is refused (42501)');
SELECT throws_ok('ALTER TABLE tg60.events_2 ATTACH PARTITION tg60.events_6 FOR VALUES IN (6)', '42501', NULL,
    'attaching an unprotected table to a protected sub-partition is refused (42501)');
SELECT lives_ok($$SELECT tenantguard.protect('tg60.events_6')$$, 'the owner protects the table first');
SELECT lives_ok('ALTER TABLE tg60.events ATTACH PARTITION tg60.events_6 FOR VALUES IN (6)',
    'attaching a protected table as a partition is allowed');
RESET ROLE;
INSERT INTO tg60.events VALUES (:'acme', 6, 'acme-6'), (:'globex', 6, 'globex-6');
GRANT SELECT ON tg60.events_6 TO tenantguard_app;
SET ROLE tg60_app;
SELECT results_eq('SELECT body FROM tg60.events_6', $$VALUES ('acme-6')$$, 'the attached partition queried directly: only Acme rows');
RESET ROLE;

SET ROLE tg60_owner;
SELECT throws_ok('ALTER TABLE tg60.events_1 DISABLE ROW LEVEL SECURITY', '42501', NULL,
    'the DDL guard covers partitions: DISABLE ROW LEVEL SECURITY is refused (42501)');
SELECT throws_ok('DROP POLICY tenantguard_isolation ON tg60.events_2a', '42501', NULL,
    'the DDL guard covers sub-partitions: DROP POLICY is refused (42501)');
SELECT throws_ok('ALTER TABLE tg60.events_1 ALTER COLUMN tenant_id DROP DEFAULT', '42501', NULL,
    'the DDL guard covers the tenant column of a partition (42501)');
SELECT throws_ok($$SELECT tenantguard.unprotect('tg60.events_1')$$, '42501', NULL,
    'a single partition of a protected table cannot be unprotected (42501)');

SELECT lives_ok('ALTER TABLE tg60.events DETACH PARTITION tg60.events_1', 'a partition is detached');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg60.events_1'::regclass),
    'the detached table stays protected');
SET ROLE tg60_app;
SELECT results_eq('SELECT body FROM tg60.events_1', $$VALUES ('acme-1')$$, 'the detached table is still isolated');
RESET ROLE;
SET ROLE tg60_owner;
SELECT lives_ok('ALTER TABLE tg60.events ATTACH PARTITION tg60.events_1 FOR VALUES IN (1)',
    'the (still protected) table can be attached again');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- An unprotected parent above a protected table
-- ---------------------------------------------------------------------------
-- PostgreSQL applies only the policies of the table named in the query, so a
-- protected table's rows must not become readable through an unprotected
-- parent (whether tenantguard refuses to build such a tree or protects it).
CREATE SCHEMA tg60x AUTHORIZATION tg60_owner;
GRANT USAGE ON SCHEMA tg60x TO PUBLIC;
CREATE FUNCTION tg60x.foreign_rows(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) s WHERE tenant_id IS DISTINCT FROM tenantguard.current_tenant()', q) INTO n;
    RETURN n;
EXCEPTION WHEN insufficient_privilege THEN
    RETURN 0;    -- refused: nothing leaked
END $$;

SET ROLE tg60_owner;
CREATE TABLE tg60x.ledger (tenant_id uuid NOT NULL, k int NOT NULL);
SELECT tenantguard.protect('tg60x.ledger') \gset
CREATE TABLE tg60x.ledger_archive (tenant_id uuid NOT NULL, k int NOT NULL) PARTITION BY LIST (k);
DO $$
BEGIN
    ALTER TABLE tg60x.ledger_archive ATTACH PARTITION tg60x.ledger FOR VALUES IN (1);
EXCEPTION WHEN insufficient_privilege THEN
    NULL;    -- tenantguard may refuse to hang a protected table under an unprotected parent
END $$;
CREATE TABLE tg60x.legacy_parent (tenant_id uuid, k int);
CREATE TABLE tg60x.legacy_child () INHERITS (tg60x.legacy_parent);
DO $$
BEGIN
    PERFORM tenantguard.protect('tg60x.legacy_child');
EXCEPTION WHEN insufficient_privilege OR invalid_parameter_value OR object_not_in_prerequisite_state THEN
    NULL;    -- or refuse to protect a table with an unprotected parent
END $$;
RESET ROLE;
INSERT INTO tg60x.ledger VALUES (:'acme', 1), (:'globex', 1);
INSERT INTO tg60x.legacy_child VALUES (:'acme', 1), (:'globex', 1);
GRANT SELECT ON tg60x.ledger, tg60x.ledger_archive, tg60x.legacy_parent, tg60x.legacy_child TO tenantguard_app;
SET ROLE tg60_app;   -- bound to Acme
SELECT is(tg60x.foreign_rows('SELECT tenant_id FROM tg60x.ledger_archive'), 0::bigint,
    'a protected table attached under an unprotected partitioned table does not show other tenants'' rows through it');
SELECT is(tg60x.foreign_rows('SELECT tenant_id FROM tg60x.legacy_parent'), 0::bigint,
    'a protected table that inherits from an unprotected parent does not show other tenants'' rows through it');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Partitions created by a maintenance function (pg_partman style)
-- ---------------------------------------------------------------------------
CREATE ROLE tg60_job LOGIN;
GRANT USAGE ON SCHEMA tg60 TO tg60_job;
SET ROLE tg60_owner;
CREATE FUNCTION tg60.add_partition(n int) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE format('CREATE TABLE tg60.events_%s PARTITION OF tg60.events FOR VALUES IN (%s)', n, n);
END $$;
REVOKE EXECUTE ON FUNCTION tg60.add_partition(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tg60.add_partition(int) TO tg60_job;
RESET ROLE;
SET ROLE tg60_job;
SELECT lives_ok('SELECT tg60.add_partition(8)',
    'a SECURITY DEFINER maintenance function owned by the table owner can add a partition when a job role calls it');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel::text = 'tg60.events_8'),
    'and that partition is protected');

-- ---------------------------------------------------------------------------
-- unprotect() of the partitioned table undoes the whole tree
-- ---------------------------------------------------------------------------
SAVEPOINT before_unprotect;
SET ROLE tg60_owner;
SELECT lives_ok($$SELECT tenantguard.unprotect('tg60.events')$$,
    'unprotect() of the partitioned table succeeds, even with a separately protected partition attached');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tenantguard.protected_tables WHERE rel::text LIKE 'tg60.%'), 0,
    'no table of the tree is listed any more');
SELECT is((SELECT count(*)::int FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
            WHERE c.relnamespace = 'tg60'::regnamespace), 0,
    'no table of the tree has a policy any more');
SELECT is((SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'tg60'::regnamespace
             AND (c.relrowsecurity OR c.relforcerowsecurity)), 0,
    'no table of the tree has row level security any more');
SELECT is((SELECT count(*)::int FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
            WHERE c.relnamespace = 'tg60'::regnamespace AND pg_get_expr(d.adbin, d.adrelid) LIKE '%current_tenant%'), 0,
    'no table of the tree keeps the current_tenant() default');
ROLLBACK TO SAVEPOINT before_unprotect;

-- The same without the separately protected partition.
SET ROLE tg60_owner;
SELECT lives_ok('ALTER TABLE tg60.events DETACH PARTITION tg60.events_6', '(detach the separately protected partition)');
SELECT lives_ok($$SELECT tenantguard.unprotect('tg60.events')$$, 'unprotect() of the partitioned table');
RESET ROLE;
SELECT set_eq($$SELECT rel::text FROM tenantguard.protected_tables WHERE rel::text LIKE 'tg60.%'$$,
    $$VALUES ('tg60.events_6')$$,
    'every table of the tree is unprotected (only the detached, separately protected table remains)');
SELECT is((SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'tg60'::regnamespace AND c.relname <> 'events_6'
             AND (c.relrowsecurity OR c.relforcerowsecurity)), 0,
    'no table of the tree has row level security any more');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'tg60'::regnamespace AND relname LIKE '%tg_idx'
             AND relname NOT LIKE 'events_6%'), 0,
    'the indexes protect() created on the tree are gone');
SET ROLE tg60_owner;
CREATE TABLE tg60.events_7 (tenant_id uuid NOT NULL, k int NOT NULL, body text);
SELECT lives_ok('ALTER TABLE tg60.events ATTACH PARTITION tg60.events_7 FOR VALUES IN (7)',
    'once unprotected, the table accepts unprotected partitions again');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
