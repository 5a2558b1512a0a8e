-- The tenant context: entering, scopes, locking, read-only settings.
\set SHOW_CONTEXT never
SELECT tenantguard.tenant_id('acme') AS acme \gset
SELECT tenantguard.tenant_id('globex') AS globex \gset
CREATE ROLE regress_admin LOGIN IN ROLE tenantguard_admin;
SET ROLE regress_admin;

-- no context
SELECT tenantguard.current_tenant() IS NULL AS no_tenant,
       tenantguard.current_principal() IS NULL AS no_principal,
       current_setting('tenantguard.tenant') = '' AS empty_setting;
SELECT tenant_id, tenant_slug, principal, role, scope FROM tenantguard.whoami();

-- transaction scope (the default) ends with the transaction
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.current_tenant() = :'acme' AS in_acme,
       current_setting('tenantguard.tenant') = :'acme' AS setting_mirrors_it;
SELECT tenant_slug, principal, role, scope FROM tenantguard.whoami();
SELECT current_setting('tenantguard.context') AS context_is_never_shown;
COMMIT;
SELECT tenantguard.current_tenant() IS NULL AS ended_with_transaction;

-- a rolled back entry leaves nothing behind
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
ROLLBACK;
SELECT tenantguard.current_tenant() IS NULL AS rolled_back;

-- the scope is locked: another tenant is refused, the same one is fine
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.set_tenant(:'globex');
ROLLBACK;

-- clear_context() unlocks
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.clear_context();
SELECT tenantguard.set_tenant(:'globex');
SELECT tenant_slug FROM tenantguard.whoami();
COMMIT;

-- session scope survives transactions until cleared
SELECT tenantguard.set_tenant(:'acme', is_local => false);
SELECT tenant_slug, scope FROM tenantguard.whoami();
SELECT tenantguard.set_tenant(:'globex');
\echo :LAST_ERROR_SQLSTATE
SELECT tenantguard.clear_context();
SELECT tenantguard.current_tenant() IS NULL AS cleared;

-- RESET and RESET ALL clear it
SELECT tenantguard.set_tenant(:'acme', false);
RESET tenantguard.context;
SELECT tenantguard.current_tenant() IS NULL AS reset_clears;
SELECT tenantguard.set_tenant(:'acme', false);
RESET tenantguard.tenant;
SELECT tenantguard.current_tenant() IS NULL AS reset_of_mirror_clears;
SELECT tenantguard.set_tenant(:'acme', false);
RESET ALL;
SELECT tenantguard.current_tenant() IS NULL AS reset_all_clears;
SET ROLE regress_admin;

-- the settings cannot be written
SET tenantguard.tenant = '00000000-0000-0000-0000-000000000000';
\echo :LAST_ERROR_SQLSTATE
SET LOCAL tenantguard.principal = 'admin:me';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('tenantguard.tenant', :'globex', true);
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('tenantguard.context', 'tgctx1;' || :'globex' || ';L;0;admin;admin:me', true);
\echo :LAST_ERROR_SQLSTATE
SET tenantguard.context = 'not a token';
\echo :LAST_ERROR_SQLSTATE
SET tenantguard.anything = 'x';
\echo :LAST_ERROR_SQLSTATE
SELECT tenantguard.current_tenant() IS NULL AS still_no_context;

-- suspended and unknown tenants cannot be entered
RESET ROLE;
SELECT tenantguard.suspend_tenant(:'globex');
SET ROLE regress_admin;
SELECT tenantguard.set_tenant(:'globex');
SELECT tenantguard.set_tenant('00000000-0000-0000-0000-000000000000');
SELECT tenantguard.set_tenant(NULL);
RESET ROLE;
SELECT tenantguard.activate_tenant(:'globex');
DROP ROLE regress_admin;
