-- tenantguard 0.1.0: multi-tenancy enforced inside PostgreSQL 15.
--   tenants      create_tenant, suspend_tenant, activate_tenant, tenant_id
--   context      the tenant context (set_tenant, current_tenant, whoami, ...)
--                and login roles bound to one tenant (bind_role)
--   protection   protect(): forced row-level security per tenant, partitions,
--                protect_schema(); the DDL guard's helpers and event triggers
--   report       isolation_report(), the linter for isolation holes
--   audit        the tamper-evident audit ledger (schema tenantguard_audit)
--   authorization  built-in and tenant roles' permission rules, authorize(),
--                require(), explain_authorization(), grant/revoke_permission()
--   secrets      the tenantguard.secret type: values sealed per tenant
--   vault        secrets by name and reference
--
-- This script is assembled by make from sql/parts/NN_<concern>.sql in name
-- order (later parts use objects of earlier ones): edit the parts.
\echo Use "CREATE EXTENSION tenantguard" to load this file. \quit

-- Refuse to install unless the library was preloaded (hooks enforce isolation).
CREATE FUNCTION tenantguard._assert_preloaded() RETURNS void
    LANGUAGE C AS 'MODULE_PATHNAME', 'tg_assert_preloaded';
SELECT tenantguard._assert_preloaded();
REVOKE ALL ON FUNCTION tenantguard._assert_preloaded() FROM PUBLIC;

-- Roles, created when missing (they are cluster-wide and survive DROP EXTENSION).
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenantguard_app') THEN
        CREATE ROLE tenantguard_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenantguard_admin') THEN
        CREATE ROLE tenantguard_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenantguard_auditor') THEN
        CREATE ROLE tenantguard_auditor NOLOGIN;
    END IF;
END
$roles$;

GRANT USAGE ON SCHEMA tenantguard TO PUBLIC;

