-- Cross-tenant attack catalogue, part 10: restrictive policies that leak.
--
-- PostgreSQL evaluates the restrictive policies of a table together with the
-- permissive ones at the same security level, ordered by cost (restrictive
-- ones first on a tie), whatever is leakproof: a restrictive policy runs on
-- other tenants' rows before tenantguard's isolation policy has removed
-- them. One that applies a non-leakproof function or cast to a column --
-- USING ((pin::int) > 0), or a PL/pgSQL check raising with the value --
-- shows another tenant's value in the error a tenant gets when reading its
-- own rows, and one bad row breaks every tenant's reads. The DDL guard
-- refuses such restrictive policies on protected tables (as PostgreSQL's own
-- contain_leaked_vars() judges them), protect() warns about existing ones and
-- the isolation report lists them.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg92_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(25);

CREATE ROLE tg92_owner LOGIN;
CREATE ROLE tg92_app LOGIN IN ROLE tenantguard_app;    -- bound to Acme
SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset
SELECT tenantguard.bind_role('tg92_app', :'acme') \gset

CREATE SCHEMA tg92 AUTHORIZATION tg92_owner;
GRANT USAGE ON SCHEMA tg92 TO PUBLIC;

SET ROLE tg92_owner;
-- no index on the tenant column: a sequential scan evaluates every policy on every row
CREATE TABLE tg92.accounts (tenant_id uuid, id int, pin text);
SELECT tenantguard.protect('tg92.accounts', create_index => false) \gset
CREATE TABLE tg92.allowed (pin int);
CREATE FUNCTION tg92.check_pin(p text) RETURNS boolean LANGUAGE plpgsql COST 1 AS $$
BEGIN
    IF p !~ '^[0-9]+$' THEN
        RAISE EXCEPTION 'malformed pin %', p;
    END IF;
    RETURN true;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON tg92.accounts TO tenantguard_app;
GRANT SELECT ON tg92.allowed TO tenantguard_app;
RESET ROLE;
INSERT INTO tg92.accounts VALUES (:'acme', 1, '1234'), (:'acme', 2, '5678'), (:'globex', 3, 'globex-secret');

-- The attack, as it was: the owner adds the restrictive policy with the guard
-- off. Its function is declared cheap (COST 1), so it is ordered before the
-- isolation policy.
SET LOCAL tenantguard.ddl_guard = off;
CREATE POLICY checked ON tg92.accounts AS RESTRICTIVE USING (tg92.check_pin(pin));
SET LOCAL tenantguard.ddl_guard = on;
SET ROLE tg92_app;
SELECT throws_ok('SELECT id FROM tg92.accounts', 'P0001', 'malformed pin globex-secret',
    '(without the guard) Acme reading its own rows gets Globex''s pin in the error: the restrictive policy ran first');
RESET ROLE;
DROP POLICY checked ON tg92.accounts;

-- ---------------------------------------------------------------------------
-- 1. Refused: non-leakproof functions, operators and casts on the row's columns
-- ---------------------------------------------------------------------------
SET ROLE tg92_owner;
SELECT throws_ok('CREATE POLICY positive_pin ON tg92.accounts AS RESTRICTIVE USING ((pin::int) > 0)',
    '42501', 'restrictive policy "positive_pin" on protected table "accounts" is not leakproof',
    'a restrictive policy casting a column (an error shows the value) is refused (42501)');
SELECT throws_ok('CREATE POLICY checked ON tg92.accounts AS RESTRICTIVE USING (tg92.check_pin(pin))',
    '42501', NULL, 'a restrictive policy calling a PL/pgSQL function that raises with the value is refused (42501)');
SELECT throws_ok('CREATE POLICY checked ON tg92.accounts AS RESTRICTIVE FOR UPDATE USING (true) WITH CHECK (tg92.check_pin(pin))',
    '42501', NULL, 'a leaky WITH CHECK expression is refused (42501)');
SELECT throws_ok($$CREATE POLICY pattern ON tg92.accounts AS RESTRICTIVE USING (pin ~ '^[0-9]')$$,
    '42501', NULL, 'a non-leakproof operator on a column (regular expression match) is refused (42501)');
SELECT throws_ok('CREATE POLICY listed ON tg92.accounts AS RESTRICTIVE USING (EXISTS (SELECT 1 FROM tg92.allowed a WHERE a.pin = accounts.pin::int))',
    '42501', NULL, 'a subquery that casts the row''s column is refused (42501)');
SELECT throws_ok('CREATE POLICY listed ON tg92.accounts AS RESTRICTIVE USING (EXISTS (SELECT 1 FROM tg92.allowed a WHERE a.pin = accounts.id))',
    '42501', NULL, 'any subquery that refers to the row counts as leaky, as in PostgreSQL (42501)');
SELECT lives_ok('CREATE POLICY narrow ON tg92.accounts AS RESTRICTIVE USING (id > 0)', '(a leakproof restrictive policy)');
SELECT throws_ok('ALTER POLICY narrow ON tg92.accounts USING ((pin::int) > 0)',
    '42501', 'restrictive policy "narrow" on protected table "accounts" is not leakproof',
    'ALTER POLICY making a restrictive policy leaky is refused (42501)');
RESET ROLE;
SELECT is((SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polname = 'narrow'), '(id > 0)',
    'the policy kept its leakproof expression');
SELECT throws_ok('CREATE POLICY positive_pin ON tg92.accounts AS RESTRICTIVE USING ((pin::int) > 0)',
    '42501', NULL, 'a superuser is refused too (42501)');

SET ROLE tg92_app;
SELECT results_eq('SELECT id FROM tg92.accounts ORDER BY id', 'VALUES (1), (2)',
    'Acme reads its own rows without any error: the leak is gone');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 2. Allowed: leakproof operators on columns, anything on constants
-- ---------------------------------------------------------------------------
SET ROLE tg92_owner;
SELECT lives_ok($$CREATE POLICY not_closed ON tg92.accounts AS RESTRICTIVE USING (pin <> 'closed' AND id >= 0)$$,
    'leakproof comparisons of columns (text <>, int >=) are allowed');
SELECT lives_ok($$CREATE POLICY admins ON tg92.accounts AS RESTRICTIVE FOR DELETE USING (tenantguard.current_role_name() IS DISTINCT FROM 'viewer')$$,
    'a function of constants is allowed, leakproof or not');
SELECT lives_ok('CREATE POLICY in_context ON tg92.accounts AS RESTRICTIVE USING ((SELECT tenantguard.current_tenant()) IS NOT NULL)',
    'an uncorrelated subquery is allowed');
SELECT lives_ok('CREATE POLICY listed ON tg92.accounts AS RESTRICTIVE FOR UPDATE USING (id IN (SELECT a.pin FROM tg92.allowed a))',
    'a column compared with the result of an uncorrelated subquery by a leakproof operator is allowed');
RESET ROLE;
SET ROLE tg92_app;
SELECT results_eq('SELECT id FROM tg92.accounts ORDER BY id', 'VALUES (1), (2)', 'Acme still reads its rows');
RESET ROLE;
SELECT lives_ok('CREATE POLICY elsewhere ON tg92.allowed AS RESTRICTIVE USING ((pin::text)::int > 0)',
    'tables that are not protected are not checked');

-- ---------------------------------------------------------------------------
-- 3. protect() of a table that already has one, and the isolation report
-- ---------------------------------------------------------------------------
CREATE TABLE tg92.legacy (tenant_id uuid, code text);
CREATE POLICY numeric_code ON tg92.legacy AS RESTRICTIVE USING ((code::int) > 0);
ALTER TABLE tg92.legacy ENABLE ROW LEVEL SECURITY;
SET LOCAL client_min_messages = error;   -- (its WARNING names the policy)
SELECT lives_ok($$SELECT tenantguard.protect('tg92.legacy')$$,
    'protect() of a table with a leaky restrictive policy protects it (and warns)');
RESET client_min_messages;
CREATE FUNCTION tg92.finding(sev text, obj text, pattern text) RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM tenantguard.isolation_report() r
                    WHERE r.severity = sev AND r.object = obj AND r.finding LIKE pattern)
$$;
SELECT ok(tg92.finding('error', 'tg92.legacy policy numeric_code', 'restrictive policy is not leakproof%'),
    'the isolation report lists the leaky restrictive policy as an error');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object LIKE 'tg92.accounts policy %'),
    'the leakproof ones are not findings');
SELECT is(tenantguard._policy_is_leakproof((SELECT oid FROM pg_policy WHERE polname = 'numeric_code')), false,
    '_policy_is_leakproof() says so');
SELECT is(tenantguard._policy_is_leakproof((SELECT oid FROM pg_policy WHERE polname = 'narrow')), true,
    'and that the leakproof one is');
SET ROLE tg92_app;
SELECT throws_ok('SELECT tenantguard._policy_is_leakproof(0)', '42501', NULL,
    '_policy_is_leakproof() is not executable by application roles (42501)');
RESET ROLE;
SET ROLE tg92_owner;
SELECT throws_ok('CREATE POLICY narrow2 ON tg92.accounts AS RESTRICTIVE USING (tg92.check_pin(pin) OR id > 0)',
    '42501', NULL, 'a leaky call hidden in an OR is refused (42501)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
