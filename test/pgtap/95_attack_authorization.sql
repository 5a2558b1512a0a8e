-- Attacks on authorization, by a tenant application's role (a member of
-- tenantguard_app bound to Acme): granting itself permissions, reaching
-- another tenant's rules, undoing a built-in deny, glob injection, long and
-- malformed names, a hostile search_path while authorize() runs inside a
-- policy, a cached decision carried over to another tenant or role, a
-- policy that would run authorize() on other tenants' rows.
-- (Revokes seen by another backend: test/isolation/specs/authz_revoke.spec;
-- the decision events the ledger worker writes -- one per statement however
-- many rows, none naming another tenant's rows, refusals surviving
-- rollbacks, audit_decisions all / none: test/suites/authz_audit.sh.)
--
-- Runs in one transaction that is rolled back; roles are prefixed tg95_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(66);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg95_app LOGIN IN ROLE tenantguard_app;      -- Acme, operator (the default)
CREATE ROLE tg95_dev LOGIN IN ROLE tenantguard_app;      -- Acme, developer
CREATE ROLE tg95_gdev LOGIN IN ROLE tenantguard_app;     -- Globex, developer
CREATE ROLE tg95_owner LOGIN IN ROLE tenantguard_app;    -- Acme, owner
CREATE ROLE tg95_viewer LOGIN IN ROLE tenantguard_app;   -- Acme, viewer
SELECT tenantguard.create_tenant('tg95-acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('tg95-globex', 'Globex') AS globex \gset
SELECT tenantguard.bind_role('tg95_app', :'acme') \gset
SELECT tenantguard.bind_role('tg95_dev', :'acme', 'developer') \gset
SELECT tenantguard.bind_role('tg95_gdev', :'globex', 'developer') \gset
SELECT tenantguard.bind_role('tg95_owner', :'acme', 'owner') \gset
SELECT tenantguard.bind_role('tg95_viewer', :'acme', 'viewer') \gset

CREATE SCHEMA tg95;
GRANT USAGE ON SCHEMA tg95 TO PUBLIC;
-- Run a statement; everything its error says (SQLSTATE, message, detail, hint).
CREATE FUNCTION tg95.error_text(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text; d text; h text;
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    -- format(), not ||: it also runs under the hostile search_path below
    RETURN format('%s %s / %s / %s', SQLSTATE, m, coalesce(d, ''), coalesce(h, ''));
END $$;
-- authorize() from a PL/pgSQL function, whose plan (and authorize()'s cache) lives on in the session.
CREATE FUNCTION tg95.can(p text, r text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RETURN tenantguard.authorize(p, r);
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg95 TO PUBLIC;

-- Acme's rules: developer deploys to projects, reads the docs of project/p1 only
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT tenantguard.grant_permission('developer', 'deploy.*', 'project/*') \gset
SELECT tenantguard.grant_permission('developer', 'tg95docs.read', 'project/p1') \gset
SELECT tenantguard.grant_permission('developer', 'files.read', 'project/app-web') \gset
SELECT tenantguard.grant_permission('developer', 'files.read', 'project/*', 'allow') \gset
SELECT tenantguard.grant_permission('developer', 'files.read', 'project/secret-*', 'deny') \gset
SELECT tenantguard.grant_permission('developer', 'reports.read', 'project/app-web') \gset
SELECT tenantguard.clear_context() \gset

-- ---------------------------------------------------------------------------
-- 1. Granting itself permissions
-- ---------------------------------------------------------------------------
SET ROLE tg95_app;
SELECT is(tenantguard.current_role_name(), 'operator', 'the application role is an operator (default binding)');
SELECT throws_ok($$SELECT tenantguard.grant_permission('operator', 'roles.manage')$$, '42501', NULL,
    'grant_permission() without roles.manage is refused (42501)');
SELECT throws_ok($$SELECT tenantguard.grant_permission('operator', 'audit.read')$$, '42501', NULL,
    '... for any permission of its own role');
SELECT throws_ok($$SELECT tenantguard.grant_permission('developer', 'secrets.read')$$, '42501', NULL,
    '... and for any other role');
SELECT throws_ok($$SELECT tenantguard.revoke_permission('developer', 'deploy.*', 'project/*')$$, '42501', NULL,
    'revoke_permission() without roles.manage is refused (42501)');
SELECT throws_ok($$INSERT INTO tenantguard.role_permissions (role, permission) VALUES ('operator', 'roles.manage')$$, '42501', NULL, 'a direct INSERT into role_permissions is refused (42501)');
SELECT throws_ok($$UPDATE tenantguard.role_permissions SET effect = 'allow'$$, '42501', NULL, '... and an UPDATE');
SELECT throws_ok($$DELETE FROM tenantguard.role_permissions$$, '42501', NULL, '... and a DELETE');
SELECT throws_ok($$TRUNCATE tenantguard.role_permissions$$, '42501', NULL, '... and a TRUNCATE');
SELECT throws_ok($$SELECT tenantguard._check_rule('operator', 'x', '*', 'allow', true)$$, '42501', NULL,
    'the internal helper _check_rule() is not executable');
SELECT throws_ok(format($$SELECT tenantguard.set_tenant(%L)$$, :'globex'), '42501', NULL,
    'the application role cannot enter Globex');
SELECT is(tenantguard.authorize('roles.manage', 'role/operator'), false, 'operator still lacks roles.manage');
RESET ROLE;
SELECT is((SELECT count(*) FROM tenantguard.role_permissions WHERE tenant_id = :'acme'), 6::bigint,
    'Acme''s rules are unchanged');

-- ---------------------------------------------------------------------------
-- 2. Another tenant's rules
-- ---------------------------------------------------------------------------
SET ROLE tg95_owner;
SELECT is(tenantguard.authorize('roles.manage', 'role/developer'), true, 'Acme''s owner manages Acme''s roles');
SELECT lives_ok($$SELECT tenantguard.grant_permission('developer', 'billing.read')$$, 'Acme''s owner grants developer billing.read');
SELECT is((SELECT count(*) FROM tenantguard.role_permissions WHERE tenant_id = :'globex'), 0::bigint,
    'Acme''s owner sees none of Globex''s rules');
SELECT throws_ok(format($$INSERT INTO tenantguard.role_permissions (tenant_id, role, permission) VALUES (%L, 'developer', 'secrets.read')$$, :'globex'), '42501', NULL, '... and cannot write one');
RESET ROLE;
SET ROLE tg95_gdev;
SELECT is(tenantguard.authorize('billing.read'), false, 'Globex''s developer did not get Acme''s grant');
SELECT is(tenantguard.authorize('deploy.preview', 'project/app-web'), false, '... nor any of Acme''s developer rules');
RESET ROLE;
SELECT is((SELECT count(*) FROM tenantguard.role_permissions WHERE tenant_id = :'globex'), 0::bigint,
    'Globex has no rule at all');

-- a cached decision is never carried to another tenant or role (one session, one cached plan)
SET ROLE tg95_dev;
SELECT is(tg95.can('deploy.preview', 'project/app-web'), true, 'Acme''s developer deploys (cached in the function''s plan)');
RESET ROLE;
SET ROLE tg95_gdev;
SELECT is(tg95.can('deploy.preview', 'project/app-web'), false, '... the same call as Globex''s developer is decided by Globex''s rules');
RESET ROLE;
SET ROLE tg95_app;
SELECT is(tg95.can('deploy.preview', 'project/app-web'), true, '... as Acme''s operator by the operator''s');
RESET ROLE;
SET ROLE tg95_viewer;
SELECT is(tg95.can('deploy.preview', 'project/app-web'), false, '... as Acme''s viewer by the viewer''s');
RESET ROLE;
SELECT is(tg95.can('deploy.preview', 'project/app-web'), false, '... and without a context it is false');

-- ---------------------------------------------------------------------------
-- 3. Undoing a built-in deny
-- ---------------------------------------------------------------------------
SET ROLE tg95_owner;
SELECT throws_ok($$SELECT tenantguard.revoke_permission('viewer', 'secrets.**')$$, '42501', NULL,
    'even the owner cannot revoke the viewer''s built-in deny of secrets (42501)');
SELECT lives_ok($$SELECT tenantguard.grant_permission('viewer', 'secrets.read', 'vault/**')$$,
    'the owner grants viewer secrets.read ...');
SELECT throws_ok($$SELECT tenantguard.grant_permission('owner', 'secrets.read', '*', 'deny')$$, '42501', NULL,
    'nobody can add rules to owner (42501)');
SELECT tenantguard.put_secret('db.password', 'tg95-db-password') \gset
RESET ROLE;
SET ROLE tg95_viewer;
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password')$$, '42501', NULL,
    '... the viewer still cannot read a secret (a built-in deny beats every allow)');
SELECT is((SELECT decision || ' ' || permission || ' ' || builtin
             FROM tenantguard.explain_authorization('secrets.read', 'vault/default/db.password') LIMIT 1),
    'explicit deny secrets.** true', '... explain_authorization() shows the built-in deny first');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 4. Glob injection: the arguments of authorize() are literals
-- ---------------------------------------------------------------------------
SET ROLE tg95_dev;
SELECT throws_ok($$SELECT tenantguard.authorize('deploy.*', 'project/app-web')$$, '22023', NULL,
    'authorize(''deploy.*'') is refused (22023): a permission to check is not a pattern');
SELECT throws_ok($$SELECT tenantguard.authorize('*')$$, '22023', NULL, 'authorize(''*'') is refused');
SELECT throws_ok($$SELECT tenantguard.authorize('**')$$, '22023', NULL, 'authorize(''**'') is refused');
SELECT throws_ok($$SELECT tenantguard.require('*', '*')$$, '22023', NULL, 'require(''*'') is refused');
SELECT throws_ok($$SELECT * FROM tenantguard.explain_authorization('deploy.*')$$, '22023', NULL,
    'explain_authorization(''deploy.*'') is refused');
SELECT is(tenantguard.authorize('reports.read', 'project/*'), false,
    'a rule for project/app-web does not allow the resource "project/*" (a literal, not every project)');
SELECT is(tenantguard.authorize('reports.read', '*'), false, '... nor "*" (the tenant as a whole)');
SELECT is(tenantguard.authorize('reports.read', 'project/app-*'), false, '... nor "project/app-*"');
SELECT is(tenantguard.authorize('files.read', 'project/secret-*'), false,
    'a deny of project/secret-* also covers the literal "project/secret-*"');
SELECT is(tenantguard.authorize('files.read', 'project/secret-db'), false, '... and project/secret-db');
SELECT is(tenantguard.authorize('files.read', 'project/app-web'), true, '... not project/app-web');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 5. Long and malformed names; errors never show the value
-- ---------------------------------------------------------------------------
SET ROLE tg95_owner;
SELECT throws_ok(format($$SELECT tenantguard.authorize(%L)$$, repeat('p', 129)), '22023', NULL, 'a 129-byte permission is refused');
SELECT throws_ok(format($$SELECT tenantguard.authorize(%L)$$, repeat('p.', 64) || 'p'), '22023', NULL, '... also made of segments');
SELECT throws_ok(format($$SELECT tenantguard.authorize('docs.read', %L)$$, repeat('r', 1025)), '22023', NULL,
    'a 1025-byte resource is refused');
SELECT lives_ok(format($$SELECT tenantguard.authorize('docs.read', %L)$$, repeat('r', 1024)),
    'a 1024-byte resource is fine');
SELECT throws_ok(format($$SELECT tenantguard.grant_permission(%L, 'docs.read')$$, repeat('r', 64)), '22023', NULL,
    'a 64-byte role name is refused');
SELECT throws_ok($$SELECT tenantguard.authorize('d' || chr(246) || 'cs.read')$$, '22023', NULL, 'a non-ASCII permission is refused');
SELECT throws_ok($$SELECT tenantguard.authorize('docs.read', 'project/' || chr(1))$$, '22023', NULL,
    'a control character in a resource is refused');
SELECT throws_ok($$SELECT tenantguard.grant_permission('developer', 'docs.read', 'project/a***')$$, '22023', NULL,
    'a resource pattern with "***" is refused');
SELECT throws_ok($$SELECT tenantguard.grant_permission('developer', 'docs.read', '*', 'ALLOW')$$, '22023', NULL,
    'an effect other than allow / deny is refused');
SELECT ok(tg95.error_text($$SELECT tenantguard.authorize('SECRET-tg95-token.read')$$) NOT LIKE '%tg95-token%'
      AND tg95.error_text($$SELECT tenantguard.authorize('docs.read', E'tg95-key-material\n')$$) NOT LIKE '%tg95-key%'
      AND tg95.error_text($$SELECT tenantguard.grant_permission('Tg95-Secret', 'x')$$) NOT ILIKE '%tg95-secret%'
      AND tg95.error_text($$SELECT tenantguard.grant_permission('x', 'x', '*', 'tg95-effect')$$) NOT LIKE '%tg95-effect%',
    'no validation error repeats the value it refuses');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 6. Policies: authorize() only ever runs on the current tenant's rows
-- ---------------------------------------------------------------------------
CREATE TABLE tg95.docs (tenant_id uuid NOT NULL, id int NOT NULL, project text, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('tg95.docs') \gset
INSERT INTO tg95.docs SELECT :'acme', i, 'p' || i FROM generate_series(1, 10000) i;
INSERT INTO tg95.docs SELECT :'globex', i, 'globex-secret-' || i FROM generate_series(1, 10000) i;
INSERT INTO tg95.docs VALUES (:'acme', 10001, '*'), (:'acme', 10002, 'p1/..');
GRANT SELECT ON tg95.docs TO tenantguard_app;
ANALYZE tg95.docs;
SELECT throws_ok($$CREATE POLICY unguarded ON tg95.docs AS RESTRICTIVE FOR SELECT
                       USING (tenantguard.authorize('tg95docs.read', 'project/' || project))$$, '42501', NULL,
    'the DDL guard refuses a policy that would run authorize() on every tenant''s rows');
SELECT throws_ok($$CREATE POLICY ored ON tg95.docs AS RESTRICTIVE FOR SELECT
                       USING (tenant_id = tenantguard.current_tenant() OR tenantguard.authorize('tg95docs.read', 'project/' || project))$$, '42501', NULL, '... or beside the tenant comparison in an OR');
SELECT throws_ok($$CREATE POLICY subq ON tg95.docs AS RESTRICTIVE FOR SELECT
                       USING (tenant_id = (SELECT tenantguard.current_tenant()) AND tenantguard.authorize('tg95docs.read', 'project/' || project))$$, '42501', NULL, '... or beside a comparison that is not exactly tenant_id = tenantguard.current_tenant()');
CREATE FUNCTION tg95.cheap_leak(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
BEGIN
    RAISE NOTICE 'saw %', t;
    RETURN true;
END $$;
CREATE FUNCTION tg95.wrapped(p text, r text) RETURNS boolean LANGUAGE sql AS $$ SELECT tenantguard.authorize(p, r) $$;
SELECT throws_ok($$CREATE POLICY leak ON tg95.docs AS RESTRICTIVE FOR SELECT
                       USING (tenant_id = tenantguard.current_tenant() AND tenantguard.authorize('tg95docs.read', 'project/' || project)
                              AND tg95.cheap_leak(project))$$, '42501', NULL, '... or with a cheap leaky function next to it');
SELECT throws_ok($$CREATE POLICY wrapped ON tg95.docs AS RESTRICTIVE FOR SELECT
                       USING (tenant_id = tenantguard.current_tenant() AND tg95.wrapped('tg95docs.read', 'project/' || project))$$, '42501', NULL, '... or with authorize() wrapped in a function of one''s own');
SELECT lives_ok($$CREATE POLICY docs_read ON tg95.docs AS RESTRICTIVE FOR SELECT
                  USING (tenant_id = tenantguard.current_tenant() AND tenantguard.authorize('tg95docs.read', 'project/' || project))$$,
    'the guarded form is accepted');
SELECT throws_ok($$ALTER POLICY docs_read ON tg95.docs USING (tenantguard.authorize('tg95docs.read', 'project/' || project))$$, '42501', NULL, 'ALTER POLICY cannot drop the tenant comparison');
SELECT is((SELECT count(*) FROM tenantguard.isolation_report() WHERE object LIKE 'tg95.docs%'), 0::bigint,
    'the isolation report has no finding for the guarded policy');

SET ROLE tg95_dev;
SELECT is((SELECT string_agg(project, ',') FROM tg95.docs), 'p1',
    'the developer sees only project/p1 of its tenant (not "*", not "p1/..")');
SELECT is((SELECT count(*) FROM tg95.docs WHERE tenant_id = :'globex'), 0::bigint, '... and nothing of Globex''s');
RESET ROLE;

-- a hostile search_path: shadowed functions and operators do not change the decision
CREATE SCHEMA tg95_evil;
GRANT USAGE ON SCHEMA tg95_evil TO PUBLIC;
CREATE FUNCTION tg95_evil.authorize(p text, r text DEFAULT '*') RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE FUNCTION tg95_evil.current_tenant() RETURNS uuid LANGUAGE sql AS $$ SELECT NULL::uuid $$;
CREATE FUNCTION tg95_evil.textcat(a text, b text) RETURNS text LANGUAGE sql AS $$ SELECT 'project/p1' $$;
CREATE OPERATOR tg95_evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = tg95_evil.textcat);
CREATE FUNCTION tg95_evil.uuid_eq(a uuid, b uuid) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR tg95_evil.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = tg95_evil.uuid_eq);
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg95_evil TO PUBLIC;
-- (the results are taken under the hostile path and checked after it: pgTAP itself would use the shadowed operators)
SET ROLE tg95_dev;
SET search_path = tg95_evil, pg_catalog, public;
SELECT (SELECT string_agg(project, ',') FROM tg95.docs) AS hostile_rows,
       tenantguard.authorize('tg95docs.read', 'project/p2') AS hostile_direct,
       tg95.error_text($$SELECT tenantguard.grant_permission('developer', 'roles.manage')$$) AS hostile_grant,
       (SELECT decision FROM tenantguard.explain_authorization('tg95docs.read', 'project/p2')) AS hostile_explain,
       current_setting('search_path') AS hostile_path \gset
RESET search_path;
RESET ROLE;
SELECT is(:'hostile_path'::text, 'tg95_evil, pg_catalog, public', 'sanity: the hostile search_path was in force');
SELECT is(:'hostile_rows'::text, 'p1',
    'with shadowed authorize(), || and = first on search_path, the policy decides the same');
SELECT is(:'hostile_direct'::text, 'f', '... and so does a direct call');
SELECT ok(:'hostile_grant'::text LIKE '42501 permission denied for "roles.manage"%', '... and grant_permission() still checks roles.manage');
SELECT is(:'hostile_explain'::text, 'implicit deny', '... and explain_authorization() still explains');

SELECT * FROM finish();
ROLLBACK;
