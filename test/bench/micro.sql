-- tenantguard isolation benchmark, part C: where the time goes, inside one
-- backend (no client round trips). Run as superuser in the bench database
-- after setup.sql; the measurements run as bench_admin.
--   1. cost per call of the functions the variants call once per transaction,
--      20,000 calls in one transaction, minus an empty loop (PERFORM 1, or the
--      assignment of a constant for the getters); best of 5
--   2. cost per row of evaluating each policy as a filter: a sequential scan
--      of all 1,000,000 rows (index scans off), minus the same scan with a
--      constant; best of 5. (In the benchmark queries the policy is an index
--      condition and is evaluated once per scan, not per row.)
--   3. cost per transaction of entering a tenant and committing: 2,000
--      transactions of  <entry>; COMMIT  in a loop; best of 5
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
SET ROLE bench_admin;
BEGIN;
SELECT tenantguard.set_tenant('00000000-0000-0000-0000-000000000042') \gset
SELECT set_config('app.tenant', '00000000-0000-0000-0000-000000000042', true) \gset
CREATE TEMP TABLE micro(part int, item text, rep int, us float8, base text) ON COMMIT DROP;

DO $$
DECLARE
    n constant int := 20000;
    t0 timestamptz;
    rep int;
    i int;
    u uuid;
BEGIN
    FOR rep IN 1..5 LOOP
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP PERFORM 1; END LOOP;
        INSERT INTO micro VALUES (1, '(empty loop)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, '(empty loop)');
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP PERFORM set_config('app.tenant', '00000000-0000-0000-0000-000000000042', true); END LOOP;
        INSERT INTO micro VALUES (1, 'set_config(''app.tenant'', ..., true)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, '(empty loop)');
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP PERFORM tenantguard.set_tenant('00000000-0000-0000-0000-000000000042'); END LOOP;
        INSERT INTO micro VALUES (1, 'tenantguard.set_tenant(...)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, '(empty loop)');
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP PERFORM tenantguard.audit_log('bench.probe'); END LOOP;
        INSERT INTO micro VALUES (1, 'tenantguard.audit_log(...) (one audit event)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, '(empty loop)');
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP u := current_setting('app.tenant')::uuid; END LOOP;
        INSERT INTO micro VALUES (1, 'current_setting(''app.tenant'')::uuid', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, '(assignment of a constant)');
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP u := tenantguard.current_tenant(); END LOOP;
        INSERT INTO micro VALUES (1, 'tenantguard.current_tenant()', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, '(assignment of a constant)');
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP u := '00000000-0000-0000-0000-000000000042'::uuid; END LOOP;
        INSERT INTO micro VALUES (1, '(assignment of a constant)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, '(assignment of a constant)');
    END LOOP;
END
$$;

SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL max_parallel_workers_per_gather = 0;
DO $$
DECLARE
    t0 timestamptz;
    rep int;
    c bigint;
BEGIN
    FOR rep IN 1..5 LOOP
        t0 := clock_timestamp();
        SELECT count(*) INTO c FROM bench.items_plain WHERE tenant_id = '00000000-0000-0000-0000-000000000042';
        INSERT INTO micro VALUES (2, 'constant: tenant_id = ''...''::uuid', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6, NULL);
        t0 := clock_timestamp();
        SELECT count(*) INTO c FROM bench.items_rls;
        INSERT INTO micro VALUES (2, 'policy current_setting(''app.tenant'')::uuid', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6, NULL);
        t0 := clock_timestamp();
        SELECT count(*) INTO c FROM bench.items_plain WHERE tenant_id = (SELECT current_setting('app.tenant')::uuid);
        INSERT INTO micro VALUES (2, '(SELECT current_setting(''app.tenant'')::uuid)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6, NULL);
        t0 := clock_timestamp();
        SELECT count(*) INTO c FROM bench.items_tg;
        INSERT INTO micro VALUES (2, 'policy tenantguard.current_tenant()', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6, NULL);
        t0 := clock_timestamp();
        SELECT count(*) INTO c FROM bench.items_tgsub;
        INSERT INTO micro VALUES (2, 'policy (SELECT tenantguard.current_tenant())', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6, NULL);
    END LOOP;
END
$$;

\echo '== C1: cost per call, microseconds (20,000 calls in one transaction, best of 5, empty loop subtracted)'
WITH best AS (SELECT item, base, min(us) AS us FROM micro WHERE part = 1 GROUP BY item, base)
SELECT b.item AS "function", round((b.us - e.us)::numeric, 2) AS "us per call"
  FROM best b JOIN best e ON e.item = b.base
 WHERE b.item <> b.base
 ORDER BY b.us - e.us DESC;

\echo '== C2: policy evaluated as a filter on every row: sequential scan of 1,000,000 rows (best of 5)'
WITH best AS (SELECT item, min(us) AS us FROM micro WHERE part = 2 GROUP BY item)
SELECT b.item AS "filter", round((b.us / 1000)::numeric, 1) AS "ms per scan",
       round(((b.us - c.us) * 1000 / 1e6)::numeric, 1) AS "ns per row over constant"
  FROM best b, best c
 WHERE c.item LIKE 'constant%'
 ORDER BY b.us;
ROLLBACK;

-- 3. Entering and committing, one transaction per iteration (a DO block at
-- top level may commit). set_tenant() writes an audit event, so its
-- transaction gets a transaction id and writes and flushes WAL at commit.
CREATE TEMP TABLE micro3(item text, rep int, us float8);
DO $$
DECLARE
    n constant int := 2000;
    t0 timestamptz;
    rep int;
    i int;
BEGIN
    FOR rep IN 1..5 LOOP
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP
            PERFORM set_config('bench.tenant', '00000000-0000-0000-0000-' || lpad((1 + i % 100)::text, 12, '0'), true);
            COMMIT;
        END LOOP;
        INSERT INTO micro3 VALUES ('set_config(...); COMMIT  (variants 1, 1b, 4)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n);
        COMMIT;
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP
            PERFORM set_config('app.tenant', '00000000-0000-0000-0000-' || lpad((1 + i % 100)::text, 12, '0'), true);
            COMMIT;
        END LOOP;
        INSERT INTO micro3 VALUES ('set_config(''app.tenant'', ...); COMMIT  (variant 2)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n);
        COMMIT;
        t0 := clock_timestamp();
        FOR i IN 1..n LOOP
            PERFORM tenantguard.set_tenant(('00000000-0000-0000-0000-' || lpad((1 + i % 100)::text, 12, '0'))::uuid);
            COMMIT;
        END LOOP;
        INSERT INTO micro3 VALUES ('tenantguard.set_tenant(...); COMMIT  (variants 3, 3b)', rep, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n);
        COMMIT;
    END LOOP;
END
$$;
\echo '== C3: entering a tenant and committing, microseconds per transaction (2,000 transactions, best of 5)'
SELECT item AS "transaction", round(min(us)::numeric, 1) AS "us per transaction"
  FROM micro3 GROUP BY item ORDER BY min(us);
DROP TABLE micro3;
