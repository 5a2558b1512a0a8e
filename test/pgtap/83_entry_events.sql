-- Context entries without a write (issue 9): set_tenant() records its event
-- without making the transaction write.
--
--   * a read-write transaction that enters a tenant and only reads has no
--     transaction id at its end (pg_current_xact_id_if_assigned() IS NULL);
--     the same under SET TRANSACTION READ ONLY, BEGIN READ ONLY and
--     default_transaction_read_only = on;
--   * the event is written by the ledger worker afterwards, with the entry's
--     time (not the time it was written), tenant, principal, session user,
--     application_name and scope; it survives ROLLBACK, ROLLBACK TO SAVEPOINT
--     and a transaction with more entries than are kept in memory;
--   * a transaction that writes anyway gets the event in the transaction,
--     with its txid (and loses it on rollback only to the queue: it is still
--     recorded);
--   * refusals are recorded whatever the transaction does;
--   * an ordinary tenant role cannot call set_tenant() at all;
--   * tenantguard.audit_context_entries exists, is off and only a superuser
--     may change it.
--
-- The transactions under test must not call pgTAP (it writes to temporary
-- tables, which assigns a transaction id): their facts are taken with \gset
-- and checked after COMMIT. Runs WITHOUT an enclosing transaction; roles are
-- tg83_ and dropped at the end.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

SELECT plan(41);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tg83_admin') THEN DROP ROLE tg83_admin; END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tg83_member') THEN DROP ROLE tg83_member; END IF;
END $$;
CREATE ROLE tg83_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg83_member LOGIN IN ROLE tenantguard_app;

SELECT tenantguard.create_tenant('tg83-acme') AS acme \gset
SELECT tenantguard.create_tenant('tg83-globex') AS globex \gset
SELECT tenantguard.create_tenant('tg83-frozen') AS frozen \gset
SELECT tenantguard.suspend_tenant(:'frozen') \gset
SELECT tenantguard.bind_role('tg83_member', :'acme') \gset

CREATE SCHEMA tg83;
GRANT USAGE ON SCHEMA tg83 TO PUBLIC;
CREATE TABLE tg83.items (id serial PRIMARY KEY, tenant_id uuid, body text);
SELECT tenantguard.protect('tg83.items') \gset
SELECT tenantguard.audit_table('tg83.items') \gset
GRANT SELECT, INSERT ON tg83.items TO tenantguard_admin, tenantguard_app;
GRANT USAGE ON SEQUENCE tg83.items_id_seq TO tenantguard_admin, tenantguard_app;

CREATE FUNCTION tg83.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION tg83.state(text) TO PUBLIC;
-- Wait (up to 10 s) until want events match cond; their count.
CREATE FUNCTION tg83.wait_events(cond text, want bigint DEFAULT 1) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
    t0 timestamptz := clock_timestamp();
BEGIN
    LOOP
        EXECUTE 'SELECT count(*) FROM tenantguard_audit.events e WHERE ' || cond INTO n;
        EXIT WHEN n >= want OR clock_timestamp() > t0 + interval '10 s';
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN n;
END $$;

-- ---------------------------------------------------------------------------
-- 1. A read-write transaction that enters and reads stays without a txid
-- ---------------------------------------------------------------------------
SET application_name = 'tg83-rw';
BEGIN;
SET LOCAL ROLE tg83_admin;
SELECT clock_timestamp() AS t0 \gset
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT clock_timestamp() AS t1 \gset
SELECT count(*) AS n FROM tg83.items \gset
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid, txid_current_if_assigned() IS NULL AS no_xid_either \gset
SELECT pg_sleep(0.3) \gset
COMMIT;
SELECT ok(:'no_xid' AND :'no_xid_either',
    'set_tenant() + SELECT in a read-write transaction: no transaction id is assigned');
SELECT is(tg83.wait_events($$application_name = 'tg83-rw' AND action = 'set_tenant'$$), 1::bigint,
    '... and its event is written by the ledger worker');
SELECT results_eq(
    $$SELECT category, decision, tenant_id, principal, db_user::text COLLATE "default", details->>'scope', client_addr IS NULL
        FROM tenantguard_audit.events WHERE application_name = 'tg83-rw' AND action = 'set_tenant'$$,
    format($$VALUES ('context', 'allow', %L::uuid, 'admin:' || session_user::text COLLATE "default", session_user::text COLLATE "default", 'transaction', %L::boolean)$$,
           :'acme', inet_client_addr() IS NULL),
    '... with category, decision, tenant, principal, session user, client address and scope');
SELECT ok((SELECT occurred_at >= :'t0'::timestamptz AND occurred_at <= :'t1'::timestamptz
             FROM tenantguard_audit.events WHERE application_name = 'tg83-rw' AND action = 'set_tenant'),
    '... occurred_at is the time of the entry, not of the commit or of the write');
SELECT ok((SELECT txid IS NOT NULL FROM tenantguard_audit.events
            WHERE application_name = 'tg83-rw' AND action = 'set_tenant'),
    '... its txid is the ledger worker''s (the caller had none)');

-- ---------------------------------------------------------------------------
-- 2. Read-only transactions: SET TRANSACTION READ ONLY, BEGIN READ ONLY,
--    default_transaction_read_only = on
-- ---------------------------------------------------------------------------
SET application_name = 'tg83-set-ro';
BEGIN;
SET TRANSACTION READ ONLY;
SET LOCAL ROLE tg83_admin;
SELECT tg83.state(format('SELECT tenantguard.set_tenant(%L)', :'acme')) AS st \gset
SELECT count(*) AS n FROM tg83.items \gset
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid \gset
COMMIT;
SELECT is(:'st'::text, 'none', 'set_tenant() works under SET TRANSACTION READ ONLY');
SELECT ok(:'no_xid', '... and assigns no transaction id');
SELECT is(tg83.wait_events($$application_name = 'tg83-set-ro' AND action = 'set_tenant'$$), 1::bigint,
    '... its event is written by the ledger worker');

SET application_name = 'tg83-ro-late';
BEGIN;
SET LOCAL ROLE tg83_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
SET TRANSACTION READ ONLY;
SELECT count(*) AS n FROM tg83.items \gset
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid \gset
COMMIT;
SELECT ok(:'no_xid', 'a transaction made read-only after set_tenant() assigns no transaction id');
SELECT is(tg83.wait_events($$application_name = 'tg83-ro-late' AND action = 'set_tenant'$$), 1::bigint,
    '... and its event is written by the ledger worker');

SET application_name = 'tg83-default-ro';
SET default_transaction_read_only = on;
BEGIN;
SET LOCAL ROLE tg83_admin;
SELECT tg83.state(format('SELECT tenantguard.set_tenant(%L, false)', :'globex')) AS st \gset
SELECT count(*) AS n FROM tg83.items \gset
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid \gset
COMMIT;
SELECT tenantguard.clear_context() \gset
RESET default_transaction_read_only;
SELECT is(:'st'::text, 'none', 'set_tenant() works with default_transaction_read_only = on');
SELECT ok(:'no_xid', '... and assigns no transaction id');
SELECT is(tg83.wait_events($$application_name = 'tg83-default-ro' AND action = 'set_tenant'$$), 1::bigint,
    '... its event is written by the ledger worker');
SELECT results_eq(
    $$SELECT tenant_id, details->>'scope' FROM tenantguard_audit.events
       WHERE application_name = 'tg83-default-ro' AND action = 'set_tenant'$$,
    format($$VALUES (%L::uuid, 'session')$$, :'globex'),
    '... with the session scope');

-- ---------------------------------------------------------------------------
-- 3. The event survives the caller's rollback
-- ---------------------------------------------------------------------------
SET application_name = 'tg83-rollback';
BEGIN;
SET LOCAL ROLE tg83_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT count(*) AS n FROM tg83.items \gset
ROLLBACK;
SELECT is(tg83.wait_events($$application_name = 'tg83-rollback' AND action = 'set_tenant'$$), 1::bigint,
    'set_tenant() then ROLLBACK: the event is written after the rollback');

SET application_name = 'tg83-rollback-write';
BEGIN;
SET LOCAL ROLE tg83_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO tg83.items (body) VALUES ('rolled back');
ROLLBACK;
SELECT is(tg83.wait_events($$application_name = 'tg83-rollback-write' AND action = 'set_tenant'$$), 1::bigint,
    'set_tenant() + INSERT then ROLLBACK: the entry is still recorded');
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE application_name = 'tg83-rollback-write' AND action = 'insert'), 0::bigint,
    '... while the insert event rolled back with its row');

SET application_name = 'tg83-savepoint';
BEGIN;
SET LOCAL ROLE tg83_admin;
SAVEPOINT s;
SELECT tenantguard.set_tenant(:'globex') \gset
ROLLBACK TO SAVEPOINT s;
SELECT tenantguard.current_tenant() IS NULL AS left_tenant \gset
COMMIT;
SELECT ok(:'left_tenant', 'ROLLBACK TO SAVEPOINT leaves the tenant entered in it');
SELECT is(tg83.wait_events($$application_name = 'tg83-savepoint' AND action = 'set_tenant'$$), 1::bigint,
    '... but the entry is recorded');

-- more entries in one transaction than are kept in memory (4): all recorded
SET application_name = 'tg83-many';
BEGIN;
SET LOCAL ROLE tg83_admin;
DO $$
BEGIN
    FOR g IN 1..7 LOOP
        PERFORM tenantguard.set_tenant(tenantguard.tenant_id(CASE WHEN g % 2 = 0 THEN 'tg83-acme' ELSE 'tg83-globex' END));
        PERFORM tenantguard.clear_context();
    END LOOP;
END $$;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid \gset
ROLLBACK;
SELECT ok(:'no_xid', 'seven entries in one transaction assign no transaction id');
SELECT is(tg83.wait_events($$application_name = 'tg83-many' AND action = 'set_tenant'$$, 7), 7::bigint,
    '... and all seven are recorded after its rollback');
SELECT results_eq(
    $$SELECT tenant_id, count(*) FROM tenantguard_audit.events
       WHERE application_name = 'tg83-many' AND action = 'set_tenant' GROUP BY 1 ORDER BY 2$$,
    format($$VALUES (%L::uuid, 3::bigint), (%L::uuid, 4::bigint)$$, :'acme', :'globex'),
    '... each with its own tenant');

-- ---------------------------------------------------------------------------
-- 4. A transaction that writes anyway records the entry in itself
-- ---------------------------------------------------------------------------
SET application_name = 'tg83-write';
BEGIN;
SET LOCAL ROLE tg83_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO tg83.items (body) VALUES ('kept');
SELECT pg_current_xact_id()::text AS write_xid \gset
COMMIT;
SELECT results_eq(
    $$SELECT action, txid::text FROM tenantguard_audit.events
       WHERE application_name = 'tg83-write' ORDER BY id$$,
    format($$VALUES ('insert', %1$L), ('set_tenant', %1$L)$$, :'write_xid'),
    'set_tenant() + INSERT: the entry is written at commit (after the insert) in the transaction, with its txid');

SET application_name = 'tg83-write-before';
BEGIN;
SET LOCAL ROLE tg83_admin;
SELECT pg_current_xact_id()::text AS write_xid \gset
SELECT tenantguard.set_tenant(:'globex') \gset
COMMIT;
SELECT is((SELECT txid::text FROM tenantguard_audit.events
            WHERE application_name = 'tg83-write-before' AND action = 'set_tenant'), :'write_xid',
    'a transaction that already has a transaction id records the entry with it');

-- ---------------------------------------------------------------------------
-- 5. Refusals are always recorded
-- ---------------------------------------------------------------------------
SET application_name = 'tg83-refused';
BEGIN READ ONLY;
SET LOCAL ROLE tg83_admin;
SELECT tg83.state(format('SELECT tenantguard.set_tenant(%L)', :'frozen')) AS st \gset
ROLLBACK;
SELECT is(:'st'::text, '42501', 'entering a suspended tenant is refused (42501) in a read-only transaction');
SELECT is(tg83.wait_events($$application_name = 'tg83-refused' AND action = 'context.enter' AND decision = 'deny'$$),
    1::bigint, '... and the refusal is recorded although the transaction rolled back');
SELECT is((SELECT tenant_id FROM tenantguard_audit.events
            WHERE application_name = 'tg83-refused' AND action = 'context.enter'), :'frozen'::uuid,
    '... naming the tenant asked for');
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE application_name = 'tg83-refused' AND action = 'set_tenant'), 0::bigint,
    '... and no set_tenant event is recorded for the refused entry');

-- ---------------------------------------------------------------------------
-- 6. Who can enter: an ordinary tenant role cannot flood with set_tenant()
-- ---------------------------------------------------------------------------
SET application_name = 'tg83-member';
SET ROLE tg83_member;
SELECT tg83.state(format('SELECT tenantguard.set_tenant(%L)', :'acme')) AS st \gset
SELECT has_function_privilege('tenantguard.set_tenant(uuid, boolean)', 'EXECUTE') AS can \gset
RESET ROLE;
SELECT is(:'st'::text, '42501', 'a tenant role cannot call set_tenant() (42501)');
SELECT ok(NOT :'can', '... it has no EXECUTE privilege on it');
SELECT ok(NOT has_function_privilege('public', 'tenantguard.set_tenant(uuid, boolean)', 'EXECUTE'),
    '... nor has PUBLIC');
SELECT ok(has_function_privilege('tenantguard_admin', 'tenantguard.set_tenant(uuid, boolean)', 'EXECUTE'),
    '... tenantguard_admin has');
SELECT pg_sleep(0.3) \gset
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE application_name = 'tg83-member' AND action = 'set_tenant'), 0::bigint,
    '... and nothing is recorded as an entry');

-- ---------------------------------------------------------------------------
-- 7. tenantguard.audit_context_entries
-- ---------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT setting, vartype, context, boot_val FROM pg_settings WHERE name = 'tenantguard.audit_context_entries'$$,
    $$VALUES ('off', 'bool', 'superuser', 'off')$$,
    'tenantguard.audit_context_entries is a boolean, off by default, set by superusers');
SET ROLE tg83_admin;
SELECT tg83.state('SET tenantguard.audit_context_entries = on') AS st \gset
RESET ROLE;
SELECT is(:'st'::text, '42501', '... an administrator cannot change it (42501)');
SET ROLE tg83_member;
SELECT tg83.state('SET tenantguard.audit_context_entries = off') AS st \gset
RESET ROLE;
SELECT is(:'st'::text, '42501', '... nor can a tenant role');
-- administrators' entries are recorded whatever it says
SET tenantguard.audit_context_entries = off;
SET application_name = 'tg83-setting-off';
BEGIN;
SET LOCAL ROLE tg83_admin;
SELECT tenantguard.set_tenant(:'acme') \gset
COMMIT;
RESET tenantguard.audit_context_entries;
SELECT is(tg83.wait_events($$application_name = 'tg83-setting-off' AND action = 'set_tenant'$$), 1::bigint,
    '... set_tenant() is recorded with it off');

-- ---------------------------------------------------------------------------
-- 8. Queued and direct entry events verify like any other
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE application_name LIKE 'tg83-%' AND action = 'set_tenant'), 17::bigint,
    'every entry of this file is recorded once (17)');
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE application_name LIKE 'tg83-%' AND details ? 'repeated'), 0::bigint,
    '... none of them coalesced (few events: each has its own row)');
SELECT is((SELECT ok FROM tenantguard_audit.verify()), true, 'verify() is ok after them');
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE action = 'audit.events_dropped'), 0::bigint, 'no event was dropped');

SELECT * FROM finish();

-- ---------------------------------------------------------------------------
-- Clean up the roles (the database is dropped by the runner)
-- ---------------------------------------------------------------------------
SELECT tenantguard.unbind_role('tg83_member') \gset
DROP OWNED BY tg83_admin, tg83_member;
DROP ROLE tg83_admin;
DROP ROLE tg83_member;
