-- Audit ledger, part 2: sealing, verification, digests and the signing key,
-- checked against the documented formats (src/core/ledger.h):
--
--   event hash  = SHA-256("tenantguard-event-v1" || field_1 || ... || field_16),
--                 field = 0x00 (NULL) | 0x01 || be32(len) || bytes; ids, txids in
--                 decimal, occurred_at as Unix microseconds, uuid/inet/jsonb as text
--   events root = SHA-256("tenantguard-root-v1" || event hashes in id order)
--   block hash  = SHA-256("tenantguard-block-v1" || be64 id || be64 from_xid ||
--                 be64 to_xid || be64 count || events root || previous block hash)
--
-- seal() only seals events of transactions that ended before the oldest one
-- still running, so this file runs WITHOUT an enclosing transaction (every
-- statement commits); a second connection (dblink) holds a transaction open.
-- The database is dropped afterwards; the roles (tg81_) are dropped at the end.
--
-- Tamper detection (editing/deleting/forging events and blocks as a
-- superuser) is in test/suites/audit_tamper.sh.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

SELECT plan(68);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE EXTENSION IF NOT EXISTS dblink;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tg81_member') THEN DROP ROLE tg81_member; END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tg81_auditor') THEN DROP ROLE tg81_auditor; END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tg81_admin') THEN DROP ROLE tg81_admin; END IF;
END $$;
CREATE ROLE tg81_member LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg81_auditor LOGIN IN ROLE tenantguard_auditor;
CREATE ROLE tg81_admin LOGIN IN ROLE tenantguard_admin;

SELECT tenantguard.create_tenant('tg81-acme') AS acme \gset
SELECT tenantguard.create_tenant('tg81-globex') AS globex \gset
SELECT tenantguard.bind_role('tg81_member', :'acme') \gset

CREATE SCHEMA tg81;
GRANT USAGE ON SCHEMA tg81 TO PUBLIC;
CREATE TABLE tg81.items (id serial PRIMARY KEY, tenant_id uuid, body text);
SELECT tenantguard.protect('tg81.items') \gset
SELECT tenantguard.audit_table('tg81.items') \gset
GRANT SELECT, INSERT, UPDATE, DELETE ON tg81.items TO tenantguard_app, tenantguard_admin;
GRANT USAGE ON SEQUENCE tg81.items_id_seq TO tenantguard_app, tenantguard_admin;

CREATE FUNCTION tg81.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION tg81.state(text) TO PUBLIC;

-- The documented canonical field encoding and event hash, in SQL.
CREATE FUNCTION tg81.f(v text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
                ELSE '\x01'::bytea || int4send(octet_length(convert_to(v, 'UTF8'))) || convert_to(v, 'UTF8') END
$$;
CREATE FUNCTION tg81.event_hash(e tenantguard_audit.events) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256('tenantguard-event-v1'::bytea
        || tg81.f(e.id::text)
        || tg81.f((extract(epoch FROM e.occurred_at) * 1000000)::bigint::text)
        || tg81.f(e.tenant_id::text)
        || tg81.f(e.category)
        || tg81.f(e.action)
        || tg81.f(e.principal)
        || tg81.f(e.db_user::text)
        || tg81.f(e.object)
        || tg81.f(e.decision)
        || tg81.f(e.reason)
        || tg81.f(e.details::text)
        || tg81.f(e.old_row::text)
        || tg81.f(e.new_row::text)
        || tg81.f(e.txid::text)
        || tg81.f(CASE WHEN e.client_addr IS NULL THEN NULL ELSE format('%s', e.client_addr) END)
        || tg81.f(e.application_name))
$$;
-- The documented events root and block hash of a block.
CREATE FUNCTION tg81.events_root(b tenantguard_audit.blocks) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256('tenantguard-root-v1'::bytea
                  || coalesce((SELECT string_agg(e.event_hash, ''::bytea ORDER BY e.id)
                                 FROM tenantguard_audit.events e
                                WHERE e.txid >= b.from_xid AND e.txid < b.to_xid), ''::bytea))
$$;
CREATE FUNCTION tg81.block_hash(b tenantguard_audit.blocks) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256('tenantguard-block-v1'::bytea || int8send(b.id) || int8send(b.from_xid::text::bigint)
                  || int8send(b.to_xid::text::bigint) || int8send(b.event_count) || b.events_root || b.prev_hash)
$$;
-- Committed events not inside any block.
CREATE FUNCTION tg81.unsealed() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM tenantguard_audit.events e
     WHERE e.txid >= coalesce((SELECT max(b.to_xid) FROM tenantguard_audit.blocks b), '0'::xid8)
$$;
CREATE FUNCTION pg_temp.connstr(login text) RETURNS text LANGUAGE sql AS $$
    SELECT format('host=%s port=%s dbname=%s user=%s application_name=tg81',
                  coalesce(nullif(split_part(current_setting('unix_socket_directories'), ',', 1), ''), '127.0.0.1'),
                  current_setting('port'), current_database(), login)
$$;

-- A few committed transactions with events in both tenants.
BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO tg81.items (body) VALUES ('a1'), ('a2');
SELECT tenantguard.audit_log('tg81.acme.event') \gset
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'globex') \gset
INSERT INTO tg81.items (body) VALUES ('g1');
UPDATE tg81.items SET body = 'g1-edited';
COMMIT;

-- ---------------------------------------------------------------------------
-- 1. Events are hashed at insert, as documented
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM tenantguard_audit.events e WHERE e.event_hash IS DISTINCT FROM tg81.event_hash(e)),
    0::bigint, 'every event''s event_hash is SHA-256 of the documented canonical encoding of its fields');
SELECT cmp_ok((SELECT count(*) FROM tenantguard_audit.events), '>=', 8::bigint, '... (checked over at least 8 events)');
SELECT is((SELECT min(length(event_hash)) FROM tenantguard_audit.events), 32,
    'event hashes are 32 bytes (SHA-256)');

-- ---------------------------------------------------------------------------
-- 2. seal()
-- ---------------------------------------------------------------------------
SELECT tg81.unsealed() AS unsealed_before \gset
SELECT coalesce(max(id), 0) AS blocks_before FROM tenantguard_audit.blocks \gset
SELECT tenantguard_audit.seal() AS sealed \gset
SELECT cmp_ok(:sealed::bigint, '>', 0::bigint, 'seal() seals the committed events');
SELECT is(:sealed::bigint, :unsealed_before::bigint, 'seal() returns the number of events it sealed (every unsealed committed event)');
SELECT is((SELECT max(id) FROM tenantguard_audit.blocks), :blocks_before + 1::bigint, 'seal() added one block');
SELECT is((SELECT event_count FROM tenantguard_audit.blocks ORDER BY id DESC LIMIT 1), :sealed::bigint,
    'the new block''s event_count is what seal() returned');
SELECT is(tg81.unsealed(), 0::bigint, 'after seal() no committed event is outside a block');
SELECT results_eq(
    $$SELECT b.first_event, b.last_event FROM tenantguard_audit.blocks b ORDER BY b.id DESC LIMIT 1$$,
    $$SELECT min(e.id), max(e.id) FROM tenantguard_audit.events e, tenantguard_audit.blocks b
       WHERE b.id = (SELECT max(id) FROM tenantguard_audit.blocks) AND e.txid >= b.from_xid AND e.txid < b.to_xid$$,
    'first_event / last_event are the smallest and largest event id in the block''s range');
SELECT results_eq(
    $$SELECT first_block, public_key, endorsement FROM tenantguard_audit.signing_keys$$,
    $$VALUES (1::bigint, decode(tenantguard_audit.public_key(), 'base64'), NULL::bytea)$$,
    'the first seal() registered the signing key (from block 1, the public_key(), no endorsement)');
SELECT is(tenantguard_audit.seal(), 0::bigint, 'seal() with nothing new returns 0 ...');
SELECT is((SELECT max(id) FROM tenantguard_audit.blocks), :blocks_before + 1::bigint, '... and adds no block');

-- events of a still running transaction are left for a later block
SELECT dblink_connect('w', pg_temp.connstr(current_user)) \gset
SELECT dblink_exec('w', 'BEGIN') \gset
SELECT x AS remote_set FROM dblink('w', format('SELECT tenantguard.set_tenant(%L)::text', :'acme')) AS t(x text) \gset
SELECT dblink_exec('w', $$INSERT INTO tg81.items (body) VALUES ('from the open transaction')$$) \gset
SELECT x AS open_xid FROM dblink('w', 'SELECT pg_current_xact_id()::text') AS t(x text) \gset
-- a transaction that starts after it and commits first
BEGIN;
SELECT tenantguard.set_tenant(:'globex') \gset
INSERT INTO tg81.items (body) VALUES ('committed while the other is open');
SELECT pg_current_xact_id()::text AS later_xid \gset
COMMIT;
SELECT tenantguard_audit.seal() AS sealed_open \gset
SELECT ok((SELECT max(to_xid) FROM tenantguard_audit.blocks) <= :'open_xid'::xid8,
    'seal() while a transaction with events is open: no block reaches into its transaction id');
SELECT is((SELECT count(*) FROM tenantguard_audit.blocks b WHERE :'later_xid'::xid8 >= b.from_xid AND :'later_xid'::xid8 < b.to_xid),
    0::bigint, '... and a later transaction that already committed is not sealed either (the range stays contiguous)');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE txid = :'later_xid'::xid8), 2::bigint,
    '... its events (set_tenant, insert) are committed and waiting');
SELECT dblink_exec('w', 'COMMIT') \gset
SELECT dblink_disconnect('w') \gset
SELECT is(tenantguard_audit.seal(), 4::bigint, 'after the open transaction commits, seal() seals the events of both');
SELECT is((SELECT count(*) FROM tenantguard_audit.events e JOIN tenantguard_audit.blocks b
             ON e.txid >= b.from_xid AND e.txid < b.to_xid
            WHERE e.txid IN (:'open_xid'::xid8, :'later_xid'::xid8) AND b.id = (SELECT max(id) FROM tenantguard_audit.blocks)),
    4::bigint, '... in the newest block (set_tenant + insert of each; none lost)');
SELECT is(tg81.unsealed(), 0::bigint, '... and nothing committed is left outside a block');

-- seal() inside a transaction never seals that transaction's own events
BEGIN;
SELECT tenantguard.audit_log('tg81.own') \gset
SELECT is(tenantguard_audit.seal(), 0::bigint, 'seal() inside a transaction does not seal the transaction''s own events');
COMMIT;
SELECT is(tenantguard_audit.seal(), 1::bigint, 'the next seal() does');

-- seal() is for auditors and admins, not applications
SET ROLE tg81_member;
SELECT tenantguard.audit_log('tg81.member.event') \gset
SELECT is(tg81.state('SELECT tenantguard_audit.seal()'), '42501', 'an application cannot seal() (42501)');
SELECT is(tg81.state('SELECT * FROM tenantguard_audit.verify()'), '42501', 'an application cannot verify() (42501)');
SELECT is(tg81.state('SELECT tenantguard_audit.digest()'), '42501', 'an application cannot take a digest() (42501)');
RESET ROLE;
SET ROLE tg81_auditor;
SELECT is(tenantguard_audit.seal(), 1::bigint, 'tenantguard_auditor can seal()');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 3. The chain, as documented
-- ---------------------------------------------------------------------------
SELECT cmp_ok((SELECT count(*) FROM tenantguard_audit.blocks), '>=', 4::bigint, 'there are at least four blocks');
SELECT results_eq(
    $$SELECT id FROM tenantguard_audit.blocks ORDER BY id$$,
    $$SELECT generate_series(1::bigint, (SELECT count(*) FROM tenantguard_audit.blocks))$$,
    'block ids are 1, 2, 3, ... without gaps');
SELECT results_eq(
    $$SELECT from_xid::text, encode(prev_hash, 'hex') FROM tenantguard_audit.blocks WHERE id = 1$$,
    $$VALUES ('0', repeat('00', 32))$$,
    'the first block starts at transaction id 0 and links to 32 zero bytes');
SELECT is((SELECT count(*) FROM tenantguard_audit.blocks b JOIN tenantguard_audit.blocks p ON p.id = b.id - 1
            WHERE b.from_xid <> p.to_xid OR b.prev_hash <> p.block_hash), 0::bigint,
    'every block starts where the previous one ended and links to its hash');
SELECT is((SELECT count(*) FROM tenantguard_audit.blocks WHERE to_xid <= from_xid), 0::bigint,
    'every block covers a non-empty transaction id range');
SELECT is((SELECT count(*) FROM tenantguard_audit.blocks b WHERE b.events_root <> tg81.events_root(b)), 0::bigint,
    'every block''s events_root is SHA-256 over its events'' hashes in id order, as documented');
SELECT is((SELECT count(*) FROM tenantguard_audit.blocks b WHERE b.block_hash <> tg81.block_hash(b)), 0::bigint,
    'every block_hash is SHA-256 of the documented block layout');
SELECT is((SELECT count(*) FROM tenantguard_audit.blocks b
            WHERE b.event_count <> (SELECT count(*) FROM tenantguard_audit.events e
                                     WHERE e.txid >= b.from_xid AND e.txid < b.to_xid)), 0::bigint,
    'every block''s event_count is the number of events in its range');
SELECT is((SELECT count(*) FROM tenantguard_audit.blocks WHERE length(signature) <> 64 OR length(block_hash) <> 32), 0::bigint,
    'signatures are 64 bytes (Ed25519), hashes 32 bytes');
SELECT is((SELECT count(DISTINCT signature) FROM tenantguard_audit.blocks), (SELECT count(*) FROM tenantguard_audit.blocks),
    'every block has its own signature');

-- ---------------------------------------------------------------------------
-- 4. verify()
-- ---------------------------------------------------------------------------
SELECT tenantguard.audit_log('tg81.unsealed.event') \gset
SELECT results_eq(
    $$SELECT v.ok, v.events_checked = (SELECT count(*) FROM tenantguard_audit.events),
             v.blocks_checked = (SELECT count(*) FROM tenantguard_audit.blocks), v.first_bad_event, v.problem
        FROM tenantguard_audit.verify() v$$,
    $$VALUES (true, true, true, NULL::bigint, NULL::text)$$,
    'verify(): ok, every event (sealed or not) and every block checked, no bad event, no problem');
SELECT results_eq(
    format($$SELECT v.ok, v.events_checked, v.blocks_checked = (SELECT count(*) FROM tenantguard_audit.blocks)
               FROM tenantguard_audit.verify(%L) v$$, :'acme'),
    format($$SELECT true, count(*), true FROM tenantguard_audit.events WHERE tenant_id = %L$$, :'acme'),
    'verify(tenant): ok, counting that tenant''s events');
SELECT results_eq(
    format($$SELECT v.ok, v.events_checked FROM tenantguard_audit.verify(%L) v$$, gen_random_uuid()),
    $$VALUES (true, 0::bigint)$$,
    'verify() of a tenant without events: ok, 0 events');
SELECT is((SELECT count(*) FROM tenantguard_audit.verify()), 1::bigint, 'verify() returns exactly one row');
SET ROLE tg81_auditor;
SELECT is((SELECT ok FROM tenantguard_audit.verify()), true, 'tenantguard_auditor can verify()');
RESET ROLE;
SET ROLE tg81_admin;
SELECT is((SELECT ok FROM tenantguard_audit.verify()), true, 'tenantguard_admin can verify()');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 5. digest(), verify_digest(), public_key()
-- ---------------------------------------------------------------------------
SELECT tenantguard_audit.digest() AS d1 \gset
SELECT ok(:'d1'::jsonb ?& ARRAY['block_id', 'block_hash', 'signature', 'public_key'],
    'digest() has block_id, block_hash, signature and public_key');
SELECT results_eq(
    format($$SELECT (%1$L::jsonb->>'block_id')::bigint, %1$L::jsonb->>'block_hash',
                    decode(replace(%1$L::jsonb->>'signature', E'\n', ''), 'base64')$$, :'d1'),
    $$SELECT id, encode(block_hash, 'hex'), signature FROM tenantguard_audit.blocks ORDER BY id DESC LIMIT 1$$,
    'digest() names the newest block, its hash (hex) and its signature (base64)');
SELECT is(:'d1'::jsonb->>'public_key', tenantguard_audit.public_key(), 'digest() carries the public key');
SELECT ok(:'d1'::jsonb->>'signature' ~ '^[A-Za-z0-9+/]{86}==$',
    'digest()''s signature is plain standard base64 of 64 bytes (88 characters, no line breaks)');
SELECT is(tenantguard_audit.verify_digest(:'d1'), true, 'verify_digest(digest()) is true');
SELECT is(tenantguard_audit.verify_digest(jsonb_build_object('block_id', (:'d1'::jsonb->'block_id'),
                                                             'block_hash', :'d1'::jsonb->'block_hash')), true,
    'verify_digest() needs only block_id and block_hash');

SELECT tenantguard.audit_log('tg81.after.digest') \gset
SELECT tenantguard_audit.seal() \gset
SELECT tenantguard_audit.digest() AS d2 \gset
SELECT is((:'d2'::jsonb->>'block_id')::bigint, (:'d1'::jsonb->>'block_id')::bigint + 1, 'a later seal() moves the digest to the new block');
SELECT is(tenantguard_audit.verify_digest(:'d1'), true, 'an older digest still verifies after more blocks were added');
SELECT is(tenantguard_audit.verify_digest(:'d2'), true, 'the new digest verifies');

SELECT is(tenantguard_audit.verify_digest(jsonb_set(:'d2', '{block_hash}',
              to_jsonb(overlay(:'d2'::jsonb->>'block_hash' placing
                               CASE WHEN substr(:'d2'::jsonb->>'block_hash', 1, 1) = '0' THEN '1' ELSE '0' END from 1 for 1)))),
    false, 'verify_digest() with one hex digit of the hash changed is false');
SELECT is(tenantguard_audit.verify_digest(jsonb_set(:'d2', '{block_hash}', :'d1'::jsonb->'block_hash')), false,
    'verify_digest() with another block''s hash is false');
SELECT is(tenantguard_audit.verify_digest(jsonb_set(:'d2', '{block_id}', to_jsonb((:'d2'::jsonb->>'block_id')::bigint + 1000))),
    false, 'verify_digest() of a block that does not exist is false');
SELECT is(tenantguard_audit.verify_digest(jsonb_set(:'d2', '{block_id}', '0')), false, 'verify_digest() of block 0 is false');
SELECT is(tg81.state($$SELECT tenantguard_audit.verify_digest('{}')$$), '22023', 'verify_digest(''{}'') fails with 22023');
SELECT is(tg81.state($$SELECT tenantguard_audit.verify_digest('[1, 2]')$$), '22023', 'verify_digest() of a JSON array fails with 22023');
SELECT is(tg81.state(format($$SELECT tenantguard_audit.verify_digest(jsonb_set(%L, '{block_id}', '"one"'))$$, :'d2')), '22023',
    'verify_digest() with a non-numeric block_id fails with 22023');
SELECT is(tg81.state(format($$SELECT tenantguard_audit.verify_digest(jsonb_set(%L, '{block_hash}', '"zz"'))$$, :'d2')), '22023',
    'verify_digest() with a block_hash that is not hex fails with 22023');
SELECT is(tg81.state(format($$SELECT tenantguard_audit.verify_digest(jsonb_set(%L, '{block_hash}', to_jsonb(repeat('ab', 31))))$$, :'d2')), '22023',
    'verify_digest() with a 31-byte block_hash fails with 22023');
SELECT is(tg81.state(format($$SELECT tenantguard_audit.verify_digest(%L::jsonb - 'block_hash')$$, :'d2')), '22023',
    'verify_digest() without block_hash fails with 22023');

SELECT is(length(tenantguard_audit.public_key()), 44, 'public_key() is 44 characters ...');
SELECT is(length(decode(tenantguard_audit.public_key(), 'base64')), 32, '... of standard base64 for 32 bytes (an Ed25519 key)');
SELECT ok(tenantguard_audit.public_key() ~ '^[A-Za-z0-9+/]{43}=$', '... in the standard alphabet with padding');
SELECT is(tenantguard_audit.public_key(), tenantguard_audit.public_key(), 'public_key() is stable');

-- ---------------------------------------------------------------------------
-- 6. Applications write through the vault; their events name them
-- ---------------------------------------------------------------------------
SELECT coalesce(max(id), 0) AS before_app FROM tenantguard_audit.events \gset
SET ROLE tg81_member;
SELECT is(tg81.state($$SELECT tenantguard.put_secret('tg81-app-token', 'tg81-app-vault-value')$$), 'none',
    'an application role can put_secret() in its own transaction (the write is recorded)');
SELECT is(tg81.state($$SELECT tenantguard.get_secret('tg81-app-token')$$), 'none',
    'an application role can get_secret() in its own transaction (the read is recorded)');
RESET ROLE;
SELECT results_eq(
    format($$SELECT action, object, principal, tenant_id FROM tenantguard_audit.events
              WHERE id > %s AND action IN ('secret.write', 'reveal') ORDER BY id$$, :before_app),
    format($$VALUES ('secret.write', 'vault:default/tg81-app-token@1', 'role:tg81_member', %1$L::uuid),
                    ('reveal', 'vault:default/tg81-app-token@1', 'role:tg81_member', %1$L::uuid)$$, :'acme'),
    'the application''s vault write and read (its reveal, named by the entry) are recorded with its principal and tenant');
SELECT is((SELECT count(*) FROM tenantguard_audit.events e WHERE e::text LIKE '%tg81-app-vault-value%'), 0::bigint,
    'the vault value appears in no event');

-- everything above still verifies
SELECT tenantguard_audit.seal() \gset
SELECT results_eq($$SELECT ok, problem FROM tenantguard_audit.verify()$$, $$VALUES (true, NULL::text)$$,
    'at the end verify() is still ok');

SELECT * FROM finish();

-- ---------------------------------------------------------------------------
-- Cleanup (roles are cluster-wide)
-- ---------------------------------------------------------------------------
SELECT tenantguard.unbind_role('tg81_member') \gset
DROP SCHEMA tg81 CASCADE;
DROP OWNED BY tg81_member, tg81_auditor, tg81_admin;
DROP ROLE tg81_member;
DROP ROLE tg81_auditor;
DROP ROLE tg81_admin;
