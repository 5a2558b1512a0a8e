-- tenantguard benchmark: data set and roles (run as superuser in a fresh database).
--
-- 100 tenants x 10,000 rows, in six physically identical copies of one table:
--   bench.items_plain   unprotected; queries filter on tenant_id explicitly
--   bench.items_plain2  the same, for variant 3e, and
--   bench.items_ctl     the same, for the control 1c (in the interleaved runs
--                       no two variants share a table and its cache)
--   bench.items_rls     hand-written RLS policy on current_setting('app.tenant')::uuid
--   bench.items_tg      tenantguard.protect()
--   bench.items_tgsub   tenantguard.protect(), then its policy rewritten to
--                       (SELECT tenantguard.current_tenant()) — the initplan form
-- Tenant n has uuid 00000000-0000-0000-0000-<n, 12 digits> and owns the ids
-- (n-1)*10000+1 .. n*10000, so pgbench can pick a tenant and one of its rows
-- with random() alone. Rows are stored in tenant order (each tenant's rows are
-- contiguous: ~133 heap pages per tenant).
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS tenantguard;
CREATE EXTENSION IF NOT EXISTS pg_prewarm;

-- Tenants with deterministic ids (superuser writes the table directly).
INSERT INTO tenantguard.tenants (id, slug, name)
SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid,
       'bench-' || n, 'Bench tenant ' || n
  FROM generate_series(1, 100) AS n;

CREATE SCHEMA bench;

-- The six copies are built the same way: same rows in the same physical
-- order, indexes built after the load.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['items_plain', 'items_plain2', 'items_ctl', 'items_rls', 'items_tg', 'items_tgsub'] LOOP
        EXECUTE format($f$
            CREATE TABLE bench.%1$I (
                id          bigint NOT NULL,
                tenant_id   uuid NOT NULL,
                sku         text NOT NULL,
                amount      integer NOT NULL,
                created_at  timestamptz NOT NULL
            )$f$, t);
        EXECUTE format($f$
            INSERT INTO bench.%1$I (id, tenant_id, sku, amount, created_at)
            SELECT (t - 1) * 10000 + k,
                   ('00000000-0000-0000-0000-' || lpad(t::text, 12, '0'))::uuid,
                   'sku-' || md5((t * 100000 + k)::text),
                   (t * 7919 + k * 104729) %% 100000,
                   timestamptz '2024-01-01' + (t * 10000 + k) * interval '1 second'
              FROM generate_series(1, 100) AS t, generate_series(1, 10000) AS k
             ORDER BY 1$f$, t);
        EXECUTE format('ALTER TABLE bench.%1$I ADD CONSTRAINT %2$I PRIMARY KEY (id)', t, t || '_pkey');
        EXECUTE format('CREATE INDEX %2$I ON bench.%1$I (tenant_id)', t, t || '_tenant_idx');
    END LOOP;
END
$$;

-- Variant 2: the usual hand-written policy.
ALTER TABLE bench.items_rls ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench.items_rls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bench.items_rls
    USING (tenant_id = current_setting('app.tenant')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant')::uuid);

-- Variants 3 and 4: tenantguard. The tenant_id index already exists, so
-- protect() reuses it (it only creates one when no index leads with the column).
SELECT tenantguard.protect('bench.items_tg');

-- Variant 3b: protected too (same fail-closed hook, same DDL guard), but the
-- policy compares with an initplan instead of the plain stable call. The DDL
-- guard refuses ALTER POLICY on tenantguard_isolation, so the superuser turns
-- it off for this one statement.
SELECT tenantguard.protect('bench.items_tgsub');
SET tenantguard.ddl_guard = off;
ALTER POLICY tenantguard_isolation ON bench.items_tgsub
    USING (tenant_id = (SELECT tenantguard.current_tenant()))
    WITH CHECK (tenant_id = (SELECT tenantguard.current_tenant()));
RESET tenantguard.ddl_guard;

-- Roles: every RLS variant runs as a non-superuser without BYPASSRLS.
CREATE ROLE bench_app LOGIN;                              -- variants 1, 1b and 2
CREATE ROLE bench_admin LOGIN IN ROLE tenantguard_admin;  -- variants 3 and 3b (set_tenant)
CREATE ROLE bench_bound LOGIN IN ROLE tenantguard_app;    -- variant 4 (bind_role)
SELECT tenantguard.bind_role('bench_bound', '00000000-0000-0000-0000-000000000001');

GRANT USAGE ON SCHEMA bench TO bench_app, bench_admin, bench_bound;
GRANT SELECT ON bench.items_plain, bench.items_rls TO bench_app;
GRANT SELECT ON bench.items_tg, bench.items_tgsub TO bench_admin;
GRANT SELECT ON bench.items_tg TO bench_bound;
-- The interleaved runs mix several variants in one pgbench run, which uses one
-- login: bench_admin runs variants 1, 1c, 2, 3, 3b and 3e (none of them is
-- superuser, so both policies apply to it); bench_bound runs 1b and 4.
GRANT SELECT ON bench.items_plain, bench.items_plain2, bench.items_ctl, bench.items_rls TO bench_admin;
GRANT SELECT ON bench.items_plain TO bench_bound;

VACUUM (FREEZE, ANALYZE) bench.items_plain, bench.items_plain2, bench.items_ctl, bench.items_rls,
    bench.items_tg, bench.items_tgsub;
VACUUM ANALYZE tenantguard.tenants;

-- Everything in shared_buffers before the first timed run.
SELECT sum(pg_prewarm(c.oid))::bigint AS prewarmed_blocks
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('bench', 'tenantguard') AND c.relkind IN ('r', 'i');
