-- Users, memberships, MFA and login (docs/identity.md "Users, MFA and login").
--
-- Attackers: an application login role (member of tenantguard_app) that
-- guesses passwords and codes, probes which emails exist, reads tables it
-- must not, or acts in a tenant with a role that may not manage members;
-- a tenant administrator reaching into another tenant.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg88_.
-- The failure counters live in shared memory (no rollback undoes them), so
-- every email carries this run's random suffix.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(119);

-- cheap scrypt for the test (superuser-only settings; the defaults stay)
SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 1;
SET tenantguard.scrypt_p = 1;
SET tenantguard.login_max_failures = 3;

SELECT substr(md5(random()::text), 1, 10) AS run \gset
SELECT 'correct horse battery' AS pw, 'Tr0ub4dor&3-staple' AS pw2 \gset

CREATE ROLE tg88_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg88_admin LOGIN IN ROLE tenantguard_admin;
CREATE SCHEMA tg88;
GRANT USAGE ON SCHEMA tg88 TO PUBLIC;

SELECT tenantguard.create_tenant('acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('globex', 'Globex') AS globex \gset
SELECT tenantguard.create_tenant('hooli', 'Hooli') AS hooli \gset
SELECT kid FROM tenantguard.add_signing_key() \gset

-- The SQLSTATE a statement raises ('none' when it succeeds).
CREATE FUNCTION tg88.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
-- login()'s status only
CREATE FUNCTION tg88.st(email text, pw text, code text DEFAULT NULL, tenant text DEFAULT NULL)
    RETURNS text LANGUAGE sql AS $$ SELECT status FROM tenantguard.login(email, pw, code, tenant) $$;
-- the secret of an otpauth URI
CREATE FUNCTION tg88.secret(uri text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT (regexp_match(uri, '[?&]secret=([A-Z2-7]+)'))[1] $$;
-- wait (up to 10 s) until want events match cond (refusals arrive through the ledger worker)
CREATE FUNCTION tg88.wait_events(cond text, want bigint DEFAULT 1) RETURNS bigint
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
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg88 TO PUBLIC;
-- contexts of a role in acme, through signed tokens
SELECT tenantguard.mint_token(:'acme', 'tester-viewer', 'viewer', '10 minutes', :'kid') AS tok_viewer,
       tenantguard.mint_token(:'acme', 'tester-operator', 'operator', '10 minutes', :'kid') AS tok_operator,
       tenantguard.mint_token(:'acme', 'tester-admin', 'admin', '10 minutes', :'kid') AS tok_admin,
       tenantguard.mint_token(:'acme', 'tester-owner', 'owner', '10 minutes', :'kid') AS tok_owner \gset

-- ---------------------------------------------------------------------------
-- 1. create_user: the email's normal form, bad input, nothing half-done
-- ---------------------------------------------------------------------------
SELECT tenantguard.create_user('  Alice.' || :'run' || '@Example.COM ', :'pw', 'Alice') AS alice \gset
SELECT is((SELECT email FROM tenantguard.users WHERE id = :'alice'), 'alice.' || :'run' || '@example.com',
          'emails are trimmed and stored lower-case');
SELECT tenantguard.create_user('bob.' || :'run' || '@example.com', :'pw') AS bob \gset
SELECT tenantguard.create_user('carol.' || :'run' || '@example.com', :'pw') AS carol \gset
SELECT tenantguard.create_user('dave.' || :'run' || '@example.com', :'pw') AS dave \gset
SELECT tenantguard.create_user('erin.' || :'run' || '@example.com') AS erin \gset
SELECT throws_ok(format('SELECT tenantguard.create_user(%L, %L)', 'ALICE.' || :'run' || '@example.com', :'pw'),
                 '23505', 'a user with this email already exists', 'an email differing only in case is a duplicate (23505)');
SELECT throws_ok($$SELECT tenantguard.create_user(NULL)$$, '22004', NULL, 'a NULL email: 22004');
SELECT throws_ok($$SELECT tenantguard.create_user('no-at-sign.example.com')$$, '22023', 'invalid email address', 'no @: 22023');
SELECT throws_ok($$SELECT tenantguard.create_user('a@b@example.com')$$, '22023', NULL, 'two @: 22023');
SELECT throws_ok(format('SELECT tenantguard.create_user(%L)', repeat('a', 250) || '@example.com'), '22023', NULL,
                 'an email over 254 bytes: 22023');
SELECT throws_ok(format('SELECT tenantguard.create_user(%L)', repeat('a', 65) || '@example.com'), '22023', NULL,
                 'a local part over 64 bytes: 22023');
SELECT throws_ok(format('SELECT tenantguard.create_user(%L)', E'tab\there@example.com'), '22023', NULL,
                 'white space or a control character inside: 22023');
SELECT throws_ok($$SELECT tenantguard.create_user('x@')$$, '22023', NULL, 'an empty domain: 22023');
SELECT count(*) AS users_before FROM tenantguard.users \gset
SELECT throws_ok(format('SELECT tenantguard.create_user(%L, %L)', 'frank.' || :'run' || '@example.com', 'short'),
                 '22023', NULL, 'a password below the policy: 22023');
SELECT throws_ok(format('SELECT tenantguard.create_user(%L, %L)', 'frank.' || :'run' || '@example.com', repeat('p', 5000)),
                 '22023', NULL, 'an over-long password: 22023');
SELECT throws_ok(format('SELECT tenantguard.create_user(%L, NULL, %L)', 'frank.' || :'run' || '@example.com', repeat('n', 201)),
                 '22023', NULL, 'an over-long display name: 22023');
SELECT is((SELECT count(*) FROM tenantguard.users), :'users_before'::bigint, 'refused users left nothing behind');
SELECT matches((SELECT password_hash FROM tenantguard.user_credentials WHERE user_id = :'alice'),
               '^\$scrypt\$ln=4,r=1,p=1\$', 'the password is stored as a scrypt PHC string');
SELECT hasnt_column('tenantguard', 'users', 'password_hash', 'tenantguard.users holds no password hash');

-- ---------------------------------------------------------------------------
-- 2. Who reads and who creates users
-- ---------------------------------------------------------------------------
SET ROLE tg88_app;
SELECT is(tg88.state('SELECT 1 FROM tenantguard.users'), '42501', 'an application role cannot read users');
SELECT is(tg88.state('SELECT 1 FROM tenantguard.user_credentials'), '42501', 'nor the credentials');
SELECT is(tg88.state('SELECT 1 FROM tenantguard.user_recovery_codes'), '42501', 'nor recovery codes');
SELECT is(tg88.state('SELECT 1 FROM tenantguard.memberships'), '42501', 'nor memberships');
SELECT is(tg88.state(format('SELECT tenantguard.create_user(%L)', 'probe.' || :'run' || '@example.com')), '42501',
          'an application role cannot create users (nor probe emails with 23505)');
SELECT is(tg88.state(format('SELECT tenantguard.create_user(%L)', 'alice.' || :'run' || '@example.com')), '42501',
          'an existing email gives the same 42501');
SELECT is(tg88.state(format('SELECT tenantguard.disable_user(%L)', :'alice')), '42501', 'nor disable users');
SELECT is(tg88.state(format('SELECT tenantguard.unlock_user(%L)', :'alice')), '42501', 'nor unlock them');
SELECT is(tg88.state(format('SELECT tenantguard.set_password(%L, %L)', :'alice', :'pw2')), '42501',
          'nor set another user''s password');
SELECT is(tg88.state(format('SELECT tenantguard.enable_mfa(%L)', :'alice')), '42501', 'nor enable MFA for another user');
RESET ROLE;
SET ROLE tg88_admin;
SELECT is(tg88.state('SELECT 1 FROM tenantguard.user_credentials'), '42501', 'platform administrators cannot read credentials either');
SELECT is(tg88.state('SELECT count(*) FROM tenantguard.users'), 'none', 'but they read users');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 3. Memberships: members.manage, owners, tenants apart
-- ---------------------------------------------------------------------------
SELECT tenantguard.set_tenant(:'acme');
SELECT lives_ok(format('SELECT tenantguard.add_member(%L, %L)', :'alice', 'owner'), 'a platform administrator makes the first owner');
SELECT tenantguard.add_member(:'bob', 'viewer');
SELECT tenantguard.add_member(:'dave', 'viewer');
SELECT throws_ok(format('SELECT tenantguard.add_member(%L, %L)', :'bob', 'admin'), '23505', NULL, 'a second membership: 23505');
SELECT throws_ok(format('SELECT tenantguard.add_member(%L, %L)', gen_random_uuid(), 'viewer'), '42704', NULL, 'an unknown user: 42704');
SELECT throws_ok(format('SELECT tenantguard.add_member(%L, %L)', :'carol', 'Not A Role'), '22023', NULL, 'a malformed role: 22023');
SELECT throws_ok(format('SELECT tenantguard.remove_member(%L)', :'alice'), '55000', NULL, 'the last owner stays');
SELECT tenantguard.clear_context();
SELECT tenantguard.set_tenant(:'globex');
SELECT tenantguard.add_member(:'dave', 'admin');
SELECT tenantguard.add_member(:'carol', 'viewer');
SELECT tenantguard.clear_context();
SELECT tenantguard.set_tenant(:'hooli');
SELECT tenantguard.add_member(:'dave', 'viewer');
SELECT tenantguard.clear_context();
SELECT throws_ok(format('SELECT tenantguard.add_member(%L, %L)', :'carol', 'viewer'), '42501', 'no tenant context is set',
                 'memberships need a tenant context');

SET ROLE tg88_app;
SAVEPOINT s;
SELECT set_config('tenantguard.context', :'tok_viewer', true) IS NOT NULL AS entered \gset
SELECT is(tg88.state(format('SELECT tenantguard.add_member(%L, %L)', :'carol', 'viewer')), '42501', 'a viewer cannot add members');
ROLLBACK TO SAVEPOINT s;
SELECT set_config('tenantguard.context', :'tok_operator', true) IS NOT NULL AS entered \gset
SELECT is(tg88.state(format('SELECT tenantguard.add_member(%L, %L)', :'carol', 'viewer')), '42501', 'an operator cannot add members');
SELECT is(tg88.state(format('SELECT tenantguard.remove_member(%L)', :'bob')), '42501', 'nor remove them');
ROLLBACK TO SAVEPOINT s;
SELECT set_config('tenantguard.context', :'tok_admin', true) IS NOT NULL AS entered \gset
SELECT is(tg88.state(format('SELECT tenantguard.set_member_role(%L, %L)', :'carol', 'admin')), '42704',
          'a tenant admin cannot change a role in another tenant (carol is globex''s viewer only)');
SELECT is(tg88.state(format('SELECT tenantguard.remove_member(%L)', :'carol')), '42704',
          'nor remove a membership of another tenant');
SELECT is(tg88.state(format('SELECT tenantguard.add_member(%L, %L)', :'carol', 'operator')), 'none', 'a tenant admin adds a member');
SELECT is(tg88.state(format('SELECT tenantguard.add_member(%L, %L)', :'erin', 'owner')), '42501', 'but not an owner');
SELECT is(tg88.state(format('SELECT tenantguard.set_member_role(%L, %L)', :'alice', 'viewer')), '42501', 'nor demote an owner');
SELECT is(tg88.state(format('SELECT tenantguard.remove_member(%L)', :'carol')), 'none', 'it removes its own member');
RELEASE SAVEPOINT s;
RESET tenantguard.context;
RESET ROLE;
SELECT is((SELECT role FROM tenantguard.memberships WHERE tenant_id = :'globex' AND user_id = :'carol'), 'viewer',
          'acme''s admin left globex''s membership alone');
SET ROLE tg88_app;
SAVEPOINT s;
SELECT set_config('tenantguard.context', :'tok_owner', true) IS NOT NULL AS entered \gset
SELECT is(tg88.state(format('SELECT tenantguard.add_member(%L, %L)', :'erin', 'owner')), 'none', 'an owner makes another owner');
SELECT is(tg88.state(format('SELECT tenantguard.remove_member(%L)', :'erin')), 'none', 'and removes one that is not the last');
ROLLBACK TO SAVEPOINT s;
RELEASE SAVEPOINT s;
RESET tenantguard.context;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 4. login(): every status
-- ---------------------------------------------------------------------------
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.add_member(:'carol', 'viewer');
SELECT tenantguard.clear_context();
SET ROLE tg88_app;
SELECT * FROM tenantguard.login('alice.' || :'run' || '@example.com', :'pw') AS l \gset l_
SELECT is(:'l_status'::text, 'ok', 'the right password of a single-tenant user: ok');
SELECT ok(:'l_session_token' <> '' AND :'l_user_id' = :'alice' AND :'l_tenant_id' = :'acme' AND :'l_expires_at'::timestamptz > now(),
          'with a session token, the user, the implied tenant and the expiry');
SELECT is(tg88.st(' ALICE.' || :'run' || '@EXAMPLE.com', :'pw'), 'ok', 'the email is normalised at login too');
SELECT results_eq(format('SELECT status, session_token, user_id, tenant_id, expires_at FROM tenantguard.login(%L, %L)',
                         'alice.' || :'run' || '@example.com', 'wrong password!'),
                  $$VALUES ('invalid'::text, NULL::text, NULL::uuid, NULL::uuid, NULL::timestamptz)$$,
                  'a wrong password: invalid, nothing else');
SELECT is(tg88.st('nobody.' || :'run' || '@example.com', :'pw'), 'invalid', 'an unknown email: invalid');
SELECT is(tg88.st('erin.' || :'run' || '@example.com', :'pw'), 'invalid', 'a user without a password: invalid');
SELECT is(tg88.st('dave.' || :'run' || '@example.com', :'pw'), 'no_membership', 'several memberships and no tenant: no_membership');
SELECT is(tg88.st('dave.' || :'run' || '@example.com', :'pw', NULL, 'globex'), 'ok', 'a tenant by slug: ok');
SELECT is((SELECT tenant_id FROM tenantguard.login('dave.' || :'run' || '@example.com', :'pw', NULL, :'hooli')), :'hooli'::uuid,
          'a tenant by uuid');
SELECT is(tg88.st('bob.' || :'run' || '@example.com', :'pw', NULL, 'globex'), 'no_membership', 'a tenant the user is not in: no_membership');
SELECT is(tg88.st('bob.' || :'run' || '@example.com', :'pw', NULL, 'no-such-tenant'), 'no_membership', 'an unknown tenant: no_membership');
SELECT throws_ok(format('SELECT tenantguard.login(%L, %L, NULL, %L)', 'bob.' || :'run' || '@example.com', :'pw', 'Not a slug!'),
                 '22023', 'invalid tenant', 'a tenant that is neither slug nor uuid: 22023');
RESET ROLE;
SELECT tenantguard.suspend_tenant(:'hooli');
SET ROLE tg88_app;
SELECT results_eq(format('SELECT status, user_id, tenant_id FROM tenantguard.login(%L, %L, NULL, %L)',
                         'dave.' || :'run' || '@example.com', :'pw', 'hooli'),
                  format($$VALUES ('disabled'::text, %L::uuid, %L::uuid)$$, :'dave', :'hooli'),
                  'a suspended tenant: disabled, with the tenant named');
RESET ROLE;
SELECT tenantguard.activate_tenant(:'hooli');
SELECT tenantguard.disable_user(:'bob');
SET ROLE tg88_app;
SELECT results_eq(format('SELECT status, user_id, tenant_id FROM tenantguard.login(%L, %L)', 'bob.' || :'run' || '@example.com', :'pw'),
                  format($$VALUES ('disabled'::text, %L::uuid, NULL::uuid)$$, :'bob'),
                  'a disabled user with the right password: disabled, no tenant');
SELECT is(tg88.st('bob.' || :'run' || '@example.com', 'wrong password!'), 'invalid', 'a disabled user with a wrong password: invalid');
RESET ROLE;
SELECT tenantguard.enable_user(:'bob');
SET ROLE tg88_app;
SELECT is(tg88.st('bob.' || :'run' || '@example.com', :'pw'), 'ok', 'enabled again: ok');

-- bad input raises, before any account is looked at
SELECT throws_ok($$SELECT tenantguard.login(NULL, 'x')$$, '22004', NULL, 'a NULL email: 22004');
SELECT throws_ok(format('SELECT tenantguard.login(%L, NULL)', 'bob.' || :'run' || '@example.com'), '22004', NULL, 'a NULL password: 22004');
SELECT throws_ok(format('SELECT tenantguard.login(%L, %L)', repeat('b', 300) || '@example.com', :'pw'), '22023', NULL,
                 'an over-long email: 22023');
SELECT throws_ok(format('SELECT tenantguard.login(%L, %L)', 'bob.' || :'run' || '@example.com', repeat('p', 5000)), '22023', NULL,
                 'an over-long password: 22023');
SELECT throws_ok(format('SELECT tenantguard.login(%L, %L, %L)', 'bob.' || :'run' || '@example.com', :'pw', '12345'), '22023',
                 'malformed second-factor code', 'a 5-digit code: 22023');
SELECT throws_ok(format('SELECT tenantguard.login(%L, %L, %L)', 'bob.' || :'run' || '@example.com', :'pw', 'abc def'), '22023',
                 NULL, 'a code that is neither TOTP nor recovery code: 22023');
SAVEPOINT ro;
SET LOCAL transaction_read_only = on;
SELECT throws_ok(format('SELECT tenantguard.login(%L, %L)', 'bob.' || :'run' || '@example.com', :'pw'), '25006', NULL,
                 'a read-only transaction: 25006');
ROLLBACK TO SAVEPOINT ro;
RELEASE SAVEPOINT ro;

-- ---------------------------------------------------------------------------
-- 5. Lockout: known and unknown emails alike; unlock_user
-- ---------------------------------------------------------------------------
SELECT array_agg(tg88.st('carol.' || :'run' || '@example.com', 'wrong password!') ORDER BY g) AS carol_tries
  FROM generate_series(1, 3) g \gset
SELECT is(:'carol_tries'::text, '{invalid,invalid,invalid}', 'three wrong passwords (login_max_failures = 3): invalid');
SELECT is(tg88.st('carol.' || :'run' || '@example.com', :'pw', NULL, 'acme'), 'locked', 'then even the right password: locked');
SELECT array_agg(tg88.st('ghost.' || :'run' || '@example.com', 'wrong password!') ORDER BY g) AS ghost_tries
  FROM generate_series(1, 4) g \gset
SELECT is(:'ghost_tries'::text, '{invalid,invalid,invalid,locked}', 'an unknown email locks exactly the same way');
RESET ROLE;
SELECT tenantguard.unlock_user(:'carol');
SET ROLE tg88_app;
SELECT is(tg88.st('carol.' || :'run' || '@example.com', :'pw', NULL, 'acme'), 'ok', 'unlock_user: ok again');
SELECT is(tg88.st('carol.' || :'run' || '@example.com', 'wrong password!'), 'invalid', 'and the count starts from zero');
SELECT is(tg88.st('carol.' || :'run' || '@example.com', :'pw', NULL, 'acme'), 'ok', 'a success resets the count');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 6. MFA: enrolment, mfa_required, codes spent once, recovery codes
-- ---------------------------------------------------------------------------
SELECT tenantguard.enable_mfa(:'alice') AS uri \gset
SELECT matches(:'uri'::text, '^otpauth://totp/tenantguard:alice\.' || :'run' || '%40example\.com\?secret=[A-Z2-7]{32}&issuer=tenantguard',
               'enable_mfa returns the otpauth URI');
SELECT tg88.secret(:'uri') AS secret \gset
SELECT ok((SELECT mfa_pending IS NOT NULL AND mfa_secret IS NULL AND position(convert_to(:'secret', 'UTF8') IN mfa_pending) = 0
             FROM tenantguard.user_credentials WHERE user_id = :'alice'),
          'the secret is stored sealed, as pending');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw'), 'ok', 'a pending enrolment does not ask for a code yet');
SELECT throws_ok(format('SELECT tenantguard.confirm_mfa(%L, %L)', :'alice', 'abcdef'), '22023', NULL, 'a malformed code to confirm: 22023');
SELECT is(tenantguard.confirm_mfa(:'alice', lpad(((tenantguard.totp_code(:'secret', clock_timestamp())::int + 1) % 1000000)::text, 6, '0')),
          false, 'a wrong code does not confirm');
SELECT tenantguard.totp_code(:'secret', t) AS code0, tenantguard.totp_code(:'secret', t + interval '30 s') AS next_code
  FROM (SELECT clock_timestamp() AS t) n \gset
SELECT is(tenantguard.confirm_mfa(:'alice', :'code0'), true, 'the current code confirms');
SELECT ok((SELECT mfa_secret IS NOT NULL AND mfa_pending IS NULL AND mfa_last_step IS NOT NULL
             FROM tenantguard.user_credentials WHERE user_id = :'alice'), 'confirmed: the secret is in force, its step spent');
SET ROLE tg88_app;
SELECT results_eq(format('SELECT status, session_token, user_id FROM tenantguard.login(%L, %L)', 'alice.' || :'run' || '@example.com', :'pw'),
                  $$VALUES ('mfa_required'::text, NULL::text, NULL::uuid)$$, 'the right password without a code: mfa_required');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw', :'code0'), 'invalid',
          'the code just spent by confirm_mfa is not accepted again');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', 'wrong password!', :'next_code'), 'invalid',
          'a right code with a wrong password: invalid');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw', :'next_code'), 'ok', 'the next step''s code: ok');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw', :'next_code'), 'invalid', 'the same code again: invalid (replay)');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw', '000000'), 'invalid', 'a wrong code: invalid');
RESET ROLE;
SELECT tenantguard.unlock_user(:'alice');
SELECT array_agg(c) AS codes FROM tenantguard.mfa_recovery_codes(:'alice') c \gset
SELECT ok(cardinality(:'codes'::text[]) = 10 AND (SELECT count(DISTINCT c) FROM unnest(:'codes'::text[]) c) = 10
          AND (SELECT bool_and(c ~ '^[a-z2-7]{5}(-[a-z2-7]{5}){3}$') FROM unnest(:'codes'::text[]) c),
          'ten distinct recovery codes of 20 base32 characters');
SELECT ok((SELECT count(*) = 10 AND bool_and(octet_length(code_hash) = 32) FROM tenantguard.user_recovery_codes WHERE user_id = :'alice')
          AND NOT EXISTS (SELECT 1 FROM tenantguard.user_recovery_codes r, unnest(:'codes'::text[]) c
                           WHERE position(convert_to(replace(c, '-', ''), 'UTF8') IN r.code_hash) > 0),
          'stored as 32-byte hashes only');
SET ROLE tg88_app;
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw', (:'codes'::text[])[1]), 'ok', 'a recovery code in place of the TOTP code: ok');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw', (:'codes'::text[])[1]), 'invalid', 'a recovery code works once');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw', upper(replace((:'codes'::text[])[2], '-', ''))), 'ok',
          'typed in capitals without hyphens: ok');
SELECT is(tg88.st('alice.' || :'run' || '@example.com', :'pw', 'aaaaa-bbbbb-ccccc-ddddd'), 'invalid', 'a made-up recovery code: invalid');
RESET ROLE;
SELECT tenantguard.unlock_user(:'alice');
SELECT is((SELECT count(*) FROM tenantguard.user_recovery_codes WHERE user_id = :'alice' AND used_at IS NULL), 8::bigint,
          'two codes are spent');
SELECT throws_ok(format('SELECT tenantguard.mfa_recovery_codes(%L)', :'bob'), '55000', NULL, 'no recovery codes without confirmed MFA');
SELECT throws_ok(format('SELECT tenantguard.confirm_mfa(%L, %L)', :'bob', '123456'), '55000', NULL, 'no confirmation without enrolment');
SELECT throws_ok(format('SELECT tenantguard.enable_mfa(%L)', gen_random_uuid()), '42704', NULL, 'MFA of an unknown user: 42704');

-- ---------------------------------------------------------------------------
-- 7. Sessions end with the membership, role, password and account
-- ---------------------------------------------------------------------------
SET ROLE tg88_app;
SELECT session_token AS carol_tok FROM tenantguard.login('carol.' || :'run' || '@example.com', :'pw', NULL, 'acme') \gset
SELECT session_token AS carol_tok2 FROM tenantguard.login('carol.' || :'run' || '@example.com', :'pw', NULL, 'acme') \gset
SELECT session_token AS dave_tok FROM tenantguard.login('dave.' || :'run' || '@example.com', :'pw', NULL, 'globex') \gset
SELECT session_token AS dave_tok2 FROM tenantguard.login('dave.' || :'run' || '@example.com', :'pw', NULL, 'acme') \gset
SELECT is(tg88.state(format('SELECT tenantguard.resume(%L)', :'carol_tok')), 'none', 'a fresh session resumes');
RESET tenantguard.context;
RESET ROLE;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.set_member_role(:'carol', 'operator');
SELECT tenantguard.remove_member(:'dave');
SELECT tenantguard.clear_context();
SET ROLE tg88_app;
SELECT is(tg88.state(format('SELECT tenantguard.resume(%L)', :'carol_tok2')), '28000', 'a role change ends the member''s sessions there');
SELECT is(tg88.state(format('SELECT tenantguard.resume(%L)', :'dave_tok2')), '28000', 'removal ends the member''s sessions there');
SELECT is(tg88.state(format('SELECT tenantguard.resume(%L)', :'dave_tok')), 'none', 'but not their sessions in other tenants');
RESET tenantguard.context;
RESET ROLE;
SELECT tenantguard.disable_user(:'dave');
SET ROLE tg88_app;
SELECT is(tg88.state(format('SELECT tenantguard.resume(%L)', :'dave_tok')), '28000', 'disable_user ends every session');
RESET ROLE;
SELECT tenantguard.enable_user(:'dave');

-- self-service in one's own session; password change
SET ROLE tg88_app;
SELECT session_token AS bob_tok FROM tenantguard.login('bob.' || :'run' || '@example.com', :'pw') \gset
SELECT tenantguard.resume(:'bob_tok');
SELECT is(tg88.state(format('SELECT tenantguard.enable_mfa(%L)', :'bob')), 'none', 'a user enrols MFA in their own session');
SELECT is(tg88.state(format('SELECT tenantguard.enable_mfa(%L)', :'carol')), '42501', 'but not for another user');
SELECT is(tg88.state(format('SELECT tenantguard.set_password(%L, %L)', :'bob', :'pw2')), 'none', 'and changes their password');
RESET tenantguard.context;
SELECT is(tg88.state(format('SELECT tenantguard.resume(%L)', :'bob_tok')), '28000', 'which ends their sessions');
RESET tenantguard.context;
SELECT is(tg88.st('bob.' || :'run' || '@example.com', :'pw'), 'invalid', 'the old password no longer works');
SELECT is(tg88.st('bob.' || :'run' || '@example.com', :'pw2'), 'ok', 'the new one does');
RESET ROLE;

-- rehash at a new cost
SET tenantguard.scrypt_log_n = 5;
SET ROLE tg88_app;
SELECT is(tg88.st('carol.' || :'run' || '@example.com', :'pw', NULL, 'acme'), 'ok', 'login at a raised cost');
RESET ROLE;
SELECT matches((SELECT password_hash FROM tenantguard.user_credentials WHERE user_id = :'carol'), '^\$scrypt\$ln=5,',
               'rehashes the stored password at the current cost');
SET tenantguard.scrypt_log_n = 4;

-- ---------------------------------------------------------------------------
-- 8. Audit: logins, lockouts, MFA, memberships; no secret in any event
-- ---------------------------------------------------------------------------
SELECT is(tg88.wait_events(format($$action = 'login' AND decision = 'deny' AND reason = 'bad_password' AND object = %L$$,
                                  'carol.' || :'run' || '@example.com')) > 0, true, 'a wrong password is recorded (through the queue)');
SELECT is(tg88.wait_events(format($$action = 'login' AND reason = 'unknown_user' AND object = %L$$, 'ghost.' || :'run' || '@example.com')) > 0,
          true, 'an unknown email is recorded');
SELECT is(tg88.wait_events(format($$action = 'login.lockout' AND object = %L$$, 'ghost.' || :'run' || '@example.com')), 1::bigint,
          'the lockout is recorded once');
SELECT is(tg88.wait_events(format($$action = 'login' AND reason = 'mfa_required' AND object = %L$$, 'alice.' || :'run' || '@example.com')) > 0,
          true, 'mfa_required is recorded');
SELECT is(tg88.wait_events(format($$action = 'login' AND decision = 'allow' AND tenant_id = %L AND principal = %L$$, :'acme', 'user:' || :'alice')) > 0,
          true, 'a successful login is recorded in the tenant, naming the user');
SELECT is(tg88.wait_events(format($$action = 'mfa.recovery_code_used' AND object = %L$$, 'user:' || :'alice'), 2), 2::bigint,
          'each recovery code use is recorded');
SELECT is(tg88.wait_events(format($$action IN ('mfa.enable', 'mfa.confirm') AND decision = 'allow' AND object = %L$$, 'user:' || :'alice'), 2), 2::bigint,
          'MFA changes are recorded');
SELECT is(tg88.wait_events(format($$action IN ('member.add', 'member.role', 'member.remove') AND tenant_id = %L$$, :'acme'), 3) >= 3,
          true, 'membership changes are recorded in the tenant');
SELECT is((SELECT count(*) FROM tenantguard_audit.events e
            WHERE e::text LIKE '%' || :'pw' || '%' OR e::text LIKE '%' || :'pw2' || '%'
               OR e::text LIKE '%' || :'secret' || '%'
               OR e::text LIKE '%' || :'carol_tok' || '%' OR e::text LIKE '%' || :'bob_tok' || '%'
               OR EXISTS (SELECT 1 FROM unnest(:'codes'::text[]) c WHERE e::text LIKE '%' || c || '%'
                                                                  OR e::text ILIKE '%' || replace(c, '-', '') || '%')),
          0::bigint, 'no event holds a password, TOTP secret, recovery code or session token');

SELECT * FROM finish();
ROLLBACK;
