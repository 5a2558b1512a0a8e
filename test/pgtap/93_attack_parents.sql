-- Cross-tenant attack catalogue, part 11: writing through an unprotected
-- partitioned parent.
--
-- Rows written through a partitioned table are routed into its partitions
-- and checked against the parent's row level security only: the WITH CHECK
-- of a protected partition is not applied. So INSERT, COPY FROM and an UPDATE
-- that moves rows through an unprotected parent planted rows in another
-- tenant's protected partition. Such writes are refused, as reads through the
-- parent already were, with a hint to protect the parent.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg93_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(16);

CREATE ROLE tg93_owner LOGIN;
CREATE ROLE tg93_app LOGIN IN ROLE tenantguard_app;    -- the attacker, bound to Acme
SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset
SELECT tenantguard.bind_role('tg93_app', :'acme') \gset

CREATE SCHEMA tg93 AUTHORIZATION tg93_owner;
GRANT USAGE ON SCHEMA tg93 TO PUBLIC;

SET ROLE tg93_owner;
-- the parent is not protected (the isolation report says so); one partition is
CREATE TABLE tg93.ledger (tenant_id uuid NOT NULL, k int NOT NULL, body text) PARTITION BY LIST (k);
CREATE TABLE tg93.ledger_1 PARTITION OF tg93.ledger FOR VALUES IN (1);
CREATE TABLE tg93.ledger_2 PARTITION OF tg93.ledger FOR VALUES IN (2);
SELECT tenantguard.protect('tg93.ledger_1') \gset
-- an inheritance parent: inserts into it stay in it
CREATE TABLE tg93.base (tenant_id uuid NOT NULL, body text);
CREATE TABLE tg93.kid () INHERITS (tg93.base);
SELECT tenantguard.protect('tg93.kid') \gset
GRANT SELECT, INSERT, UPDATE, DELETE ON tg93.ledger, tg93.ledger_1, tg93.ledger_2, tg93.base, tg93.kid
    TO tenantguard_app;
RESET ROLE;
GRANT pg_execute_server_program TO tg93_app;   -- so the attack can use COPY FROM PROGRAM in this test
INSERT INTO tg93.ledger VALUES (:'globex', 1, 'globex-1'), (:'acme', 2, 'acme-2');

-- ---------------------------------------------------------------------------
-- 1. Writes through the unprotected parent are refused
-- ---------------------------------------------------------------------------
SET ROLE tg93_app;
SELECT throws_ok(format($$INSERT INTO tg93.ledger VALUES (%L, 1, 'planted by acme')$$, :'globex'),
    '42501', 'protected table "ledger_1" cannot be written through unprotected parent "ledger"',
    'INSERT through the unprotected parent, routed into Globex''s protected partition, is refused (42501)');
SELECT throws_ok(format($$INSERT INTO tg93.ledger VALUES (%L, 2, 'x') ON CONFLICT DO NOTHING$$, :'acme'),
    '42501', NULL, 'any INSERT through it is refused, also one that would land in an unprotected partition (42501)');
SELECT throws_ok(format($$INSERT INTO tg93.ledger SELECT %L, 1, 'planted by acme'$$, :'globex'),
    '42501', NULL, 'INSERT ... SELECT through it is refused (42501)');
SELECT throws_ok(format($$COPY tg93.ledger FROM PROGRAM 'printf "%s\\t1\\tcopied by acme\\n"'$$, :'globex'),
    '42501', 'protected table "ledger_1" cannot be written through unprotected parent "ledger"',
    'COPY FROM through the unprotected parent is refused (42501)');
SELECT throws_ok(format($$UPDATE tg93.ledger SET k = 1, tenant_id = %L WHERE k = 2$$, :'globex'),
    '42501', NULL, 'an UPDATE through it that would move rows into Globex''s partition is refused (42501)');
SELECT throws_ok(format($$UPDATE ONLY tg93.ledger SET k = 1, tenant_id = %L$$, :'globex'),
    '42501', NULL, 'UPDATE ONLY of the partitioned parent is refused too (42501)');
SELECT throws_ok(format($$MERGE INTO tg93.ledger l USING (SELECT %L::uuid AS t) s ON false
                         WHEN NOT MATCHED THEN INSERT VALUES (s.t, 1, 'merged by acme')$$, :'globex'),
    '42501', NULL, 'MERGE into it is refused (42501)');
SELECT throws_ok($$UPDATE tg93.ledger_2 SET k = 1$$, '23514', NULL,
    'updating the unprotected partition directly cannot move rows: the partition constraint holds (23514)');
RESET ROLE;
SELECT results_eq('SELECT tenant_id::text, body FROM tg93.ledger_1',
    format($$VALUES (%L, 'globex-1')$$, :'globex'),
    'Globex''s protected partition holds only Globex''s own row');

-- ---------------------------------------------------------------------------
-- 2. What stays allowed
-- ---------------------------------------------------------------------------
SET ROLE tg93_app;
SELECT lives_ok($$INSERT INTO tg93.base (tenant_id, body) VALUES (tenantguard.current_tenant(), 'in the parent')$$,
    'INSERT into an inheritance parent is allowed: the row stays in the parent');
SELECT lives_ok($$INSERT INTO tg93.ledger_2 VALUES (tenantguard.current_tenant(), 2, 'direct')$$,
    'writing to the unprotected partition directly is allowed');
RESET ROLE;
SELECT lives_ok(format($$INSERT INTO tg93.ledger VALUES (%L, 1, 'by a superuser')$$, :'globex'),
    'a superuser (not subject to row level security) may write through the parent');

-- Protecting the parent lets the application write through it, for its own tenant only.
SET ROLE tg93_owner;
SELECT tenantguard.protect('tg93.ledger') \gset
RESET ROLE;
SET ROLE tg93_app;
SELECT lives_ok($$INSERT INTO tg93.ledger (k, body) VALUES (1, 'acme through the protected parent')$$,
    'once the parent is protected, INSERT through it works');
SELECT throws_ok(format($$INSERT INTO tg93.ledger VALUES (%L, 1, 'planted by acme')$$, :'globex'),
    '42501', 'new row violates row-level security policy for table "ledger"',
    'and a row for Globex fails the parent''s policy (42501)');
SELECT throws_ok(format($$COPY tg93.ledger FROM PROGRAM 'printf "%s\\t1\\tcopied\\n"'$$, :'globex'),
    '0A000', NULL, 'and COPY FROM is refused by PostgreSQL, as for every protected table (0A000)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tg93.ledger_1 WHERE tenant_id = :'globex' AND body LIKE '%acme%'), 0,
    'no row of Acme''s ever landed in Globex''s partition');

SELECT * FROM finish();
ROLLBACK;
