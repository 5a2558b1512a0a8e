-- tenantguard benchmark: the plan of every variant, as its pgbench role runs it
-- (prepared statements, plan_cache_mode of the bench database). Run as superuser.
\set ON_ERROR_STOP on
\pset pager off
\set T '\'00000000-0000-0000-0000-000000000042\''
SHOW plan_cache_mode;

\echo
\echo ==== 1 explicit (bench_app, bench.items_plain)
SET ROLE bench_app;
BEGIN;
SELECT set_config('bench.tenant', :T, true) \gset
PREPARE l1(text, bigint) AS SELECT id, sku, amount, created_at FROM bench.items_plain
  WHERE tenant_id = ('00000000-0000-0000-0000-' || lpad($1::text, 12, '0'))::uuid AND id = $2;
PREPARE a1(text) AS SELECT count(*), sum(amount), max(created_at) FROM bench.items_plain
  WHERE tenant_id = ('00000000-0000-0000-0000-' || lpad($1::text, 12, '0'))::uuid;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE l1('42', 415000);
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE a1('42');
COMMIT;
RESET ROLE;

\echo ==== 2 hand-written policy (bench_app, bench.items_rls)
SET ROLE bench_app;
BEGIN;
SELECT set_config('app.tenant', :T, true) \gset
PREPARE l2(bigint) AS SELECT id, sku, amount, created_at FROM bench.items_rls WHERE id = $1;
PREPARE a2 AS SELECT count(*), sum(amount), max(created_at) FROM bench.items_rls;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE l2(415000);
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE a2;
COMMIT;
RESET ROLE;

\echo ==== 3 tenantguard, set_tenant per transaction (bench_admin, bench.items_tg)
SET ROLE bench_admin;
BEGIN;
SELECT tenantguard.set_tenant(:T) \gset
PREPARE l3(bigint) AS SELECT id, sku, amount, created_at FROM bench.items_tg WHERE id = $1;
PREPARE a3 AS SELECT count(*), sum(amount), max(created_at) FROM bench.items_tg;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE l3(415000);
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE a3;
COMMIT;

\echo ==== 3b tenantguard, policy (SELECT current_tenant()) (bench_admin, bench.items_tgsub)
BEGIN;
SELECT tenantguard.set_tenant(:T) \gset
PREPARE l5(bigint) AS SELECT id, sku, amount, created_at FROM bench.items_tgsub WHERE id = $1;
PREPARE a5 AS SELECT count(*), sum(amount), max(created_at) FROM bench.items_tgsub;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE l5(415000);
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE a5;
COMMIT;
RESET ROLE;

-- SET ROLE does not make a bound session: bind_role binds the login (session) role.
\echo ==== 4 tenantguard, bound role: see the same plans as 3 (bench_bound logs in; tenant 1)
\c - bench_bound
SELECT tenant_id, principal, scope FROM tenantguard.whoami();
PREPARE l4(bigint) AS SELECT id, sku, amount, created_at FROM bench.items_tg WHERE id = $1;
PREPARE a4 AS SELECT count(*), sum(amount), max(created_at) FROM bench.items_tg;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE l4(5000);
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) EXECUTE a4;
