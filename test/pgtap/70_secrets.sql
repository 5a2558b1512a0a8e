-- Encrypted secrets: the tenantguard.secret type, seal/reveal, tampering,
-- the text form, blind indexes, data key rotation and reencrypt().
--
-- Attacker: an application role (member of tenantguard_app) that holds
-- ciphertexts of another tenant (copied rows, leaked dumps, logs) and tries
-- to open them, to move them into its own tenant by rewriting their bytes, or
-- to feed crafted text forms to the type's input function.
--
-- The binary envelope (src/core/envelope.h) is reached from SQL by decoding
-- the text form: 'tgs1:' || unpadded base64url(envelope), where
--   0 version | 1 flags | 2-5 key version (BE) | 6-21 tenant | 22-45 nonce |
--   46.. ciphertext | last 16 bytes tag.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg70_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(150);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg70_app LOGIN IN ROLE tenantguard_app;        -- bound to Acme
CREATE ROLE tg70_gapp LOGIN IN ROLE tenantguard_app;       -- bound to Globex
CREATE ROLE tg70_free LOGIN IN ROLE tenantguard_app;       -- not bound: no context
CREATE ROLE tg70_admin LOGIN IN ROLE tenantguard_admin;    -- owns the rotation tables
CREATE ROLE tg70_admin2 LOGIN IN ROLE tenantguard_admin;   -- an admin that owns nothing

SELECT tenantguard.create_tenant('acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('globex', 'Globex') AS globex \gset
SELECT tenantguard.bind_role('tg70_app', :'acme') \gset
SELECT tenantguard.bind_role('tg70_gapp', :'globex') \gset

CREATE SCHEMA tg70;
GRANT USAGE ON SCHEMA tg70 TO PUBLIC;

-- The envelope inside a secret's text form: base64url -> base64 -> bytea.
CREATE FUNCTION tg70.raw(s text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT decode(rpad(translate(substr(s, 6), '-_', '+/'),
                       ((length(s) - 5 + 3) / 4) * 4, '='), 'base64')
$$;
-- The text form of an envelope: 'tgs1:' || unpadded base64url.
CREATE FUNCTION tg70.form(b bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT 'tgs1:' || translate(encode(b, 'base64'), E'+/=\n', '-_')
$$;
-- The text form with the byte at pos XORed with mask.
CREATE FUNCTION tg70.flip(s text, pos int, mask int DEFAULT 1) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT tg70.form(set_byte(tg70.raw(s), pos, get_byte(tg70.raw(s), pos) # mask))
$$;
-- Run a statement; its SQLSTATE ('none' when it succeeds), message, detail, hint.
CREATE FUNCTION tg70.err(stmt text, OUT state text, OUT msg text, OUT detail text, OUT hint text)
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    state := 'none';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;
CREATE FUNCTION tg70.state(stmt text) RETURNS text LANGUAGE sql AS $$ SELECT (tg70.err(stmt)).state $$;
-- Reveal the secret whose text form is given (as the caller).
CREATE FUNCTION tg70.reveal_state(s text) RETURNS text LANGUAGE sql AS $$
    SELECT tg70.state(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', s))
$$;
-- Leave the current tenant and enter another one (superuser / admin).
CREATE FUNCTION tg70.enter(t uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantguard.clear_context();
    PERFORM tenantguard.set_tenant(t);
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg70 TO PUBLIC;

-- A protected table with a sealed column, used by the application roles.
CREATE TABLE tg70.accounts (
    tenant_id uuid NOT NULL,
    id        int  NOT NULL,
    api_key   tenantguard.secret,
    PRIMARY KEY (tenant_id, id)
);
SELECT tenantguard.protect('tg70.accounts') \gset
GRANT SELECT, INSERT, UPDATE, DELETE ON tg70.accounts TO tenantguard_app, tenantguard_admin;

-- ---------------------------------------------------------------------------
-- 0. The first seal and blind index of a database create the keys. The
--    functions are declared PARALLEL SAFE, so that first use must also work
--    when the planner runs them in a parallel worker.
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM tenantguard.data_keys), 0, 'a fresh database has no data key yet');
SELECT tg70.enter(:'acme') \gset
SET LOCAL force_parallel_mode = on;
SELECT is(tg70.state($$SELECT tenantguard.seal('first'::text)$$), 'none',
    'the first seal() of a database works under force_parallel_mode (PARALLEL SAFE function)');
SELECT is(tg70.state($$SELECT tenantguard.blind_index('first')$$), 'none',
    'the first blind_index() of a database works under force_parallel_mode (PARALLEL SAFE function)');
RESET force_parallel_mode;

-- ---------------------------------------------------------------------------
-- 1. Round trips
-- ---------------------------------------------------------------------------
SELECT tenantguard.seal('hello'::text) AS s \gset
SELECT tenantguard.seal('hello'::text) AS s2 \gset

SELECT is(tenantguard.reveal(:'s'), 'hello', 'text round trip');
SELECT matches(:'s'::text, '^tgs1:[A-Za-z0-9_-]+$', 'the text form is tgs1: followed by unpadded base64url');
SELECT is(tg70.form(tg70.raw(:'s')), :'s'::text, '(test helper: decoding and re-encoding the text form is exact)');
SELECT is(octet_length(tg70.raw(:'s')), 62 + 5, 'the envelope is 62 bytes of overhead plus the plaintext');
SELECT is(get_byte(tg70.raw(:'s'), 0), 1, 'envelope byte 0 is format version 1');
SELECT is(get_byte(tg70.raw(:'s'), 1), 0, 'envelope byte 1 (flags) is 0 for text');
SELECT is(substr(tg70.raw(:'s'), 7, 16), uuid_send(:'acme'::uuid), 'envelope bytes 6-21 are the sealing tenant');
SELECT is(tenantguard.secret_tenant(:'s'), :'acme'::uuid, 'secret_tenant() names the sealing tenant');
SELECT is(tenantguard.secret_key_version(:'s'), 1, 'secret_key_version() is 1 before any rotation');
SELECT is(tenantguard.reveal(:'s'::text::tenantguard.secret), 'hello', 'the text form parses back to the same secret');
SELECT isnt(:'s'::text, :'s2'::text, 'sealing the same plaintext twice gives different ciphertexts');
SELECT isnt(substr(tg70.raw(:'s'), 23, 24), substr(tg70.raw(:'s2'), 23, 24), '... with different nonces');
SELECT is(tenantguard.reveal(:'s2'), 'hello', '... and both reveal');

SELECT is(tenantguard.reveal_bytea(tenantguard.seal('\x00ff10'::bytea)), '\x00ff10'::bytea, 'bytea round trip (NUL and high bytes)');
SELECT is(get_byte(tg70.raw(tenantguard.seal('\x00ff10'::bytea)::text), 1), 1, 'envelope flags bit 0 marks a bytea secret');
SELECT is(tenantguard.reveal_bytea(tenantguard.seal(''::bytea)), ''::bytea, 'empty bytea round trip');
SELECT is(tenantguard.reveal(tenantguard.seal(''::text)), '', 'empty string round trip (not NULL)');
SELECT is(octet_length(tg70.raw(tenantguard.seal(''::text)::text)), 62, 'an empty plaintext seals to exactly the 62-byte overhead');
SELECT is(tenantguard.reveal(tenantguard.seal('héllo wörld ✓ 日本語 🔐'::text)), 'héllo wörld ✓ 日本語 🔐', 'unicode round trip');
SELECT is(octet_length(tg70.raw(tenantguard.seal('日本語🔐'::text)::text)), 62 + octet_length('日本語🔐'),
    'unicode is sealed as its UTF-8 bytes');
SELECT is(tenantguard.reveal_bytea(tenantguard.seal('héllo'::text)), convert_to('héllo', 'UTF8'),
    'reveal_bytea() of a text secret gives its UTF-8 bytes');

CREATE TEMP TABLE big AS
    SELECT v, tenantguard.seal(v) AS s, tenantguard.seal(convert_to(v, 'UTF8')) AS b
      FROM (SELECT string_agg(md5(i::text), '' ORDER BY i) AS v FROM generate_series(1, 32768) i) x;
SELECT is((SELECT octet_length(v) FROM big), 1048576, '(the large plaintext is 1 MiB)');
SELECT ok((SELECT tenantguard.reveal(s) = v FROM big), '1 MiB text round trip');
SELECT ok((SELECT tenantguard.reveal_bytea(b) = convert_to(v, 'UTF8') FROM big), '1 MiB bytea round trip');
SELECT is((SELECT octet_length(tg70.raw(s::text)) FROM big), 1048576 + 62, 'the 1 MiB envelope has the fixed overhead');
SELECT is((SELECT position(convert_to(substr(v, 1, 64), 'UTF8') IN tg70.raw(s::text)) FROM big), 0,
    'the 1 MiB ciphertext does not contain the plaintext');

-- ---------------------------------------------------------------------------
-- 2. NULL in, NULL out (also without a tenant context)
-- ---------------------------------------------------------------------------
SELECT ok(tenantguard.seal(NULL::text) IS NULL, 'seal(NULL::text) is NULL');
SELECT ok(tenantguard.seal(NULL::bytea) IS NULL, 'seal(NULL::bytea) is NULL');
SELECT is(tenantguard.reveal(NULL), NULL, 'reveal(NULL) is NULL');
SELECT is(tenantguard.reveal_bytea(NULL), NULL, 'reveal_bytea(NULL) is NULL');
SELECT is(tenantguard.blind_index(NULL), NULL, 'blind_index(NULL) is NULL');
SELECT is(tenantguard.blind_index('x', NULL), NULL, 'blind_index(value, NULL) is NULL');
SELECT is(tenantguard.secret_key_version(NULL), NULL, 'secret_key_version(NULL) is NULL');
SELECT is(tenantguard.secret_tenant(NULL), NULL, 'secret_tenant(NULL) is NULL');
SELECT ok(NULL::text::tenantguard.secret IS NULL, 'NULL::tenantguard.secret is NULL');

-- ---------------------------------------------------------------------------
-- 3. Binary payloads revealed as text
-- ---------------------------------------------------------------------------
SELECT tenantguard.seal('\xfffe00c3'::bytea) AS bin \gset
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'bin'), '22021',
    'sealed value is not valid text in the database encoding', 'reveal() of binary sealed with seal(bytea) fails with 22021');
SELECT matches((tg70.err(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'bin'))).hint, 'reveal_bytea',
    '... with a hint naming reveal_bytea()');
SELECT is(tenantguard.reveal_bytea(:'bin'), '\xfffe00c3'::bytea, '... while reveal_bytea() opens it');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', tenantguard.seal('\x610062'::bytea)), '22021',
    NULL, 'reveal() of bytes with an embedded NUL fails with 22021');

-- ---------------------------------------------------------------------------
-- 4. Wrong tenant, copied rows, rewritten tenant bytes
-- ---------------------------------------------------------------------------
SELECT tg70.enter(:'globex') \gset
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'s'), '42501',
    'secret belongs to another tenant', 'reveal() of an Acme secret in Globex fails with 42501');
SELECT throws_ok(format('SELECT tenantguard.reveal_bytea(%L::tenantguard.secret)', :'s'), '42501',
    'secret belongs to another tenant', 'reveal_bytea() of an Acme secret in Globex fails with 42501');
SELECT tenantguard.seal('globex-secret'::text) AS gs \gset
SELECT is(tenantguard.secret_tenant(:'gs'), :'globex'::uuid, 'a seal in Globex is bound to Globex');

-- The tenant bytes of an Acme ciphertext rewritten to Globex: the AEAD
-- associated data no longer matches, so Globex cannot open it either.
SELECT tg70.form(overlay(tg70.raw(:'s') PLACING uuid_send(:'globex'::uuid) FROM 7 FOR 16)) AS moved \gset
SELECT is(tenantguard.secret_tenant(:'moved'), :'globex'::uuid, '(the rewritten ciphertext now claims Globex)');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'moved'), 'XX001',
    'secret failed authentication', 'an Acme ciphertext with its tenant bytes rewritten to Globex fails authentication in Globex (XX001)');
SELECT throws_ok(format('SELECT tenantguard.reveal_bytea(%L::tenantguard.secret)', :'moved'), 'XX001',
    'secret failed authentication', '... also through reveal_bytea()');
SELECT tg70.enter(:'acme') \gset
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'moved'), '42501',
    'secret belongs to another tenant', '... and in Acme it is refused as belonging to another tenant (42501)');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'gs'), '42501',
    'secret belongs to another tenant', 'reveal() of a Globex secret in Acme fails with 42501');
SELECT tenantguard.clear_context() \gset

-- The application roles: each bound to its own tenant.
SET ROLE tg70_app;
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'the bound application role is in Acme');
SELECT lives_ok($$INSERT INTO tg70.accounts (id, api_key) VALUES (1, tenantguard.seal('acme-key-1'::text)),
                                                                 (2, tenantguard.seal('acme-key-2'::text))$$,
    'the application role seals values into its rows');
SELECT results_eq('SELECT tenantguard.reveal(api_key) FROM tg70.accounts ORDER BY id',
    $$VALUES ('acme-key-1'), ('acme-key-2')$$, 'the application role reveals its own rows');
SELECT is(tenantguard.reveal_bytea(tenantguard.seal('\x0102'::bytea)), '\x0102'::bytea, 'the application role round-trips bytea');
SELECT is(tenantguard.reveal(:'s'), 'hello', 'the application role reveals a secret sealed earlier in Acme');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'gs'), '42501',
    'secret belongs to another tenant', 'the Acme application role cannot reveal a Globex secret (42501)');
SELECT (SELECT api_key FROM tg70.accounts WHERE id = 1)::text AS acme_key1 \gset
RESET ROLE;

SET ROLE tg70_gapp;
SELECT is(tenantguard.current_tenant(), :'globex'::uuid, 'the second application role is in Globex');
-- The attacker copies Acme's ciphertext (text form) into a Globex row.
SELECT lives_ok(format('INSERT INTO tg70.accounts (id, api_key) VALUES (1, %L)', :'acme_key1'),
    'a Globex role can store a ciphertext copied from an Acme row ...');
SELECT throws_ok('SELECT tenantguard.reveal(api_key) FROM tg70.accounts WHERE id = 1', '42501',
    'secret belongs to another tenant', '... but it does not reveal there (42501)');
SELECT throws_ok('SELECT tenantguard.reveal_bytea(api_key) FROM tg70.accounts WHERE id = 1', '42501',
    'secret belongs to another tenant', '... not as bytea either (42501)');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'moved'), 'XX001',
    'secret failed authentication', 'the Globex role cannot open the Acme ciphertext rewritten to Globex (XX001)');
SELECT throws_ok(format('SELECT tenantguard.set_tenant(%L)', :'acme'), '42501', NULL,
    'the Globex role cannot move itself to Acme to reveal it (42501)');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 5. No tenant context
-- ---------------------------------------------------------------------------
SET ROLE tg70_free;
SELECT is(tenantguard.current_tenant(), NULL, 'the unbound application role has no tenant context');
SELECT throws_ok($$SELECT tenantguard.seal('x'::text)$$, '42501', 'no tenant context is set', 'seal(text) without a context fails with 42501');
SELECT throws_ok($$SELECT tenantguard.seal('\x01'::bytea)$$, '42501', 'no tenant context is set', 'seal(bytea) without a context fails with 42501');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'s'), '42501',
    'no tenant context is set', 'reveal() without a context fails with 42501');
SELECT throws_ok(format('SELECT tenantguard.reveal_bytea(%L::tenantguard.secret)', :'s'), '42501',
    'no tenant context is set', 'reveal_bytea() without a context fails with 42501');
SELECT throws_ok($$SELECT tenantguard.blind_index('x')$$, '42501', 'no tenant context is set', 'blind_index() without a context fails with 42501');
RESET ROLE;
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', :'s'), '42501',
    'no tenant context is set', 'a superuser without a context cannot reveal either (42501)');
SELECT throws_ok($$SELECT tenantguard.seal('x'::text)$$, '42501', 'no tenant context is set', 'a superuser without a context cannot seal (42501)');

-- ---------------------------------------------------------------------------
-- 6. One flipped byte in every position class
-- ---------------------------------------------------------------------------
SELECT tg70.enter(:'acme') \gset
-- version byte: not an envelope any more, refused by the input function
SELECT throws_ok(format('SELECT %L::tenantguard.secret', tg70.flip(:'s', 0)), '22P02',
    'invalid input syntax for type tenantguard.secret', 'flipped version byte: refused at input (22P02)');
SELECT throws_ok(format('SELECT %L::tenantguard.secret', tg70.flip(:'s', 0, 255)), '22P02',
    NULL, 'version byte 0xfe: refused at input (22P02)');
-- flags: bit 0 is authenticated (XX001); unknown bits are not an envelope (22P02)
SELECT is(tg70.reveal_state(tg70.flip(:'s', 1, 1)), 'XX001', 'flipped flags bit 0: reveal fails authentication (XX001)');
SELECT is(tg70.state(format('SELECT tenantguard.reveal_bytea(%L::tenantguard.secret)', tg70.flip(:'s', 1, 1))), 'XX001',
    'flipped flags bit 0: reveal_bytea fails authentication too (XX001)');
SELECT is(tg70.state(format('SELECT tenantguard.reveal(%L::tenantguard.secret)',
                            tg70.flip(tenantguard.seal('\x6869'::bytea)::text, 1, 1))), 'XX001',
    'a bytea secret relabelled as text fails authentication (XX001)');
SELECT throws_ok(format('SELECT %L::tenantguard.secret', tg70.flip(:'s', 1, 128)), '22P02',
    NULL, 'an unknown flags bit: refused at input (22P02)');
-- key version
SELECT throws_ok(format('SELECT %L::tenantguard.secret', tg70.flip(:'s', 5, 1)), '22P02',
    NULL, 'key version 0: refused at input (22P02)');
SELECT is(tg70.reveal_state(tg70.flip(:'s', 2, 128)), 'XX001', 'key version high byte flipped (no such key): XX001');
SELECT is(tg70.reveal_state(tg70.flip(:'s', 5, 2)), 'XX001', 'key version 3 (no such key yet): XX001');
-- tenant: in the sealing tenant the ciphertext now names another tenant
SELECT is(tg70.reveal_state(tg70.flip(:'s', 6)), '42501', 'flipped first tenant byte: refused as another tenant''s secret (42501)');
SELECT is(tg70.reveal_state(tg70.flip(:'s', 21)), '42501', 'flipped last tenant byte: refused as another tenant''s secret (42501)');
-- ... and in the tenant the flipped bytes now name (made to exist), it fails authentication
SELECT tenantguard.secret_tenant(tg70.flip(:'s', 6)::tenantguard.secret) AS flipped_tenant \gset
INSERT INTO tenantguard.tenants (id, slug, name) VALUES (:'flipped_tenant', 'flipped', 'Flipped');
SELECT tg70.enter(:'flipped_tenant') \gset
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', tg70.flip(:'s', 6)), 'XX001',
    'secret failed authentication', 'flipped tenant byte, revealed in the tenant it now names: XX001');
SELECT is(tg70.reveal_state(tg70.flip(:'s', 21)), '42501', '(a different flipped tenant byte is still another tenant there: 42501)');
SELECT tg70.enter(:'acme') \gset
-- nonce, body, tag
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', tg70.flip(:'s', 22)), 'XX001',
    'secret failed authentication', 'flipped first nonce byte: XX001');
SELECT is(tg70.reveal_state(tg70.flip(:'s', 45)), 'XX001', 'flipped last nonce byte: XX001');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', tg70.flip(:'s', 46)), 'XX001',
    'secret failed authentication', 'flipped first ciphertext body byte: XX001');
SELECT is(tg70.reveal_state(tg70.flip(:'s', 50)), 'XX001', 'flipped last ciphertext body byte: XX001');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', tg70.flip(:'s', 51)), 'XX001',
    'secret failed authentication', 'flipped first tag byte: XX001');
SELECT is(tg70.reveal_state(tg70.flip(:'s', 66, 128)), 'XX001', 'flipped top bit of the last tag byte: XX001');
SELECT matches((tg70.err(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', tg70.flip(:'s', 46)))).detail,
    'altered', 'the authentication failure explains that the ciphertext was altered');
SELECT is(tg70.reveal_state(tg70.form(substr(tg70.raw(:'s'), 1, 66))), 'XX001', 'a ciphertext truncated by one byte: XX001');
SELECT is(tg70.reveal_state(tg70.form(tg70.raw(:'s') || '\x00'::bytea)), 'XX001', 'a ciphertext with one byte appended: XX001');
SELECT is(tg70.reveal_state(tg70.form(substr(tg70.raw(:'s'), 1, 46) || substr(tg70.raw(:'s2'), 47))), 'XX001',
    'header of one ciphertext spliced onto the body of another: XX001');
SELECT is(tg70.reveal_state(tg70.form(substr(tg70.raw(:'s'), 1, 61))), '22P02', 'an envelope shorter than its overhead: 22P02');
-- exhaustively: every single-bit flip at every offset, with its class code
SELECT is((SELECT string_agg(format('%s:%s', p, st), ', ' ORDER BY p)
             FROM (SELECT p, tg70.reveal_state(tg70.flip(:'s', p)) AS st,
                          CASE WHEN p IN (0, 5) THEN '22P02'
                               WHEN p BETWEEN 6 AND 21 THEN '42501'
                               ELSE 'XX001' END AS want
                     FROM generate_series(0, 66) p) x
            WHERE st IS DISTINCT FROM want), NULL,
    'bit 0 flipped at each of the 67 offsets: 22P02 (version, key version 0), 42501 (tenant) or XX001 (everything else)');
SELECT is((SELECT count(*)::int FROM generate_series(0, 66) p, generate_series(0, 7) b
            WHERE tg70.reveal_state(tg70.flip(:'s', p, 1 << b)) = 'none'), 0,
    'none of the 536 single-bit flips reveals');

-- ---------------------------------------------------------------------------
-- 7. Malformed text forms: 22P02, a hint to use seal(), the input never echoed
-- ---------------------------------------------------------------------------
-- a valid ciphertext whose text form has a '-' or '_' (to swap for '+' / '/')
SELECT s AS s_url FROM (SELECT tenantguard.seal('hello'::text)::text AS s FROM generate_series(1, 50)) x
 WHERE s ~ '[-_]' LIMIT 1 \gset
CREATE TEMP TABLE bad_forms (label text, input text, secret_part text);
INSERT INTO bad_forms VALUES
    ('plaintext',                   'hunter2-CANARY-pw',                         'hunter2-CANARY-pw'),
    ('empty string',                '',                                          NULL),
    ('bare prefix',                 'tgs1:',                                     NULL),
    ('prefix and non-base64',       'tgs1:!!!CANARY!!!',                         '!!!CANARY!!!'),
    ('padded base64',               :'s' || repeat('=', (4 - (length(:'s') - 5) % 4) % 4),
                                    substr(:'s', 6)),
    ('standard base64 alphabet',    translate(:'s_url', '-_', '+/'),            substr(translate(:'s_url', '-_', '+/'), 6)),
    ('truncated text form',         left(:'s', length(:'s') - 1),               substr(left(:'s', length(:'s') - 1), 6)),
    ('truncated to a header',       left(:'s', 41),                              substr(left(:'s', 41), 6)),
    ('upper-case prefix',           'TGS1:' || substr(:'s', 6),                  substr(:'s', 6)),
    ('other version prefix',        'tgs2:' || substr(:'s', 6),                  substr(:'s', 6)),
    ('leading space',               ' ' || :'s',                                 substr(:'s', 6)),
    ('trailing newline',            :'s' || E'\n',                               substr(:'s', 6)),
    ('base64url of a plaintext',    'tgs1:' || translate(encode('hunter2-CANARY-pw', 'base64'), '+/=', '-_'), 'hunter2-CANARY-pw');
SELECT is((length(:'s') - 5) % 4 <> 0, true, '(the hello ciphertext needs padding, so the padded form differs)');
SELECT isnt(translate(:'s_url', '-_', '+/'), :'s_url'::text, '(the standard-alphabet form differs from the base64url one)');
SELECT is((SELECT string_agg(label || '=' || (tg70.err(format('SELECT %L::tenantguard.secret', input))).state, ', ')
             FROM bad_forms WHERE (tg70.err(format('SELECT %L::tenantguard.secret', input))).state <> '22P02'), NULL,
    'every malformed text form is refused with 22P02');
SELECT is((SELECT string_agg(label, ', ') FROM bad_forms
            WHERE (tg70.err(format('SELECT %L::tenantguard.secret', input))).msg
                  IS DISTINCT FROM 'invalid input syntax for type tenantguard.secret'), NULL,
    'every malformed text form gets the message "invalid input syntax for type tenantguard.secret"');
SELECT is((SELECT string_agg(label, ', ') FROM bad_forms b, tg70.err(format('SELECT %L::tenantguard.secret', b.input)) e
            WHERE position(b.secret_part IN coalesce(e.msg, '') || coalesce(e.detail, '') || coalesce(e.hint, '')) > 0), NULL,
    'no message, detail or hint contains the rejected input');
SELECT is((SELECT string_agg(label, ', ') FROM bad_forms b, tg70.err(format('SELECT %L::tenantguard.secret', b.input)) e
            WHERE coalesce(e.hint, '') !~ 'seal\('), NULL,
    'every malformed text form gets a hint to use seal()');
SELECT throws_ok($$SELECT 'plaintext'::tenantguard.secret$$, '22P02', NULL, 'a plaintext literal cast to tenantguard.secret fails with 22P02');
SELECT throws_ok($$INSERT INTO tg70.accounts (id, api_key) VALUES (9, 'sk_live_CANARY')$$, '22P02', NULL,
    'inserting plaintext into a secret column fails with 22P02');
SELECT is((SELECT count(*)::int FROM tg70.accounts WHERE id = 9), 0, '... and stores nothing');
SELECT is(tg70.state(format('SELECT %L::tenantguard.secret', :'s_url')), 'none', '(the base64url form itself is accepted)');

-- ---------------------------------------------------------------------------
-- 8. Blind indexes
-- ---------------------------------------------------------------------------
SELECT encode(tenantguard.blind_index('alice@example.com', 'email'), 'hex') AS bi_acme \gset
SELECT is(encode(tenantguard.blind_index('alice@example.com', 'email'), 'hex'), :'bi_acme'::text, 'blind_index() is stable');
SELECT is(octet_length(tenantguard.blind_index('alice@example.com', 'email')), 32, 'blind_index() is 32 bytes');
SELECT isnt(encode(tenantguard.blind_index('alice@example.com', 'phone'), 'hex'), :'bi_acme'::text, 'blind_index() differs per purpose');
SELECT isnt(encode(tenantguard.blind_index('alice@example.org', 'email'), 'hex'), :'bi_acme'::text, 'blind_index() differs per value');
SELECT is(tenantguard.blind_index('alice@example.com'), tenantguard.blind_index('alice@example.com', 'default'),
    'the default purpose is ''default''');
SELECT isnt(tenantguard.blind_index('alice@example.com', 'email'), sha256('alice@example.com'::bytea),
    'blind_index() is keyed (not a plain SHA-256 of the value)');
SELECT ok(tenantguard.blind_index('ab', 'c') <> tenantguard.blind_index('a', 'bc')
       AND tenantguard.blind_index('bc', 'a') <> tenantguard.blind_index('c', 'ab'),
    'value and purpose are not simply concatenated (either order)');
SELECT tg70.enter(:'globex') \gset
SELECT isnt(encode(tenantguard.blind_index('alice@example.com', 'email'), 'hex'), :'bi_acme'::text, 'blind_index() differs per tenant');
SELECT tg70.enter(:'acme') \gset

-- Equality lookups on a sealed column through its blind index.
CREATE TABLE tg70.people (
    tenant_id  uuid NOT NULL,
    id         int  NOT NULL,
    email      tenantguard.secret NOT NULL,
    email_bidx bytea NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
SELECT tenantguard.protect('tg70.people') \gset
CREATE INDEX ON tg70.people (tenant_id, email_bidx);
INSERT INTO tg70.people (id, email, email_bidx)
     SELECT i, tenantguard.seal(e), tenantguard.blind_index(e, 'email')
       FROM (VALUES (1, 'alice@example.com'), (2, 'bob@example.com'), (3, 'carol@example.com')) v(i, e);
SELECT tg70.enter(:'globex') \gset
INSERT INTO tg70.people (id, email, email_bidx)
     VALUES (7, tenantguard.seal('bob@example.com'::text), tenantguard.blind_index('bob@example.com', 'email'));
SELECT tg70.enter(:'acme') \gset
SELECT results_eq($$SELECT id, tenantguard.reveal(email) FROM tg70.people
                     WHERE email_bidx = tenantguard.blind_index('bob@example.com', 'email')$$,
    $$VALUES (2, 'bob@example.com')$$, 'an equality lookup by blind index finds the sealed row');
SELECT is((SELECT count(*)::int FROM tg70.people WHERE email_bidx = tenantguard.blind_index('dave@example.com', 'email')), 0,
    'a lookup of an absent value finds nothing');
SELECT is((SELECT count(*)::int FROM tg70.people WHERE email_bidx = tenantguard.blind_index('bob@example.com', 'phone')), 0,
    'a lookup with the wrong purpose finds nothing');
SELECT tenantguard.clear_context() \gset
SELECT is((SELECT array_agg(id ORDER BY id) FROM tg70.people
            WHERE email_bidx IN (SELECT email_bidx FROM tg70.people WHERE id = 2)), ARRAY[2],
    'the same value has unrelated blind indexes in two tenants (superuser view of all rows)');

-- ---------------------------------------------------------------------------
-- 9. Rotation
-- ---------------------------------------------------------------------------
-- A table of sealed values in two tenants, owned by an administrator.
CREATE TABLE tg70.creds (
    tenant_id uuid NOT NULL,
    id        int  NOT NULL,
    expect    text,
    secret    tenantguard.secret,
    note      text,
    PRIMARY KEY (tenant_id, id)
);
SELECT tenantguard.protect('tg70.creds') \gset
ALTER TABLE tg70.creds OWNER TO tg70_admin;
GRANT SELECT ON tg70.creds TO tenantguard_app;
CREATE TABLE tg70."Mixed Case" (tenant_id uuid NOT NULL, id int NOT NULL, "Sec Val" tenantguard.secret, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('tg70."Mixed Case"') \gset
ALTER TABLE tg70."Mixed Case" OWNER TO tg70_admin;
GRANT SELECT ON tg70."Mixed Case" TO tenantguard_app;
SELECT tg70.enter(:'acme') \gset
INSERT INTO tg70.creds (id, expect, secret) SELECT i, 'acme-' || i, tenantguard.seal('acme-' || i) FROM generate_series(1, 15) i;
INSERT INTO tg70.creds (id, expect, secret) VALUES (100, NULL, NULL);
INSERT INTO tg70."Mixed Case" (id, "Sec Val") SELECT i, tenantguard.seal('mc-' || i) FROM generate_series(1, 3) i;
SELECT tg70.enter(:'globex') \gset
INSERT INTO tg70.creds (id, expect, secret) SELECT i, 'globex-' || i, tenantguard.seal('globex-' || i) FROM generate_series(1, 10) i;
SELECT tenantguard.clear_context() \gset

SELECT is((SELECT array_agg(version ORDER BY version) FROM tenantguard.key_versions WHERE purpose = 'data'), ARRAY[1],
    'before rotation there is one data key version');
SET ROLE tg70_admin;
SELECT is(tenantguard.rotate_data_key(), 2, 'rotate_data_key() by an administrator returns the new version 2');
RESET ROLE;
SELECT is((SELECT array_agg(version ORDER BY version) FROM tenantguard.key_versions WHERE purpose = 'data'), ARRAY[1, 2],
    'key_versions lists versions 1 and 2');
SELECT tg70.enter(:'acme') \gset
SELECT is(tenantguard.secret_key_version(tenantguard.seal('new'::text)), 2, 'new seals use the new version');
SELECT is(tenantguard.reveal(tenantguard.seal('new'::text)), 'new', '... and reveal');
SELECT is(tenantguard.secret_key_version(:'s'), 1, 'an old ciphertext is still at version 1');
SELECT is(tenantguard.reveal(:'s'), 'hello', 'an old ciphertext still reveals after rotation');
SELECT is(encode(tenantguard.blind_index('alice@example.com', 'email'), 'hex'), :'bi_acme',
    'blind indexes are unchanged by rotation');
SELECT throws_ok(format('SELECT tenantguard.reveal(%L::tenantguard.secret)', tg70.flip(:'s', 5, 3)), 'XX001',
    'secret failed authentication', 'a version-1 ciphertext relabelled as version 2 (an existing key) fails authentication');
SELECT tenantguard.clear_context() \gset

-- reencrypt(): owner only, secret columns only, resumable
SELECT is((SELECT count(*)::int FROM tg70.creds WHERE tenantguard.secret_key_version(secret) = 1), 25,
    '(25 sealed rows at version 1 before reencrypt)');
SET ROLE tg70_admin;
SELECT is(tenantguard.reencrypt('tg70.creds', 'secret', 10, 7), 7::bigint, 'reencrypt(..., max_rows => 7) rewrites 7 rows');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tg70.creds WHERE tenantguard.secret_key_version(secret) = 1), 18,
    '... leaving 18 rows at version 1');
SET ROLE tg70_admin;
SELECT is(tenantguard.reencrypt('tg70.creds', 'secret', 4), 18::bigint, 'resuming reencrypt() rewrites the remaining 18 rows');
SELECT is(tenantguard.reencrypt('tg70.creds', 'secret'), 0::bigint, 'a further reencrypt() has nothing to do');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT tenantguard.secret_key_version(secret)) FROM tg70.creds WHERE secret IS NOT NULL), ARRAY[2],
    'every sealed row is at the newest version');
SELECT is((SELECT count(*)::int FROM tg70.creds WHERE id = 100 AND secret IS NULL), 1, 'a NULL secret stays NULL');
SELECT is((SELECT count(*)::int FROM tg70.creds
            WHERE secret IS NOT NULL AND tenantguard.secret_tenant(secret) IS DISTINCT FROM tenant_id), 0,
    'reencrypt() keeps every ciphertext bound to its own tenant');
SET ROLE tg70_app;
SELECT is((SELECT count(*)::int FROM tg70.creds WHERE secret IS NOT NULL AND tenantguard.reveal(secret) = expect), 15,
    'every re-encrypted Acme row reveals its original value in Acme');
RESET ROLE;
SET ROLE tg70_gapp;
SELECT is((SELECT count(*)::int FROM tg70.creds WHERE tenantguard.reveal(secret) = expect), 10,
    'every re-encrypted Globex row reveals its original value in Globex');
RESET ROLE;

SELECT is(tenantguard.rotate_data_key(), 3, 'a second rotation gives version 3');
SET ROLE tg70_admin;
SELECT is(tenantguard.reencrypt('tg70.creds', 'secret', 1), 25::bigint, 'reencrypt() with batch 1 moves all 25 rows to version 3');
SELECT is(tenantguard.reencrypt('tg70."Mixed Case"', 'Sec Val', 2), 3::bigint, 'reencrypt() handles quoted table and column names');
SELECT throws_ok($$SELECT tenantguard.reencrypt('tg70.creds', 'note')$$, '42804', NULL,
    'reencrypt() of a text column fails with 42804');
SELECT throws_ok($$SELECT tenantguard.reencrypt('tg70.creds', 'no_such_col')$$, '42804', NULL,
    'reencrypt() of a missing column fails with 42804');
SELECT throws_ok($$SELECT tenantguard.reencrypt('tg70.creds', 'secret', 0)$$, '22023', NULL,
    'reencrypt() with batch 0 fails with 22023');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT tenantguard.secret_key_version(secret)) FROM tg70.creds WHERE secret IS NOT NULL), ARRAY[3],
    'every sealed row is at version 3');
SET ROLE tg70_app;
SELECT results_eq($$SELECT tenantguard.reveal("Sec Val") FROM tg70."Mixed Case" ORDER BY id$$,
    $$VALUES ('mc-1'), ('mc-2'), ('mc-3')$$, 'the quoted column still reveals after reencrypt()');
SELECT is(tenantguard.reveal(:'s'), 'hello', 'a version-1 ciphertext still reveals after two rotations');
RESET ROLE;

-- the attack: a non-owner rewrites (or probes) a table through the SECURITY DEFINER function
SELECT tenantguard.rotate_data_key() \gset
SET ROLE tg70_admin2;
SELECT throws_ok($$SELECT tenantguard.reencrypt('tg70.creds', 'secret')$$, '42501', NULL,
    'reencrypt() by an administrator who does not own the table fails with 42501');
RESET ROLE;
SET ROLE tg70_app;
SELECT throws_ok($$SELECT tenantguard.reencrypt('tg70.creds', 'secret')$$, '42501', NULL,
    'reencrypt() by an application role fails with 42501');
SELECT throws_ok(format('SELECT tenantguard._reseal(%L::tenantguard.secret)', :'s'), '42501', NULL,
    'the internal _reseal() is not executable by an application role');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tg70.creds WHERE tenantguard.secret_key_version(secret) = 4), 0,
    'the refused calls rewrote nothing');

SELECT * FROM finish();
ROLLBACK;
