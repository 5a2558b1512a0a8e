-- Authorization: built-in roles, tenant rules, globs, deny over allow,
-- explain_authorization(), require()'s errors, a policy with authorize().
\set SHOW_CONTEXT never
SELECT tenantguard.tenant_id('acme') AS acme \gset
SELECT tenantguard.tenant_id('globex') AS globex \gset
CREATE ROLE regress_authz_dev LOGIN IN ROLE tenantguard_app;
CREATE ROLE regress_authz_maint LOGIN IN ROLE tenantguard_app;
CREATE ROLE regress_authz_viewer LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.bind_role('regress_authz_dev', :'acme', 'developer');
SELECT tenantguard.bind_role('regress_authz_maint', :'acme', 'maintainer');
SELECT tenantguard.bind_role('regress_authz_viewer', :'acme', 'viewer');

-- the built-in roles and their rules
SELECT role, permission, resource, effect FROM tenantguard._builtin_permissions();

-- an administrator (set_tenant: role admin) defines two roles of Acme
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT role FROM tenantguard.whoami();
SELECT tenantguard.grant_permission('developer', 'deploy.*', 'project/*');
SELECT tenantguard.grant_permission('developer', 'deploy.production', '*', 'deny');
SELECT tenantguard.grant_permission('developer', 'docs.read', 'project/app-*');
SELECT tenantguard.grant_permission('maintainer', 'deploy.*');
SELECT tenantguard.grant_permission('viewer', 'logs.write', 'runtime/app-web', 'deny');
SELECT role, permission, resource, effect, builtin FROM tenantguard.permissions
 WHERE NOT builtin ORDER BY role, permission;
COMMIT;

-- the access matrix, as each role
SET ROLE regress_authz_dev;
SELECT tenantguard.authorize('deploy.production', 'project/app-web') AS "deploy.production on project/app-web",
       tenantguard.authorize('deploy.preview', 'project/app-web') AS "deploy.preview on project/app-web",
       tenantguard.authorize('deploy.preview') AS "deploy.preview on *",
       tenantguard.authorize('secret.write', 'production') AS "secret.write on production";
SELECT * FROM tenantguard.explain_authorization('deploy.production', 'project/app-web');
SELECT * FROM tenantguard.explain_authorization('deploy.preview', 'project/app-web');
SELECT * FROM tenantguard.explain_authorization('secret.write', 'production');
\set VERBOSITY default
SELECT tenantguard.require('deploy.production', 'project/app-web');
SELECT tenantguard.require('secret.write', 'production');
-- nobody can grant themselves a permission without roles.manage
SELECT tenantguard.grant_permission('developer', 'roles.manage');
RESET ROLE;
SET ROLE regress_authz_maint;
SELECT tenantguard.authorize('deploy.preview') AS "deploy.preview",
       tenantguard.authorize('deploy.production', 'project/app-web') AS "deploy.production",
       tenantguard.authorize('deploy.preview.eu') AS "deploy.preview.eu (one segment only)";
RESET ROLE;
SET ROLE regress_authz_viewer;
SELECT tenantguard.authorize('logs.read', 'runtime/app-web') AS "logs.read",
       tenantguard.authorize('audit.events.read') AS "audit.events.read",
       tenantguard.authorize('secrets.read') AS "secrets.read",
       tenantguard.authorize('logs.write', 'runtime/app-web') AS "logs.write";
SELECT * FROM tenantguard.explain_authorization('secrets.read');
SELECT tenantguard.get_secret('db.password');
RESET ROLE;

-- arguments: literals, not patterns; malformed ones are refused without being echoed
SELECT tenantguard.set_tenant(:'acme', false);
SELECT tenantguard.authorize('docs.*');
SELECT tenantguard.authorize('Docs.Read');
SELECT tenantguard.authorize('docs..read');
SELECT tenantguard.authorize(repeat('p', 129));
SELECT tenantguard.authorize('docs.read', E'project/\n');
SELECT tenantguard.authorize('docs.read', repeat('r', 1025));
SELECT tenantguard.authorize('docs.read', '');
SELECT tenantguard.authorize(NULL);
SELECT tenantguard.authorize('docs.read', NULL) AS "NULL resource";
SELECT tenantguard.grant_permission('developer', 'deploy.**x');
SELECT tenantguard.grant_permission('developer', 'deploy.*', E'\t');
SELECT tenantguard.grant_permission('developer', 'deploy.*', '*', 'maybe');
SELECT tenantguard.grant_permission('Developer', 'deploy.*');
SELECT tenantguard.grant_permission('owner', 'deploy.*', '*', 'deny');
SELECT tenantguard.revoke_permission('viewer', 'secrets.**');
SELECT tenantguard.revoke_permission('developer', 'nothing.here');
SELECT tenantguard.revoke_permission('developer', 'deploy.production');
SELECT tenantguard.clear_context();

-- a policy: rows of the current tenant whose project the role may read
CREATE TABLE regress_docs (tenant_id uuid, id int, project text, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('regress_docs');
INSERT INTO regress_docs VALUES (:'acme', 1, 'app-web'), (:'acme', 2, 'app-api'), (:'acme', 3, 'billing'),
    (:'globex', 4, 'app-web');
CREATE POLICY docs_unguarded ON regress_docs AS RESTRICTIVE FOR SELECT
    USING (tenantguard.authorize('docs.read', 'project/' || project));
CREATE POLICY docs_read ON regress_docs AS RESTRICTIVE FOR SELECT
    USING (tenant_id = tenantguard.current_tenant() AND tenantguard.authorize('docs.read', 'project/' || project));
GRANT SELECT ON regress_docs TO tenantguard_app;
SET ROLE regress_authz_dev;
SELECT id, project FROM regress_docs ORDER BY id;
RESET ROLE;
SET ROLE regress_authz_maint;
SELECT id, project FROM regress_docs ORDER BY id;
RESET ROLE;
SET ROLE regress_authz_viewer;
SELECT id, project FROM regress_docs ORDER BY id;
RESET ROLE;
SELECT count(*) AS findings FROM tenantguard.isolation_report();

DROP TABLE regress_docs;
SELECT tenantguard.unbind_role('regress_authz_dev');
SELECT tenantguard.unbind_role('regress_authz_maint');
SELECT tenantguard.unbind_role('regress_authz_viewer');
DROP ROLE regress_authz_dev, regress_authz_maint, regress_authz_viewer;
