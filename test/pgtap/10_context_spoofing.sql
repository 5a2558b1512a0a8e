-- Cross-tenant attack catalogue, part 1: forging or stealing a tenant context.
--
-- Attacker: an application login role (member of tenantguard_app) that wants
-- to read or write another tenant's rows by writing the context settings
-- itself, or by slipping a context in through role/database/function settings.
-- Also the lifecycle of a legitimately entered context (locking, clearing,
-- savepoints, suspension) and the fail-closed require_context switch.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg10_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(101);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg10_app LOGIN IN ROLE tenantguard_app;         -- the attacker
CREATE ROLE tg10_admin LOGIN IN ROLE tenantguard_admin;     -- a platform admin
CREATE ROLE tg10_dbowner LOGIN;                              -- owns the database for ALTER DATABASE tests

SELECT tenantguard.create_tenant('acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('globex', 'Globex') AS globex \gset
SELECT tenantguard.create_tenant('initech', 'Initech') AS initech \gset

CREATE SCHEMA tg10;
GRANT USAGE, CREATE ON SCHEMA tg10 TO tg10_app;
GRANT USAGE, CREATE ON SCHEMA tg10 TO tg10_admin;
CREATE TABLE tg10.docs (
    tenant_id uuid NOT NULL,
    id        int  NOT NULL,
    body      text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
SELECT tenantguard.protect('tg10.docs') \gset
INSERT INTO tg10.docs VALUES
    (:'acme', 1, 'acme-1'), (:'acme', 2, 'acme-2'),
    (:'globex', 3, 'globex-1');
GRANT SELECT, INSERT, UPDATE, DELETE ON tg10.docs TO tenantguard_app, tenantguard_admin;

-- Number of rows a data-modifying statement touched (runs as the caller).
CREATE FUNCTION tg10.affected(stmt text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
    EXECUTE stmt;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- A forged internal context value for Globex, as an attacker would write it.
SELECT format('tgctx1;%s;L;0;admin;admin:x', :'globex') AS forged \gset
SELECT format('tgctx1;%s;S;0;admin;admin:x', :'globex') AS forged_session \gset

-- ---------------------------------------------------------------------------
-- 1. Writing the context settings directly (as an application role)
-- ---------------------------------------------------------------------------
SET ROLE tg10_app;

SELECT is(tenantguard.current_tenant(), NULL, 'the application role starts without a tenant context');

SELECT throws_ok(format('SET tenantguard.tenant = %L', :'globex'), '42501',
    NULL, 'SET tenantguard.tenant is refused (42501)');
SELECT throws_ok(format('SET LOCAL tenantguard.tenant = %L', :'globex'), '42501',
    NULL, 'SET LOCAL tenantguard.tenant is refused (42501)');
SELECT throws_ok(format($$SELECT set_config('tenantguard.tenant', %L, false)$$, :'globex'), '42501',
    NULL, 'set_config(tenantguard.tenant, ..., false) is refused (42501)');
SELECT throws_ok(format($$SELECT set_config('tenantguard.tenant', %L, true)$$, :'globex'), '42501',
    NULL, 'set_config(tenantguard.tenant, ..., true) is refused (42501)');

SELECT throws_ok($$SET tenantguard.principal = 'admin:postgres'$$, '42501',
    NULL, 'SET tenantguard.principal is refused (42501)');
SELECT throws_ok($$SET LOCAL tenantguard.principal = 'admin:postgres'$$, '42501',
    NULL, 'SET LOCAL tenantguard.principal is refused (42501)');
SELECT throws_ok($$SELECT set_config('tenantguard.principal', 'admin:postgres', false)$$, '42501',
    NULL, 'set_config(tenantguard.principal, ..., false) is refused (42501)');
SELECT throws_ok($$SELECT set_config('tenantguard.principal', 'admin:postgres', true)$$, '42501',
    NULL, 'set_config(tenantguard.principal, ..., true) is refused (42501)');

SELECT throws_ok(format('SET tenantguard.context = %L', :'forged'), '42501',
    NULL, 'SET tenantguard.context to a forged internal value is refused (42501)');
SELECT throws_ok(format('SET LOCAL tenantguard.context = %L', :'forged'), '42501',
    NULL, 'SET LOCAL tenantguard.context to a forged internal value is refused (42501)');
SELECT throws_ok(format('SET tenantguard.context = %L', :'forged_session'), '42501',
    NULL, 'SET tenantguard.context to a forged session-scope value is refused (42501)');
SELECT throws_ok(format($$SELECT set_config('tenantguard.context', %L, false)$$, :'forged'), '42501',
    NULL, 'set_config(tenantguard.context, forged, false) is refused (42501)');
SELECT throws_ok(format($$SELECT set_config('tenantguard.context', %L, true)$$, :'forged'), '42501',
    NULL, 'set_config(tenantguard.context, forged, true) is refused (42501)');

SELECT throws_ok($$SET tenantguard.context = 'garbage'$$, '28000',
    NULL, 'SET tenantguard.context to garbage is an invalid credential (28000)');
SELECT throws_ok($$SET LOCAL tenantguard.context = 'eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0.'$$, '28000',
    NULL, 'SET LOCAL tenantguard.context to an unsigned token is an invalid credential (28000)');
SELECT throws_ok($$SELECT set_config('tenantguard.context', 'tgctx0;x', false)$$, '28000',
    NULL, 'set_config(tenantguard.context, garbage, false) is an invalid credential (28000)');
SELECT throws_ok($$SELECT set_config('tenantguard.context', 'garbage', true)$$, '28000',
    NULL, 'set_config(tenantguard.context, garbage, true) is an invalid credential (28000)');

SELECT is(tenantguard.current_tenant(), NULL, 'after every refused write there is still no tenant context');
SELECT is(current_setting('tenantguard.tenant'), '', 'tenantguard.tenant still reads empty');
SELECT throws_ok('SELECT count(*) FROM tg10.docs', '42501', 'no tenant context is set',
    'so the protected table is still closed to the attacker');

-- ---------------------------------------------------------------------------
-- 2. Smuggling a context in through stored settings
-- ---------------------------------------------------------------------------
SELECT throws_ok(format('ALTER ROLE tg10_app SET tenantguard.context = %L', :'forged'), '42501',
    NULL, 'ALTER ROLE ... SET tenantguard.context (forged) is refused (42501)');
SELECT throws_ok(format('ALTER ROLE tg10_app SET tenantguard.tenant = %L', :'globex'), '42501',
    NULL, 'ALTER ROLE ... SET tenantguard.tenant is refused (42501)');
SELECT throws_ok($$ALTER ROLE tg10_app SET tenantguard.principal = 'admin:postgres'$$, '42501',
    NULL, 'ALTER ROLE ... SET tenantguard.principal is refused (42501)');
SELECT lives_ok($$ALTER ROLE tg10_app SET work_mem = '8MB'$$,
    'control: the role may store ordinary settings on itself');
SELECT is((SELECT count(*)::int FROM pg_db_role_setting s
            WHERE s.setrole = 'tg10_app'::regrole
              AND array_to_string(s.setconfig, ',') LIKE '%tenantguard%'), 0,
    'no tenantguard setting was stored for the role');

RESET ROLE;
-- A non-superuser database owner may ALTER DATABASE ... SET ordinary settings.
SELECT lives_ok(format('ALTER DATABASE %I OWNER TO tg10_dbowner', current_database()),
    'fixture: hand the database to a non-superuser owner');
SET ROLE tg10_dbowner;
SELECT lives_ok(format($$ALTER DATABASE %I SET work_mem = '8MB'$$, current_database()),
    'control: the database owner may store ordinary settings on the database');
SELECT throws_ok(format('ALTER DATABASE %I SET tenantguard.context = %L', current_database(), :'forged'), '42501',
    NULL, 'ALTER DATABASE ... SET tenantguard.context (forged) is refused (42501)');
SELECT throws_ok(format('ALTER DATABASE %I SET tenantguard.tenant = %L', current_database(), :'globex'), '42501',
    NULL, 'ALTER DATABASE ... SET tenantguard.tenant is refused (42501)');
SELECT throws_ok(format($$ALTER DATABASE %I SET tenantguard.principal = 'admin:postgres'$$, current_database()), '42501',
    NULL, 'ALTER DATABASE ... SET tenantguard.principal is refused (42501)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_db_role_setting s
            WHERE array_to_string(s.setconfig, ',') LIKE '%tenantguard%'), 0,
    'no tenantguard setting was stored for any role or database');

SET ROLE tg10_app;
SELECT lives_ok($$CREATE FUNCTION tg10.plain() RETURNS int LANGUAGE sql AS 'SELECT 1'$$,
    'control: the application role may create functions in its schema');
SELECT throws_ok(format($f$CREATE FUNCTION tg10.smuggle() RETURNS bigint LANGUAGE sql
                          SET tenantguard.context = %L AS 'SELECT count(*) FROM tg10.docs'$f$, :'forged'),
    '42501', NULL, 'CREATE FUNCTION ... SET tenantguard.context = <forged> is refused (42501)');
SELECT throws_ok(format($f$CREATE FUNCTION tg10.smuggle2() RETURNS int LANGUAGE sql
                          SET tenantguard.tenant = %L AS 'SELECT 1'$f$, :'globex'),
    '42501', NULL, 'CREATE FUNCTION ... SET tenantguard.tenant is refused (42501)');

-- ---------------------------------------------------------------------------
-- 3. The tenantguard.* namespace and the superuser-only switches
-- ---------------------------------------------------------------------------
SELECT throws_ok('SET tenantguard.foo = 1', '42602',
    NULL, 'inventing a placeholder tenantguard.foo is refused (42602)');
SELECT throws_ok($$SELECT set_config('tenantguard.tenant_override', 'x', false)$$, '42602',
    NULL, 'set_config of an invented tenantguard.* placeholder is refused (42602)');
SELECT throws_ok('SET tenantguard.require_context = off', '42501',
    NULL, 'an application role cannot switch off require_context (42501)');
SELECT throws_ok('SET LOCAL tenantguard.ddl_guard = off', '42501',
    NULL, 'an application role cannot switch off the DDL guard (42501)');
SELECT throws_ok('ALTER ROLE tg10_app SET tenantguard.require_context = off', '42501',
    NULL, 'an application role cannot store require_context = off on itself (42501)');

-- ---------------------------------------------------------------------------
-- 4. set_tenant is for administrators only
-- ---------------------------------------------------------------------------
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'acme'), '42501',
    NULL, 'set_tenant() is not executable by tenantguard_app members (42501)');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L, false)', :'acme'), '42501',
    NULL, 'set_tenant(..., is_local => false) is not executable by tenantguard_app members (42501)');
SELECT lives_ok('SELECT tenantguard.clear_context()', 'clear_context() without a context is harmless');
SELECT is(tenantguard.current_tenant(), NULL, 'still no context');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 5. The context of an administrator: lock, clear, reset, savepoints
-- ---------------------------------------------------------------------------
SET ROLE tg10_admin;
SELECT lives_ok(format('SELECT tenantguard.set_tenant(%L)', :'acme'), 'an administrator enters Acme');
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'current_tenant() is Acme');
SELECT is(current_setting('tenantguard.tenant'), :'acme', 'the read-only mirror tenantguard.tenant shows Acme');
SELECT is(tenantguard.current_principal(), 'admin:' || session_user, 'the principal is admin:<session_user>');
SELECT is(current_setting('tenantguard.principal'), 'admin:' || session_user, 'the mirror tenantguard.principal agrees');
SELECT is(tenantguard.current_role_name(), 'admin', 'the role is admin');
SELECT throws_ok($f$CREATE FUNCTION tg10.capture() RETURNS int LANGUAGE sql
                    SET tenantguard.context FROM CURRENT AS 'SELECT 1'$f$,
    '28000', NULL, 'CREATE FUNCTION ... SET tenantguard.context FROM CURRENT cannot capture the context (28000)');
SELECT results_eq('SELECT tenant_slug, scope FROM tenantguard.whoami()',
    $$VALUES ('acme'::text, 'transaction'::text)$$, 'whoami() reports Acme with transaction scope');
SELECT is(current_setting('tenantguard.context'), '[set]', 'reading tenantguard.context never shows its value');
SELECT is((SELECT count(*)::int FROM pg_settings WHERE setting LIKE 'tgctx%' OR reset_val LIKE 'tgctx%'), 0,
    'pg_settings never shows the internal context value');
SELECT results_eq('SELECT body FROM tg10.docs ORDER BY id', $$VALUES ('acme-1'), ('acme-2')$$,
    'tenantguard_admin is not BYPASSRLS: inside Acme it sees only Acme rows');
SELECT is((SELECT count(*)::int FROM tg10.docs WHERE tenant_id = :'globex'), 0,
    'asking for Globex rows by tenant_id inside Acme finds nothing');

SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'globex'), '42501',
    NULL, 'the locked scope refuses a different tenant (42501)');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L, false)', :'globex'), '42501',
    NULL, 'the locked scope refuses a different tenant in session scope too (42501)');
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'after the refusal the context is still Acme');
SELECT lives_ok(format('SELECT tenantguard.set_tenant(%L)', :'acme'), 'the locked scope accepts the same tenant again');
SELECT lives_ok('SELECT tenantguard.clear_context()', 'clear_context() leaves Acme');
SELECT is(tenantguard.current_tenant(), NULL, 'after clear_context() there is no context');
SELECT throws_ok('SELECT count(*) FROM tg10.docs', '42501', 'no tenant context is set',
    'after clear_context() the protected table is closed again');
SELECT lives_ok(format('SELECT tenantguard.set_tenant(%L)', :'globex'), 'after clear_context() another tenant can be entered');
SELECT results_eq('SELECT body FROM tg10.docs ORDER BY id', $$VALUES ('globex-1')$$,
    'inside Globex only Globex rows are visible');

-- RESET of any context setting clears the context (fail closed).
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'acme') \gset
RESET tenantguard.context;
SELECT is(tenantguard.current_tenant(), NULL, 'RESET tenantguard.context clears the context');
SELECT tenantguard.set_tenant(:'acme') \gset
RESET tenantguard.tenant;
SELECT is(tenantguard.current_tenant(), NULL, 'RESET tenantguard.tenant clears the context');
SELECT tenantguard.set_tenant(:'acme') \gset
RESET tenantguard.principal;
SELECT is(tenantguard.current_tenant(), NULL, 'RESET tenantguard.principal clears the context');
SELECT tenantguard.set_tenant(:'acme') \gset
RESET ALL;
SELECT is(tenantguard.current_tenant(), NULL, 'RESET ALL clears the context');
SELECT is(current_user::text, 'tg10_admin', '(RESET ALL does not reset the role, so the checks above ran as the admin)');
SELECT tenantguard.set_tenant(:'acme') \gset
SET tenantguard.context TO DEFAULT;
SELECT is(tenantguard.current_tenant(), NULL, 'SET tenantguard.context TO DEFAULT clears the context');
SELECT tenantguard.set_tenant(:'acme') \gset
SET tenantguard.tenant TO DEFAULT;
SELECT is(tenantguard.current_tenant(), NULL, 'SET tenantguard.tenant TO DEFAULT clears the context');
SELECT tenantguard.set_tenant(:'acme') \gset
SET LOCAL tenantguard.principal TO DEFAULT;
SELECT is(tenantguard.current_tenant(), NULL, 'SET LOCAL tenantguard.principal TO DEFAULT clears the context');

-- Savepoints.
SELECT tenantguard.set_tenant(:'acme') \gset
SAVEPOINT sp1;
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT is(tenantguard.current_tenant(), :'globex'::uuid, 'inside the savepoint the context is Globex');
ROLLBACK TO SAVEPOINT sp1;
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'ROLLBACK TO SAVEPOINT restores the previous context (Acme)');
SAVEPOINT sp2;
SELECT tenantguard.clear_context() \gset
ROLLBACK TO SAVEPOINT sp2;
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'a rolled-back clear_context() leaves the context in place');
SAVEPOINT sp3;
SELECT tenantguard.set_tenant(:'acme', false) \gset
RELEASE SAVEPOINT sp3;
SELECT results_eq('SELECT scope FROM tenantguard.whoami()', $$VALUES ('session'::text)$$,
    'a released savepoint keeps the context it set (session scope)');
SELECT tenantguard.clear_context() \gset

-- Suspended and unknown tenants.
SELECT lives_ok(format('SELECT tenantguard.suspend_tenant(%L)', :'initech'), 'an administrator suspends Initech');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'initech'), '42501',
    NULL, 'a suspended tenant cannot be entered (42501)');
SELECT is(tenantguard.current_tenant(), NULL, 'the refused entry left no context');
SELECT lives_ok(format('SELECT tenantguard.activate_tenant(%L)', :'initech'), 'an administrator reactivates Initech');
SELECT lives_ok(format('SELECT tenantguard.set_tenant(%L)', :'initech'), 'a reactivated tenant can be entered again');
SELECT is(tenantguard.current_tenant(), :'initech'::uuid, 'the context is Initech');
SELECT lives_ok(format('SELECT tenantguard.suspend_tenant(%L)', :'initech'), 'Initech is suspended while in use');
SELECT is(tenantguard.current_tenant(), :'initech'::uuid, 'a context already set ends with its scope, not at suspension');
SELECT tenantguard.clear_context() \gset
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'initech'), '42501',
    NULL, 'once left, the suspended tenant cannot be re-entered (42501)');
SELECT throws_ok($$SELECT tenantguard.set_tenant('00000000-0000-0000-0000-0000000000aa')$$, '42704',
    NULL, 'an unknown tenant cannot be entered (42704)');
SELECT throws_ok('SELECT tenantguard.set_tenant(NULL)', '22004',
    NULL, 'set_tenant(NULL) is refused (22004)');
SELECT throws_ok($$SELECT tenantguard.set_tenant('not-a-uuid')$$, '22P02',
    NULL, 'set_tenant() with a malformed uuid is refused (22P02)');
SELECT is(tenantguard.current_tenant(), NULL, 'none of the refused entries left a context');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 6. require_context: no context means an error, never a silent empty result
-- ---------------------------------------------------------------------------
SET ROLE tg10_app;
SELECT throws_ok('SELECT * FROM tg10.docs', '42501', 'no tenant context is set',
    'SELECT from a protected table without a context fails (42501)');
SELECT throws_ok('SELECT 1 FROM (SELECT 1) s WHERE EXISTS (SELECT 1 FROM tg10.docs)', '42501', 'no tenant context is set',
    'a protected table hidden in a subquery fails the same way');
SELECT throws_ok($$INSERT INTO tg10.docs (id, body) VALUES (10, 'x')$$, '42501', 'no tenant context is set',
    'INSERT into a protected table without a context fails (42501)');
SELECT throws_ok($$UPDATE tg10.docs SET body = 'x'$$, '42501', 'no tenant context is set',
    'UPDATE of a protected table without a context fails (42501)');
SELECT throws_ok('DELETE FROM tg10.docs', '42501', 'no tenant context is set',
    'DELETE from a protected table without a context fails (42501)');
RESET ROLE;

SET LOCAL tenantguard.require_context = off;   -- superuser only
SET ROLE tg10_app;
SELECT is((SELECT count(*)::int FROM tg10.docs), 0,
    'with require_context = off a SELECT without a context silently returns no rows');
SELECT throws_ok($$INSERT INTO tg10.docs (id, body) VALUES (10, 'x')$$, '42501',
    'new row violates row-level security policy for table "docs"',
    'with require_context = off an INSERT without a context fails the RLS check');
SELECT throws_ok(format($$INSERT INTO tg10.docs (tenant_id, id, body) VALUES (%L, 10, 'x')$$, :'globex'), '42501',
    'new row violates row-level security policy for table "docs"',
    'with require_context = off an INSERT naming a tenant explicitly fails the RLS check');
SELECT is(tg10.affected($$UPDATE tg10.docs SET body = 'x'$$), 0,
    'with require_context = off an UPDATE without a context changes nothing');
SELECT is(tg10.affected('DELETE FROM tg10.docs'), 0,
    'with require_context = off a DELETE without a context removes nothing');
RESET ROLE;
SET LOCAL tenantguard.require_context = on;
SELECT is((SELECT count(*)::int FROM tg10.docs), 3, 'every row is still there (superuser view)');

SELECT * FROM finish();
ROLLBACK;
