-- Cross-tenant attack catalogue, part 2: context scope across transactions
-- and sessions.
--
-- A context must not outlive its scope: transaction scope ends at COMMIT and
-- ROLLBACK, session scope survives COMMIT but not a rolled-back transaction,
-- RESET ALL or DISCARD ALL (what poolers send between clients). Bound roles
-- are checked with real logins (through dblink), including changes made by
-- another backend while the session is open.
--
-- Not wrapped in one transaction (COMMIT behaviour is the subject); the
-- fixture is committed and removed at the end. Roles are prefixed tg15_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

DROP ROLE IF EXISTS tg15_admin, tg15_app, tg15_bound, tg15_boundadmin, tg15_group;
CREATE EXTENSION IF NOT EXISTS dblink;

SELECT plan(72);

-- ---------------------------------------------------------------------------
-- Fixture (committed, so that other sessions see it)
-- ---------------------------------------------------------------------------
CREATE ROLE tg15_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg15_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg15_group NOLOGIN;
CREATE ROLE tg15_bound LOGIN IN ROLE tenantguard_app, tg15_group;
CREATE ROLE tg15_boundadmin LOGIN IN ROLE tenantguard_app, tenantguard_admin;

SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset

CREATE SCHEMA tg15;
GRANT USAGE ON SCHEMA tg15 TO PUBLIC;
CREATE TABLE tg15.docs (tenant_id uuid NOT NULL, id int NOT NULL, body text, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('tg15.docs') \gset
INSERT INTO tg15.docs VALUES (:'acme', 1, 'acme-1'), (:'acme', 2, 'acme-2'), (:'globex', 3, 'globex-1');
GRANT SELECT, INSERT, UPDATE, DELETE ON tg15.docs TO tenantguard_app, tenantguard_admin, tg15_group;

SELECT tenantguard.bind_role('tg15_bound', :'acme') \gset
SELECT tenantguard.bind_role('tg15_boundadmin', :'globex') \gset

-- dblink helpers: a connection string for a login role, and one-value queries.
CREATE FUNCTION pg_temp.connstr(login text) RETURNS text LANGUAGE sql AS $$
    SELECT format('host=%s port=%s dbname=%s user=%s application_name=tg15',
                  coalesce(nullif(split_part(current_setting('unix_socket_directories'), ',', 1), ''), '127.0.0.1'),
                  current_setting('port'), current_database(), login)
$$;
CREATE FUNCTION pg_temp.rq(conn text, query text) RETURNS text LANGUAGE sql AS $$
    SELECT x FROM dblink(conn, query) AS t(x text)
$$;
-- The SQL text that runs query remotely (for throws_ok).
CREATE FUNCTION pg_temp.remote(conn text, query text) RETURNS text LANGUAGE sql AS $$
    SELECT format('SELECT pg_temp.rq(%L, %L)', conn, query)
$$;

-- ---------------------------------------------------------------------------
-- 1. Transaction scope (is_local => true, the default)
-- ---------------------------------------------------------------------------
SET ROLE tg15_admin;

SELECT tenantguard.set_tenant(:'acme') \gset
SELECT is(tenantguard.current_tenant(), NULL,
    'a transaction-scope context set by an autocommit statement is gone at the next statement');

BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'inside the transaction the context is Acme');
COMMIT;
SELECT is(tenantguard.current_tenant(), NULL, 'transaction scope ends at COMMIT');
SELECT throws_ok('SELECT count(*) FROM tg15.docs', '42501', 'no tenant context is set',
    'after COMMIT the protected table is closed again');

BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
ROLLBACK;
SELECT is(tenantguard.current_tenant(), NULL, 'transaction scope ends on ROLLBACK');

BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT throws_ok('SELECT 1/0', '22012', NULL, '(an error inside the transaction)');
COMMIT;
SELECT is(tenantguard.current_tenant(), NULL, 'transaction scope also ends with a transaction that hit an error');

-- ---------------------------------------------------------------------------
-- 2. Session scope (is_local => false)
-- ---------------------------------------------------------------------------
BEGIN;
SELECT tenantguard.set_tenant(:'acme', false) \gset
ROLLBACK;
SELECT is(tenantguard.current_tenant(), NULL, 'a session-scope context set in a rolled-back transaction does not survive');

BEGIN;
SELECT tenantguard.set_tenant(:'acme', false) \gset
COMMIT;
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'session scope survives COMMIT');
SELECT results_eq('SELECT scope FROM tenantguard.whoami()', $$VALUES ('session'::text)$$,
    'whoami() reports session scope');
SELECT results_eq('SELECT body FROM tg15.docs ORDER BY id', $$VALUES ('acme-1'), ('acme-2')$$,
    'in a later transaction the session context still shows only Acme rows');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'globex'), '42501', NULL,
    'the session scope is locked: a different tenant is refused in a later transaction (42501)');
SELECT lives_ok(format('SELECT tenantguard.set_tenant(%L)', :'acme'),
    'the same tenant may be entered again (transaction scope on top of session scope)');
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'and when that transaction ends the session context remains');

BEGIN;
SELECT tenantguard.clear_context() \gset
SELECT is(tenantguard.current_tenant(), NULL, 'clear_context() inside a transaction clears the session context ...');
ROLLBACK;
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, '... and ROLLBACK restores it');

SELECT tenantguard.clear_context() \gset
SELECT is(tenantguard.current_tenant(), NULL, 'a committed clear_context() ends the session context');
SELECT lives_ok(format('SELECT tenantguard.set_tenant(%L, false)', :'globex'),
    'after clear_context() another tenant can be entered in session scope');
SELECT results_eq('SELECT body FROM tg15.docs ORDER BY id', $$VALUES ('globex-1')$$,
    'the new session context shows only Globex rows');

RESET ALL;
SELECT is(tenantguard.current_tenant(), NULL, 'RESET ALL ends a session-scope context');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 3. DISCARD ALL (cannot run in a transaction block: done in a second session)
-- ---------------------------------------------------------------------------
SELECT dblink_connect('adm', pg_temp.connstr('tg15_admin')) \gset
SELECT is(pg_temp.rq('adm', 'SELECT session_user::text'), 'tg15_admin', 'a second session logs in as the administrator');
SELECT is(pg_temp.rq('adm', format('SELECT tenantguard.set_tenant(%L, false)::text', :'acme')), '',
    'that session enters Acme in session scope');
SELECT is(pg_temp.rq('adm', 'SELECT count(*)::text FROM tg15.docs'), '2', 'and sees the two Acme rows');
SELECT is(dblink_exec('adm', 'DISCARD ALL'), 'DISCARD ALL', 'the pooler sends DISCARD ALL');
SELECT is(pg_temp.rq('adm', 'SELECT tenantguard.current_tenant()::text'), NULL,
    'DISCARD ALL ends the session context');
SELECT throws_ok($$SELECT pg_temp.rq('adm', 'SELECT count(*)::text FROM tg15.docs')$$, '42501', NULL,
    'the next client of the pooled session meets require_context (42501)');

SELECT is(pg_temp.rq('adm', format('SELECT tenantguard.set_tenant(%L, false)::text', :'acme')), '',
    'the administrator session enters Acme again');
SELECT is(dblink_exec('adm', 'RESET ALL'), 'RESET', 'the pooler sends RESET ALL');
SELECT is(pg_temp.rq('adm', 'SELECT tenantguard.current_tenant()::text'), NULL,
    'RESET ALL in a pooled session ends the session context');

-- A context set in session scope is not ended by suspending the tenant
-- (it ends with its scope), but the tenant cannot be entered again.
SELECT is(pg_temp.rq('adm', format('SELECT tenantguard.set_tenant(%L, false)::text', :'acme')), '',
    'the administrator session enters Acme again');
SELECT tenantguard.suspend_tenant(:'acme') \gset
SELECT is(pg_temp.rq('adm', 'SELECT tenantguard.current_tenant()::text'), :'acme',
    'suspending Acme in another session does not end a context already set');
SELECT is(pg_temp.rq('adm', 'SELECT tenantguard.clear_context()::text'), '', 'the administrator leaves Acme');
SELECT throws_ok(pg_temp.remote('adm', format('SELECT tenantguard.set_tenant(%L)::text', :'acme')), '42501', NULL,
    'the suspension made by another backend is seen at once: Acme cannot be entered (42501)');
SELECT tenantguard.activate_tenant(:'acme') \gset
SELECT is(pg_temp.rq('adm', format('SELECT tenantguard.set_tenant(%L)::text', :'acme')), '',
    'after activate_tenant() in another backend Acme can be entered again');
SELECT dblink_disconnect('adm') \gset

-- ---------------------------------------------------------------------------
-- 4. Bound roles, logged in for real
-- ---------------------------------------------------------------------------
SELECT dblink_connect('b', pg_temp.connstr('tg15_bound')) \gset
SELECT is(pg_temp.rq('b', 'SELECT session_user::text'), 'tg15_bound', 'the bound role logs in');
SELECT is(pg_temp.rq('b', 'SELECT tenantguard.current_tenant()::text'), :'acme', 'a bound login is in its tenant from the start');
SELECT is(pg_temp.rq('b', 'SELECT tenantguard.current_principal()'), 'role:tg15_bound', 'its principal is role:<name>');
SELECT is(pg_temp.rq('b', 'SELECT scope FROM tenantguard.whoami()'), 'bound', 'whoami() reports the bound scope');
SELECT is(pg_temp.rq('b', 'SELECT string_agg(body, '','' ORDER BY id) FROM tg15.docs'), 'acme-1,acme-2',
    'it sees only its tenant''s rows');
SELECT is(dblink_exec('b', 'RESET ALL'), 'RESET', 'RESET ALL in the bound session ...');
SELECT is(pg_temp.rq('b', 'SELECT tenantguard.current_tenant()::text'), :'acme', '... does not unbind it');
SELECT is(dblink_exec('b', 'DISCARD ALL'), 'DISCARD ALL', 'DISCARD ALL in the bound session ...');
SELECT is(pg_temp.rq('b', 'SELECT count(*)::text FROM tg15.docs'), '2', '... does not unbind it either');
SELECT is(pg_temp.rq('b', 'SELECT tenantguard.clear_context()::text'), '', 'clear_context() in the bound session ...');
SELECT is(pg_temp.rq('b', 'SELECT tenantguard.current_tenant()::text'), :'acme', '... does not unbind it');
SELECT is(dblink_exec('b', 'SET ROLE tg15_group'), 'SET', 'the bound login switches to an unbound group role it belongs to ...');
SELECT is(pg_temp.rq('b', 'SELECT count(*)::text FROM tg15.docs'), '2', '... and still sees only its tenant (the session user is bound)');
SELECT is(dblink_exec('b', 'RESET ROLE'), 'RESET', '(back to the bound role)');
SELECT throws_ok(pg_temp.remote('b', format($$SELECT set_config('tenantguard.context', %L, false)$$,
                                            format('tgctx1;%s;S;0;admin;admin:x', :'globex'))), '42501', NULL,
    'the bound login cannot forge a context for another tenant (42501)');
SELECT is(pg_temp.rq('b', $$WITH i AS (INSERT INTO tg15.docs (id, body) VALUES (10, 'bound') RETURNING tenant_id) SELECT tenant_id::text FROM i$$),
    :'acme', 'a row inserted by the bound login gets its tenant by default');
SELECT throws_ok(pg_temp.remote('b', format($$INSERT INTO tg15.docs VALUES (%L, 11, 'x') RETURNING 1$$, :'globex')),
    '42501', NULL, 'the bound login cannot insert a row for another tenant (42501)');

-- Changes made by another backend apply to the open bound session at once.
SELECT tenantguard.suspend_tenant(:'acme') \gset
SELECT is(pg_temp.rq('b', 'SELECT tenantguard.current_tenant()::text'), NULL,
    'when its tenant is suspended the bound session has no context');
SELECT throws_ok($$SELECT pg_temp.rq('b', 'SELECT count(*)::text FROM tg15.docs')$$, '42501', NULL,
    'and the protected table is closed to it (42501)');
SELECT tenantguard.activate_tenant(:'acme') \gset
SELECT is(pg_temp.rq('b', 'SELECT tenantguard.current_tenant()::text'), :'acme',
    'when the tenant is reactivated the binding applies again');
SELECT tenantguard.bind_role('tg15_bound', :'globex') \gset
SELECT is(pg_temp.rq('b', 'SELECT string_agg(body, '','' ORDER BY id) FROM tg15.docs'), 'globex-1',
    'rebinding the role to Globex in another backend moves the open session to Globex');
SELECT tenantguard.unbind_role('tg15_bound') \gset
SELECT is(pg_temp.rq('b', 'SELECT tenantguard.current_tenant()::text'), NULL,
    'unbind_role() in another backend leaves the open session without a context');
SELECT throws_ok($$SELECT pg_temp.rq('b', 'SELECT count(*)::text FROM tg15.docs')$$, '42501', NULL,
    'and the protected table is closed to it (42501)');
SELECT dblink_disconnect('b') \gset

-- A bound login that is also an administrator cannot leave its tenant.
SELECT dblink_connect('ba', pg_temp.connstr('tg15_boundadmin')) \gset
SELECT is(pg_temp.rq('ba', 'SELECT tenantguard.current_tenant()::text'), :'globex', 'a bound administrator is in its tenant');
SELECT throws_ok(pg_temp.remote('ba', format('SELECT tenantguard.set_tenant(%L)::text', :'acme')), '42501', NULL,
    'set_tenant() to another tenant is refused for a bound login (42501)');
SELECT throws_ok(pg_temp.remote('ba', format('SELECT tenantguard.set_tenant(%L, false)::text', :'acme')), '42501', NULL,
    'also in session scope (42501)');
SELECT is(pg_temp.rq('ba', format('SELECT tenantguard.set_tenant(%L)::text', :'globex')), '',
    'set_tenant() to its own tenant is allowed');
SELECT is(pg_temp.rq('ba', 'SELECT string_agg(body, '','' ORDER BY id) FROM tg15.docs'), 'globex-1',
    'and it still sees only its tenant''s rows');
SELECT dblink_disconnect('ba') \gset

-- An ordinary application login has no context and cannot enter one.
SELECT dblink_connect('app', pg_temp.connstr('tg15_app')) \gset
SELECT is(pg_temp.rq('app', 'SELECT tenantguard.current_tenant()::text'), NULL, 'an unbound application login starts without a context');
SELECT throws_ok($$SELECT pg_temp.rq('app', 'SELECT count(*)::text FROM tg15.docs')$$, '42501', NULL,
    'and is refused the protected table (42501)');
SELECT dblink_disconnect('app') \gset

-- ---------------------------------------------------------------------------
-- 5. The startup packet (PGOPTIONS / options=-c ...) cannot carry a context
-- ---------------------------------------------------------------------------
SELECT lives_ok(format('SELECT dblink_connect(%L, %L)', 'opt', pg_temp.connstr('tg15_app') || $o$ options='-c work_mem=8MB'$o$),
    'control: a login may pass ordinary settings in the startup packet');
SELECT is(pg_temp.rq('opt', $$SELECT current_setting('work_mem')$$), '8MB', '(the ordinary setting arrived)');
SELECT dblink_disconnect('opt') \gset
SELECT throws_ok(format('SELECT dblink_connect(%L, %L)', 'forged',
                        pg_temp.connstr('tg15_app') || format($o$ options='-c tenantguard.context=tgctx1;%s;S;0;admin;admin:x'$o$, :'globex')),
    '08001', NULL, 'a forged context in the startup packet makes the login fail');
SELECT throws_ok(format('SELECT dblink_connect(%L, %L)', 'forged',
                        pg_temp.connstr('tg15_app') || format($o$ options='-c tenantguard.tenant=%s'$o$, :'globex')),
    '08001', NULL, 'tenantguard.tenant in the startup packet makes the login fail');
SELECT is((SELECT count(*)::int FROM unnest(dblink_get_connections()) c WHERE c = 'forged'), 0,
    'no connection was established with a forged context');

-- ---------------------------------------------------------------------------
-- 6. A holdable cursor keeps rows read under the old context; DISCARD ALL closes it
-- ---------------------------------------------------------------------------
SELECT dblink_connect('cur', pg_temp.connstr('tg15_admin')) \gset
SELECT is(dblink_exec('cur', format('SELECT tenantguard.set_tenant(%L, false); BEGIN; DECLARE held CURSOR WITH HOLD FOR SELECT body FROM tg15.docs ORDER BY id; COMMIT', :'acme')),
    'COMMIT', 'an administrator session opens a WITH HOLD cursor in Acme');
SELECT is(dblink_exec('cur', 'DISCARD ALL'), 'DISCARD ALL', 'the pooler sends DISCARD ALL before handing the session on');
SELECT throws_ok(pg_temp.remote('cur', 'FETCH ALL FROM held'), '34000', NULL,
    'the next client cannot fetch the previous tenant''s rows: DISCARD ALL closed the cursor (34000)');
SELECT dblink_disconnect('cur') \gset

SELECT * FROM finish();

-- ---------------------------------------------------------------------------
-- Clean-up (roles are cluster-wide)
-- ---------------------------------------------------------------------------
DROP SCHEMA tg15 CASCADE;
DELETE FROM tenantguard.role_bindings;
DROP OWNED BY tg15_admin, tg15_app, tg15_bound, tg15_boundadmin, tg15_group;
DROP ROLE tg15_admin, tg15_app, tg15_bound, tg15_boundadmin, tg15_group;
