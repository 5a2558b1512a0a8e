-- Cross-tenant attack catalogue, part 3: bound roles.
--
-- A role bound with tenantguard.bind_role() is always in its tenant and no
-- function can move it elsewhere. The binding is checked on the session user
-- and on the outer role (SET ROLE), so SET ROLE / SET SESSION AUTHORIZATION
-- stand in for real logins here (15_sessions.sql logs in for real).
--
-- Runs in one transaction that is rolled back; roles are prefixed tg20_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(45);

CREATE ROLE tg20_bound LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg20_boundadmin LOGIN IN ROLE tenantguard_app, tenantguard_admin;
CREATE ROLE tg20_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg20_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg20_super LOGIN SUPERUSER;
CREATE ROLE tg20_bypass LOGIN BYPASSRLS;

SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset

CREATE SCHEMA tg20;
GRANT USAGE ON SCHEMA tg20 TO PUBLIC;
CREATE TABLE tg20.docs (tenant_id uuid NOT NULL, id int NOT NULL, body text, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('tg20.docs') \gset
INSERT INTO tg20.docs VALUES (:'acme', 1, 'acme-1'), (:'acme', 2, 'acme-2'), (:'globex', 3, 'globex-1');
GRANT SELECT, INSERT, UPDATE, DELETE ON tg20.docs TO tenantguard_app;

-- ---------------------------------------------------------------------------
-- Who may bind what
-- ---------------------------------------------------------------------------
SET ROLE tg20_app;
SELECT throws_ok(format($$SELECT tenantguard.bind_role('tg20_app', %L)$$, :'acme'), '42501', NULL,
    'an application role cannot bind roles (42501)');
SELECT throws_ok($$SELECT tenantguard.unbind_role('tg20_app')$$, '42501', NULL,
    'an application role cannot unbind roles (42501)');
RESET ROLE;

SET ROLE tg20_admin;
SELECT throws_ok(format($$SELECT tenantguard.bind_role('tg20_super', %L)$$, :'acme'), '22023', NULL,
    'binding a superuser is refused (22023): it would bypass row level security anyway');
SELECT throws_ok(format($$SELECT tenantguard.bind_role('tg20_bypass', %L)$$, :'acme'), '22023', NULL,
    'binding a BYPASSRLS role is refused (22023)');
SELECT throws_ok($$SELECT tenantguard.bind_role('tg20_bound', '00000000-0000-0000-0000-0000000000bb')$$, '42704', NULL,
    'binding to an unknown tenant is refused (42704)');
SELECT throws_ok(format($$SELECT tenantguard.bind_role('tg20_bound', %L, 'Not A Role')$$, :'acme'), '22023', NULL,
    'binding with a malformed tenant role name is refused (22023)');
SELECT lives_ok(format($$SELECT tenantguard.bind_role('tg20_bound', %L)$$, :'acme'),
    'an administrator binds tg20_bound to Acme');
SELECT lives_ok(format($$SELECT tenantguard.bind_role('tg20_boundadmin', %L)$$, :'globex'),
    'an administrator binds tg20_boundadmin (also an administrator) to Globex');
SELECT is((SELECT count(*)::int FROM tenantguard.role_bindings), 2, 'only the two legal bindings exist');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- The bound role (as outer role: SET ROLE)
-- ---------------------------------------------------------------------------
SET ROLE tg20_bound;
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'SET ROLE to a bound role puts the session in its tenant');
SELECT is(tenantguard.current_principal(), 'role:tg20_bound', 'the principal is role:tg20_bound');
SELECT is(tenantguard.current_role_name(), 'operator', 'the tenant role is the default, built-in "operator"');
SELECT results_eq('SELECT body FROM tg20.docs ORDER BY id', $$VALUES ('acme-1'), ('acme-2')$$,
    'the bound role sees only Acme rows');
SELECT is((SELECT count(*)::int FROM tg20.docs WHERE tenant_id = :'globex'), 0,
    'filtering on Globex explicitly finds nothing');
RESET ALL;
SELECT is(current_user::text, 'tg20_bound', '(RESET ALL keeps the role)');
SELECT results_eq('SELECT body FROM tg20.docs ORDER BY id', $$VALUES ('acme-1'), ('acme-2')$$,
    'after RESET ALL the bound role still sees only Acme rows');
SELECT tenantguard.clear_context() \gset
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'clear_context() does not unbind');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'globex'), '42501', NULL,
    'set_tenant() is refused to the bound role (42501)');
SELECT throws_ok(format($$SET tenantguard.context = %L$$, format('tgctx1;%s;L;0;admin;admin:x', :'globex')), '42501', NULL,
    'a forged context is refused to the bound role (42501)');
SELECT throws_ok(format($$INSERT INTO tg20.docs VALUES (%L, 10, 'x')$$, :'globex'), '42501', NULL,
    'the bound role cannot insert a Globex row (42501)');
SELECT throws_ok(format($$UPDATE tg20.docs SET tenant_id = %L WHERE id = 1$$, :'globex'), '42501', NULL,
    'the bound role cannot move its row to Globex (42501)');
SELECT lives_ok($$INSERT INTO tg20.docs (id, body) VALUES (10, 'bound')$$,
    'the bound role inserts a row without naming a tenant');
RESET ROLE;
SELECT is((SELECT tenant_id FROM tg20.docs WHERE id = 10), :'acme'::uuid, 'that row belongs to Acme');

-- A context entered before SET ROLE does not carry over to a bound role.
SELECT tenantguard.set_tenant(:'globex') \gset
SET ROLE tg20_bound;
SELECT is(tenantguard.current_tenant(), :'acme'::uuid,
    'a Globex context entered by the session user does not carry over to a role bound to Acme');
SELECT results_eq('SELECT DISTINCT tenant_id FROM tg20.docs', format('VALUES (%L::uuid)', :'acme'),
    'the bound role still sees only Acme rows');
RESET ROLE;
SELECT tenantguard.clear_context() \gset

-- As the session user (the equivalent of logging in as the bound role).
SET SESSION AUTHORIZATION tg20_bound;
SELECT is(session_user::text, 'tg20_bound', '(session user is now the bound role)');
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'a bound session user is in its tenant');
SELECT results_eq('SELECT scope FROM tenantguard.whoami()', $$VALUES ('bound'::text)$$,
    'whoami() reports the bound scope');
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------
-- A bound role that is also an administrator
-- ---------------------------------------------------------------------------
SET ROLE tg20_boundadmin;
SELECT is(tenantguard.current_tenant(), :'globex'::uuid, 'the bound administrator is in Globex');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'acme'), '42501', NULL,
    'set_tenant() to another tenant is refused to a bound administrator (42501)');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L, false)', :'acme'), '42501', NULL,
    'also in session scope (42501)');
SELECT lives_ok(format('SELECT tenantguard.set_tenant(%L)', :'globex'), 'set_tenant() to its own tenant is allowed');
SELECT is(tenantguard.current_principal(), 'admin:' || session_user, 'and then the principal is the admin one');
SELECT results_eq('SELECT body FROM tg20.docs ORDER BY id', $$VALUES ('globex-1')$$,
    'it still sees only Globex rows');
SELECT tenantguard.clear_context() \gset
RESET ROLE;

-- An administrator session switching into a bound role cannot take its tenant along.
SET ROLE tg20_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
RESET ROLE;
SET ROLE tg20_boundadmin;
SELECT is(tenantguard.current_tenant(), :'globex'::uuid,
    'an Acme context entered before SET ROLE is ignored for a role bound to Globex');
RESET ROLE;
SELECT tenantguard.clear_context() \gset

-- ---------------------------------------------------------------------------
-- Rebinding and unbinding
-- ---------------------------------------------------------------------------
SELECT lives_ok(format($$SELECT tenantguard.bind_role('tg20_bound', %L, 'viewer')$$, :'globex'),
    'binding an already bound role again moves it (here to Globex as viewer)');
SET ROLE tg20_bound;
SELECT is(tenantguard.current_tenant(), :'globex'::uuid, 'the rebound role is in Globex');
SELECT is(tenantguard.current_role_name(), 'viewer', 'with the new tenant role');
SELECT results_eq('SELECT body FROM tg20.docs ORDER BY id', $$VALUES ('globex-1')$$,
    'and sees only Globex rows');
RESET ROLE;

SELECT lives_ok($$SELECT tenantguard.unbind_role('tg20_bound')$$, 'unbind_role() removes the binding');
SET ROLE tg20_bound;
SELECT is(tenantguard.current_tenant(), NULL, 'the unbound role has no context');
SELECT throws_ok('SELECT count(*) FROM tg20.docs', '42501', 'no tenant context is set',
    'and the protected table is closed to it (42501)');
RESET ROLE;

-- A bound role of a suspended tenant has no context (fail closed).
SELECT tenantguard.suspend_tenant(:'globex') \gset
SET ROLE tg20_boundadmin;
SELECT is(tenantguard.current_tenant(), NULL, 'a role bound to a suspended tenant has no context');
SELECT throws_ok('SELECT count(*) FROM tg20.docs', '42501', 'no tenant context is set',
    'and the protected table is closed to it (42501)');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'globex'), '42501', NULL,
    'and it cannot enter its own suspended tenant either (42501)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
