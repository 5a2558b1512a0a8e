-- Audit ledger, part 1: what is recorded, by whom it can be read, and that
-- nobody can change it.
--
--   * tenantguard_audit.events / blocks: shape, append-only for everyone
--     (superuser included: UPDATE / DELETE / TRUNCATE raise 42501);
--   * audit_table() / unaudit_table(): INSERT / UPDATE (changed columns
--     only) / DELETE / TRUNCATE events, excluded columns, sealed columns as
--     "[secret]", tenant from the row, principal / db_user / txid /
--     application_name / client_addr captured; partitioned tables; only the
--     owner may (un)audit; the DDL guard keeps the owner from switching the
--     audit triggers off behind tenantguard's back;
--   * audit_log(): category 'app', actor and tenant from the context only;
--   * events recorded by the other subsystems (tenants, role
--     bindings, protect, vault, reveal, key rotation, reencrypt) and the
--     refusals that go through the ledger worker (they are committed by a
--     background worker, so they are polled for, up to 10 s);
--   * no event ever contains a plaintext, ciphertext or key used here;
--   * visibility: auditor all, tenant admin/owner/auditor their tenant only,
--     tenant members nothing.
-- Sealing and verification need committed transactions: see 81_audit_seal.sql.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg80_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(154);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg80_owner LOGIN;                               -- owns the audited tables
CREATE ROLE tg80_other LOGIN;                               -- owns nothing
CREATE ROLE tg80_auditor LOGIN IN ROLE tenantguard_auditor;
CREATE ROLE tg80_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg80_member LOGIN IN ROLE tenantguard_app;      -- bound to Acme with the default role (operator)
CREATE ROLE tg80_towner LOGIN IN ROLE tenantguard_app;      -- bound to Acme as 'owner'
CREATE ROLE tg80_tauditor LOGIN IN ROLE tenantguard_app;    -- bound to Globex as 'auditor' (granted audit.read)
CREATE ROLE tg80_free LOGIN IN ROLE tenantguard_app;        -- not bound: no context

SELECT tenantguard.create_tenant('tg80-acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('tg80-globex', 'Globex') AS globex \gset
SELECT tenantguard.create_tenant('tg80-frozen', 'Frozen') AS frozen \gset

CREATE SCHEMA tg80;
GRANT USAGE ON SCHEMA tg80 TO PUBLIC;
GRANT CREATE ON SCHEMA tg80 TO tg80_owner;

-- Run a statement; its SQLSTATE ('none' when it succeeds).
CREATE FUNCTION tg80.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
-- Wait (up to timeout seconds) until an event matching cond exists; the count.
-- Each EXECUTE takes a new snapshot, so events committed by the ledger worker appear.
CREATE FUNCTION tg80.wait_events(cond text, want bigint DEFAULT 1, timeout float8 DEFAULT 10) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
    t0 timestamptz := clock_timestamp();
BEGIN
    LOOP
        EXECUTE 'SELECT count(*) FROM tenantguard_audit.events e WHERE ' || cond INTO n;
        EXIT WHEN n >= want OR clock_timestamp() > t0 + make_interval(secs => timeout);
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN n;
END $$;
-- Run stmt right after inserting a (fake) block, so that row-level triggers on
-- blocks have a row to fire on; both are undone with the subtransaction, which
-- also releases the locks (the ledger worker's seal() must never wait on us).
CREATE FUNCTION tg80.state_with_block(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenantguard_audit.blocks (id, from_xid, to_xid, event_count, events_root, prev_hash, block_hash, signature)
    VALUES (1000000, '0', '1', 0, '\x00', '\x00', '\x00', '\x00');
    EXECUTE stmt;
    RAISE EXCEPTION USING ERRCODE = 'P0999', MESSAGE = 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN CASE SQLSTATE WHEN 'P0999' THEN 'none' ELSE SQLSTATE END;
END $$;
-- The same with a (fake) signing key row.
CREATE FUNCTION tg80.state_with_key(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenantguard_audit.signing_keys (first_block, public_key) VALUES (1000000, '\x00');
    EXECUTE stmt;
    RAISE EXCEPTION USING ERRCODE = 'P0999', MESSAGE = 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN CASE SQLSTATE WHEN 'P0999' THEN 'none' ELSE SQLSTATE END;
END $$;
-- Leave the current tenant and enter another one (superuser / admin).
CREATE FUNCTION tg80.enter(t uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantguard.clear_context();
    PERFORM tenantguard.set_tenant(t);
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg80 TO PUBLIC;

-- Every plaintext / ciphertext / key used in this file; none may appear in an event.
CREATE TEMP TABLE plaintexts (p text PRIMARY KEY);
GRANT SELECT ON plaintexts TO PUBLIC;

-- The newest event id before a step: events of the step have larger ids.
CREATE TEMP TABLE marks (name text PRIMARY KEY, id bigint);
GRANT SELECT ON marks TO PUBLIC;
-- SECURITY DEFINER: the marks must see every event, whoever calls them
CREATE FUNCTION pg_temp.mark(n text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO marks VALUES (n, (SELECT coalesce(max(id), 0) FROM tenantguard_audit.events))
    ON CONFLICT (name) DO UPDATE SET id = EXCLUDED.id
$$;
CREATE FUNCTION pg_temp.since(n text) RETURNS bigint LANGUAGE sql AS $$
    SELECT id FROM marks WHERE name = n
$$;

-- ---------------------------------------------------------------------------
-- 1. Schema and columns (API.md, Audit)
-- ---------------------------------------------------------------------------
SELECT has_schema('tenantguard_audit', 'schema tenantguard_audit exists');
SELECT has_table('tenantguard_audit', 'events', 'table tenantguard_audit.events exists');
SELECT has_table('tenantguard_audit', 'blocks', 'table tenantguard_audit.blocks exists');
SELECT is(
    (SELECT string_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
       FROM pg_attribute a
      WHERE a.attrelid = 'tenantguard_audit.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
        AND a.attname IN ('id', 'occurred_at', 'tenant_id', 'category', 'action', 'principal', 'db_user',
                          'object', 'decision', 'reason', 'details', 'old_row', 'new_row', 'txid',
                          'client_addr', 'application_name')),
    'id bigint, occurred_at timestamp with time zone, tenant_id uuid, category text, action text, '
    'principal text, db_user name, object text, decision text, reason text, details jsonb, old_row jsonb, '
    'new_row jsonb, txid xid8, client_addr inet, application_name text',
    'events has every documented column, with the documented type, in the documented order');
SELECT ok(has_function_privilege('tenantguard_auditor', 'tenantguard_audit.seal()', 'EXECUTE')
          AND has_function_privilege('tenantguard_auditor', 'tenantguard_audit.verify(uuid)', 'EXECUTE')
          AND has_function_privilege('tenantguard_auditor', 'tenantguard_audit.digest()', 'EXECUTE')
          AND has_function_privilege('tenantguard_auditor', 'tenantguard_audit.verify_digest(jsonb)', 'EXECUTE')
          AND has_function_privilege('tenantguard_auditor', 'tenantguard_audit.public_key()', 'EXECUTE'),
    'tenantguard_auditor may run seal(), verify(), digest(), verify_digest() and public_key()');
SELECT ok(NOT has_function_privilege('tenantguard_app', 'tenantguard_audit.seal()', 'EXECUTE')
          AND NOT has_function_privilege('tenantguard_app', 'tenantguard_audit.verify(uuid)', 'EXECUTE')
          AND NOT has_function_privilege('tenantguard_app', 'tenantguard_audit._record(text, text, text, text, text, jsonb, uuid)', 'EXECUTE')
          AND NOT has_function_privilege('tenantguard_admin', 'tenantguard_audit._record(text, text, text, text, text, jsonb, uuid)', 'EXECUTE'),
    'applications cannot seal or verify, and nobody but tenantguard may call _record()');
SELECT is(
    (SELECT coalesce(array_to_string(p.proargnames, ','), '') FROM pg_proc p
      WHERE p.oid = 'tenantguard.audit_log(text, text, jsonb)'::regprocedure),
    'action,object,details',
    'audit_log(action, object, details) has no tenant, principal or time parameter to forge');

-- ---------------------------------------------------------------------------
-- 2. Append-only, superuser included
-- ---------------------------------------------------------------------------
-- No seal() in this file: it would hold the blocks lock to the end of this
-- transaction and stall the ledger worker (see 81_audit_seal.sql).
SELECT tenantguard.audit_log('tg80.fixture') \gset
SELECT cmp_ok((SELECT count(*) FROM tenantguard_audit.events), '>', 0::bigint, 'there is an event to attack');
SELECT is(tg80.state('UPDATE tenantguard_audit.events SET action = action'), '42501',
    'superuser UPDATE on events raises 42501');
SELECT is(tg80.state('DELETE FROM tenantguard_audit.events'), '42501',
    'superuser DELETE on events raises 42501');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.events'), '42501',
    'superuser TRUNCATE on events raises 42501');
SELECT is(tg80.state_with_block('UPDATE tenantguard_audit.blocks SET event_count = event_count'), '42501',
    'superuser UPDATE on blocks raises 42501');
SELECT is(tg80.state_with_block('DELETE FROM tenantguard_audit.blocks'), '42501',
    'superuser DELETE on blocks raises 42501');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.blocks'), '42501',
    'superuser TRUNCATE on blocks raises 42501');
SELECT is(tg80.state_with_key('UPDATE tenantguard_audit.signing_keys SET first_block = 1'), '42501',
    'superuser UPDATE on signing_keys raises 42501');
SELECT is(tg80.state_with_key('DELETE FROM tenantguard_audit.signing_keys'), '42501',
    'superuser DELETE on signing_keys raises 42501');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.signing_keys'), '42501',
    'superuser TRUNCATE on signing_keys raises 42501');
SELECT is(tg80.state_with_block('SELECT 1'), 'none', 'sanity: the fake rows of these checks can be inserted');
SELECT is(tg80.state_with_key('SELECT 1'), 'none', 'sanity: ... also into signing_keys');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.events, tenantguard_audit.blocks CASCADE'), '42501',
    'superuser TRUNCATE ... CASCADE of both raises 42501');
SELECT is(tg80.state($$DELETE FROM tenantguard_audit.events WHERE id = (SELECT max(id) FROM tenantguard_audit.events)$$), '42501',
    'superuser DELETE of the newest (unsealed) event raises 42501');

SET ROLE tg80_auditor;
SELECT is(tg80.state('UPDATE tenantguard_audit.events SET action = action'), '42501', 'auditor UPDATE on events raises 42501');
SELECT is(tg80.state('DELETE FROM tenantguard_audit.events'), '42501', 'auditor DELETE on events raises 42501');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.events'), '42501', 'auditor TRUNCATE on events raises 42501');
SELECT is(tg80.state('UPDATE tenantguard_audit.blocks SET event_count = 0'), '42501', 'auditor UPDATE on blocks raises 42501');
SELECT is(tg80.state('DELETE FROM tenantguard_audit.blocks'), '42501', 'auditor DELETE on blocks raises 42501');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.blocks'), '42501', 'auditor TRUNCATE on blocks raises 42501');
SELECT is(tg80.state('DELETE FROM tenantguard_audit.signing_keys'), '42501', 'auditor DELETE on signing_keys raises 42501');
SELECT is(tg80.state($$INSERT INTO tenantguard_audit.events (category, action, event_hash) VALUES ('app', 'forged', '\x00')$$),
    '42501', 'auditor INSERT into events raises 42501');
SELECT is(tg80.state('ALTER TABLE tenantguard_audit.events DISABLE TRIGGER append_only'), '42501',
    'auditor cannot disable the append-only trigger (42501)');
RESET ROLE;

SET ROLE tg80_admin;
SELECT tg80.enter(:'acme') \gset
SELECT is(tg80.state('UPDATE tenantguard_audit.events SET action = action'), '42501', 'tenant admin UPDATE on events raises 42501');
SELECT is(tg80.state('DELETE FROM tenantguard_audit.events'), '42501', 'tenant admin DELETE on events raises 42501');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.events'), '42501', 'tenant admin TRUNCATE on events raises 42501');
SELECT is(tg80.state('UPDATE tenantguard_audit.blocks SET event_count = 0'), '42501', 'tenant admin UPDATE on blocks raises 42501');
SELECT is(tg80.state('DELETE FROM tenantguard_audit.blocks'), '42501', 'tenant admin DELETE on blocks raises 42501');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.blocks'), '42501', 'tenant admin TRUNCATE on blocks raises 42501');
SELECT is(tg80.state($$INSERT INTO tenantguard_audit.events (category, action, event_hash) VALUES ('app', 'forged', '\x00')$$),
    '42501', 'tenant admin INSERT into events raises 42501');
SELECT is(tg80.state($$SELECT tenantguard_audit._record('admin', 'forged')$$), '42501',
    'tenant admin cannot call _record() (42501)');
SELECT tenantguard.clear_context() \gset
RESET ROLE;

SELECT tenantguard.bind_role('tg80_member', :'acme') \gset
SET ROLE tg80_member;
SELECT is(tg80.state('DELETE FROM tenantguard_audit.events'), '42501', 'application DELETE on events raises 42501');
SELECT is(tg80.state('TRUNCATE tenantguard_audit.events'), '42501', 'application TRUNCATE on events raises 42501');
SELECT is(tg80.state($$INSERT INTO tenantguard_audit.events (category, action, event_hash) VALUES ('app', 'forged', '\x00')$$),
    '42501', 'application INSERT into events raises 42501');
SELECT is(tg80.state('SELECT count(*) FROM tenantguard_audit.blocks'), '42501', 'applications cannot read blocks (42501)');
SELECT is(tg80.state('SELECT tenantguard_audit.seal()'), '42501', 'applications cannot seal (42501)');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 3. audit_table(): data events
-- ---------------------------------------------------------------------------
CREATE TABLE tg80.items (
    id        int PRIMARY KEY,
    tenant_id uuid NOT NULL,
    body      text,
    qty       numeric,
    flag      boolean,
    meta      jsonb,
    pw        tenantguard.secret,
    internal  text,
    cache     text
);
ALTER TABLE tg80.items OWNER TO tg80_owner;
SELECT tenantguard.protect('tg80.items') \gset
GRANT SELECT, INSERT, UPDATE, DELETE ON tg80.items TO tenantguard_app, tenantguard_admin;

SET ROLE tg80_other;
SELECT is(tg80.state($$SELECT tenantguard.audit_table('tg80.items')$$), '42501',
    'a role that does not own the table cannot audit_table() it (42501)');
RESET ROLE;
SELECT is(tg80.state($$SELECT tenantguard.audit_table('tg80.items', '{no_such_column}')$$), '42703',
    'audit_table() with an unknown excluded column fails with 42703');
CREATE VIEW tg80.items_v AS SELECT id FROM tg80.items;
SELECT is(tg80.state($$SELECT tenantguard.audit_table('tg80.items_v')$$), '42809',
    'audit_table() of a view fails with 42809');

SELECT pg_temp.mark('audit_table') \gset
SET ROLE tg80_owner;
SELECT lives_ok($$SELECT tenantguard.audit_table('tg80.items', '{internal,cache}')$$,
    'the owner audits the table, excluding two columns');
RESET ROLE;
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE id > pg_temp.since('audit_table') AND category = 'policy' AND action = 'audit_table'
              AND object = 'tg80.items' AND details->'exclude_columns' = '["internal", "cache"]'),
    1::bigint, 'audit_table() itself is recorded (policy / audit_table, with the excluded columns)');
SELECT results_eq(
    $$SELECT tgname::text COLLATE "default" FROM pg_trigger WHERE tgrelid = 'tg80.items'::regclass ORDER BY 1$$,
    $$VALUES ('tenantguard_audit_row'), ('tenantguard_audit_truncate')$$,
    'audit_table() creates the row and TRUNCATE triggers');

INSERT INTO plaintexts VALUES ('tg80-row-password-1'), ('tg80-row-password-2'),
    ('tg80-internal-note'), ('tg80-cache-value'), ('tg80-cache-value-2');

-- INSERT, as tenant admin of Acme, with a known application_name
SET application_name = 'tg80-app-name';
SET ROLE tg80_admin;
SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('insert') \gset
INSERT INTO tg80.items (id, body, qty, flag, meta, pw, internal, cache)
VALUES (1, 'first "quoted" body', 12.50, true, '{"k": [1, 2]}',
        tenantguard.seal('tg80-row-password-1'), 'tg80-internal-note', 'tg80-cache-value');
SELECT pg_current_xact_id()::text AS insert_xid \gset
RESET ROLE;
SELECT tenantguard.clear_context() \gset

CREATE TEMP TABLE ev AS
    SELECT * FROM tenantguard_audit.events WHERE id > pg_temp.since('insert') AND category = 'data';
SELECT results_eq($$SELECT action, object, decision FROM ev$$,
    $$VALUES ('insert', 'tg80.items', 'allow')$$,
    'one INSERT event: action insert, object tg80.items, decision allow');
SELECT is((SELECT new_row FROM ev),
    jsonb_build_object('id', 1, 'tenant_id', :'acme'::uuid, 'body', 'first "quoted" body', 'qty', 12.50,
                       'flag', true, 'meta', '{"k": [1, 2]}'::jsonb, 'pw', '[secret]'),
    'new_row has every column but the excluded ones, typed (numbers, booleans, json), the sealed column as "[secret]"');
SELECT ok((SELECT NOT (new_row ? 'internal') AND NOT (new_row ? 'cache') FROM ev),
    'excluded columns are absent from new_row');
SELECT is((SELECT old_row FROM ev), NULL, 'an INSERT has no old_row');
SELECT is((SELECT tenant_id FROM ev), :'acme'::uuid, 'the event''s tenant is the row''s tenant');
SELECT is((SELECT principal FROM ev), 'admin:postgres', 'principal is the context principal (admin:<session user>)');
SELECT is((SELECT db_user::text FROM ev), 'postgres', 'db_user is the session user');
SELECT is((SELECT txid::text FROM ev), :'insert_xid', 'txid is the inserting transaction''s id');
SELECT is((SELECT application_name FROM ev), 'tg80-app-name', 'application_name is captured');
SELECT ok((SELECT client_addr IS NOT DISTINCT FROM inet_client_addr() FROM ev),
    'client_addr is the connection''s client address');
SELECT ok((SELECT occurred_at BETWEEN now() AND clock_timestamp() FROM ev), 'occurred_at is the time of the change');
SELECT is((SELECT length(event_hash) FROM ev), 32, 'the event is hashed at insert (32-byte event_hash)');
RESET application_name;
DROP TABLE ev;

-- db_user follows the session user
SET SESSION AUTHORIZATION tg80_admin;
SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('session_user') \gset
INSERT INTO tg80.items (id, body) VALUES (2, 'second');
SELECT tenantguard.clear_context() \gset
RESET SESSION AUTHORIZATION;
SELECT results_eq(
    $$SELECT db_user::text COLLATE "default", principal, tenant_id FROM tenantguard_audit.events
       WHERE id > pg_temp.since('session_user') AND category = 'data'$$,
    format('VALUES (%L, %L, %L::uuid)', 'tg80_admin', 'admin:tg80_admin', :'acme'),
    'db_user and principal name the session user who made the change');

-- UPDATE: only the changed columns, in both images
SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('update') \gset
UPDATE tg80.items SET body = 'first, edited', qty = 13 WHERE id = 1;
SELECT results_eq(
    $$SELECT action, old_row, new_row FROM tenantguard_audit.events
       WHERE id > pg_temp.since('update') AND category = 'data'$$,
    $$VALUES ('update', '{"body": "first \"quoted\" body", "qty": 12.50}'::jsonb,
                        '{"body": "first, edited", "qty": 13}'::jsonb)$$,
    'an UPDATE records only the changed columns, old and new');

SELECT pg_temp.mark('update_excluded') \gset
UPDATE tg80.items SET internal = 'changed', cache = 'tg80-cache-value-2' WHERE id = 1;
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id > pg_temp.since('update_excluded') AND category = 'data'),
    0::bigint, 'an UPDATE that changes only excluded columns records nothing');

SELECT pg_temp.mark('update_same') \gset
UPDATE tg80.items SET body = body WHERE id = 1;
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id > pg_temp.since('update_same') AND category = 'data'),
    0::bigint, 'an UPDATE that changes no value records nothing');

SELECT pg_temp.mark('update_mixed') \gset
UPDATE tg80.items SET internal = 'again', flag = false, meta = NULL WHERE id = 1;
SELECT results_eq(
    $$SELECT old_row, new_row FROM tenantguard_audit.events
       WHERE id > pg_temp.since('update_mixed') AND category = 'data'$$,
    $$VALUES ('{"flag": true, "meta": {"k": [1, 2]}}'::jsonb, '{"flag": false, "meta": null}'::jsonb)$$,
    'an UPDATE of excluded and audited columns records only the audited ones (NULL as JSON null)');

SELECT pg_temp.mark('update_secret') \gset
UPDATE tg80.items SET pw = tenantguard.seal('tg80-row-password-2') WHERE id = 1;
SELECT results_eq(
    $$SELECT old_row, new_row FROM tenantguard_audit.events
       WHERE id > pg_temp.since('update_secret') AND category = 'data'$$,
    $$VALUES ('{"pw": "[secret]"}'::jsonb, '{"pw": "[secret]"}'::jsonb)$$,
    'a changed sealed column is recorded as "[secret]" in both images');

SELECT pg_temp.mark('delete') \gset
DELETE FROM tg80.items WHERE id = 2;
SELECT results_eq(
    $$SELECT action, old_row, new_row, tenant_id FROM tenantguard_audit.events
       WHERE id > pg_temp.since('delete') AND category = 'data'$$,
    format($$VALUES ('delete', jsonb_build_object('id', 2, 'tenant_id', %L::uuid, 'body', 'second', 'qty', null,
                                                  'flag', null, 'meta', null, 'pw', null), NULL::jsonb, %L::uuid)$$,
           :'acme', :'acme'),
    'a DELETE records the whole old row (excluded columns absent), no new_row');
SELECT tenantguard.clear_context() \gset

-- the tenant comes from the row, not from the context
SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('row_tenant') \gset
INSERT INTO tg80.items (id, tenant_id, body) VALUES (3, :'globex', 'written by a superuser into Globex');
SELECT tenantguard.clear_context() \gset
INSERT INTO tg80.items (id, tenant_id, body) VALUES (4, :'globex', 'no context at all');
SELECT results_eq(
    $$SELECT tenant_id, principal FROM tenantguard_audit.events
       WHERE id > pg_temp.since('row_tenant') AND category = 'data' ORDER BY id$$,
    format($$VALUES (%L::uuid, 'admin:postgres'), (%L::uuid, NULL)$$, :'globex', :'globex'),
    'the event''s tenant is the row''s tenant column, even when the context is another tenant or none');

-- bound application role: principal role:<name>
SET ROLE tg80_member;
SELECT pg_temp.mark('app_insert') \gset
INSERT INTO tg80.items (id, body) VALUES (5, 'from the application');
RESET ROLE;
SELECT results_eq(
    $$SELECT action, principal, tenant_id FROM tenantguard_audit.events
       WHERE id > pg_temp.since('app_insert') AND category = 'data'$$,
    format($$VALUES ('insert', 'role:tg80_member', %L::uuid)$$, :'acme'),
    'an application''s change is recorded with its bound principal and tenant');

-- a statement that fails leaves no event
SELECT pg_temp.mark('failed') \gset
SELECT is(tg80.state($$INSERT INTO tg80.items (id, tenant_id, body) VALUES (10, '$$ || :'acme' || $$', 'x'), (1, '$$ || :'acme' || $$', 'dup')$$),
    '23505', 'a multi-row INSERT that fails on a duplicate key ...');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id > pg_temp.since('failed') AND category = 'data'),
    0::bigint, '... leaves no data event, not even for the row that was inserted first');

-- TRUNCATE (an unprotected audited table; protected ones refuse TRUNCATE to non-superusers)
CREATE TABLE tg80.notes (id int, body text);
ALTER TABLE tg80.notes OWNER TO tg80_owner;
SET ROLE tg80_owner;
SELECT tenantguard.audit_table('tg80.notes') \gset
INSERT INTO tg80.notes VALUES (1, 'n1'), (2, 'n2');
SELECT pg_temp.mark('truncate') \gset
TRUNCATE tg80.notes;
RESET ROLE;
SELECT results_eq(
    $$SELECT category, action, object, old_row, new_row, db_user::text COLLATE "default" FROM tenantguard_audit.events
       WHERE id > pg_temp.since('truncate')$$,
    $$VALUES ('data', 'truncate', 'tg80.notes', NULL::jsonb, NULL::jsonb, 'postgres')$$,
    'TRUNCATE of an audited table records one truncate event');
SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('truncate_ctx') \gset
TRUNCATE tg80.notes;
SELECT is((SELECT tenant_id FROM tenantguard_audit.events WHERE id > pg_temp.since('truncate_ctx') AND action = 'truncate'),
    :'acme'::uuid, 'a TRUNCATE event takes its tenant from the context');
SELECT tenantguard.clear_context() \gset

-- ---------------------------------------------------------------------------
-- 4. Partitioned tables
-- ---------------------------------------------------------------------------
CREATE TABLE tg80.parts (id int NOT NULL, tenant_id uuid, v text) PARTITION BY RANGE (id);
CREATE TABLE tg80.parts_lo PARTITION OF tg80.parts FOR VALUES FROM (0) TO (100);
SELECT tenantguard.protect('tg80.parts') \gset
SELECT tenantguard.audit_table('tg80.parts') \gset
CREATE TABLE tg80.parts_hi PARTITION OF tg80.parts FOR VALUES FROM (100) TO (200);   -- created after audit_table()
SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('parts') \gset
INSERT INTO tg80.parts (id, v) VALUES (1, 'lo'), (150, 'hi');
UPDATE tg80.parts SET v = 'lo2' WHERE id = 1;
DELETE FROM tg80.parts WHERE id = 150;
SELECT results_eq(
    $$SELECT action, (coalesce(new_row, old_row)->>'id')::int, coalesce(new_row, old_row)->>'v', tenant_id
        FROM tenantguard_audit.events WHERE id > pg_temp.since('parts') AND category = 'data' ORDER BY id$$,
    format($$VALUES ('insert', 1, 'lo', %1$L::uuid), ('insert', 150, 'hi', %1$L::uuid),
                    ('update', NULL::int, 'lo2', %1$L::uuid), ('delete', 150, 'hi', %1$L::uuid)$$, :'acme'),
    'rows routed to partitions (including one created after audit_table()) are audited');
SELECT pg_temp.mark('parts_move') \gset
UPDATE tg80.parts SET id = 120 WHERE id = 1;
SELECT results_eq(
    $$SELECT action FROM tenantguard_audit.events WHERE id > pg_temp.since('parts_move') AND category = 'data' ORDER BY id$$,
    $$VALUES ('delete'), ('insert')$$,
    'a row moved to another partition is recorded (as delete + insert)');
SELECT tenantguard.clear_context() \gset

-- ---------------------------------------------------------------------------
-- 5. The DDL guard keeps the audit triggers on
-- ---------------------------------------------------------------------------
CREATE TABLE tg80.guarded (id int, tenant_id uuid, v text);
ALTER TABLE tg80.guarded OWNER TO tg80_owner;
SELECT tenantguard.protect('tg80.guarded') \gset
SET ROLE tg80_owner;
SELECT tenantguard.audit_table('tg80.guarded') \gset
CREATE FUNCTION tg80.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER other_trigger AFTER INSERT ON tg80.guarded FOR EACH ROW EXECUTE FUNCTION tg80.noop();
SELECT pg_temp.mark('guard') \gset
SELECT is(tg80.state('DROP TRIGGER tenantguard_audit_row ON tg80.guarded'), '42501',
    'the owner cannot DROP the audit row trigger (42501)');
SELECT is(tg80.state('DROP TRIGGER tenantguard_audit_truncate ON tg80.guarded'), '42501',
    'the owner cannot DROP the audit TRUNCATE trigger (42501)');
SELECT is(tg80.state('ALTER TABLE tg80.guarded DISABLE TRIGGER tenantguard_audit_row'), '42501',
    'the owner cannot DISABLE the audit row trigger (42501)');
SELECT is(tg80.state('ALTER TABLE tg80.guarded DISABLE TRIGGER tenantguard_audit_truncate'), '42501',
    'the owner cannot DISABLE the audit TRUNCATE trigger (42501)');
SELECT is(tg80.state('ALTER TABLE tg80.guarded DISABLE TRIGGER ALL'), '42501',
    'the owner cannot DISABLE TRIGGER ALL (42501)');
SELECT is(tg80.state('ALTER TABLE tg80.guarded DISABLE TRIGGER USER'), '42501',
    'the owner cannot DISABLE TRIGGER USER (42501)');
SELECT is(tg80.state('ALTER TRIGGER tenantguard_audit_row ON tg80.guarded RENAME TO not_audit'), '42501',
    'the owner cannot RENAME the audit trigger (42501)');
SELECT is(tg80.state('ALTER TABLE tg80.guarded ENABLE REPLICA TRIGGER tenantguard_audit_row'), '42501',
    'the owner cannot make the audit trigger fire only in replica mode (ENABLE REPLICA TRIGGER, 42501)');
SELECT is(tg80.state('CREATE OR REPLACE TRIGGER tenantguard_audit_row AFTER INSERT OR UPDATE OR DELETE ON tg80.guarded
                      FOR EACH ROW EXECUTE FUNCTION tg80.noop()'), '42501',
    'the owner cannot replace the audit trigger with CREATE OR REPLACE TRIGGER (42501)');
SELECT is(tg80.state('ALTER TABLE tg80.guarded DISABLE TRIGGER other_trigger'), 'none',
    'the owner may still disable its own, unrelated trigger');
SELECT results_eq(
    $$SELECT tgname::text COLLATE "default", tgenabled::text COLLATE "default", tgfoid::regproc::text FROM pg_trigger
       WHERE tgrelid = 'tg80.guarded'::regclass AND tgname LIKE 'tenantguard_audit%' ORDER BY 1$$,
    $$VALUES ('tenantguard_audit_row', 'O', 'tenantguard_audit._row_trigger'),
             ('tenantguard_audit_truncate', 'O', 'tenantguard_audit._truncate_trigger')$$,
    'after all those attempts both audit triggers are still there, enabled, calling tenantguard');
SELECT is(tg80.state('ALTER TABLE tg80.guarded DISABLE ROW LEVEL SECURITY'), '42501',
    'the owner cannot disable row level security of the protected table (42501)');
RESET ROLE;
-- eight of the statements above are refused by the guard today (two more must be)
SELECT cmp_ok(tg80.wait_events($$e.id > pg_temp.since('guard') AND e.category = 'ddl' AND e.decision = 'deny'$$, 8),
    '>=', 8::bigint, 'every refused statement is recorded as ddl / deny (committed by the ledger worker)');
SELECT is(tg80.wait_events($$e.id > pg_temp.since('guard') AND e.category = 'ddl' AND e.decision = 'deny'
                              AND e.action = 'drop the audit triggers'$$, 2), 2::bigint,
    'both refused DROP TRIGGERs are recorded as ddl / deny (committed by the ledger worker)');
SELECT is(tg80.wait_events($$e.id > pg_temp.since('guard') AND e.category = 'ddl' AND e.decision = 'deny'
                              AND e.action = 'disable row level security' AND e.object = 'tg80.guarded'$$), 1::bigint,
    'the refused DISABLE ROW LEVEL SECURITY is recorded as ddl / deny with the table');
SELECT is(tg80.wait_events($$e.id > pg_temp.since('guard') AND e.category = 'ddl' AND e.decision = 'deny'
                              AND e.action = 'rename the audit triggers'$$), 1::bigint,
    'the refused RENAME of the audit trigger is recorded');
SELECT is((SELECT count(*) FROM tenantguard_audit.events e WHERE e.id > pg_temp.since('guard') AND e.decision = 'deny'
              AND e.category = 'ddl' AND e.reason = 'refused by the tenantguard DDL guard' AND e.db_user = 'postgres'),
    (SELECT count(*) FROM tenantguard_audit.events e WHERE e.id > pg_temp.since('guard') AND e.decision = 'deny'
              AND e.category = 'ddl'),
    'refused DDL events carry the reason and the session user');

SET ROLE tg80_other;
SELECT is(tg80.state($$SELECT tenantguard.unaudit_table('tg80.guarded')$$), '42501',
    'a role that does not own the table cannot unaudit_table() it (42501)');
RESET ROLE;
SET ROLE tg80_owner;
SELECT pg_temp.mark('unaudit') \gset
SELECT lives_ok($$SELECT tenantguard.unaudit_table('tg80.guarded')$$, 'the owner can unaudit_table()');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tg80.guarded'::regclass AND tgname LIKE 'tenantguard_audit%'),
    0::bigint, 'unaudit_table() removes both audit triggers');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id > pg_temp.since('unaudit')
              AND category = 'policy' AND action = 'unaudit_table' AND object = 'tg80.guarded'),
    1::bigint, 'unaudit_table() is recorded');
SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('after_unaudit') \gset
INSERT INTO tg80.guarded (id, v) VALUES (1, 'not audited any more');
SELECT tenantguard.clear_context() \gset
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id > pg_temp.since('after_unaudit') AND category = 'data'),
    0::bigint, 'after unaudit_table() changes are no longer recorded');
SET ROLE tg80_owner;
SELECT lives_ok($$SELECT tenantguard.audit_table('tg80.guarded')$$, 'the table can be audited again');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 6. audit_log(): application events
-- ---------------------------------------------------------------------------
SET ROLE tg80_member;
SELECT pg_temp.mark('audit_log') \gset
SELECT tenantguard.audit_log('export.created', 'exports/42',
    jsonb_build_object('rows', 10, 'tenant_id', :'globex', 'principal', 'admin:root')) \gset
RESET ROLE;
SELECT results_eq(
    $$SELECT category, action, object, decision, tenant_id, principal, details FROM tenantguard_audit.events
       WHERE id > pg_temp.since('audit_log')$$,
    format($$VALUES ('app', 'export.created', 'exports/42', 'allow', %L::uuid, 'role:tg80_member',
                     jsonb_build_object('rows', 10, 'tenant_id', %L, 'principal', 'admin:root'))$$, :'acme', :'globex'),
    'audit_log() records category app with tenant and actor from the context; tenant/principal in details stay details');
SET ROLE tg80_admin;
SELECT tg80.enter(:'globex') \gset
SELECT pg_temp.mark('audit_log_admin') \gset
SELECT tenantguard.audit_log('report.viewed') \gset
SELECT tenantguard.clear_context() \gset
RESET ROLE;
SELECT results_eq(
    $$SELECT category, action, object, tenant_id, principal, details FROM tenantguard_audit.events
       WHERE id > pg_temp.since('audit_log_admin')$$,
    format($$VALUES ('app', 'report.viewed', NULL::text, %L::uuid, 'admin:postgres', '{}'::jsonb)$$, :'globex'),
    'audit_log() with defaults: no object, empty details, the admin''s tenant and principal');
SELECT is(tg80.state($$SELECT tenantguard.audit_log('')$$), '22023', 'audit_log() with an empty action fails with 22023');
SELECT is(tg80.state($$SELECT tenantguard.audit_log(NULL)$$), '22004', 'audit_log() with a NULL action fails with 22004');
SET ROLE tg80_other;
SELECT is(tg80.state($$SELECT tenantguard.audit_log('x')$$), '42501', 'a role outside tenantguard_app/admin cannot call audit_log() (42501)');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 7. Events recorded by the other subsystems
-- ---------------------------------------------------------------------------
SELECT pg_temp.mark('subsystems') \gset
SELECT tenantguard.create_tenant('tg80-initech', 'Initech') AS initech \gset
SELECT results_eq(
    $$SELECT category, action, object, tenant_id FROM tenantguard_audit.events
       WHERE id > pg_temp.since('subsystems') AND action = 'tenant.create'$$,
    format($$VALUES ('admin', 'tenant.create', 'tg80-initech', %L::uuid)$$, :'initech'),
    'create_tenant() is recorded (admin / tenant.create, the new tenant)');
SELECT tenantguard.suspend_tenant(:'initech') \gset
SELECT tenantguard.activate_tenant(:'initech') \gset
SELECT results_eq(
    $$SELECT action, tenant_id FROM tenantguard_audit.events
       WHERE id > pg_temp.since('subsystems') AND action IN ('tenant.suspend', 'tenant.activate') ORDER BY id$$,
    format($$VALUES ('tenant.suspend', %1$L::uuid), ('tenant.activate', %1$L::uuid)$$, :'initech'),
    'suspend_tenant() and activate_tenant() are recorded');

SET ROLE tg80_admin;
SELECT tg80.enter(:'initech') \gset
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'initech', false) \gset
SELECT tenantguard.clear_context() \gset
RESET ROLE;
-- An entry is recorded when its transaction ends (this one never commits);
-- what is recorded, and when, is checked in 83_entry_events.sql.
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE id > pg_temp.since('subsystems') AND action = 'set_tenant' AND tenant_id = :'initech'),
    0::bigint,
    'set_tenant() is not recorded in the middle of its transaction (it is at its end: 83_entry_events.sql)');

SELECT tenantguard.bind_role('tg80_towner', :'acme', 'owner') \gset
SELECT tenantguard.bind_role('tg80_tauditor', :'globex', 'auditor') \gset
SELECT tenantguard.bind_role('tg80_other', :'initech') \gset
SELECT tenantguard.unbind_role('tg80_other') \gset
SELECT results_eq(
    $$SELECT action, object, tenant_id FROM tenantguard_audit.events
       WHERE id > pg_temp.since('subsystems') AND action IN ('role.bind', 'role.unbind') ORDER BY id$$,
    format($$VALUES ('role.bind', 'tg80_towner', %L::uuid), ('role.bind', 'tg80_tauditor', %L::uuid),
                    ('role.bind', 'tg80_other', %L::uuid), ('role.unbind', 'tg80_other', NULL::uuid)$$,
           :'acme', :'globex', :'initech'),
    'bind_role() and unbind_role() are recorded');

CREATE TABLE tg80.later (id int, tenant_id uuid);
SELECT tenantguard.protect('tg80.later') \gset
SELECT tenantguard.unprotect('tg80.later') \gset
SELECT results_eq(
    $$SELECT category, action, object FROM tenantguard_audit.events
       WHERE id > pg_temp.since('subsystems') AND object = 'tg80.later' ORDER BY id$$,
    $$VALUES ('policy', 'protect', 'tg80.later'), ('policy', 'unprotect', 'tg80.later')$$,
    'protect() and unprotect() are recorded');

-- vault, reveal, key rotation, reencrypt
INSERT INTO plaintexts VALUES ('tg80-vault-value-v1'), ('tg80-vault-value-v2'), ('tg80-sealed-plain'),
    ('tg80-reencrypt-plain-a'), ('tg80-reencrypt-plain-b');
SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('vault') \gset
SELECT tenantguard.put_secret('db-password', 'tg80-vault-value-v1') \gset
SELECT tenantguard.put_secret('db-password', 'tg80-vault-value-v2') \gset
SELECT is(tenantguard.get_secret('db-password'), 'tg80-vault-value-v2', 'get_secret() returns the newest value');
SELECT is(tenantguard.get_secret('db-password', 'default', 1), 'tg80-vault-value-v1', 'get_secret() returns version 1');
SELECT is(tenantguard.resolve_ref(tenantguard.secret_ref('db-password')), 'tg80-vault-value-v2', 'resolve_ref() returns the value');
SELECT tenantguard.delete_secret('db-password') \gset
SELECT results_eq(
    $$SELECT category, action, object, tenant_id, principal FROM tenantguard_audit.events
       WHERE id > pg_temp.since('vault') AND action LIKE 'secret.%' ORDER BY id$$,
    format($$VALUES ('secret', 'secret.write', 'vault:default/db-password@1', %1$L::uuid, 'admin:postgres'),
                    ('secret', 'secret.write', 'vault:default/db-password@2', %1$L::uuid, 'admin:postgres'),
                    ('secret', 'secret.delete', 'vault:default/db-password', %1$L::uuid, 'admin:postgres')$$, :'acme'),
    'put_secret() and delete_secret() are recorded, by name and version');
SELECT results_eq(
    $$SELECT object, tenant_id, principal, details->>'reveals', details->>'site', details->>'scope',
             details->>'name', (details->>'version')::int FROM tenantguard_audit.events
       WHERE id > pg_temp.since('vault') AND category = 'secret' AND action = 'reveal' AND decision = 'allow' ORDER BY id$$,
    format($$VALUES ('vault:default/db-password@2', %1$L::uuid, 'admin:postgres', '1', 'vault', 'default', 'db-password', 2),
                    ('vault:default/db-password@1', %1$L::uuid, 'admin:postgres', '1', 'vault', 'default', 'db-password', 1),
                    ('vault:default/db-password@2', %1$L::uuid, 'admin:postgres', '1', 'vault', 'default', 'db-password', 2)$$, :'acme'),
    'get_secret() and resolve_ref() record their reveal named by the vault entry (one statement each, one reveal)');

SELECT pg_temp.mark('reveal') \gset
SELECT tenantguard.seal('tg80-sealed-plain') AS sealed_acme \gset
INSERT INTO plaintexts VALUES (:'sealed_acme');
SELECT is(tenantguard.reveal(:'sealed_acme'), 'tg80-sealed-plain', 'reveal() #1');
SELECT is(tenantguard.reveal(:'sealed_acme'), 'tg80-sealed-plain', 'reveal() #2');
SELECT is(convert_from(tenantguard.reveal_bytea(:'sealed_acme'), 'UTF8'), 'tg80-sealed-plain', 'reveal_bytea() #3');
SELECT results_eq(
    $$SELECT category, action, decision, tenant_id, principal, details->>'as', details->>'reveals', details->>'site'
        FROM tenantguard_audit.events
       WHERE id > pg_temp.since('reveal') ORDER BY id$$,
    format($$VALUES ('secret', 'reveal', 'allow', %1$L::uuid, 'admin:postgres', 'text', '1', 'expression'),
                    ('secret', 'reveal', 'allow', %1$L::uuid, 'admin:postgres', 'text', '1', 'expression'),
                    ('secret', 'reveal', 'allow', %1$L::uuid, 'admin:postgres', 'bytea', '1', 'expression')$$, :'acme'),
    'every statement''s reveal() / reveal_bytea() is recorded, with its count and call site; seal() itself is not');
SELECT tenantguard.clear_context() \gset

-- a wrong-tenant reveal is refused and recorded even though the statement fails
SELECT tg80.enter(:'globex') \gset
SELECT pg_temp.mark('wrong_reveal') \gset
SELECT is(tg80.state(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'sealed_acme')), '42501',
    'revealing Acme''s secret inside Globex raises 42501');
SELECT is(tg80.wait_events(format($$e.id > pg_temp.since('wrong_reveal') AND e.category = 'secret' AND e.action = 'reveal'
                                     AND e.decision = 'deny' AND e.tenant_id = %L$$, :'globex')), 1::bigint,
    'the refused reveal is recorded (secret / reveal / deny, in the caller''s tenant), surviving the error');
SELECT tenantguard.clear_context() \gset

SELECT tg80.enter(:'acme') \gset
SELECT pg_temp.mark('rotate') \gset
SELECT tenantguard.rotate_data_key() AS newkey \gset
SELECT results_eq(
    $$SELECT category, action, (details->>'key_version')::int FROM tenantguard_audit.events
       WHERE id > pg_temp.since('rotate') ORDER BY id$$,
    format($$VALUES ('secret', 'key.rotate', %s)$$, :newkey),
    'rotate_data_key() is recorded with the new key version');

CREATE TABLE tg80.creds (id int, tenant_id uuid, secret tenantguard.secret);
SELECT tenantguard.protect('tg80.creds') \gset
SELECT tenantguard.audit_table('tg80.creds') \gset
SELECT tenantguard.rotate_data_key() \gset
-- rows sealed under the newest key, then one more rotation makes them stale
INSERT INTO tg80.creds VALUES (1, :'acme', tenantguard.seal('tg80-reencrypt-plain-a')),
                              (2, :'acme', tenantguard.seal('tg80-reencrypt-plain-b'));
INSERT INTO plaintexts SELECT secret::text FROM tg80.creds;
SELECT tenantguard.rotate_data_key() \gset
SELECT pg_temp.mark('reencrypt') \gset
SELECT is(tenantguard.reencrypt('tg80.creds', 'secret'), 2::bigint, 'reencrypt() rewrites the two stale rows');
INSERT INTO plaintexts SELECT secret::text FROM tg80.creds;
SELECT results_eq(
    $$SELECT category, action, object, (details->>'rows')::int FROM tenantguard_audit.events
       WHERE id > pg_temp.since('reencrypt') AND action = 'reencrypt'$$,
    $$VALUES ('secret', 'reencrypt', 'tg80.creds.secret', 2)$$,
    'reencrypt() is recorded with the table, column and row count');
SELECT results_eq(
    $$SELECT action, old_row, new_row FROM tenantguard_audit.events
       WHERE id > pg_temp.since('reencrypt') AND category = 'data' ORDER BY id$$,
    $$VALUES ('update', '{"secret": "[secret]"}'::jsonb, '{"secret": "[secret]"}'::jsonb),
             ('update', '{"secret": "[secret]"}'::jsonb, '{"secret": "[secret]"}'::jsonb)$$,
    'reencrypt() of an audited table records the rewrites, with "[secret]" values only');
SELECT tenantguard.clear_context() \gset

-- ---------------------------------------------------------------------------
-- 8. Refusals that go through the ledger worker
-- ---------------------------------------------------------------------------
SELECT tenantguard.suspend_tenant(:'frozen') \gset
SET ROLE tg80_admin;
SELECT pg_temp.mark('refusals') \gset
SELECT is(tg80.state(format('SELECT tenantguard.set_tenant(%L)', :'frozen')), '42501',
    'entering a suspended tenant is refused');
SELECT is(tg80.state(format('SELECT tenantguard.set_tenant(%L)', gen_random_uuid())), '42704',
    'entering a tenant that does not exist is refused');
RESET ROLE;
SELECT is(tg80.wait_events(format($$e.id > pg_temp.since('refusals') AND e.category = 'context'
                                     AND e.action = 'context.enter' AND e.decision = 'deny'
                                     AND e.reason = 'tenant is suspended' AND e.tenant_id = %L$$, :'frozen')), 1::bigint,
    'the refused entry into the suspended tenant is recorded (context / context.enter / deny, its tenant)');
SELECT is(tg80.wait_events($$e.id > pg_temp.since('refusals') AND e.category = 'context'
                             AND e.action = 'context.enter' AND e.decision = 'deny' AND e.reason = 'tenant does not exist'$$), 1::bigint,
    'the refused entry into an unknown tenant is recorded');
SELECT is((SELECT db_user::text FROM tenantguard_audit.events
            WHERE id > pg_temp.since('refusals') AND reason = 'tenant is suspended'), 'postgres',
    'a refusal names the session user');

SET ROLE tg80_member;
SELECT pg_temp.mark('direct_set') \gset
SELECT is(tg80.state(format('SET tenantguard.tenant = %L', :'globex')), '42501',
    'setting tenantguard.tenant directly is refused (42501)');
SELECT is(tg80.state($$SET tenantguard.context = 'not-a-token'$$), '28000',
    'setting tenantguard.context to something that is not a signed token is refused (28000)');
RESET ROLE;
SELECT is(tg80.wait_events($$e.id > pg_temp.since('direct_set') AND e.category = 'context' AND e.decision = 'deny'
                             AND e.action IN ('context.set', 'context.token')$$, 2), 2::bigint,
    'both refused direct settings are recorded (context / context.set and context.token / deny)');
SELECT is((SELECT count(*) FROM tenantguard_audit.events e WHERE e.id > pg_temp.since('direct_set')
              AND e::text LIKE '%not-a-token%'), 0::bigint,
    '... without the rejected value');

SET ROLE tg80_free;
SELECT pg_temp.mark('require_context') \gset
SELECT is(tg80.state('SELECT count(*) FROM tg80.items'), '42501',
    'reading a protected table without a context is refused (require_context)');
RESET ROLE;
SELECT is(tg80.wait_events($$e.id > pg_temp.since('require_context') AND e.category = 'policy' AND e.action = 'access'
                             AND e.decision = 'deny' AND e.object = 'tg80.items'$$), 1::bigint,
    'the require_context denial is recorded (policy / access / deny, the table)');

-- ---------------------------------------------------------------------------
-- 9. No event contains a plaintext, a ciphertext or the master key
-- ---------------------------------------------------------------------------
SELECT pg_read_file(current_setting('tenantguard.master_key_file')) AS mk \gset
INSERT INTO plaintexts VALUES (lower(btrim(:'mk', E' \n'))), (upper(btrim(:'mk', E' \n')));
SELECT is((SELECT count(*) FROM plaintexts), 17::bigint, 'seventeen plaintexts, ciphertexts and keys to look for');
SELECT is((SELECT count(*) FROM tenantguard_audit.events), (SELECT count(*) FROM tenantguard_audit.events e),
    'sanity: the superuser reads every event');
SELECT results_eq(
    $$SELECT p.p, (SELECT count(*) FROM tenantguard_audit.events e WHERE e::text LIKE '%' || p.p || '%')
        FROM plaintexts p ORDER BY p.p$$,
    $$SELECT p.p, 0::bigint FROM plaintexts p ORDER BY p.p$$,
    'no event, in any column, contains any plaintext, ciphertext or the master key used in this file');
SELECT is((SELECT count(*) FROM tenantguard_audit.events e WHERE e::text LIKE '%tgs1:%'), 0::bigint,
    'no event contains the text form of any sealed value');
SELECT ok((SELECT count(*) FROM tenantguard_audit.events e WHERE e::text LIKE '%[secret]%') >= 5,
    'sealed values do appear, as "[secret]"');

-- ---------------------------------------------------------------------------
-- 10. Who reads which events
-- ---------------------------------------------------------------------------
-- refusals still on their way from the ledger worker would change the counts:
-- compare only the events up to the newest one now
CREATE TEMP TABLE truth AS
    SELECT max(id) AS upto,
           count(*) AS all_events,
           count(*) FILTER (WHERE tenant_id = :'acme') AS acme_events,
           count(*) FILTER (WHERE tenant_id = :'globex') AS globex_events
      FROM tenantguard_audit.events;
GRANT SELECT ON truth TO PUBLIC;
SELECT ok((SELECT acme_events > 0 AND globex_events > 0 AND all_events > acme_events + globex_events FROM truth),
    'there are events of Acme, of Globex and of no tenant');

SET ROLE tg80_auditor;
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id <= (SELECT upto FROM truth)), (SELECT all_events FROM truth),
    'tenantguard_auditor reads every tenant''s events (and those of no tenant)');
SELECT is(tg80.state('SELECT count(*) FROM tenantguard_audit.blocks'), 'none', 'tenantguard_auditor may read the blocks');
RESET ROLE;

SET ROLE tg80_admin;
SELECT tg80.enter(:'acme') \gset
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id <= (SELECT upto FROM truth)), (SELECT acme_events FROM truth),
    'a tenant admin inside Acme reads exactly Acme''s events (set_tenant gives role admin)');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE tenant_id IS DISTINCT FROM :'acme'), 0::bigint,
    '... and nothing of another tenant or of no tenant');
SELECT is((SELECT count(*) FROM tenantguard_audit.data_changes WHERE tenant_id IS DISTINCT FROM :'acme'), 0::bigint,
    '... also through the data_changes view');
SELECT tenantguard.clear_context() \gset
SELECT is((SELECT count(*) FROM tenantguard_audit.events), 0::bigint,
    'a tenant admin without a context reads no events');
RESET ROLE;

SET ROLE tg80_member;
SELECT is((SELECT count(*) FROM tenantguard_audit.events), 0::bigint,
    'an application role with the default tenant role (operator, no audit.read) reads no events, not even its own tenant''s');
SELECT is((SELECT count(*) FROM tenantguard_audit.auth_events) + (SELECT count(*) FROM tenantguard_audit.data_changes)
          + (SELECT count(*) FROM tenantguard_audit.secret_access) + (SELECT count(*) FROM tenantguard_audit.admin_changes)
          + (SELECT count(*) FROM tenantguard_audit.policy_decisions), 0::bigint,
    '... nor through any of the audit views');
RESET ROLE;

SET ROLE tg80_towner;
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id <= (SELECT upto FROM truth)), (SELECT acme_events FROM truth),
    'a role bound to Acme as ''owner'' reads exactly Acme''s events');
RESET ROLE;
-- 'auditor' is a tenant-defined role: it reads the audit trail once Globex grants it audit.read
SELECT tg80.enter(:'globex') \gset
SELECT tenantguard.grant_permission('auditor', 'audit.read') \gset
SELECT tenantguard.clear_context() \gset
SET ROLE tg80_tauditor;
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id <= (SELECT upto FROM truth)), (SELECT globex_events FROM truth),
    'a role bound to Globex as ''auditor'' reads exactly Globex''s events');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE tenant_id IS DISTINCT FROM :'globex'), 0::bigint,
    '... and nothing else');
RESET ROLE;

SET ROLE tg80_free;
SELECT is((SELECT count(*) FROM tenantguard_audit.events), 0::bigint,
    'an application role without a context reads no events');
RESET ROLE;
SET ROLE tg80_other;
SELECT is(tg80.state('SELECT count(*) FROM tenantguard_audit.events'), '42501',
    'a role outside the tenantguard roles cannot read events at all (42501)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
