-- Agent enrollment: create_enrollment_token(), the enrollment_tokens view,
-- revoke_enrollment_token(), enroll() and tenantguard.agents.
--
-- Attacker: an application login role (member of tenantguard_app) with no
-- context holding a mistyped, cut, forged, expired, revoked or used-up
-- token, or a principal of another tenant; it must never enroll with them,
-- learn which check failed, spend a use with a bad key or name, or see a
-- token's secret. Refusals are read back from the audit trail (they come
-- through the queue and survive the caller's rollback).
-- Concurrency: test/isolation/specs/enroll_race.spec, test/suites/enroll_parallel.sh.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg97_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(73);

CREATE ROLE tg97_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg97_admin LOGIN IN ROLE tenantguard_admin;
CREATE SCHEMA tg97;
GRANT USAGE ON SCHEMA tg97 TO PUBLIC;
CREATE SCHEMA tg97_evil AUTHORIZATION tg97_app;
-- hostile search_path: an = for text and bytea that is always true, first on the path
SET ROLE tg97_app;
CREATE FUNCTION tg97_evil.yes(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION tg97_evil.yes(bytea, bytea) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR tg97_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = tg97_evil.yes);
CREATE OPERATOR tg97_evil.= (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = tg97_evil.yes);
RESET ROLE;

SELECT tenantguard.create_tenant('tg97-a', 'A') AS ta \gset
SELECT tenantguard.create_tenant('tg97-b', 'B') AS tb \gset
INSERT INTO tenantguard.users (email) VALUES ('own@tg97.example') RETURNING id AS own \gset
INSERT INTO tenantguard.users (email) VALUES ('opr@tg97.example') RETURNING id AS opr \gset
INSERT INTO tenantguard.users (email) VALUES ('vie@tg97.example') RETURNING id AS vie \gset
INSERT INTO tenantguard.users (email) VALUES ('bad@tg97.example') RETURNING id AS bad \gset
INSERT INTO tenantguard.memberships (tenant_id, user_id, role) VALUES
    (:'ta', :'own', 'owner'), (:'ta', :'opr', 'operator'), (:'ta', :'vie', 'viewer'), (:'tb', :'bad', 'admin');
SELECT token AS s_own FROM tenantguard._create_session(:'own', :'ta', 1, 'password') \gset
SELECT token AS s_opr FROM tenantguard._create_session(:'opr', :'ta', 1, 'password') \gset
SELECT token AS s_vie FROM tenantguard._create_session(:'vie', :'ta', 1, 'password') \gset
SELECT token AS s_bad FROM tenantguard._create_session(:'bad', :'tb', 1, 'password') \gset

-- the SQLSTATE a statement raises ('none' when it succeeds) and its message
CREATE FUNCTION tg97.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
CREATE FUNCTION tg97.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text; h text;
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ' ' || m || ' | ' || coalesce(d, '') || ' | ' || coalesce(h, '');
END $$;
-- wait (up to 10 s) until want events match cond (refusals arrive through the ledger worker)
CREATE FUNCTION tg97.wait_events(cond text, want bigint DEFAULT 1) RETURNS bigint
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
-- a token's public id
CREATE FUNCTION tg97.tid(tok text) RETURNS text LANGUAGE sql AS $$ SELECT split_part(tok, '_', 2) $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg97 TO PUBLIC;

SELECT 'mIPGXD0fEhq7kUPnbUiB6MqQfi9c4JI6Fe+tJ4kivbg=' AS k1, 'GFdegtCNnH3C+Uvo8Es0pmn9+LGERelnI5Zgj0qC418=' AS k2,
       'sZ3d0jtZMby4fMzVO73adoMkmsaLVVF8MfKM3+eAACY=' AS notpoint \gset

-- ---------------------------------------------------------------------------
-- Creating tokens: who may, validation
-- ---------------------------------------------------------------------------
SET ROLE tg97_app;
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('x')$$), '42501',
          'an app role without a context cannot create a token');
SELECT tenantguard.resume(:'s_vie');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('x')$$), '42501',
          'a viewer cannot create a token (no agents.enroll)');
SELECT is(tg97.state($$SELECT tenantguard.revoke_enrollment_token('000000000000000000')$$), '42501',
          'a viewer cannot revoke a token');
SELECT is((SELECT count(*) FROM tenantguard.enrollment_tokens), 0::bigint, 'a viewer sees no tokens');
SELECT tenantguard.clear_context();
SELECT tenantguard.resume(:'s_opr');
SELECT matches(tenantguard.create_enrollment_token('by operator'), '^tgenr_',
               'an operator may create a token (the built-in operator role has agents.*)');
SELECT tenantguard.clear_context();

SELECT tenantguard.resume(:'s_own');
SELECT tenantguard.create_enrollment_token('web fleet', '1 hour', 3) AS t3 \gset
SELECT tenantguard.create_enrollment_token('one shot') AS t1 \gset
SELECT tenantguard.create_enrollment_token('to expire', '1 hour', 5) AS texp \gset
SELECT tenantguard.create_enrollment_token('to revoke', '1 hour', 5) AS trev \gset
SELECT tenantguard.create_enrollment_token('to suspend', '1 hour', 5) AS tsus \gset
SELECT ok(:'t3' ~ '^tgenr_[0-9A-Za-z]{17}_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}$',
          'a token is tgenr_<17 base62 id>_<43 base62 secret>_<6 base62 checksum>');
SELECT isnt(:'t1'::text, :'t3'::text, 'every token differs');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('')$$), '22023', 'empty label: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.create_enrollment_token(%L)$$, repeat('x', 201))), '22023', 'label of 201 characters: 22023');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token(NULL)$$), '22023', 'null label: 22023');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('x', '0 s')$$), '22023', 'ttl 0: 22023');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('x', '-1 hour')$$), '22023', 'negative ttl: 22023');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('x', '31 days')$$), '22023', 'ttl over 30 days: 22023');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('x', '30 days')$$), 'none', 'ttl of 30 days is accepted');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('x', '1 hour', 0)$$), '22023', 'max_uses 0: 22023');
SELECT is(tg97.state($$SELECT tenantguard.create_enrollment_token('x', '1 hour', 10001)$$), '22023', 'max_uses 10001: 22023');
SELECT is((SELECT count(*) FROM tenantguard.enrollment_tokens WHERE id = tg97.tid(:'t3') AND label = 'web fleet'
              AND max_uses = 3 AND uses = 0 AND revoked_at IS NULL AND created_by LIKE 'user:%'
              AND expires_at BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes'), 1::bigint,
          'the owner sees its token in the view: id, label, creator, expiry, max_uses, uses');
SELECT is((SELECT count(*) FROM tenantguard.enrollment_tokens), 7::bigint, 'the owner sees the tenant''s tokens');
SELECT hasnt_column('tenantguard', 'enrollment_tokens', 'secret_hash', 'the view has no secret hash');
SELECT tenantguard.clear_context();
SELECT throws_ok($$SELECT * FROM tenantguard.enrollment_token_store$$, '42501', NULL, 'the store is owner-only');
SELECT throws_ok($$SELECT tenantguard._enrollment_token_new()$$, '42501', NULL, 'the C helpers are owner-only');
RESET ROLE;
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE category = 'enrollment' AND action = 'enrollment_token.create'
              AND tenant_id = :'ta' AND decision = 'allow' AND object = 'enrollment_token:' || tg97.tid(:'t3')
              AND details->>'label' = 'web fleet'), 1::bigint, 'the creation is audited (category enrollment)');
SELECT is((SELECT count(*) FROM tenantguard_audit.events e WHERE e::text LIKE '%' || split_part(:'t3', '_', 3) || '%'), 0::bigint,
          'no event holds a token''s secret');
SELECT is((SELECT count(*) FROM tenantguard.enrollment_token_store
            WHERE secret_hash = sha256(convert_to(split_part(:'t3', '_', 3), 'UTF8'))), 0::bigint,
          'the store does not hold the secret''s text hash nor the secret');

-- the other tenant neither sees nor revokes A's tokens
SET ROLE tg97_app;
CREATE TABLE tg97_evil.seen (label text);
CREATE FUNCTION tg97_evil.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001
    AS $$ BEGIN INSERT INTO tg97_evil.seen VALUES ($1); RETURN true; END $$;
SELECT tenantguard.resume(:'s_bad');
SELECT count(*) FROM tenantguard.enrollment_tokens WHERE tg97_evil.leak(label) \gset leak_
SELECT is((SELECT count(*) FROM tg97_evil.seen), 0::bigint,
          'a cheap function of the caller in the WHERE sees no other tenant''s token (security barrier)');
SELECT is((SELECT count(*) FROM tenantguard.enrollment_tokens), 0::bigint, 'another tenant''s admin sees none of A''s tokens');
SELECT is(tg97.state(format($$SELECT tenantguard.revoke_enrollment_token(%L)$$, tg97.tid(:'t3'))), '42704',
          'nor can it revoke one (as if it did not exist)');
SELECT tenantguard.clear_context();
RESET ROLE;
SET ROLE tg97_admin;
SELECT is((SELECT count(*) FROM tenantguard.enrollment_tokens WHERE tenant_id = :'ta'), 7::bigint,
          'tenantguard_admin sees every tenant''s tokens');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- enroll(): malformed tokens, names and keys (22023, nothing consumed)
-- ---------------------------------------------------------------------------
SET ROLE tg97_app;
SELECT is(tg97.err(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, left(:'t3', -1), :'k1')),
          tg97.err(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, 'tgenr_x', :'k1')),
          'a cut token and a short one get the same error');
SELECT matches(tg97.err(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, left(:'t3', -1), :'k1')),
               '^22023 malformed enrollment token', 'a cut token: 22023 malformed enrollment token');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$,
          overlay(:'t3' placing (CASE substr(:'t3', 30, 1) WHEN 'a' THEN 'b' ELSE 'a' END) from 30 for 1), :'k1')), '22023',
          'one character mistyped: 22023 (the checksum)');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, replace(:'t3', 'tgenr_', 'tgses_'), :'k1')), '22023',
          'another prefix: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(NULL, 'a', %L)$$, :'k1')), '22004', 'null token: 22004');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, '', %L)$$, :'t3', :'k1')), '22023', 'empty agent name: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, %L, %L)$$, :'t3', repeat('n', 101), :'k1')), '22023', 'agent name of 101 characters: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, %L, %L)$$, :'t3', E'a\nb', :'k1')), '22023', 'agent name with a control character: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, :'t3', left(:'k1', 43))), '22023', 'key of 43 characters: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, :'t3', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')), '22023', 'key of 36 bytes: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, :'t3', translate(:'k1', '+/', '-_'))), '22023', 'base64url key: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, :'t3', ' ' || left(:'k1', 43))), '22023', 'key with whitespace: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, :'t3', :'notpoint')), '22023', '32 bytes that are not a curve point: 22023');
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'a', %L)$$, :'t3', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')), '22023', 'the zero key (small order): 22023');
RESET ROLE;
SELECT is((SELECT uses FROM tenantguard.enrollment_token_store WHERE id = tg97.tid(:'t3')), 0, 'bad names and keys consumed nothing');

-- ---------------------------------------------------------------------------
-- enroll(): success, the agent row, max_uses
-- ---------------------------------------------------------------------------
SET ROLE tg97_app;
SET search_path = tg97_evil, public, pg_catalog;
SELECT tenantguard.enroll(:'t3', 'web-1', :'k1') AS a1 \gset
RESET search_path;
SELECT is(tenantguard.current_tenant(), NULL, 'enroll() enters no context');
RESET ROLE;
SELECT is(tg97.wait_events($$category = 'enrollment' AND action = 'enroll' AND decision = 'deny' AND reason = 'token checksum mismatch'$$),
          1::bigint, 'a mistyped token is recorded (token checksum mismatch)');
SELECT cmp_ok(tg97.wait_events($$category = 'enrollment' AND action = 'enroll' AND decision = 'deny' AND reason = 'malformed token'$$, 2),
          '>=', 2::bigint, 'cut and short tokens are recorded (malformed token)');
SET ROLE tg97_app;
SELECT is(tg97.state(format($$SELECT tenantguard.enroll(%L, 'web-1', %L)$$, :'t3', :'k2')), '23505',
          'an agent name already used in the tenant: 23505');
RESET ROLE;
SELECT is((SELECT uses FROM tenantguard.enrollment_token_store WHERE id = tg97.tid(:'t3')), 1, 'the duplicate name consumed nothing');
SELECT is((SELECT row(tenant_id, name, public_key, fingerprint, status)::text FROM tenantguard.agents WHERE id = :'a1'),
          row(:'ta'::uuid, 'web-1', :'k1', 'SHA256:/HSiYnupRbRux+T9FCvKI4j9FjHh75ZxIEo8Y8WKC/M', 'active')::text,
          'the agent: tenant, name, key, OpenSSH-style fingerprint, active');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE category = 'enrollment' AND action = 'enroll' AND decision = 'allow'
              AND object = 'agent:' || :'a1' AND tenant_id = :'ta'), 1::bigint, 'the enrollment is audited in the tenant');
SET ROLE tg97_app;
SELECT isnt(tenantguard.enroll(:'t3', 'web-2', :'k2'), NULL, 'a second use');
SELECT isnt(tenantguard.enroll(:'t3', 'web-3', :'k2'), NULL, 'a third use');
SELECT is(tg97.err(format($$SELECT tenantguard.enroll(%L, 'web-4', %L)$$, :'t3', :'k2')),
          '28000 invalid or expired enrollment token |  | Ask the tenant for a new token (tenantguard.create_enrollment_token()).',
          'the fourth use of a max_uses 3 token: 28000');
SELECT tenantguard.resume(:'s_bad');
SELECT is((SELECT count(*) FROM tenantguard.agents), 0::bigint, 'another tenant sees none of A''s agents');
SELECT tenantguard.clear_context();
SELECT tenantguard.resume(:'s_vie');
SELECT is((SELECT count(*) FROM tenantguard.agents), 3::bigint, 'A''s principals see its agents');
SELECT tenantguard.clear_context();
RESET ROLE;
SET ROLE tg97_admin;
SELECT tenantguard.set_tenant(:'ta');
SELECT is((SELECT count(*) FROM tenantguard.agents), 3::bigint, 'tenantguard_admin sees a tenant''s agents after set_tenant()');
SELECT tenantguard.clear_context();
RESET ROLE;
SET ROLE tg97_app;

-- ---------------------------------------------------------------------------
-- every bad token: the same 28000, the precise reason in the audit
-- ---------------------------------------------------------------------------
RESET ROLE;
UPDATE tenantguard.enrollment_token_store SET expires_at = now() - interval '1 s' WHERE id = tg97.tid(:'texp');
SELECT tenantguard.resume(:'s_own');
SELECT tenantguard.revoke_enrollment_token(tg97.tid(:'trev'));
SELECT is(tg97.state(format($$SELECT tenantguard.revoke_enrollment_token(%L)$$, tg97.tid(:'trev'))), 'none', 'revoking twice is harmless');
SELECT is((SELECT revoked_at IS NOT NULL FROM tenantguard.enrollment_tokens WHERE id = tg97.tid(:'trev')), true, 'the view shows the revocation');
SELECT tenantguard.clear_context();
-- a token of a suspended tenant: made in B, then B suspended
SELECT tenantguard.set_tenant(:'tb');
SELECT tenantguard.create_enrollment_token('b token') AS tb_tok \gset
SELECT tenantguard.clear_context();
SELECT tenantguard.suspend_tenant(:'tb');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE action = 'enrollment_token.revoke' AND decision = 'allow'
              AND object = 'enrollment_token:' || tg97.tid(:'trev')), 1::bigint, 'the revocation is audited once');

CREATE TEMP TABLE bad_tokens (what text, tok text, reason text);
-- well-formed tokens with an unknown id (its row deleted) and with a wrong
-- secret (its row given another token's hash)
SELECT tenantguard.create_enrollment_token('deleted', '1 hour', 1) FROM (SELECT tenantguard.set_tenant(:'ta')) s \gset tdel_
SELECT tenantguard.clear_context();
DELETE FROM tenantguard.enrollment_token_store WHERE id = tg97.tid(:'tdel_create_enrollment_token');
SELECT tenantguard.set_tenant(:'ta');
SELECT tenantguard.create_enrollment_token('other secret', '1 hour', 1) AS tother \gset
SELECT tenantguard.clear_context();
-- give tother's row the hash of t1's secret: tother's text now carries a wrong secret
UPDATE tenantguard.enrollment_token_store SET secret_hash = (SELECT secret_hash FROM tenantguard.enrollment_token_store WHERE id = tg97.tid(:'t1'))
 WHERE id = tg97.tid(:'tother');
SELECT tenantguard.enroll(:'t1', 'once', :'k1') IS NOT NULL AS used_once \gset
INSERT INTO bad_tokens VALUES
    ('unknown id', :'tdel_create_enrollment_token', 'unknown token'),
    ('wrong secret', :'tother', 'wrong secret'),
    ('expired', :'texp', 'token expired'),
    ('revoked', :'trev', 'token revoked'),
    ('used up', :'t1', 'token used up'),
    ('suspended tenant', :'tb_tok', 'tenant suspended');
GRANT SELECT ON bad_tokens TO tg97_app;
CREATE TEMP TABLE bad_results (what text, got text);
GRANT INSERT ON bad_results TO tg97_app;
SET ROLE tg97_app;
-- pgTAP itself would use the always-true =: the results are checked afterwards
SET search_path = tg97_evil, public, pg_catalog;
INSERT INTO bad_results SELECT what, tg97.err(format($$SELECT tenantguard.enroll(%L, %L, %L)$$, tok, 'bad ' || what, :'k1'))
  FROM bad_tokens;
RESET search_path;
RESET ROLE;
SELECT is(got, '28000 invalid or expired enrollment token |  | Ask the tenant for a new token (tenantguard.create_enrollment_token()).',
          what || ': 28000 with the one message (an always-true = first on the search_path)')
  FROM bad_results ORDER BY what;
SELECT is(tg97.wait_events(format($$category = 'enrollment' AND action = 'enroll' AND decision = 'deny'
              AND object = 'enrollment_token:%s' AND reason = %L$$, tg97.tid(tok), reason)), 1::bigint,
          what || ': the audit records ' || reason || ' (after the caller''s rollback)')
  FROM bad_tokens ORDER BY what;
SELECT is((SELECT count(*) FROM tenantguard.agents WHERE name LIKE 'bad %'), 0::bigint, 'no bad token enrolled an agent');
SELECT is((SELECT uses FROM tenantguard.enrollment_token_store WHERE id = tg97.tid(:'trev')), 0, 'a revoked token''s uses stay 0');

SELECT * FROM finish();
ROLLBACK;
