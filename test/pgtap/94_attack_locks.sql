-- Cross-tenant attack catalogue, part 12: locking every tenant out, and
-- probing through exclusion constraints.
--
-- A role with UPDATE (or DELETE, TRUNCATE) on a protected table may LOCK it
-- in any mode: LOCK TABLE ... IN ACCESS EXCLUSIVE MODE, held in an open
-- transaction, stops every tenant's reads and writes. The DDL guard refuses
-- lock modes above ROW EXCLUSIVE on protected tables (directly, through an
-- inheritance parent or through a view) to roles subject to their row level
-- security that do not own them. And an exclusion constraint that does not
-- compare the tenant column with = tells a tenant, through 23P01 errors,
-- what other tenants' rows hold: the isolation report lists such
-- constraints as it lists unique ones.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg94_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(19);

CREATE ROLE tg94_owner LOGIN;
CREATE ROLE tg94_app LOGIN IN ROLE tenantguard_app;    -- the attacker, bound to Acme
SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.bind_role('tg94_app', :'acme') \gset

CREATE SCHEMA tg94 AUTHORIZATION tg94_owner;
GRANT USAGE ON SCHEMA tg94 TO PUBLIC;
SET ROLE tg94_owner;
CREATE TABLE tg94.docs (tenant_id uuid, id int);
SELECT tenantguard.protect('tg94.docs') \gset
CREATE TABLE tg94.base (tenant_id uuid, id int);
CREATE TABLE tg94.kid () INHERITS (tg94.base);
SELECT tenantguard.protect('tg94.kid') \gset
CREATE VIEW tg94.docs_v WITH (security_invoker = true) AS SELECT * FROM tg94.docs;
GRANT SELECT, INSERT, UPDATE, DELETE ON tg94.docs, tg94.base, tg94.kid, tg94.docs_v TO tenantguard_app;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 1. LOCK above ROW EXCLUSIVE by an application role
-- ---------------------------------------------------------------------------
SET ROLE tg94_app;
SELECT throws_ok('LOCK TABLE tg94.docs IN ACCESS EXCLUSIVE MODE', '42501',
    'cannot lock protected table "docs" in ACCESS EXCLUSIVE mode',
    'LOCK ... IN ACCESS EXCLUSIVE MODE (every tenant blocked) is refused (42501)');
SELECT throws_ok('LOCK TABLE tg94.docs', '42501', NULL, 'LOCK TABLE without a mode (ACCESS EXCLUSIVE) is refused (42501)');
SELECT throws_ok('LOCK TABLE tg94.docs IN EXCLUSIVE MODE NOWAIT', '42501', NULL, 'EXCLUSIVE is refused (42501)');
SELECT throws_ok('LOCK TABLE tg94.docs IN SHARE ROW EXCLUSIVE MODE', '42501', NULL, 'SHARE ROW EXCLUSIVE is refused (42501)');
SELECT throws_ok('LOCK TABLE tg94.docs IN SHARE MODE', '42501', NULL, 'SHARE (blocks every write) is refused (42501)');
SELECT throws_ok('LOCK TABLE tg94.docs IN SHARE UPDATE EXCLUSIVE MODE', '42501', NULL, 'SHARE UPDATE EXCLUSIVE is refused (42501)');
SELECT throws_ok('LOCK TABLE tg94.base IN ACCESS EXCLUSIVE MODE', '42501',
    'cannot lock protected table "kid" in ACCESS EXCLUSIVE mode',
    'locking an inheritance parent, which locks its protected child, is refused (42501)');
SELECT throws_ok('LOCK TABLE tg94.docs_v IN ACCESS EXCLUSIVE MODE', '42501',
    'cannot lock protected table "docs" in ACCESS EXCLUSIVE mode',
    'locking a view, which locks the protected table it reads, is refused (42501)');
SELECT lives_ok('LOCK TABLE tg94.docs IN ROW EXCLUSIVE MODE', 'ROW EXCLUSIVE (what writes take anyway) is allowed');
SELECT lives_ok('LOCK TABLE tg94.docs IN ROW SHARE MODE', 'ROW SHARE is allowed');
SELECT lives_ok('LOCK TABLE tg94.docs IN ACCESS SHARE MODE', 'ACCESS SHARE is allowed');
SELECT lives_ok('LOCK TABLE ONLY tg94.base IN ACCESS EXCLUSIVE MODE', 'LOCK ONLY of the unprotected parent is allowed');
RESET ROLE;

-- Wait (up to 10 s) until n events match cond; they are committed by the ledger worker.
CREATE FUNCTION tg94.wait_events(cond text, want bigint) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
    t0 timestamptz := clock_timestamp();
BEGIN
    LOOP
        EXECUTE 'SELECT count(*) FROM tenantguard_audit.events e WHERE ' || cond INTO n;
        EXIT WHEN n >= want OR clock_timestamp() > t0 + interval '10 seconds';
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN n;
END $$;
SELECT is(tg94.wait_events($$e.category = 'ddl' AND e.decision = 'deny' AND e.action = 'lock' AND e.object = 'tg94.docs'$$, 7),
    7::bigint, 'each refused LOCK of docs (directly or through the view) is recorded as ddl / lock / deny');

SET ROLE tg94_owner;
SELECT lives_ok('LOCK TABLE tg94.docs IN ACCESS EXCLUSIVE MODE', 'the table''s owner may lock it (for migrations)');
RESET ROLE;
SELECT lives_ok('LOCK TABLE tg94.docs IN ACCESS EXCLUSIVE MODE', 'so may a superuser');

-- ---------------------------------------------------------------------------
-- 2. Exclusion constraints without the tenant column
-- ---------------------------------------------------------------------------
CREATE FUNCTION tg94.finding(sev text, obj text, pattern text) RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM tenantguard.isolation_report() r
                    WHERE r.severity = sev AND r.object = obj AND r.finding LIKE pattern)
$$;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE tg94.bookings (tenant_id uuid, room int, during tsrange,
    CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&));
CREATE TABLE tg94.rooms (tenant_id uuid, room int, during tsrange,
    CONSTRAINT own_overlap EXCLUDE USING gist (tenant_id WITH =, room WITH =, during WITH &&));
CREATE TABLE tg94.fuzzy (tenant_id uuid, during tsrange,
    CONSTRAINT not_equal EXCLUDE USING gist (tenant_id WITH <>, during WITH &&));
SELECT tenantguard.protect('tg94.bookings') \gset
SELECT tenantguard.protect('tg94.rooms') \gset
SELECT tenantguard.protect('tg94.fuzzy') \gset
SELECT ok(tg94.finding('warning', 'tg94.bookings constraint no_overlap', 'exclusion constraint does not compare the tenant column with =%'),
    'an exclusion constraint without the tenant column is a warning (an overlap oracle, 23P01)');
SELECT ok(tg94.finding('warning', 'tg94.fuzzy constraint not_equal', 'exclusion constraint does not compare the tenant column with =%'),
    'so is one that compares the tenant column with another operator');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object LIKE 'tg94.rooms constraint %'),
    'one that compares the tenant column with = is not a finding');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object LIKE 'tg94.% index %'),
    '(exclusion constraints are not reported as unique indexes)');

SELECT * FROM finish();
ROLLBACK;
