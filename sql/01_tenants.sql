-- Tenants: creation, slugs, suspension, lookup by slug.
\set SHOW_CONTEXT never
CREATE EXTENSION tenantguard;
\dn tenantguard
SELECT rolname, rolcanlogin FROM pg_roles
 WHERE rolname IN ('tenantguard_app', 'tenantguard_admin', 'tenantguard_auditor') ORDER BY 1;

SELECT tenantguard.create_tenant('acme', 'Acme Corp') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset
SELECT slug, name, status FROM tenantguard.tenants ORDER BY slug;
SELECT tenantguard.tenant_id('acme') = :'acme' AS slug_lookup_works;

-- slugs: 2-63 characters of [a-z0-9-], starting with a letter or digit
SELECT tenantguard.create_tenant('Bad Slug');
\echo :LAST_ERROR_SQLSTATE
SELECT tenantguard.create_tenant('-x');
\echo :LAST_ERROR_SQLSTATE
SELECT tenantguard.create_tenant('a');
\echo :LAST_ERROR_SQLSTATE
SELECT tenantguard.create_tenant('acme');
\echo :LAST_ERROR_SQLSTATE
SELECT tenantguard.tenant_id('nope');
\echo :LAST_ERROR_SQLSTATE

-- suspension
SELECT tenantguard.suspend_tenant(:'globex');
SELECT slug, status FROM tenantguard.tenants ORDER BY slug;
SELECT tenantguard.activate_tenant(:'globex');
SELECT slug, status FROM tenantguard.tenants ORDER BY slug;
SELECT tenantguard.suspend_tenant('00000000-0000-0000-0000-000000000000');
\echo :LAST_ERROR_SQLSTATE

-- only administrators manage tenants
CREATE ROLE regress_app LOGIN IN ROLE tenantguard_app;
SET ROLE regress_app;
SELECT tenantguard.create_tenant('sneaky');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM tenantguard.tenants;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_app;
