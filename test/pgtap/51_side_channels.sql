-- Cross-tenant attack catalogue, part 7: side channels PostgreSQL itself
-- opens to roles subject to row-level security (docs/concepts.md,
-- Limitations), the mitigations the documentation gives for them, and the
-- isolation report's findings S1-S4 that point at them.
--
-- The attacker is an application role bound to Acme (tenantguard_app). It
-- cannot read a single row of Globex's, yet PostgreSQL tells it:
--   * through planner estimates (statistics gathered over every tenant, used
--     with leakproof operators even though pg_stats hides them): how often a
--     value it guesses occurs in other tenants, and Globex's row count;
--   * through EXPLAIN ANALYZE: how many of Globex's rows a scan filtered out,
--     and — with an index that does not have the tenant column as a key —
--     how many of Globex's rows hold a value it guesses;
--   * through pg_class.reltuples: the table's total row count;
--   * through a shared identity / serial sequence: how many rows Globex
--     inserted between two of its own inserts (and, with USAGE on a serial's
--     sequence, the sequence's last value in pg_sequences).
-- These tests pass while the side channels are as documented; if one fails,
-- PostgreSQL's behaviour changed and the documentation must follow.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg51_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(36);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg51_acme LOGIN IN ROLE tenantguard_app;      -- the attacker
CREATE ROLE tg51_globex LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.create_tenant('tg51-acme') AS acme \gset
SELECT tenantguard.create_tenant('tg51-globex') AS globex \gset
SELECT tenantguard.bind_role('tg51_acme', :'acme') \gset
SELECT tenantguard.bind_role('tg51_globex', :'globex') \gset

CREATE SCHEMA tg51;
GRANT USAGE ON SCHEMA tg51 TO tenantguard_app;
CREATE TABLE tg51.orders (
    tenant_id uuid NOT NULL,
    id        bigint GENERATED ALWAYS AS IDENTITY,
    sid       serial,
    code      text NOT NULL,
    amount    int NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX orders_code_idx ON tg51.orders (code);
SELECT tenantguard.protect('tg51.orders') \gset
GRANT SELECT, INSERT ON tg51.orders TO tenantguard_app;
GRANT USAGE ON SEQUENCE tg51.orders_sid_seq TO tenantguard_app;
-- Acme: 1000 rows. Globex: 9000 rows, 3000 of them 'globex-merger', 30 'globex-17'.
INSERT INTO tg51.orders (tenant_id, code, amount)
     SELECT :'acme', 'acme-' || (i % 50), i FROM generate_series(1, 1000) i;
INSERT INTO tg51.orders (tenant_id, code, amount)
     SELECT :'globex', CASE WHEN i % 3 = 0 THEN 'globex-merger' ELSE 'globex-' || (i % 200) END, i
       FROM generate_series(1, 9000) i;
ANALYZE tg51.orders;

-- The top plan node of EXPLAIN (with analyze: EXPLAIN ANALYZE) of q, as jsonb.
CREATE FUNCTION tg51.plan(q text, with_analyze boolean DEFAULT false) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON' || CASE WHEN with_analyze THEN ', ANALYZE, TIMING OFF, SUMMARY OFF' ELSE '' END
            || ') ' || q INTO j;
    RETURN j -> 0 -> 'Plan';
END $$;
-- The planner's row estimate for q.
CREATE FUNCTION tg51.estimate(q text) RETURNS numeric LANGUAGE sql AS $$
    SELECT (tg51.plan(q) ->> 'Plan Rows')::numeric
$$;
-- The plan node of EXPLAIN ANALYZE of q that scans index idx.
CREATE FUNCTION tg51.index_node(q text, idx text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_path_query_first(tg51.plan(q, true), '$.** ? (@."Index Name" == $i)', jsonb_build_object('i', idx))
$$;
-- Run a statement; its SQLSTATE ('none' when it succeeds).
CREATE FUNCTION tg51.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg51 TO PUBLIC;
-- finding(severity, object, LIKE pattern): is there such a row?
CREATE FUNCTION pg_temp.finding(sev text, obj text, pattern text) RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM tenantguard.isolation_report() r
                    WHERE r.severity = sev AND r.object = obj AND r.finding LIKE pattern)
$$;

-- ---------------------------------------------------------------------------
-- 1. Planner statistics: hidden from pg_stats, used by the planner anyway
-- ---------------------------------------------------------------------------
SET ROLE tg51_acme;
SELECT is((SELECT count(*) FROM tg51.orders), 1000::bigint, 'the attacker sees its 1000 rows only');
SELECT is((SELECT count(*) FROM tg51.orders WHERE code = 'globex-merger'), 0::bigint,
    '... and none with Globex''s code');
SELECT is((SELECT count(*) FROM pg_stats WHERE schemaname = 'tg51' AND tablename = 'orders'), 0::bigint,
    'pg_stats shows the attacker no statistics of the protected table');
SELECT cmp_ok(tg51.estimate($$SELECT * FROM tg51.orders WHERE code = 'globex-merger'$$), '>',
              10 * tg51.estimate($$SELECT * FROM tg51.orders WHERE code = 'no-such-code'$$),
    'yet the row estimate for a value only Globex has is over 10 times that of a value nobody has (the planner uses the statistics with the leakproof =)');
SELECT is(tg51.estimate(format('SELECT * FROM tg51.orders WHERE tenant_id = %L', :'globex')), 9000::numeric,
    'the estimate for WHERE tenant_id = <Globex''s uuid> is Globex''s row count (9000)');
SELECT cmp_ok(tg51.estimate($$SELECT * FROM tg51.orders WHERE amount > 5000$$), '>',
              10 * tg51.estimate($$SELECT * FROM tg51.orders WHERE amount > 20000$$),
    'so does a range only Globex''s amounts fall in, against one nobody''s do (the leakproof >)');
SELECT is(tg51.estimate($$SELECT * FROM tg51.orders WHERE code LIKE '%merger%'$$),
          tg51.estimate($$SELECT * FROM tg51.orders WHERE code LIKE '%nosuch%'$$),
    'a non-leakproof operator (LIKE without a fixed prefix) gets the default estimate: no difference');
SELECT is((SELECT reltuples FROM pg_class WHERE oid = 'tg51.orders'::regclass), 10000::real,
    'pg_class.reltuples shows the attacker the row count of every tenant together');

-- ---------------------------------------------------------------------------
-- 2. EXPLAIN ANALYZE counts what row-level security filtered out
-- ---------------------------------------------------------------------------
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT is((tg51.plan('SELECT * FROM tg51.orders', true) ->> 'Rows Removed by Filter')::int, 9000,
    'EXPLAIN ANALYZE of a sequential scan (which the attacker can force) shows the 9000 rows of other tenants in "Rows Removed by Filter"');
RESET enable_indexscan;
SET enable_bitmapscan = off;
SELECT is((tg51.index_node($$SELECT * FROM tg51.orders WHERE code = 'globex-17'$$, 'orders_code_idx')
           ->> 'Rows Removed by Filter')::int, 30,
    'EXPLAIN ANALYZE through an index on code alone: "Rows Removed by Filter" is the number of Globex''s rows with the guessed value (30)');
SELECT is((tg51.index_node($$SELECT * FROM tg51.orders WHERE code = 'no-such-code'$$, 'orders_code_idx')
           ->> 'Rows Removed by Filter')::int, 0,
    '... and 0 for a value nobody has');
RESET enable_bitmapscan;

-- ---------------------------------------------------------------------------
-- 3. A shared sequence counts every tenant's inserts
-- ---------------------------------------------------------------------------
INSERT INTO tg51.orders (code, amount) VALUES ('acme-new', 1) RETURNING id AS id1, sid AS sid1 \gset
RESET ROLE;
SET ROLE tg51_globex;
INSERT INTO tg51.orders (code, amount) SELECT 'globex-new', i FROM generate_series(1, 37) i;
RESET ROLE;
SET ROLE tg51_acme;
INSERT INTO tg51.orders (code, amount) VALUES ('acme-new', 2) RETURNING id AS id2, sid AS sid2 \gset
SELECT is((:id2 - :id1 - 1)::bigint, 37::bigint,
    'the gap between two identity values the attacker got is the number of rows Globex inserted in between (37)');
SELECT is(:sid2 - :sid1 - 1, 37, '... also for a serial column');
SELECT is((SELECT last_value FROM pg_sequences WHERE schemaname = 'tg51' AND sequencename = 'orders_sid_seq'), :sid2::bigint,
    'with USAGE on a serial''s sequence (needed to insert), pg_sequences shows its last value to the attacker');
SELECT is((SELECT last_value FROM pg_sequences WHERE schemaname = 'tg51' AND sequencename = 'orders_id_seq'), NULL,
    '... but not that of an identity column''s sequence (no privilege on it is needed)');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 4. The report points at them (findings S1-S4)
-- ---------------------------------------------------------------------------
CREATE TABLE tg51.clean (
    tenant_id uuid NOT NULL,
    id        uuid NOT NULL DEFAULT gen_random_uuid(),
    code      text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX clean_code_idx ON tg51.clean (tenant_id, code);
CREATE INDEX clean_code_incl_idx ON tg51.clean (tenant_id, code) INCLUDE (id);
SELECT tenantguard.protect('tg51.clean') \gset
CREATE TABLE tg51.events (tenant_id uuid NOT NULL, id bigserial, k int NOT NULL) PARTITION BY LIST (k);
CREATE TABLE tg51.events_1 PARTITION OF tg51.events FOR VALUES IN (1);
CREATE INDEX events_k_idx ON tg51.events (k);
SELECT tenantguard.protect('tg51.events') \gset
CREATE TABLE tg51.notes (tenant_id uuid NOT NULL, code text, PRIMARY KEY (tenant_id, code));
CREATE INDEX notes_code_idx ON tg51.notes (code) INCLUDE (tenant_id);
SELECT tenantguard.protect('tg51.notes') \gset

SELECT ok(pg_temp.finding('info', 'tg51.orders column id',
                          'column takes its values from sequence tg51.orders_id_seq, which every tenant shares: %'),
    'S1: the identity column of a protected table is an info finding, naming its sequence');
SELECT ok(pg_temp.finding('info', 'tg51.orders column sid', 'column takes its values from sequence tg51.orders_sid_seq, %'),
    'S1: ... so is a serial column');
SELECT ok(pg_temp.finding('info', 'tg51.events column id', '%tg51.events_id_seq%')
          AND NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object LIKE 'tg51.events\_1%'),
    'S1/S2: a partitioned table is reported once, its partitions not');
SELECT ok(pg_temp.finding('info', 'tg51.orders index orders_code_idx',
                          'index does not have the tenant column as a key: EXPLAIN ANALYZE %'),
    'S2: an index without the tenant column is an info finding');
SELECT ok(pg_temp.finding('info', 'tg51.events index events_k_idx', 'index does not have the tenant column as a key%'),
    'S2: ... also on a partitioned table');
SELECT ok(pg_temp.finding('info', 'tg51.notes index notes_code_idx', 'index does not have the tenant column as a key%'),
    'S2: ... also when the tenant column is only INCLUDEd');
SELECT is_empty($$SELECT * FROM tenantguard.isolation_report() WHERE object LIKE 'tg51.clean%'$$,
    'a protected table with uuid keys and indexes led by the tenant column has no finding');
SELECT is((SELECT fix FROM tenantguard.isolation_report() WHERE object = 'tg51.orders index orders_code_idx'),
    'Re-create it with the tenant column first, e.g. CREATE INDEX ON tg51.orders (tenant_id, ...), and drop this one.',
    'S2: the fix names the table and its tenant column');

CREATE EXTENSION pg_stat_statements SCHEMA tg51;
SELECT ok(pg_temp.finding('info', 'extension pg_stat_statements', 'tenantguard_app can read pg_stat_statements: %'),
    'S3: pg_stat_statements readable by tenantguard_app is an info finding');
SELECT is((SELECT fix FROM tenantguard.isolation_report() WHERE object = 'extension pg_stat_statements'),
    'REVOKE EXECUTE ON FUNCTION tg51.pg_stat_statements(boolean) FROM PUBLIC, tenantguard_app;  -- also REVOKE SELECT ON tg51.pg_stat_statements FROM PUBLIC; grant both to monitoring roles only',
    'S3: the fix revokes the function (the view calls it with the caller''s rights)');
REVOKE EXECUTE ON FUNCTION tg51.pg_stat_statements(boolean) FROM PUBLIC, tenantguard_app;
SET ROLE tg51_acme;
SELECT is(tg51.state('SELECT count(*) FROM tg51.pg_stat_statements'), '42501',
    'S3: after the fix the attacker cannot read the view (42501)');
RESET ROLE;
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object = 'extension pg_stat_statements'),
    'S3: ... and the finding is gone');

GRANT pg_monitor TO tg51_acme;
SELECT ok(pg_temp.finding('warning', 'role tg51_acme', 'member of tenantguard_app has the privileges of pg_read_all_stats: %'),
    'S4: an application role with pg_read_all_stats (here through pg_monitor) is a warning');
REVOKE pg_monitor FROM tg51_acme;
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object = 'role tg51_acme'),
    'S4: ... gone after REVOKE');

-- ---------------------------------------------------------------------------
-- 5. The mitigations work as documented
-- ---------------------------------------------------------------------------
-- an index led by the tenant column: other tenants' rows are never visited
DROP INDEX tg51.orders_code_idx;
CREATE INDEX orders_tenant_code_idx ON tg51.orders (tenant_id, code);
ANALYZE tg51.orders;
SET ROLE tg51_acme;
SET enable_bitmapscan = off;
SELECT is((SELECT coalesce((n ->> 'Rows Removed by Filter')::int, 0)
             FROM (SELECT tg51.index_node($$SELECT * FROM tg51.orders WHERE code = 'globex-17'$$, 'orders_tenant_code_idx') AS n) x
            WHERE n IS NOT NULL), 0,
    'with an index led by the tenant column, EXPLAIN ANALYZE of the guess shows nothing of Globex''s rows');
RESET enable_bitmapscan;
RESET ROLE;
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object LIKE 'tg51.orders index%'),
    'S2: ... and the index finding is gone');

-- statistics: SET STATISTICS 0 alone keeps the old ones; deleting them helps
ALTER TABLE tg51.orders ALTER COLUMN code SET STATISTICS 0;
ANALYZE tg51.orders;
SET ROLE tg51_acme;
SELECT cmp_ok(tg51.estimate($$SELECT * FROM tg51.orders WHERE code = 'globex-merger'$$), '>',
              10 * tg51.estimate($$SELECT * FROM tg51.orders WHERE code = 'no-such-code'$$),
    'SET STATISTICS 0 and ANALYZE leave the column''s old statistics in place: the estimates still differ');
RESET ROLE;
DELETE FROM pg_statistic WHERE starelid = 'tg51.orders'::regclass
   AND staattnum = (SELECT attnum FROM pg_attribute WHERE attrelid = 'tg51.orders'::regclass AND attname = 'code');
ANALYZE tg51.orders;
SET ROLE tg51_acme;
SELECT is(tg51.estimate($$SELECT * FROM tg51.orders WHERE code = 'globex-merger'$$),
          tg51.estimate($$SELECT * FROM tg51.orders WHERE code = 'no-such-code'$$),
    'after the superuser deletes them (and with SET STATISTICS 0 ANALYZE does not gather them again) both estimates are the same');
RESET ROLE;

-- statistics views and size functions can be revoked from PUBLIC
REVOKE SELECT ON pg_catalog.pg_stat_user_tables, pg_catalog.pg_stat_all_tables FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_stat_get_live_tuples(oid), pg_catalog.pg_relation_size(regclass),
    pg_catalog.pg_relation_size(regclass, text) FROM PUBLIC;
SET ROLE tg51_acme;
SELECT is(tg51.state($$SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'orders'$$), '42501',
    'after REVOKE ... FROM PUBLIC the attacker cannot read pg_stat_user_tables (42501)');
SELECT is(tg51.state($$SELECT pg_relation_size('tg51.orders')$$), '42501',
    '... nor call pg_relation_size() (42501)');
SELECT is(tg51.state($$SELECT reltuples FROM pg_class WHERE oid = 'tg51.orders'::regclass$$), 'none',
    'pg_class.reltuples stays readable (revoking pg_class breaks clients)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
