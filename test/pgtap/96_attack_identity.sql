-- Attacks on the human-identity functions (docs/identity.md "Users, MFA and
-- login", "Sessions"), from the roles a tenant application gets:
--   - a tenant administrator or owner of tenant A, in their own session or
--     through a signed context token, reaching for a user who is also a
--     member of tenant B (password, MFA, lockout, sessions, memberships,
--     the owner role, the identity tables);
--   - principal spoofing: a signed token whose sub is "user:<id>" (its
--     principal is token:user:<id>), a bound role named "user:<id>", a
--     hostile operator on the search_path: none is "the user themself";
--   - a one-factor session (aal 1) of a user with confirmed MFA changing the
--     password or the second factor;
--   - login() telling which tenants exist (a no_membership answer naming
--     the tenant), and refused logins landing in a tenant's audit trail.
-- Cross-database lockout and the ES256 ID-token replay: test/suites/attack_identity.sh.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg96_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(48);

SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 1;
SET tenantguard.scrypt_p = 1;

SELECT substr(md5(random()::text), 1, 10) AS run \gset
SELECT 'correct horse battery' AS pw, 'Tr0ub4dor&3-staple' AS pw2 \gset

CREATE ROLE tg96_app LOGIN IN ROLE tenantguard_app;
CREATE SCHEMA tg96;
GRANT USAGE ON SCHEMA tg96 TO PUBLIC;
CREATE SCHEMA tg96_evil AUTHORIZATION tg96_app;

SELECT tenantguard.create_tenant('tg96-a', 'A') AS ta \gset
SELECT tenantguard.create_tenant('tg96-b', 'B') AS tb \gset
SELECT tenantguard.create_tenant('tg96-c', 'C') AS tc \gset
SELECT kid FROM tenantguard.add_signing_key() \gset

-- the SQLSTATE a statement raises ('none' when it succeeds)
CREATE FUNCTION tg96.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
-- wait (up to 10 s) until want events match cond (refusals arrive through the ledger worker)
CREATE FUNCTION tg96.wait_events(cond text, want bigint DEFAULT 1) RETURNS bigint
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
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg96 TO PUBLIC;

-- shared: a viewer in A and in B; adm: admin of A; own: owner of A; mfa: MFA confirmed, in A
SELECT tenantguard.create_user('shared.' || :'run' || '@example.com', :'pw') AS shared \gset
SELECT tenantguard.create_user('adm.' || :'run' || '@example.com', :'pw') AS adm \gset
SELECT tenantguard.create_user('own.' || :'run' || '@example.com', :'pw') AS own \gset
SELECT tenantguard.create_user('mfa.' || :'run' || '@example.com', :'pw') AS mfa \gset
SELECT tenantguard.create_user('bonly.' || :'run' || '@example.com', :'pw') AS bonly \gset
SELECT tenantguard.set_tenant(:'ta');
SELECT tenantguard.add_member(:'shared', 'viewer'), tenantguard.add_member(:'adm', 'admin'),
       tenantguard.add_member(:'own', 'owner'), tenantguard.add_member(:'mfa', 'viewer') \g /dev/null
SELECT tenantguard.clear_context();
SELECT tenantguard.set_tenant(:'tb');
SELECT tenantguard.add_member(:'shared', 'viewer'), tenantguard.add_member(:'bonly', 'owner') \g /dev/null
SELECT tenantguard.clear_context();
-- MFA confirmed for mfa (the secret's content does not matter here: no code is checked)
UPDATE tenantguard.user_credentials SET mfa_secret = '\x00', mfa_confirmed_at = now() WHERE user_id = :'mfa';

SELECT token AS adm_tok FROM tenantguard._create_session(:'adm', :'ta', 2, 'password') \gset
SELECT token AS own_tok FROM tenantguard._create_session(:'own', :'ta', 2, 'password') \gset
SELECT token AS shared_a_tok FROM tenantguard._create_session(:'shared', :'ta', 1, 'password') \gset
SELECT token AS shared_b_tok FROM tenantguard._create_session(:'shared', :'tb', 1, 'password') \gset
SELECT token AS mfa1_tok FROM tenantguard._create_session(:'mfa', :'ta', 1, 'oidc') \gset
SELECT token AS mfa2_tok FROM tenantguard._create_session(:'mfa', :'ta', 2, 'password') \gset

-- ---------------------------------------------------------------------------
-- 1. A tenant administrator and owner of A, in their own sessions, against
--    a user shared with B: no account takeover across tenants
-- ---------------------------------------------------------------------------
SET ROLE tg96_app;
SELECT tenantguard.resume(:'adm_tok');
SELECT is(tenantguard.current_principal(), 'user:' || :'adm', 'the admin of A is in their own session');
SELECT is(tg96.state(format('SELECT tenantguard.set_password(%L, %L)', :'shared', :'pw2')), '42501',
          'a tenant admin cannot reset the password of a member shared with another tenant');
SELECT is(tg96.state(format('SELECT tenantguard.enable_mfa(%L)', :'shared')), '42501', 'nor enrol their MFA (and get the secret)');
SELECT is(tg96.state(format('SELECT tenantguard.disable_mfa(%L)', :'shared')), '42501', 'nor disable their MFA');
SELECT is(tg96.state(format('SELECT tenantguard.mfa_recovery_codes(%L)', :'shared')), '42501', 'nor make their recovery codes');
SELECT is(tg96.state(format('SELECT tenantguard.unlock_user(%L)', :'shared')), '42501', 'nor unlock them');
SELECT is(tg96.state(format('SELECT tenantguard.disable_user(%L)', :'shared')), '42501', 'nor disable the account');
SELECT is(tg96.state(format('SELECT tenantguard.link_identity(%L, %L, %L)', :'shared', 'https://evil.example', 'x')), '42501',
          'nor link an identity-provider account to it');
SELECT is(tg96.state(format('SELECT tenantguard.set_member_role(%L, %L)', :'bonly', 'viewer')), '42704',
          'a member of B only is not a member here: B''s memberships are out of reach');
SELECT is(tg96.state(format('SELECT tenantguard.remove_member(%L)', :'bonly')), '42704', 'nor can they be removed');
SELECT is(tg96.state(format('SELECT tenantguard.set_member_role(%L, %L)', :'adm', 'owner')), '42501',
          'an admin cannot make themself owner');
SELECT is(tg96.state(format('SELECT tenantguard.add_member(%L, %L)', :'bonly', 'owner')), '42501',
          'nor give owner to anyone');
SELECT is(tenantguard.revoke_sessions(:'shared'), 1, 'revoke_sessions by a tenant admin ends the user''s session in A only');
SELECT is(tg96.state('SELECT 1 FROM tenantguard.users'), '42501', 'users are not readable');
SELECT is(tg96.state('SELECT 1 FROM tenantguard.memberships'), '42501', 'nor memberships (other tenants'' included)');
SELECT is(tg96.state('SELECT 1 FROM tenantguard.user_sessions'), '42501', 'nor sessions');
SELECT is(tg96.state('SELECT 1 FROM tenantguard.identities'), '42501', 'nor identities');
RESET tenantguard.context;
SELECT is(tg96.state(format('SELECT tenantguard.resume(%L)', :'shared_a_tok')), '28000', 'the shared user''s session in A ended');
RESET tenantguard.context;
SELECT is(tg96.state(format('SELECT tenantguard.resume(%L)', :'shared_b_tok')), 'none', 'their session in B holds');
RESET tenantguard.context;

SELECT tenantguard.resume(:'own_tok');
SELECT is(tg96.state(format('SELECT tenantguard.set_password(%L, %L)', :'shared', :'pw2')), '42501',
          'an owner of A cannot reset the shared user''s password either');
SELECT is(tg96.state(format('SELECT tenantguard.disable_mfa(%L)', :'shared')), '42501', 'nor their MFA');
RESET tenantguard.context;

-- a hostile operator on the caller's search_path changes nothing
CREATE FUNCTION tg96_evil.yes(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR tg96_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = tg96_evil.yes);
CREATE FUNCTION tg96_evil.current_principal() RETURNS text LANGUAGE sql AS $$ SELECT 'user:' || current_setting('tg96.victim') $$;
SELECT set_config('tg96.victim', :'shared', false) \g /dev/null
SET search_path = tg96_evil, pg_catalog, public;
SELECT ('a'::text = 'b'::text) AS armed, current_principal() AS fake_principal \gset
SELECT tenantguard.resume(:'adm_tok') \g /dev/null
SELECT tg96.state(format('SELECT tenantguard.set_password(%L, %L)', :'shared', :'pw2')) AS evil_pw,
       tg96.state(format('SELECT tenantguard.enable_mfa(%L)', :'shared')) AS evil_mfa \gset
RESET tenantguard.context;
RESET search_path;
RESET ROLE;
SELECT is(:'armed' || '|' || :'fake_principal', 't|user:' || :'shared',
          'the trap is armed: on that search_path text = is always true and current_principal() names the victim');
SELECT is(:'evil_pw'::text, '42501', 'yet set_password of the shared user by the admin of A is still 42501');
SELECT is(:'evil_mfa'::text, '42501', '... and enable_mfa too');

-- ---------------------------------------------------------------------------
-- 2. Principal spoofing: a token with sub "user:<id>", a role named so
-- ---------------------------------------------------------------------------
SELECT tenantguard.mint_token(:'ta', 'user:' || :'shared', 'viewer', '10 minutes', :'kid') AS spoof_viewer,
       tenantguard.mint_token(:'ta', 'user:' || :'shared', 'owner', '10 minutes', :'kid') AS spoof_owner \gset
SET ROLE tg96_app;
SELECT set_config('tenantguard.context', :'spoof_viewer', true) IS NOT NULL AS entered \gset
SELECT is(tenantguard.current_principal(), 'token:user:' || :'shared', 'a token''s sub "user:<id>" is the principal token:user:<id>');
SELECT is(tg96.state(format('SELECT tenantguard.set_password(%L, %L)', :'shared', :'pw2')), '42501',
          'so it is not the user themself: set_password refused');
SELECT is(tg96.state(format('SELECT tenantguard.enable_mfa(%L)', :'shared')), '42501', 'enable_mfa refused');
SELECT is(tg96.state(format('SELECT tenantguard.disable_mfa(%L)', :'shared')), '42501', 'disable_mfa refused');
SELECT is(tg96.state(format('SELECT tenantguard.mfa_recovery_codes(%L)', :'shared')), '42501', 'mfa_recovery_codes refused');
SELECT is(tg96.state(format('SELECT tenantguard.revoke_sessions(%L)', :'shared')), '42501',
          'revoke_sessions refused (a viewer, and not the user)');
SELECT set_config('tenantguard.context', :'spoof_owner', true) IS NOT NULL AS entered \gset
SELECT is(tenantguard.revoke_sessions(:'shared'), 0,
          'an owner''s token with that sub revokes in its tenant only (none left in A) ...');
SELECT set_config('tenantguard.context', '', true) IS NOT NULL AS left_ctx \gset
SELECT is(tg96.state(format('SELECT tenantguard.resume(%L)', :'shared_b_tok')), 'none', '... not the user''s session in B');
RESET tenantguard.context;
RESET ROLE;

SELECT format('user:%s', :'shared') AS spoof_role \gset
CREATE ROLE :"spoof_role" LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.bind_role(quote_ident(:'spoof_role')::regrole, :'ta', 'admin') \g /dev/null
SET ROLE :"spoof_role";
SELECT is(tenantguard.current_principal(), 'role:user:' || :'shared', 'a bound role named "user:<id>" is role:user:<id>');
SELECT is(tg96.state(format('SELECT tenantguard.set_password(%L, %L)', :'shared', :'pw2')), '42501',
          'and not the user themself: set_password refused');
SELECT is(tg96.state(format('SELECT tenantguard.disable_mfa(%L)', :'shared')), '42501', 'disable_mfa refused');
RESET ROLE;
SELECT is(tenantguard.verify_password(:'pw', (SELECT password_hash FROM tenantguard.user_credentials WHERE user_id = :'shared')),
          true, 'after all that, the shared user''s password is unchanged');

-- ---------------------------------------------------------------------------
-- 3. A one-factor session of a user with confirmed MFA
-- ---------------------------------------------------------------------------
SET ROLE tg96_app;
SELECT tenantguard.resume(:'mfa1_tok');
SELECT is(tenantguard.current_aal(), 1, 'a one-factor session (e.g. from an ID token) of an MFA user');
SELECT is(tg96.state(format('SELECT tenantguard.set_password(%L, %L)', :'mfa', :'pw2')), '42501',
          'cannot change the password');
SELECT is(tg96.state(format('SELECT tenantguard.disable_mfa(%L)', :'mfa')), '42501', 'nor strip MFA');
SELECT is(tg96.state(format('SELECT tenantguard.enable_mfa(%L)', :'mfa')), '42501', 'nor re-enrol it');
SELECT is(tg96.state(format('SELECT tenantguard.mfa_recovery_codes(%L)', :'mfa')), '42501', 'nor make recovery codes');
RESET tenantguard.context;
SELECT tenantguard.resume(:'mfa2_tok');
SELECT is(tg96.state(format('SELECT tenantguard.set_password(%L, %L)', :'mfa', :'pw2')), 'none',
          'a two-factor session of the same user can');
RESET tenantguard.context;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 4. Oracles: which tenants exist; refused logins in a tenant's audit trail
-- ---------------------------------------------------------------------------
SET ROLE tg96_app;
SELECT is((SELECT status || '|' || coalesce(tenant_id::text, '-') FROM tenantguard.login('bonly.' || :'run' || '@example.com', :'pw', NULL, 'tg96-c')),
          'no_membership|-', 'a tenant that exists but the user is not in: no_membership, the tenant not named');
SELECT is((SELECT status || '|' || coalesce(tenant_id::text, '-') FROM tenantguard.login('bonly.' || :'run' || '@example.com', :'pw', NULL, :'tc')),
          'no_membership|-', '... the same by uuid');
SELECT is((SELECT status || '|' || coalesce(tenant_id::text, '-') FROM tenantguard.login('bonly.' || :'run' || '@example.com', :'pw', NULL, 'tg96-nope')),
          'no_membership|-', '... exactly like a tenant that does not exist');
SELECT is((SELECT status || '|' || tenant_id::text FROM tenantguard.login('bonly.' || :'run' || '@example.com', :'pw', NULL, 'tg96-b')),
          'ok|' || :'tb', 'a member is told the tenant');
-- an application signed into A calls login() for an unknown email
SELECT tenantguard.resume(:'adm_tok');
SELECT status AS ghost_status FROM tenantguard.login('ghost.' || :'run' || '@example.com', 'not the password') \gset
RESET tenantguard.context;
RESET ROLE;
SELECT is(tg96.wait_events(format($$action = 'login' AND object = %L AND reason = 'unknown_user'$$, 'ghost.' || :'run' || '@example.com')),
          1::bigint, 'the refused login of an unknown email is recorded');
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE object = 'ghost.' || :'run' || '@example.com' AND tenant_id IS NOT NULL),
          0::bigint, 'but in no tenant''s trail, although the caller was in A (audit.read there does not learn the email is unknown)');

SELECT * FROM finish();
ROLLBACK;
