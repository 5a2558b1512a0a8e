-- Cross-tenant attack catalogue, part 4: every path by which rows leave a
-- protected table.
--
-- The table owner (FORCE ROW LEVEL SECURITY), prepared statements and cached
-- plans across tenant switches, PL/pgSQL plan caching, COPY, views with and
-- without security_invoker, SECURITY DEFINER functions, MERGE, row locks and
-- parallel query.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg30_.
-- The COPY ... TO STDOUT checks capture psql's output in a client-side
-- temporary file (\o) and read it back with a backquoted `cat`.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(72);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg30_owner LOGIN IN ROLE tenantguard_admin;      -- owns the table; not a superuser
CREATE ROLE tg30_admin LOGIN IN ROLE tenantguard_admin;      -- enters tenants with set_tenant()
CREATE ROLE tg30_viewowner LOGIN;                            -- owns views and functions; ordinary role
CREATE ROLE tg30_app LOGIN IN ROLE tenantguard_app;          -- an application login, bound to Acme

SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset
SELECT tenantguard.bind_role('tg30_app', :'acme') \gset

CREATE SCHEMA tg30 AUTHORIZATION tg30_owner;
GRANT USAGE ON SCHEMA tg30 TO PUBLIC;
GRANT CREATE ON SCHEMA tg30 TO tg30_viewowner, tg30_admin;

SET ROLE tg30_owner;
CREATE TABLE tg30.docs (
    tenant_id uuid NOT NULL,
    id        int  NOT NULL,
    body      text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
SELECT tenantguard.protect('tg30.docs') \gset
GRANT SELECT, INSERT, UPDATE, DELETE ON tg30.docs TO tenantguard_app, tenantguard_admin, tg30_viewowner;
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO tg30.docs (id, body) VALUES (1, 'acme-1'), (2, 'acme-2');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'globex') \gset
INSERT INTO tg30.docs (id, body) VALUES (3, 'globex-1');
SELECT tenantguard.clear_context() \gset
RESET ROLE;
INSERT INTO tg30.docs VALUES (:'globex', 4, 'globex-2');   -- superuser, no context needed

-- Number of rows a data-modifying statement touched (runs as the caller).
CREATE FUNCTION tg30.affected(stmt text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
    EXECUTE stmt;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
GRANT EXECUTE ON FUNCTION tg30.affected(text) TO PUBLIC;

-- ---------------------------------------------------------------------------
-- 1. The table owner is subject to isolation (FORCE ROW LEVEL SECURITY)
-- ---------------------------------------------------------------------------
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'tg30.docs'::regclass),
    'protect() enabled and forced row level security');
SET ROLE tg30_owner;
SELECT throws_ok('SELECT count(*) FROM tg30.docs', '42501', 'no tenant context is set',
    'the non-superuser owner without a context is refused (42501)');
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT results_eq('SELECT body FROM tg30.docs ORDER BY id', $$VALUES ('acme-1'), ('acme-2')$$,
    'the owner inside Acme sees only Acme rows');
SELECT throws_ok(format($$INSERT INTO tg30.docs VALUES (%L, 9, 'x')$$, :'globex'), '42501', NULL,
    'the owner inside Acme cannot insert a Globex row (42501)');
SELECT is(tg30.affected($$UPDATE tg30.docs SET body = body || '!' WHERE id = 3$$), 0,
    'the owner inside Acme cannot update a Globex row');
SELECT is(tg30.affected('DELETE FROM tg30.docs WHERE id = 4'), 0,
    'the owner inside Acme cannot delete a Globex row');
SELECT tenantguard.clear_context() \gset
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 2. Prepared statements and cached plans across tenant switches
-- ---------------------------------------------------------------------------
SET ROLE tg30_admin;
PREPARE tg30_q AS SELECT body FROM tg30.docs ORDER BY id;
PREPARE tg30_qp(int) AS SELECT body FROM tg30.docs WHERE id >= $1 ORDER BY id;

SELECT tenantguard.set_tenant(:'acme') \gset
SELECT results_eq('EXECUTE tg30_q', $$VALUES ('acme-1'), ('acme-2')$$, 'a statement prepared without context, executed in Acme, shows Acme rows');
SELECT results_eq('EXECUTE tg30_qp(0)', $$VALUES ('acme-1'), ('acme-2')$$, 'likewise with a parameter');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT results_eq('EXECUTE tg30_q', $$VALUES ('globex-1'), ('globex-2')$$, 'the same prepared statement executed in Globex shows Globex rows');
SELECT results_eq('EXECUTE tg30_qp(0)', $$VALUES ('globex-1'), ('globex-2')$$, 'likewise with a parameter');
SELECT tenantguard.clear_context() \gset
SELECT throws_ok('EXECUTE tg30_q', '42501', 'no tenant context is set',
    'the prepared statement executed without a context is refused (42501)');

SET plan_cache_mode = force_generic_plan;
PREPARE tg30_qg(int) AS SELECT body FROM tg30.docs WHERE id >= $1 ORDER BY id;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT results_eq('EXECUTE tg30_qg(0)', $$VALUES ('acme-1'), ('acme-2')$$, 'generic plan, first execution in Acme: Acme rows');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT results_eq('EXECUTE tg30_qg(0)', $$VALUES ('globex-1'), ('globex-2')$$, 'the same generic plan in Globex: Globex rows');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT results_eq('EXECUTE tg30_qg(0)', $$VALUES ('acme-1'), ('acme-2')$$, 'and back in Acme: Acme rows again');
SELECT tenantguard.clear_context() \gset
SELECT cmp_ok((SELECT generic_plans FROM pg_prepared_statements WHERE name = 'tg30_qg'), '>=', 3::bigint,
    '(the executions above really used the cached generic plan)');
RESET plan_cache_mode;

-- Default plan_cache_mode switches to a generic plan after five custom plans;
-- a PL/pgSQL loop reuses one cached plan while the tenant alternates.
CREATE FUNCTION tg30.alternate() RETURNS text LANGUAGE plpgsql AS $$
DECLARE i int; n int; bad text;
BEGIN
    FOR i IN 1..8 LOOP
        PERFORM tenantguard.clear_context();
        PERFORM tenantguard.set_tenant(tenantguard.tenant_id(CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'globex' END));
        SELECT count(*), min(body) INTO n, bad FROM tg30.docs WHERE id >= 0
         AND body NOT LIKE (CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'globex' END) || '%';
        IF n <> 0 THEN
            RETURN format('iteration %s saw %s foreign rows, e.g. %s', i, n, bad);
        END IF;
    END LOOP;
    PERFORM tenantguard.clear_context();
    RETURN NULL;
END $$;
SELECT is(tg30.alternate(), NULL,
    'a PL/pgSQL loop alternating tenants through one cached plan never sees the other tenant''s rows');

-- PL/pgSQL functions cache their plans for the session.
CREATE FUNCTION tg30.bodies() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT body FROM tg30.docs ORDER BY id;
END $$;
CREATE FUNCTION tg30.doc_count() RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
    SELECT count(*) INTO n FROM tg30.docs;
    RETURN n;
END $$;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT results_eq('SELECT * FROM tg30.bodies()', $$VALUES ('acme-1'), ('acme-2')$$, 'a PL/pgSQL function called in Acme returns Acme rows');
SELECT is(tg30.doc_count(), 2, 'a PL/pgSQL count called in Acme counts Acme rows');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT results_eq('SELECT * FROM tg30.bodies()', $$VALUES ('globex-1'), ('globex-2')$$, 'the same function (cached plan) called in Globex returns Globex rows');
SELECT is(tg30.doc_count(), 2, 'the cached count in Globex counts Globex rows');
SELECT is((SELECT count(*)::int FROM tg30.bodies() b WHERE b LIKE 'acme%'), 0, 'no Acme row comes back in Globex');
SELECT tenantguard.clear_context() \gset
SELECT throws_ok('SELECT tg30.doc_count()', '42501', 'no tenant context is set',
    'the cached function called without a context is refused (42501)');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 3. COPY
-- ---------------------------------------------------------------------------
GRANT pg_write_server_files, pg_read_server_files, pg_execute_server_program TO tg30_admin;
SELECT '/tmp/tg30_copy_' || pg_backend_pid() || '_' || md5(random()::text) || '.txt' AS srvfile \gset
SET ROLE tg30_admin;

SELECT throws_ok(format('COPY tg30.docs TO %L', :'srvfile'), '42501', 'no tenant context is set',
    'COPY protected_table TO file without a context is refused (42501)');
SELECT throws_ok($$COPY tg30.docs TO PROGRAM 'cat > /dev/null'$$, '42501', 'no tenant context is set',
    'COPY protected_table TO PROGRAM without a context is refused (42501)');
SELECT throws_ok($$COPY (SELECT * FROM tg30.docs) TO PROGRAM 'cat > /dev/null'$$, '42501', 'no tenant context is set',
    'COPY (SELECT ... protected_table) TO PROGRAM without a context is refused (42501)');

SELECT tenantguard.set_tenant(:'acme') \gset
SELECT lives_ok(format('COPY tg30.docs (id, body) TO %L', :'srvfile'), 'inside Acme, COPY protected_table TO file runs');
RESET ROLE;
SELECT is(pg_read_file(:'srvfile'), E'1\tacme-1\n2\tacme-2\n', 'and the file holds only the Acme rows');
SET ROLE tg30_admin;
SELECT lives_ok(format('COPY (SELECT id, body FROM tg30.docs ORDER BY id) TO %L', :'srvfile'), 'inside Acme, COPY (SELECT ...) TO file runs');
RESET ROLE;
SELECT is(pg_read_file(:'srvfile'), E'1\tacme-1\n2\tacme-2\n', 'and the file holds only the Acme rows');
SET ROLE tg30_admin;

SELECT throws_ok($$COPY tg30.docs FROM '/dev/null'$$, '0A000', 'COPY FROM not supported with row-level security',
    'COPY FROM into a protected table is refused by PostgreSQL for RLS tables (0A000)');
RESET ROLE;
SET ROLE tg30_owner;
SELECT tenantguard.set_tenant(:'acme') \gset
RESET ROLE;
GRANT pg_read_server_files TO tg30_owner;
SET ROLE tg30_owner;
SELECT throws_ok($$COPY tg30.docs FROM '/dev/null'$$, '0A000', 'COPY FROM not supported with row-level security',
    'COPY FROM is refused to the table owner too (FORCE ROW LEVEL SECURITY, 0A000)');
RESET ROLE;
SELECT lives_ok(format($$COPY (SELECT 1) TO PROGRAM 'rm -f %s'$$, :'srvfile'), '(remove the server-side file)');

-- COPY ... TO STDOUT, from psql (PL/pgSQL cannot run it).
SET ROLE tg30_admin;
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'globex') \gset
\set tmpf `mktemp /tmp/tg30_stdout.XXXXXX`
\o :tmpf
COPY tg30.docs (id, body) TO STDOUT;
\o
\set copied `cat :tmpf`
SELECT is(:'copied'::text, E'3\tglobex-1\n4\tglobex-2', 'inside Globex, COPY protected_table TO STDOUT shows only the Globex rows');
\o :tmpf
COPY (SELECT body FROM tg30.docs ORDER BY id) TO STDOUT;
\o
\set copied `cat :tmpf`
SELECT is(:'copied'::text, E'globex-1\nglobex-2', 'inside Globex, COPY (SELECT ...) TO STDOUT shows only the Globex rows');
SELECT tenantguard.clear_context() \gset
\set ON_ERROR_STOP false
\set ON_ERROR_ROLLBACK on
\o :tmpf
COPY tg30.docs TO STDOUT;
\o
SELECT is(:'SQLSTATE'::text, '42501', 'COPY protected_table TO STDOUT without a context is refused (42501)');
\set copied `cat :tmpf`
SELECT is(:'copied'::text, '', 'and it wrote nothing');
\set ON_ERROR_ROLLBACK off
\set ON_ERROR_STOP true
\set rm `rm -f :tmpf`
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 4. Views
-- ---------------------------------------------------------------------------
SET ROLE tg30_viewowner;
CREATE VIEW tg30.v_definer AS SELECT id, body FROM tg30.docs;                        -- owner's rights
CREATE VIEW tg30.v_invoker WITH (security_invoker = true) AS SELECT id, body FROM tg30.docs;
GRANT SELECT ON tg30.v_definer, tg30.v_invoker TO tenantguard_app, tenantguard_admin;
RESET ROLE;
SET ROLE tg30_owner;
CREATE VIEW tg30.v_owner AS SELECT id, body FROM tg30.docs;                          -- owned by the table owner
GRANT SELECT ON tg30.v_owner TO tenantguard_app;
RESET ROLE;
CREATE VIEW tg30.v_super AS SELECT id, body FROM tg30.docs;                          -- owned by a superuser
GRANT SELECT ON tg30.v_super TO tenantguard_app;

SET ROLE tg30_app;   -- bound to Acme
SELECT results_eq('SELECT body FROM tg30.v_definer ORDER BY id', $$VALUES ('acme-1'), ('acme-2')$$,
    'a view without security_invoker owned by an ordinary role still isolates (the policy reads current_tenant())');
SELECT results_eq('SELECT body FROM tg30.v_invoker ORDER BY id', $$VALUES ('acme-1'), ('acme-2')$$,
    'a security_invoker view isolates');
SELECT results_eq('SELECT body FROM tg30.v_owner ORDER BY id', $$VALUES ('acme-1'), ('acme-2')$$,
    'a view owned by the table owner isolates (FORCE ROW LEVEL SECURITY)');
SELECT is((SELECT count(*)::int FROM tg30.v_super), 4,
    'a view owned by a superuser shows every tenant (superusers bypass RLS; isolation_report flags it)');
RESET ROLE;
SET ROLE tg30_admin;
SELECT throws_ok('SELECT * FROM tg30.v_definer', '42501', 'no tenant context is set',
    'the owner''s-rights view without a context is refused (42501)');
SELECT throws_ok('SELECT * FROM tg30.v_invoker', '42501', 'no tenant context is set',
    'the security_invoker view without a context is refused (42501)');
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT results_eq('SELECT body FROM tg30.v_definer ORDER BY id', $$VALUES ('globex-1'), ('globex-2')$$,
    'the owner''s-rights view follows the caller''s tenant (Globex)');
SELECT tenantguard.clear_context() \gset
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.isolation_report()
                   WHERE severity = 'error' AND object = 'tg30.v_super'
                     AND finding LIKE 'view reads protected table tg30.docs%bypasses row level security%'),
    'isolation_report() flags the superuser-owned view as an error');
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.isolation_report()
                   WHERE severity = 'warning' AND object = 'tg30.v_definer'
                     AND finding LIKE 'view reads protected table tg30.docs with its owner''s rights%'),
    'isolation_report() warns about the ordinary owner''s-rights view');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object = 'tg30.v_invoker'),
    'isolation_report() has nothing to say about the security_invoker view');

-- ---------------------------------------------------------------------------
-- 5. SECURITY DEFINER functions
-- ---------------------------------------------------------------------------
SET ROLE tg30_owner;
CREATE FUNCTION tg30.count_as_owner() RETURNS int LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS 'SELECT count(*)::int FROM tg30.docs';
RESET ROLE;
SET ROLE tg30_viewowner;
CREATE FUNCTION tg30.count_as_other() RETURNS int LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS 'SELECT count(*)::int FROM tg30.docs';
RESET ROLE;
CREATE FUNCTION tg30.count_as_super() RETURNS int LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS 'SELECT count(*)::int FROM tg30.docs';

SET ROLE tg30_app;   -- bound to Acme
SELECT is(tg30.count_as_owner(), 2, 'a SECURITY DEFINER function owned by the (non-superuser) table owner still isolates');
SELECT is(tg30.count_as_other(), 2, 'a SECURITY DEFINER function owned by another ordinary role still isolates');
SELECT is(tg30.count_as_super(), 4, 'a SECURITY DEFINER function owned by a superuser leaks every tenant''s rows');
RESET ROLE;
SET ROLE tg30_admin;
SELECT throws_ok('SELECT tg30.count_as_owner()', '42501', 'no tenant context is set',
    'the non-superuser SECURITY DEFINER function without a context is refused (42501)');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.isolation_report()
                   WHERE severity = 'error' AND object = 'function tg30.count_as_super()'
                     AND finding LIKE 'SECURITY DEFINER function executable by tenantguard_app reads protected table tg30.docs%bypasses row level security'),
    'isolation_report() flags the superuser-owned SECURITY DEFINER function as an error');
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.isolation_report()
                   WHERE severity = 'warning' AND object = 'function tg30.count_as_other()'),
    'isolation_report() warns about the ordinary SECURITY DEFINER function');
REVOKE EXECUTE ON FUNCTION tg30.count_as_super() FROM PUBLIC;
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object = 'function tg30.count_as_super()'),
    'after REVOKE EXECUTE ... FROM PUBLIC the finding is gone');

-- ---------------------------------------------------------------------------
-- 6. MERGE, row locks, TABLE, parallel query
-- ---------------------------------------------------------------------------
SET ROLE tg30_app;   -- bound to Acme
SELECT is(tg30.affected($$MERGE INTO tg30.docs d USING (VALUES (3, 'hijacked')) s(id, body) ON d.id = s.id
                          WHEN MATCHED THEN UPDATE SET body = s.body
                          WHEN NOT MATCHED THEN INSERT (id, body) VALUES (s.id, 'acme-3')$$), 1,
    'MERGE in Acme on the id of a Globex row does not match it ...');
RESET ROLE;
SELECT results_eq(format('SELECT tenant_id, body FROM tg30.docs WHERE id = 3 ORDER BY body'),
    format($$VALUES (%L::uuid, 'acme-3'), (%L::uuid, 'globex-1')$$, :'acme', :'globex'),
    '... it inserted an Acme row and left the Globex row untouched');
SET ROLE tg30_app;
SELECT throws_ok(format($$MERGE INTO tg30.docs d USING (VALUES (%L::uuid, 50)) s(t, id) ON false
                          WHEN NOT MATCHED THEN INSERT VALUES (s.t, s.id, 'x')$$, :'globex'), '42501', NULL,
    'MERGE cannot insert a Globex row from Acme (42501)');
SELECT results_eq('SELECT body FROM tg30.docs ORDER BY id, body FOR UPDATE', $$VALUES ('acme-1'), ('acme-2'), ('acme-3')$$,
    'SELECT ... FOR UPDATE locks and returns only Acme rows');
SELECT results_eq('TABLE tg30.docs ORDER BY 2', format($$VALUES (%1$L::uuid, 1, 'acme-1'), (%1$L::uuid, 2, 'acme-2'), (%1$L::uuid, 3, 'acme-3')$$, :'acme'),
    'TABLE tg30.docs returns only Acme rows');
RESET ROLE;
SET ROLE tg30_admin;
SELECT throws_ok($$MERGE INTO tg30.docs d USING (VALUES (1)) s(id) ON d.id = s.id WHEN MATCHED THEN DELETE$$,
    '42501', 'no tenant context is set', 'MERGE without a context is refused (42501)');
RESET ROLE;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET force_parallel_mode = on;
SET ROLE tg30_app;
SELECT is((SELECT string_agg(body, ',' ORDER BY id, body) FROM tg30.docs), 'acme-1,acme-2,acme-3',
    'a parallel query (force_parallel_mode) in a bound session sees only Acme rows');
RESET ROLE;
SET ROLE tg30_admin;
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT is((SELECT string_agg(body, ',' ORDER BY id, body) FROM tg30.docs), 'globex-1,globex-2',
    'a parallel query under set_tenant() sees only Globex rows (the context reaches the workers)');
SELECT tenantguard.clear_context() \gset
SELECT throws_ok('SELECT count(*) FROM tg30.docs', '42501', 'no tenant context is set',
    'a parallel query without a context is refused (42501)');
RESET ROLE;
RESET force_parallel_mode;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;

-- ---------------------------------------------------------------------------
-- 7. Side channels: planner statistics and leaky functions
-- ---------------------------------------------------------------------------
ANALYZE tg30.docs;
SELECT ok(EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = 'tg30' AND tablename = 'docs'),
    '(as superuser: ANALYZE gathered statistics, including most common values)');
SET ROLE tg30_app;
SELECT is((SELECT count(*)::int FROM pg_stats WHERE schemaname = 'tg30' AND tablename = 'docs'), 0,
    'pg_stats hides the protected table''s statistics (other tenants'' values) from the application');
RESET ROLE;
SET ROLE tg30_owner;
SELECT is((SELECT count(*)::int FROM pg_stats WHERE schemaname = 'tg30' AND tablename = 'docs'), 0,
    'and from the (forced) table owner');
RESET ROLE;

CREATE TEMP TABLE spied (body text);
GRANT INSERT, SELECT ON spied TO PUBLIC;
CREATE FUNCTION tg30.spy(b text) RETURNS boolean LANGUAGE plpgsql VOLATILE COST 0.0001 AS $$
BEGIN
    INSERT INTO pg_temp.spied VALUES (b);
    RETURN true;
END $$;
SET ROLE tg30_app;   -- bound to Acme
SELECT is((SELECT count(*)::int FROM tg30.docs WHERE tg30.spy(body)), 3, '(a query filters through a cheap, non-leakproof function)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM spied WHERE body NOT LIKE 'acme%'), 0,
    'a non-leakproof function in WHERE never sees another tenant''s rows (the policy is applied first)');

-- ---------------------------------------------------------------------------
-- 8. TRUNCATE ignores row level security, so it is refused on protected tables
-- ---------------------------------------------------------------------------
CREATE TABLE tg30.lookup (id int PRIMARY KEY);
CREATE TABLE tg30.refs (tenant_id uuid, id int, lookup_id int REFERENCES tg30.lookup (id), PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('tg30.refs') \gset
CREATE TABLE tg30.base (tenant_id uuid, id int);
CREATE TABLE tg30.child () INHERITS (tg30.base);
SELECT tenantguard.protect('tg30.child') \gset
INSERT INTO tg30.lookup VALUES (1);
INSERT INTO tg30.refs VALUES (:'acme', 1, 1), (:'globex', 2, 1);
INSERT INTO tg30.child VALUES (:'acme', 1), (:'globex', 2);
GRANT TRUNCATE ON tg30.docs, tg30.lookup, tg30.refs, tg30.base, tg30.child TO tenantguard_app;

SET ROLE tg30_app;   -- bound to Acme
SELECT throws_ok('TRUNCATE tg30.docs', '42501', NULL,
    'TRUNCATE of a protected table by an application role (with TRUNCATE privilege) is refused (42501)');
SELECT throws_ok('TRUNCATE tg30.lookup CASCADE', '42501', NULL,
    'TRUNCATE ... CASCADE of an unprotected table that a protected table references is refused (42501)');
SELECT throws_ok('TRUNCATE tg30.base', '42501', NULL,
    'TRUNCATE of an unprotected inheritance parent that would empty a protected child is refused (42501)');
RESET ROLE;
SET ROLE tg30_owner;
SELECT throws_ok('TRUNCATE tg30.docs', '42501', NULL,
    'TRUNCATE of a protected table by its (forced) owner is refused (42501)');
RESET ROLE;
SELECT results_eq($$SELECT (SELECT count(*) FROM tg30.docs), (SELECT count(*) FROM tg30.refs), (SELECT count(*) FROM tg30.child)$$,
    $$VALUES (5::bigint, 2::bigint, 2::bigint)$$,
    'every tenant''s rows survived the TRUNCATE attempts');

SELECT * FROM finish();
ROLLBACK;
