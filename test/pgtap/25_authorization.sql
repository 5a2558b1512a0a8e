-- Authorization: the built-in roles' default permissions, tenant-defined
-- roles, grant_permission() / revoke_permission(), globs, deny over allow,
-- default deny, the permissions tenantguard checks itself (secrets.read,
-- secrets.write, roles.manage, audit.read), the role of set_tenant() and of
-- bind_role(), caching (a change is in force at the next statement), and
-- the audit events of rule changes. (Decision events, which the ledger
-- worker writes: test/suites/authz_audit.sh.)
--
-- Runs in one transaction that is rolled back; roles are prefixed tg25_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(87);

-- ---------------------------------------------------------------------------
-- Fixture: one login role per tenant role, bound to Acme
-- ---------------------------------------------------------------------------
CREATE ROLE tg25_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg25_owner LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg25_operator LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg25_viewer LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg25_dev LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg25_maint LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg25_default LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg25_auditor LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg25_vault LOGIN IN ROLE tenantguard_app;

SELECT tenantguard.create_tenant('tg25-acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('tg25-globex', 'Globex') AS globex \gset
SELECT tenantguard.bind_role('tg25_owner', :'acme', 'owner') \gset
SELECT tenantguard.bind_role('tg25_operator', :'acme', 'operator') \gset
SELECT tenantguard.bind_role('tg25_viewer', :'acme', 'viewer') \gset
SELECT tenantguard.bind_role('tg25_dev', :'acme', 'developer') \gset
SELECT tenantguard.bind_role('tg25_maint', :'acme', 'maintainer') \gset
SELECT tenantguard.bind_role('tg25_default', :'acme') \gset
SELECT tenantguard.bind_role('tg25_auditor', :'acme', 'auditor') \gset
SELECT tenantguard.bind_role('tg25_vault', :'acme', 'ci') \gset

CREATE SCHEMA tg25;
GRANT USAGE ON SCHEMA tg25 TO PUBLIC;
-- The decisions of the current context, as 'permission@resource=t|f' in order.
CREATE FUNCTION tg25.decide(checks text[]) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(c || '=' || tenantguard.authorize(split_part(c, '@', 1),
                                    coalesce(nullif(split_part(c, '@', 2), ''), '*'))::text, ' ' ORDER BY o)
      FROM unnest(checks) WITH ORDINALITY AS u(c, o)
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg25 TO PUBLIC;

-- The permissions a built-in role has by default, as a list of decisions.
\set defaults '''{secrets.read,secrets.write,members.manage,roles.manage,audit.read,agents.enroll,agents.manage,docs.read@project/x,deploy.production@project/app-web,audit.events.read}'''

-- ---------------------------------------------------------------------------
-- 1. Built-in roles, by default (no tenant rule yet)
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM tenantguard._builtin_permissions()), 9::bigint, 'nine built-in rules');
SET ROLE tg25_owner;
SELECT is(tg25.decide(:defaults),
    'secrets.read=true secrets.write=true members.manage=true roles.manage=true audit.read=true agents.enroll=true agents.manage=true docs.read@project/x=true deploy.production@project/app-web=true audit.events.read=true',
    'owner has every permission of its tenant');
RESET ROLE;
SET ROLE tg25_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT is(tenantguard.current_role_name(), 'admin', 'an administrator entering with set_tenant() has role admin');
SELECT is(tg25.decide(:defaults),
    'secrets.read=true secrets.write=true members.manage=true roles.manage=true audit.read=true agents.enroll=true agents.manage=true docs.read@project/x=true deploy.production@project/app-web=true audit.events.read=true',
    'admin has every permission by default');
SELECT tenantguard.clear_context() \gset
RESET ROLE;
SET ROLE tg25_operator;
SELECT is(tg25.decide(:defaults),
    'secrets.read=true secrets.write=true members.manage=false roles.manage=false audit.read=false agents.enroll=true agents.manage=true docs.read@project/x=true deploy.production@project/app-web=true audit.events.read=false',
    'operator: everything but members.*, roles.* and audit.*');
RESET ROLE;
SET ROLE tg25_viewer;
SELECT is(tg25.decide(:defaults),
    'secrets.read=false secrets.write=false members.manage=false roles.manage=false audit.read=false agents.enroll=false agents.manage=false docs.read@project/x=true deploy.production@project/app-web=false audit.events.read=false',
    'viewer: every .read permission, never a secret, never the audit trail');
RESET ROLE;
SET ROLE tg25_default;
SELECT is(tenantguard.current_role_name(), 'operator', 'bind_role() without a tenant role binds as operator');
RESET ROLE;
SET ROLE tg25_dev;
SELECT is(tg25.decide(:defaults),
    'secrets.read=false secrets.write=false members.manage=false roles.manage=false audit.read=false agents.enroll=false agents.manage=false docs.read@project/x=false deploy.production@project/app-web=false audit.events.read=false',
    'a tenant-defined role without rules has no permission at all (default deny)');
RESET ROLE;
SELECT is(tenantguard.authorize('docs.read'), false, 'no context: authorize() is false');
SELECT is((SELECT decision || ':' || coalesce(role, 'NULL') FROM tenantguard.explain_authorization('docs.read')),
    'implicit deny:NULL', 'no context: explain_authorization() says implicit deny, without a role');
SELECT throws_ok($$SELECT tenantguard.require('docs.read')$$, '42501', 'no tenant context is set',
    'no context: require() raises 42501');

-- ---------------------------------------------------------------------------
-- 2. The access matrix (tenant-defined developer and maintainer, built-in viewer)
-- ---------------------------------------------------------------------------
SET ROLE tg25_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT coalesce(max(id), 0) AS before_grants FROM tenantguard_audit.events \gset
SELECT lives_ok($$SELECT tenantguard.grant_permission('developer', 'deploy.*', 'project/*')$$,
    'an admin grants developer deploy.* on project/*');
SELECT lives_ok($$SELECT tenantguard.grant_permission('developer', 'deploy.production', '*', 'deny')$$,
    'an admin denies developer deploy.production everywhere');
SELECT lives_ok($$SELECT tenantguard.grant_permission('developer', 'logs.read', 'runtime/**')$$,
    'an admin grants developer logs.read below runtime/');
SELECT lives_ok($$SELECT tenantguard.grant_permission('maintainer', 'deploy.*')$$,
    'an admin grants maintainer deploy.* (resource defaults to *)');
SELECT is((SELECT string_agg(role || ' ' || permission || ' ' || resource || ' ' || effect, ', ' ORDER BY role, permission)
             FROM tenantguard.role_permissions),
    'developer deploy.* project/* allow, developer deploy.production * deny, developer logs.read runtime/** allow, maintainer deploy.* * allow',
    'the rules are stored in the current tenant');
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE id > :before_grants AND category = 'admin' AND action = 'permission.grant'
              AND tenant_id = :'acme' AND principal = 'admin:postgres'),
    4::bigint, 'every grant is recorded (admin / permission.grant) in the tenant');
SELECT is((SELECT object || ' ' || (details->>'permission') || ' ' || (details->>'resource') || ' ' || (details->>'effect')
             FROM tenantguard_audit.events
            WHERE id > :before_grants AND action = 'permission.grant' ORDER BY id LIMIT 1),
    'developer deploy.* project/* allow', '... naming the role, the permission, the resource and the effect');
SELECT tenantguard.clear_context() \gset
RESET ROLE;

SET ROLE tg25_dev;
SELECT is(tenantguard.authorize('deploy.production', 'project/app-web'), false,
    'matrix: developer deploy.production on project/app-web -> deny (deny beats allow)');
SELECT is((SELECT decision FROM tenantguard.explain_authorization('deploy.production', 'project/app-web') LIMIT 1),
    'explicit deny', '... an explicit deny');
SELECT is(tenantguard.authorize('deploy.preview', 'project/app-web'), true, 'developer deploy.preview on project/app-web -> allow');
SELECT is(tenantguard.authorize('deploy.preview'), false, 'developer deploy.preview on * -> deny (its rule is scoped to project/*)');
SELECT is(tenantguard.authorize('secret.write', 'production'), false, 'matrix: developer secret.write on production -> deny');
SELECT is((SELECT decision FROM tenantguard.explain_authorization('secret.write', 'production')),
    'implicit deny', '... an implicit deny (nothing matches)');
SELECT is(tenantguard.authorize('logs.read', 'runtime/app-web/pod-1'), true, 'glob: runtime/** matches below runtime/');
SELECT is(tenantguard.authorize('logs.read', 'runtime'), false, 'glob: runtime/** does not match runtime itself');
SELECT is(tenantguard.authorize('deploy.preview', 'project/app-web/eu'), false, 'glob: project/* matches one segment only');
SELECT is(tenantguard.authorize('deploy.preview.eu', 'project/app-web'), false, 'glob: deploy.* matches one segment only');
RESET ROLE;
SET ROLE tg25_maint;
SELECT is(tenantguard.authorize('deploy.preview'), true, 'matrix: maintainer deploy.preview -> allow');
SELECT is(tenantguard.authorize('deploy.production', 'project/app-web'), true, 'maintainer deploy.production on project/app-web -> allow');
SELECT is(tenantguard.authorize('logs.read', 'runtime/app-web'), false, 'maintainer logs.read -> deny (default deny)');
RESET ROLE;
SET ROLE tg25_viewer;
SELECT is(tenantguard.authorize('logs.read', 'runtime/app-web'), true, 'matrix: viewer logs.read on runtime/app-web -> allow');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 3. Tenant rules on built-in roles; revoke
-- ---------------------------------------------------------------------------
SET ROLE tg25_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT lives_ok($$SELECT tenantguard.grant_permission('viewer', 'logs.export', 'runtime/*')$$,
    'a tenant adds an allow rule to built-in viewer');
SELECT lives_ok($$SELECT tenantguard.grant_permission('viewer', 'secrets.read')$$,
    'a tenant may store an allow of secrets.read for viewer ...');
SELECT lives_ok($$SELECT tenantguard.grant_permission('operator', 'deploy.production', 'project/*', 'deny')$$,
    'a tenant adds a deny rule to built-in operator');
SELECT tenantguard.clear_context() \gset
RESET ROLE;
SET ROLE tg25_viewer;
SELECT is(tenantguard.authorize('logs.export', 'runtime/app-web'), true, 'viewer now has logs.export');
SELECT is(tenantguard.authorize('secrets.read'), false, '... but still never reads secrets (the built-in deny wins)');
RESET ROLE;
SET ROLE tg25_operator;
SELECT is(tenantguard.authorize('deploy.production', 'project/app-web'), false, 'operator is restricted by the tenant''s deny');
SELECT is(tenantguard.authorize('deploy.production', 'infra/db'), true, '... only where the deny matches');
RESET ROLE;
SET ROLE tg25_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT lives_ok($$SELECT tenantguard.revoke_permission('operator', 'deploy.production', 'project/*')$$,
    'the deny of operator is revoked');
SELECT is(tenantguard.authorize('roles.manage', 'role/operator'), true, 'admin manages roles');
-- an effect can be changed by granting the same rule again
SELECT lives_ok($$SELECT tenantguard.grant_permission('maintainer', 'deploy.*', '*', 'deny')$$,
    'granting an existing rule with another effect replaces it');
SELECT is((SELECT effect FROM tenantguard.role_permissions WHERE role = 'maintainer' AND permission = 'deploy.*'),
    'deny', '... one rule per (role, permission, resource)');
SELECT lives_ok($$SELECT tenantguard.grant_permission('maintainer', 'deploy.*', '*', 'allow')$$, '... and back');
SELECT coalesce(max(id), 0) AS before_revoke FROM tenantguard_audit.events \gset
SELECT tenantguard.revoke_permission('developer', 'logs.read', 'runtime/**') \gset
SELECT is((SELECT (details->>'permission') || ' ' || (details->>'resource') || ' ' || (details->>'effect') FROM tenantguard_audit.events
            WHERE id > :before_revoke AND action = 'permission.revoke' AND object = 'developer'),
    'logs.read runtime/** allow', 'a revoke is recorded (admin / permission.revoke) with the rule it removed');
SELECT throws_ok($$SELECT tenantguard.revoke_permission('viewer', 'audit.**')$$, '42501',
    'built-in rules of role "viewer" cannot be revoked', 'a built-in rule cannot be revoked (42501)');
SELECT throws_ok($$SELECT tenantguard.grant_permission('owner', 'secrets.read', '*', 'deny')$$, '42501',
    'the rules of role "owner" cannot be changed', 'owner cannot be restricted (42501)');
SELECT tenantguard.clear_context() \gset
RESET ROLE;
SET ROLE tg25_operator;
SELECT is(tenantguard.authorize('deploy.production', 'project/app-web'), true, 'after the revoke, operator deploys again');
RESET ROLE;
SET ROLE tg25_dev;
SELECT is(tenantguard.authorize('logs.read', 'runtime/app-web'), false, 'after the revoke, developer no longer reads logs');
RESET ROLE;

-- a change is in force at the next statement of the same transaction, in every session
SET ROLE tg25_owner;
SELECT is(tenantguard.authorize('agents.enroll'), true, 'owner enrolls agents');
SELECT lives_ok($$SELECT tenantguard.grant_permission('developer', 'agents.enroll')$$, 'the owner grants developer agents.enroll');
RESET ROLE;
SET ROLE tg25_dev;
SELECT is(tenantguard.authorize('agents.enroll'), true, '... in force at the next statement');
RESET ROLE;
SET ROLE tg25_owner;
SELECT lives_ok($$SELECT tenantguard.revoke_permission('developer', 'agents.enroll')$$, 'the owner revokes it');
RESET ROLE;
SET ROLE tg25_dev;
SELECT is(tenantguard.authorize('agents.enroll'), false, '... gone at the next statement');
RESET ROLE;

-- rules are per tenant
SET ROLE tg25_admin;
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT is((SELECT count(*) FROM tenantguard.role_permissions), 0::bigint, 'Globex has none of Acme''s rules');
SELECT is((SELECT count(*) FROM tenantguard.permissions), 9::bigint, '... its permissions view shows only the built-in rules');
SELECT lives_ok($$SELECT tenantguard.grant_permission('admin', 'docs.delete', '*', 'deny')$$,
    'Globex restricts its administrators: a deny rule on admin');
SELECT is(tenantguard.authorize('docs.delete'), false, 'an administrator entering Globex is restricted by Globex''s rule');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT is(tenantguard.authorize('docs.delete'), true, '... and not in Acme, in the same session');
SELECT tenantguard.clear_context() \gset
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 4. The permissions tenantguard checks itself
-- ---------------------------------------------------------------------------
SET ROLE tg25_operator;
SELECT tenantguard.seal('tg25-column-secret') AS sealed \gset
SELECT is(tenantguard.put_secret('db.password', 'tg25-vault-secret'), 1, 'operator writes a vault secret (secrets.write)');
SELECT lives_ok($$SELECT tenantguard.put_secret('ci.token', 'tg25-ci-token', 'ci')$$, '... in another scope too');
SELECT is(tenantguard.get_secret('db.password'), 'tg25-vault-secret', 'operator reads it (secrets.read)');
SELECT is(tenantguard.reveal(:'sealed'::tenantguard.secret), 'tg25-column-secret', 'operator reveals a sealed value');
RESET ROLE;
SET ROLE tg25_viewer;
SELECT ok(tenantguard.seal('tg25-viewer-value') IS NOT NULL, 'viewer may seal (sealing reveals nothing; writes are the table''s privileges)');
SELECT throws_ok(format($$SELECT tenantguard.reveal(%L::tenantguard.secret)$$, :'sealed'), '42501',
    'permission denied for "secrets.read" on "*"', 'viewer cannot reveal() (42501 secrets.read)');
SELECT throws_ok(format($$SELECT tenantguard.reveal_bytea(%L::tenantguard.secret)$$, :'sealed'), '42501',
    'permission denied for "secrets.read" on "*"', 'viewer cannot reveal_bytea()');
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password')$$, '42501',
    'permission denied for "secrets.read" on "vault/default/db.password"', 'viewer cannot get_secret()');
SELECT throws_ok($$SELECT tenantguard.get_secret('no.such.secret')$$, '42501',
    'permission denied for "secrets.read" on "vault/default/no.such.secret"',
    '... nor learn whether a secret exists (42501 before 42704)');
SELECT throws_ok($$SELECT tenantguard.resolve_ref(tenantguard.secret_ref('db.password'))$$, '42501', NULL,
    'viewer cannot resolve_ref()');
SELECT throws_ok($$SELECT tenantguard.put_secret('db.password', 'tg25-overwrite')$$, '42501',
    'permission denied for "secrets.write" on "vault/default/db.password"', 'viewer cannot put_secret()');
SELECT throws_ok($$SELECT tenantguard.delete_secret('db.password')$$, '42501',
    'permission denied for "secrets.write" on "vault/default/db.password"', 'viewer cannot delete_secret()');
SELECT throws_ok($$SELECT tenantguard.grant_permission('viewer', 'docs.write')$$, '42501',
    'permission denied for "roles.manage" on "role/viewer"', 'viewer cannot grant (roles.manage)');
SELECT is((SELECT count(*) FROM tenantguard_audit.events), 0::bigint, 'viewer reads no audit event (audit.read)');
RESET ROLE;
SET ROLE tg25_operator;
SELECT is(tenantguard.delete_secret('ci.token', 'ci'), 1, 'operator deletes a vault secret (secrets.write)');
SELECT is((SELECT count(*) FROM tenantguard_audit.events), 0::bigint, 'operator reads no audit event (audit.read denied)');
RESET ROLE;

-- secrets.read scoped to one vault scope
SET ROLE tg25_owner;
SELECT tenantguard.put_secret('deploy.key', 'tg25-ci-deploy-key', 'ci') \gset
SELECT lives_ok($$SELECT tenantguard.grant_permission('ci', 'secrets.read', 'vault/ci/*')$$,
    'role ci may read the vault''s ci scope only');
RESET ROLE;
SET ROLE tg25_vault;
SELECT is(tenantguard.get_secret('deploy.key', 'ci'), 'tg25-ci-deploy-key', 'ci reads vault/ci/deploy.key');
SELECT is(tenantguard.resolve_ref(tenantguard.secret_ref('deploy.key', 'ci')), 'tg25-ci-deploy-key', '... and through a reference');
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password')$$, '42501', NULL, '... not vault/default/');
SELECT throws_ok(format($$SELECT tenantguard.reveal(%L::tenantguard.secret)$$, :'sealed'), '42501', NULL,
    '... nor a column''s sealed value (reveal() checks secrets.read on *)');
RESET ROLE;

-- audit.read: the tenant's events, to a role granted it
SET ROLE tg25_auditor;
SELECT is((SELECT count(*) FROM tenantguard_audit.events), 0::bigint, 'a role without audit.read reads no event');
RESET ROLE;
SET ROLE tg25_owner;
SELECT lives_ok($$SELECT tenantguard.grant_permission('auditor', 'audit.read')$$, 'the owner grants auditor audit.read');
SELECT ok((SELECT count(*) FROM tenantguard_audit.events) > 0, 'owner reads its tenant''s events');
RESET ROLE;
SET ROLE tg25_auditor;
SELECT ok((SELECT count(*) FROM tenantguard_audit.events) > 0, 'auditor now reads Acme''s events');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE tenant_id IS DISTINCT FROM :'acme'), 0::bigint,
    '... and only Acme''s');
RESET ROLE;
SET ROLE tg25_admin;
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT lives_ok($$SELECT tenantguard.grant_permission('admin', 'audit.read', '*', 'deny')$$,
    'Globex denies its administrators audit.read');
SELECT is((SELECT count(*) FROM tenantguard_audit.events), 0::bigint, '... an administrator in Globex then reads none of its events');
SELECT tenantguard.clear_context() \gset
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
