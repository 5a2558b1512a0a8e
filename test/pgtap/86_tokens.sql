-- Signed context tokens: keys, entry with SET LOCAL / set_config / assume,
-- claims, and every class of rejected token.
--
-- Attacker: an application login role (member of tenantguard_app) holding
-- stolen, expired, forged or hand-crafted tokens; it must never get a
-- context out of them, nor a secret or token echoed in an error.
-- Hand-crafted tokens are signed here with pgcrypto's HMAC, independently of
-- tenantguard's own signing code.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg86_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(84);

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE ROLE tg86_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg86_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg86_bound LOGIN IN ROLE tenantguard_app;

SELECT tenantguard.create_tenant('acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('globex', 'Globex') AS globex \gset
SELECT tenantguard.create_tenant('hooli', 'Hooli') AS hooli \gset

CREATE SCHEMA tg86;
GRANT USAGE ON SCHEMA tg86 TO tg86_app, tg86_admin, tg86_bound;
GRANT CREATE ON SCHEMA tg86 TO tg86_app;
CREATE TABLE tg86.docs (tenant_id uuid NOT NULL, id int NOT NULL, body text NOT NULL);
SELECT tenantguard.protect('tg86.docs') \gset
GRANT SELECT, INSERT ON tg86.docs TO tg86_app, tg86_bound;
SELECT tenantguard.set_tenant(:'acme');
INSERT INTO tg86.docs VALUES (:'acme', 1, 'a1'), (:'acme', 2, 'a2');
SELECT tenantguard.clear_context();
SELECT tenantguard.set_tenant(:'globex');
INSERT INTO tg86.docs VALUES (:'globex', 3, 'g1');
SELECT tenantguard.clear_context();

-- base64url and a hand-made HS256 token (header and payload as given, so
-- duplicate members and odd JSON survive)
CREATE FUNCTION tg86.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT rtrim(translate(encode(b, 'base64'), E'+/\n', '-_'), '=') $$;
CREATE FUNCTION tg86.unb64url(t text) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$ SELECT decode(translate(t, '-_', '+/') || repeat('=', (4 - length(t) % 4) % 4), 'base64') $$;
CREATE FUNCTION tg86.hs(header text, payload text, secret text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT si || '.' || tg86.b64url(hmac(convert_to(si, 'UTF8'), tg86.unb64url(secret), 'sha256'))
          FROM (SELECT tg86.b64url(convert_to(header, 'UTF8')) || '.' || tg86.b64url(convert_to(payload, 'UTF8')) AS si) s $$;
CREATE FUNCTION tg86.now_s(off int DEFAULT 0) RETURNS bigint LANGUAGE sql
    AS $$ SELECT extract(epoch FROM clock_timestamp())::bigint + off $$;
-- did entering fail with 28000 and an error that does not contain the token?
CREATE FUNCTION tg86.refused(tok text, OUT state text, OUT echoed boolean) LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM set_config('tenantguard.context', tok, true);
        state := 'entered';
    EXCEPTION WHEN OTHERS THEN
        DECLARE d text; h text; m text;
        BEGIN
            GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
            state := SQLSTATE;
            echoed := position(split_part(tok, '.', 3) IN coalesce(m, '') || coalesce(d, '') || coalesce(h, '')) > 0
                      AND split_part(tok, '.', 3) <> '';
        END;
    END;
    PERFORM set_config('tenantguard.context', '', true);
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg86 TO tg86_app, tg86_bound;

-- ---------------------------------------------------------------------------
-- Keys
-- ---------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT tenantguard.mint_token(%L, 'alice')$$, :'acme'), '22023',
    'there is no signing key to mint with', 'mint_token() without any key: 22023 with a hint');

SELECT kid AS hkid, secret AS hsecret FROM tenantguard.add_signing_key() \gset
SELECT kid AS ekid, secret AS eseed FROM tenantguard.add_signing_key('EdDSA') \gset
SELECT ok(:'hkid' ~ '^tg-[A-Za-z0-9_-]{16}$', 'add_signing_key() returns a kid');
SELECT is(length(tg86.unb64url(:'hsecret')), 32, 'the HS256 secret is 32 random bytes, base64url');
SELECT is(length(tg86.unb64url(:'eseed')), 32, 'the EdDSA private key is its 32-byte seed');
SELECT results_eq($$SELECT alg, origin, status, public_key IS NULL FROM tenantguard.token_keys ORDER BY alg$$,
    $$VALUES ('EdDSA', 'generated', 'active', false), ('HS256', 'generated', 'active', true)$$,
    'token_keys lists both keys; only the EdDSA public key is shown');
SELECT is((SELECT count(*)::int FROM tenantguard.token_key_store
            WHERE position(tg86.unb64url(:'hsecret') IN sealed_secret) > 0), 0,
    'the HS256 secret is stored sealed, not in the clear');
SELECT throws_ok($$SELECT tenantguard.add_signing_key('RS256')$$, '22023', NULL,
    'add_signing_key(RS256): 22023 (RS256 and ES256 keys are imported)');
SELECT throws_ok($$SELECT tenantguard.add_signing_key('none')$$, '22023', NULL, 'add_signing_key(none): 22023');

-- import: raw, JWK, JWKS; bad key material never echoed
SELECT is((SELECT array_agg(k) FROM tenantguard.import_signing_key('app-1', 'HS256',
            tg86.b64url(decode(repeat('ab', 32), 'hex'))) k), ARRAY['app-1'], 'import a raw HS256 secret');
SELECT throws_ok($$SELECT tenantguard.import_signing_key('app-2', 'HS256', 'c2hvcnQtc2VjcmV0LTMxLWJ5dGVzLWxvbmcuLi4')$$,
    '22023', 'signing key "app-2" is not usable', 'an HS256 secret under 32 bytes is refused');
SELECT throws_like($$SELECT tenantguard.import_signing_key('app-3', 'HS256', 'not*base64url!')$$,
    '%not valid base64url%', 'malformed base64url: 22023');
SELECT throws_ok($$SELECT tenantguard.import_signing_key('bad kid', 'HS256', 'AAAA')$$, '22023',
    'invalid key id', 'a kid with a space is refused');
SELECT throws_ok($$SELECT tenantguard.import_signing_key(NULL, 'HS256', 'AAAA')$$, '22023', NULL,
    'a raw key needs a kid');
SELECT throws_ok($$SELECT tenantguard.import_signing_key('x', NULL, 'AAAA')$$, '22023', NULL,
    'a raw key needs an alg');
SELECT throws_ok(format($$SELECT tenantguard.import_signing_key('app-1', 'HS256', %L)$$,
        tg86.b64url(decode(repeat('cd', 32), 'hex'))), '42710', NULL,
    'a kid that exists with other material is refused (42710)');
SELECT is((SELECT count(*)::int FROM tenantguard.import_signing_key('app-1', 'HS256',
            tg86.b64url(decode(repeat('ab', 32), 'hex')))), 0, 're-importing the same key is a no-op');
SELECT is((SELECT array_agg(k ORDER BY k) FROM tenantguard.import_signing_key(NULL, NULL,
    '{"keys": [{"kty": "oct", "kid": "jwk-hs", "k": "' || tg86.b64url(decode(repeat('ef', 32), 'hex')) || '"},
               {"kty": "OKP", "crv": "Ed25519", "kid": "jwk-ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}') k),
    ARRAY['jwk-ed', 'jwk-hs'], 'a JWKS imports every key with its kid');
SELECT throws_ok($$SELECT tenantguard.import_signing_key(NULL, NULL, '{"keys": [{"kty": "oct", "kid": "x", "k": "AAAA"}, }')$$,
    '22023', 'malformed JWK or JWKS document', 'a malformed JWKS: 22023');
SELECT throws_ok($$SELECT tenantguard.import_signing_key('ed-zero', 'EdDSA', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$,
    '22023', 'signing key "ed-zero" is not usable', 'an all-zero (small-order) Ed25519 public key is refused');

-- an EdDSA key whose public key an attacker knows, and an audience/issuer-bound key
SELECT public_key AS epub FROM tenantguard.token_keys WHERE kid = :'ekid' \gset
SELECT tenantguard.import_signing_key('aud-key', 'HS256', tg86.b64url(decode(repeat('12', 32), 'hex')),
    issuer => 'https://idp.example', audience => 'tenantguard') \gset

-- only administrators manage keys and mint
SET ROLE tg86_app;
SELECT throws_ok($$SELECT tenantguard.add_signing_key()$$, '42501', NULL, 'an app role cannot add keys');
SELECT throws_ok($$SELECT tenantguard.import_signing_key('evil', 'HS256', 'AAAA')$$, '42501', NULL, 'an app role cannot import keys');
SELECT throws_ok($$SELECT tenantguard.retire_signing_key('app-1')$$, '42501', NULL, 'an app role cannot retire keys');
SELECT throws_ok(format($$SELECT tenantguard.mint_token(%L, 'alice')$$, :'acme'), '42501', NULL, 'an app role cannot mint');
SELECT throws_ok($$SELECT tenantguard.sign_token('{}', 'app-1')$$, '42501', NULL, 'an app role cannot sign');
SELECT throws_ok($$SELECT * FROM tenantguard.token_key_store$$, '42501', NULL, 'an app role cannot read the key store');
SELECT throws_ok($$SELECT * FROM tenantguard.token_keys$$, '42501', NULL, 'an app role cannot read the key list');
RESET ROLE;
SET ROLE tg86_admin;
SELECT throws_ok($$SELECT * FROM tenantguard.token_key_store$$, '42501', NULL, 'an administrator cannot read the sealed secrets');
SELECT lives_ok($$SELECT * FROM tenantguard.token_keys$$, 'an administrator reads the key list');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Entering with a valid token
-- ---------------------------------------------------------------------------
SELECT tenantguard.mint_token(:'acme', 'alice', 'operator') AS tok \gset
SELECT tenantguard.mint_token(:'globex', 'bob') AS gtok \gset
SELECT tenantguard.mint_token(:'hooli', 'hank') AS htok \gset
SELECT throws_ok(format($$SELECT tenantguard.mint_token(%L, 'alice', 'Bad Role')$$, :'acme'), '22023', NULL, 'mint: bad role name');
SELECT throws_ok(format($$SELECT tenantguard.mint_token(%L, 'alice', 'viewer', '0 seconds')$$, :'acme'), '22023', NULL, 'mint: zero ttl');
SELECT throws_ok(format($$SELECT tenantguard.mint_token(%L, 'alice', 'viewer', '8 days')$$, :'acme'), '22023', NULL, 'mint: ttl over 7 days');
SELECT throws_ok($$SELECT tenantguard.mint_token('00000000-0000-0000-0000-000000000001', 'alice')$$, '42704', NULL, 'mint: unknown tenant');
SELECT throws_ok(format($$SELECT tenantguard.mint_token(%L, '', 'viewer')$$, :'acme'), '22023', NULL, 'mint: empty subject');
SELECT throws_ok(format($$SELECT tenantguard.mint_token(%L, 'alice', 'viewer', '5 minutes', %L)$$, :'acme', :'ekid'), '22023',
    NULL, 'mint with an EdDSA kid: 22023 (only its public key is stored)');

SET ROLE tg86_app;
SELECT set_config('tenantguard.context', :'tok', true) IS NOT NULL AS entered \gset
SELECT results_eq($$SELECT tenant_id, tenant_slug, principal, role, scope FROM tenantguard.whoami()$$,
    format($$VALUES (%L::uuid, 'acme'::text, 'token:alice'::text, 'operator'::text, 'transaction'::text)$$, :'acme'),
    'set_config(context, token, true) enters the token''s tenant, principal token:<sub> and role');
SELECT ok((SELECT expires_at BETWEEN clock_timestamp() + interval '5 minutes' AND clock_timestamp() + interval '5 minutes 31 seconds'
             FROM tenantguard.whoami()), 'whoami() shows the expiry (exp + leeway)');
SELECT is(current_setting('tenantguard.context'), '[set]', 'reading the setting never shows the token');
SELECT is((SELECT array_agg(id ORDER BY id) FROM tg86.docs), ARRAY[1, 2], 'only the token''s tenant''s rows');
SELECT is(tenantguard.claim('sub'), 'alice', 'claim(sub)');
SELECT is(tenantguard.claims()->>'role', 'operator', 'claims() as jsonb');
SELECT is(tenantguard.claim('nope'), NULL, 'claim() of a missing claim is NULL');
SELECT throws_ok(format($$SET LOCAL tenantguard.context = %L$$, :'gtok'), '42501', 'tenant context is locked to another tenant',
    'a token of another tenant while one is entered: 42501 (locked)');
RESET tenantguard.context;
SELECT is(tenantguard.current_tenant(), NULL, 'RESET clears the token context');
SELECT is(tenantguard.claims(), NULL, 'claims() is NULL without a token context');
SELECT tenantguard.assume(:'tok');
SELECT is(tenantguard.current_principal(), 'token:alice', 'assume(token) enters the same context');
SELECT tenantguard.clear_context();
SELECT tenantguard.assume(:'tok', false);
SELECT is((SELECT scope FROM tenantguard.whoami()), 'session', 'assume(token, false): session scope');
SELECT tenantguard.clear_context();
RESET ROLE;

-- custom claims, signed with sign_token() (EdDSA through the private key)
SELECT tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'carol', 'exp', tg86.now_s(60),
    'org', 'research', 'groups', jsonb_build_array('a', 'b'), 'n', 42), :'ekid', :'eseed', 'EdDSA') AS etok \gset
SET ROLE tg86_app;
SELECT lives_ok(format($$SET LOCAL tenantguard.context = %L$$, :'etok'), 'an EdDSA token signed with the seed enters');
SELECT is(tenantguard.claim('org'), 'research', 'a custom string claim');
SELECT is(tenantguard.claim('groups'), '["a", "b"]', 'a custom array claim as JSON text');
SELECT is(tenantguard.claim('n'), '42', 'a number claim as text');
SELECT is(tenantguard.current_role_name(), 'viewer', 'a token without role claim gets viewer');
RESET tenantguard.context;

-- ---------------------------------------------------------------------------
-- Rejections: every one 28000, leaves no context, echoes nothing
-- ---------------------------------------------------------------------------
RESET ROLE;
CREATE TEMP TABLE bad (label text, tok text);
INSERT INTO bad
SELECT 'tampered payload', split_part(:'tok', '.', 1) || '.' ||
        tg86.b64url(convert_to(format('{"tid":"%s","sub":"mallory","role":"owner","exp":%s}', :'acme', tg86.now_s(300)), 'UTF8'))
        || '.' || split_part(:'tok', '.', 3)
UNION ALL SELECT 'flipped signature', left(:'tok', -2) || CASE WHEN right(:'tok', 2) = 'AA' THEN 'AB' ELSE 'AA' END
UNION ALL SELECT 'alg none', tg86.b64url(convert_to(format('{"alg":"none","kid":"%s"}', :'hkid'), 'UTF8')) || '.' ||
        split_part(:'tok', '.', 2) || '.'
UNION ALL SELECT 'no signature part', split_part(:'tok', '.', 1) || '.' || split_part(:'tok', '.', 2)
UNION ALL SELECT 'four parts', :'tok' || '.AAAA'
UNION ALL SELECT 'trailing garbage', :'tok' || ' '
UNION ALL SELECT 'padding', :'tok' || '=='
UNION ALL SELECT 'oversized', tg86.hs(format('{"alg":"HS256","kid":"%s"}', :'hkid'),
        format('{"tid":"%s","sub":"a","exp":%s,"pad":"%s"}', :'acme', tg86.now_s(60), repeat('x', 9000)), :'hsecret')
UNION ALL SELECT 'expired', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a', 'exp', tg86.now_s(-31)), :'hkid')
UNION ALL SELECT 'not yet valid', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a', 'exp', tg86.now_s(600),
        'nbf', tg86.now_s(300)), :'hkid')
UNION ALL SELECT 'issued in the future', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a', 'exp', tg86.now_s(600),
        'iat', tg86.now_s(300)), :'hkid')
UNION ALL SELECT 'missing tid', tenantguard.sign_token(jsonb_build_object('sub', 'a', 'exp', tg86.now_s(60)), :'hkid')
UNION ALL SELECT 'missing sub', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'exp', tg86.now_s(60)), :'hkid')
UNION ALL SELECT 'missing exp', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a'), :'hkid')
UNION ALL SELECT 'exp as a string', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a', 'exp', tg86.now_s(60)::text), :'hkid')
UNION ALL SELECT 'tid not a uuid', tenantguard.sign_token(jsonb_build_object('tid', 'acme', 'sub', 'a', 'exp', tg86.now_s(60)), :'hkid')
UNION ALL SELECT 'unknown tenant', tenantguard.sign_token(jsonb_build_object('tid', '00000000-0000-0000-0000-000000000009',
        'sub', 'a', 'exp', tg86.now_s(60)), :'hkid')
UNION ALL SELECT 'bad role', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a', 'role', 'Owner!',
        'exp', tg86.now_s(60)), :'hkid')
UNION ALL SELECT 'sub too long', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', repeat('s', 300),
        'exp', tg86.now_s(60)), :'hkid')
UNION ALL SELECT 'sub with a control character', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', E'a\nb',
        'exp', tg86.now_s(60)), :'hkid')
UNION ALL SELECT 'unknown kid', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a', 'exp', tg86.now_s(60)),
        'no-such-kid', :'hsecret', 'HS256')
UNION ALL SELECT 'wrong HS256 secret', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a', 'exp', tg86.now_s(60)),
        :'hkid', tg86.b64url(decode(repeat('99', 32), 'hex')), 'HS256')
UNION ALL SELECT 'alg swap: EdDSA key''s public key as HMAC secret', tenantguard.sign_token(jsonb_build_object('tid', :'acme',
        'sub', 'a', 'exp', tg86.now_s(60)), :'ekid', :'epub', 'HS256')
UNION ALL SELECT 'alg swap: EdDSA signature on an HS256 kid', tenantguard.sign_token(jsonb_build_object('tid', :'acme',
        'sub', 'a', 'exp', tg86.now_s(60)), :'hkid', :'eseed', 'EdDSA')
UNION ALL SELECT 'duplicate claim', tg86.hs(format('{"alg":"HS256","kid":"%s"}', :'hkid'),
        format('{"tid":"%s","sub":"a","exp":%s,"tid":"%s"}', :'globex', tg86.now_s(60), :'acme'), :'hsecret')
UNION ALL SELECT 'duplicate header member', tg86.hs(format('{"alg":"HS256","kid":"%s","alg":"none"}', :'hkid'),
        format('{"tid":"%s","sub":"a","exp":%s}', :'acme', tg86.now_s(60)), :'hsecret')
UNION ALL SELECT 'crit header', tg86.hs(format('{"alg":"HS256","kid":"%s","crit":["x"],"x":1}', :'hkid'),
        format('{"tid":"%s","sub":"a","exp":%s}', :'acme', tg86.now_s(60)), :'hsecret')
UNION ALL SELECT 'payload not an object', tg86.hs(format('{"alg":"HS256","kid":"%s"}', :'hkid'), '[1,2]', :'hsecret')
UNION ALL SELECT 'payload with trailing data', tg86.hs(format('{"alg":"HS256","kid":"%s"}', :'hkid'),
        format('{"tid":"%s","sub":"a","exp":%s} x', :'acme', tg86.now_s(60)), :'hsecret')
UNION ALL SELECT 'aud without an audience on the key', tenantguard.sign_token(jsonb_build_object('tid', :'acme', 'sub', 'a',
        'exp', tg86.now_s(60), 'aud', 'someone'), :'hkid')
UNION ALL SELECT 'wrong aud', tg86.hs('{"alg":"HS256","kid":"aud-key"}',
        format('{"tid":"%s","sub":"a","exp":%s,"iss":"https://idp.example","aud":"other"}', :'acme', tg86.now_s(60)),
        tg86.b64url(decode(repeat('12', 32), 'hex')))
UNION ALL SELECT 'wrong iss', tg86.hs('{"alg":"HS256","kid":"aud-key"}',
        format('{"tid":"%s","sub":"a","exp":%s,"iss":"https://evil.example","aud":"tenantguard"}', :'acme', tg86.now_s(60)),
        tg86.b64url(decode(repeat('12', 32), 'hex')))
UNION ALL SELECT 'missing iss', tg86.hs('{"alg":"HS256","kid":"aud-key"}',
        format('{"tid":"%s","sub":"a","exp":%s,"aud":"tenantguard"}', :'acme', tg86.now_s(60)),
        tg86.b64url(decode(repeat('12', 32), 'hex')));
GRANT SELECT ON bad TO tg86_app;
SET ROLE tg86_app;
SELECT is((SELECT count(*)::int FROM bad), 33, 'the catalogue of bad tokens is complete');
SELECT is(string_agg(label || ': ' || coalesce((tg86.refused(tok)).state, '?'), ', ' ORDER BY label), NULL,
    'every bad token is refused with 28000')
  FROM bad WHERE (tg86.refused(tok)).state IS DISTINCT FROM '28000';
SELECT is(string_agg(label, ', '), NULL, 'no refusal echoes the token''s signature')
  FROM bad WHERE (tg86.refused(tok)).echoed;
SELECT is(tenantguard.current_tenant(), NULL, 'no refusal left a context');
SELECT throws_ok(format($$SELECT tenantguard.assume(%L)$$, (SELECT tok FROM bad WHERE label = 'expired')), '28000',
    'invalid context token', 'assume() refuses like SET LOCAL');
SELECT throws_ok($$SELECT tenantguard.assume('')$$, '28000', NULL, 'assume('''') is refused');
SELECT throws_ok($$SELECT tenantguard.assume('tgctx1;x')$$, '28000', NULL, 'assume() of an internal value is refused');

-- the issuer/audience-bound key accepts its tokens
SELECT lives_ok(format($$SET LOCAL tenantguard.context = %L$$, tg86.hs('{"alg":"HS256","kid":"aud-key"}',
        format('{"tid":"%s","sub":"a","exp":%s,"iss":"https://idp.example","aud":["x","tenantguard"]}', :'acme', tg86.now_s(60)),
        tg86.b64url(decode(repeat('12', 32), 'hex')))), 'a token with the expected iss and aud (in an array) enters');
RESET tenantguard.context;
-- an independently built HS256 token (pgcrypto HMAC) of a generated key enters
SELECT lives_ok(format($$SET LOCAL tenantguard.context = %L$$, tg86.hs(format('{"alg":"HS256","typ":"JWT","kid":"%s"}', :'hkid'),
        format('{"tid":"%s","sub":"dave","exp":%s}', :'acme', tg86.now_s(60)), :'hsecret')),
    'a token signed outside tenantguard (pgcrypto HMAC) enters');
RESET tenantguard.context;

-- a token never goes into the catalog, where everyone could read it
RESET ROLE;
SELECT throws_ok(format($$CREATE FUNCTION tg86.f_tok() RETURNS int LANGUAGE sql SET tenantguard.context = %L AS 'SELECT 1'$$, :'tok'),
    '28000', 'invalid context token', 'a function''s SET clause cannot store a token');
SELECT throws_ok(format($$ALTER ROLE tg86_app SET tenantguard.context = %L$$, :'tok'), '28000', NULL,
    'ALTER ROLE ... SET cannot store a token, even for a superuser');
SET ROLE tg86_app;
SELECT tenantguard.assume(:'tok');
SELECT throws_ok($$CREATE FUNCTION tg86.f_cur() RETURNS int LANGUAGE sql SET tenantguard.context FROM CURRENT AS 'SELECT 1'$$,
    '28000', NULL, 'SET ... FROM CURRENT cannot capture a token context');
SELECT tenantguard.clear_context();

-- ---------------------------------------------------------------------------
-- Session-level SET, locks, bindings, suspended tenants
-- ---------------------------------------------------------------------------
SELECT throws_ok(format($$SET tenantguard.context = %L$$, :'tok'), '42501',
    'a signed context token cannot be set for the session', 'SET (session) of a valid token: 42501 with a hint');
SELECT is(tenantguard.current_tenant(), NULL, '... and no context');
SELECT set_config('tenantguard.context', :'tok', false) IS NOT NULL AS x \gset
SELECT is(tenantguard.current_tenant(), NULL, 'set_config(context, token, false) never takes effect');
RESET tenantguard.context;
SELECT tenantguard.assume(:'tok');
SELECT throws_ok(format($$SELECT tenantguard.assume(%L)$$, :'gtok'),
    '42501', NULL, 'assume() into another tenant while locked: 42501');
SELECT throws_ok(format($$SELECT tenantguard.set_tenant(%L)$$, :'globex'), '42501', NULL,
    'an app role cannot use set_tenant to escape');
SELECT tenantguard.clear_context();
RESET ROLE;

SELECT tenantguard.bind_role('tg86_bound', :'acme');
SET ROLE tg86_bound;
SELECT throws_ok(format($$SET LOCAL tenantguard.context = %L$$, :'gtok'),
    '42501', NULL, 'a bound role cannot enter another tenant with a token');
RESET ROLE;
SELECT tenantguard.suspend_tenant(:'hooli');
SET ROLE tg86_app;
SELECT throws_ok(format($$SET LOCAL tenantguard.context = %L$$, :'htok'),
    '42501', NULL, 'a token of a suspended tenant: 42501');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Retiring a key (the kill switch) in this backend; across backends in test/suites/tokens.sh
-- ---------------------------------------------------------------------------
SET ROLE tg86_app;
SELECT tenantguard.assume(:'tok', false);
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'a session context from the HS256 key');
RESET ROLE;
SELECT tenantguard.retire_signing_key(:'hkid');
SET ROLE tg86_app;
SELECT is(tenantguard.current_tenant(), NULL, 'retiring its key ends the context at the next statement');
SELECT throws_ok($$SELECT count(*) FROM tg86.docs$$, '42501', NULL, '... and the protected table fails closed');
SELECT is((tg86.refused(:'tok')).state, '28000', 'a token of a retired key is refused');
RESET ROLE;
SELECT throws_ok(format($$SELECT tenantguard.import_signing_key(%L, 'HS256', %L)$$, :'hkid', :'hsecret'), '42710', NULL,
    'a retired kid can never be imported again');
SELECT throws_ok($$SELECT tenantguard.retire_signing_key('no-such')$$, '42704', NULL, 'retire an unknown kid: 42704');
SELECT lives_ok(format($$SELECT tenantguard.retire_signing_key(%L)$$, :'hkid'), 'retiring twice is a notice');
SELECT throws_ok(format($$SELECT tenantguard.mint_token(%L, 'alice')$$, :'acme'), '22023', NULL,
    'mint_token() without an active generated HS256 key: 22023');

-- a hostile search_path (an = that is always true, a decode that returns
-- other bytes) changes nothing in the key functions (SECURITY DEFINER with
-- their own search_path) nor in verification (C). The statements run under
-- it inside tg86.state_under_evil(); pgTAP's checks run outside it.
CREATE SCHEMA tg86_evil;
CREATE FUNCTION tg86_evil.texteq_evil(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR tg86_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = tg86_evil.texteq_evil);
CREATE FUNCTION tg86_evil.byteaeq_evil(bytea, bytea) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR tg86_evil.= (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = tg86_evil.byteaeq_evil);
CREATE FUNCTION tg86_evil.decode(text, text) RETURNS bytea LANGUAGE sql AS $$ SELECT '\x00'::bytea $$;
GRANT USAGE ON SCHEMA tg86_evil TO PUBLIC;
CREATE FUNCTION tg86.state_under_evil(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    saved text := pg_catalog.current_setting('search_path');
    st text := 'ok';
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'tg86_evil, pg_catalog, public', true);
    BEGIN
        EXECUTE stmt;
    EXCEPTION WHEN OTHERS THEN
        st := SQLSTATE;
    END;
    PERFORM pg_catalog.set_config('search_path', saved, true);
    RETURN st;
END $$;
GRANT EXECUTE ON FUNCTION tg86.state_under_evil(text) TO tg86_app;
SELECT tg86.b64url(gen_random_bytes(32)) AS evil_secret, tg86.b64url(gen_random_bytes(32)) AS other_secret \gset
SELECT tenantguard.import_signing_key('tg86-evil-1', 'HS256', :'evil_secret') \gset
SELECT is(tg86.state_under_evil(format($$SELECT tenantguard.import_signing_key('tg86-evil-1', 'HS256', %L)$$, :'other_secret')),
    '42710', 'hostile search_path: another secret for an existing kid is still refused');
SELECT is(tg86.state_under_evil(format($$SELECT tenantguard.import_signing_key('tg86-evil-1', 'HS256', %L)$$, :'evil_secret')),
    'ok', 'hostile search_path: re-importing the same secret is still the no-op');
SELECT tg86.hs('{"alg":"HS256","kid":"tg86-evil-1"}',
               format('{"tid":"%s","sub":"evil","exp":%s}', :'acme', tg86.now_s(120)), :'evil_secret') AS evil_tok \gset
SELECT tg86.hs('{"alg":"HS256","kid":"tg86-evil-1"}',
               format('{"tid":"%s","sub":"evil","exp":%s}', :'globex', tg86.now_s(120)), :'other_secret') AS evil_forged \gset
SET ROLE tg86_app;
SELECT is(tg86.state_under_evil(format($$SELECT set_config('tenantguard.context', %L, true)$$, :'evil_forged')),
    '28000', 'hostile search_path: a token signed with another secret is refused');
SELECT is(tg86.state_under_evil(format($$SELECT set_config('tenantguard.context', %L, true)$$, :'evil_tok')),
    'ok', 'hostile search_path: the key''s own token enters');
SELECT tenantguard.clear_context();
RESET ROLE;

-- every key change is audited
SELECT is((SELECT array_agg(DISTINCT action ORDER BY action) FROM tenantguard_audit.events
            WHERE action LIKE 'token%'),
    ARRAY['token.mint', 'token_key.add', 'token_key.import', 'token_key.retire'],
    'adding, importing, retiring keys and minting tokens are audited');
SELECT is((SELECT count(*)::int FROM tenantguard_audit.events
            WHERE details::text LIKE '%' || :'hsecret' || '%' OR details::text LIKE '%' || split_part(:'tok', '.', 3) || '%'),
    0, 'no audit event contains a secret or a token');

SELECT * FROM finish();
ROLLBACK;
