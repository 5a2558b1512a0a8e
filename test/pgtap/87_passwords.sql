-- Passwords and TOTP through SQL: hash_password(), verify_password(),
-- password_needs_rehash(), totp_new_secret(), totp_code(), totp_verify(),
-- totp_uri() (docs/identity.md, "Passwords and TOTP").
--
-- Vectors: RFC 7914 section 12 (as a passlib-form string), hashes made by
-- passlib 1.7 with fixed salts, RFC 6238 Appendix B and RFC 4226 Appendix D.
-- Costs are lowered for the session (superuser SET), never by changing the
-- defaults. Attackers: an application role that tries to change the costs
-- or the policy, a role outside tenantguard's roles, a hostile search_path,
-- hostile hash strings (malformed, foreign, beyond the memory budget); and
-- every error is checked to quote neither the password nor the secret.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg87_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(136);

CREATE ROLE tg87_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg87_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg87_other LOGIN;
CREATE SCHEMA tg87;
GRANT USAGE ON SCHEMA tg87 TO PUBLIC;

-- The error a statement raises: "SQLSTATE message detail hint", or 'no error'.
CREATE FUNCTION tg87.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text; h text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ' ' || m || ' ' || coalesce(d, '') || ' ' || coalesce(h, '');
END $$;
-- Did the statement end with query_canceled (statement_timeout)? plpgsql's
-- WHEN OTHERS does not catch it, so throws_ok() cannot test it.
CREATE FUNCTION tg87.canceled(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'completed';
EXCEPTION WHEN query_canceled THEN
    RETURN 'canceled';
END $$;
-- How long a statement takes.
CREATE FUNCTION tg87.elapsed(q text) RETURNS interval LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp();
BEGIN
    EXECUTE q;
    RETURN clock_timestamp() - t;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg87 TO PUBLIC;

-- RFC 6238 seeds in base32: 20, 32 and 64 bytes
\set s1 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
\set s256 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA===='
\set s512 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA='

-- cheap costs for this session only
SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 1;
SET tenantguard.scrypt_p = 1;

-- ---------------------------------------------------------------------------
-- 1. Defaults and settings
-- ---------------------------------------------------------------------------
SELECT is((SELECT string_agg(name || '=' || boot_val || ':' || context, ' ' ORDER BY name) FROM pg_settings
            WHERE name IN ('tenantguard.scrypt_log_n', 'tenantguard.scrypt_r', 'tenantguard.scrypt_p',
                           'tenantguard.password_min_length', 'tenantguard.password_max_length',
                           'tenantguard.scrypt_max_concurrent', 'tenantguard.scrypt_max_memory')),
    'tenantguard.password_max_length=1024:superuser tenantguard.password_min_length=12:superuser '
    'tenantguard.scrypt_log_n=15:superuser tenantguard.scrypt_max_concurrent=8:sighup '
    'tenantguard.scrypt_max_memory=524288:sighup tenantguard.scrypt_p=3:superuser tenantguard.scrypt_r=8:superuser',
    'defaults: scrypt 15/8/3, passwords 12 characters to 1024 bytes, 8 concurrent runs in 512 MiB; costs and policy superuser-only, the bound server-wide (sighup)');

SELECT throws_ok('SET tenantguard.scrypt_log_n = 21', '22023', NULL, 'scrypt_log_n above the core''s limit 20 is refused (22023)');
SELECT throws_ok('SET tenantguard.scrypt_log_n = 0', '22023', NULL, 'scrypt_log_n 0 is refused (22023)');
SELECT throws_ok('SET tenantguard.scrypt_r = 33', '22023', NULL, 'scrypt_r above 32 is refused (22023)');
SELECT throws_ok('SET tenantguard.scrypt_p = 17', '22023', NULL, 'scrypt_p above 16 is refused (22023)');
SELECT throws_ok('SET tenantguard.scrypt_max_concurrent = 2', '55P02', NULL,
    'scrypt_max_concurrent is server-wide: not settable in a session (55P02)');

SET ROLE tg87_app;
SELECT throws_ok('SET tenantguard.scrypt_log_n = 1', '42501', NULL, 'an application role cannot lower scrypt_log_n (42501)');
SELECT throws_ok('SET tenantguard.scrypt_r = 1', '42501', NULL, 'an application role cannot change scrypt_r (42501)');
SELECT throws_ok('SET tenantguard.scrypt_p = 1', '42501', NULL, 'an application role cannot change scrypt_p (42501)');
SELECT throws_ok('SET tenantguard.password_min_length = 1', '42501', NULL, 'an application role cannot lower password_min_length (42501)');
SELECT throws_ok('SET tenantguard.password_max_length = 65536', '42501', NULL, 'an application role cannot raise password_max_length (42501)');
SELECT throws_ok($$SELECT set_config('tenantguard.scrypt_log_n', '1', true)$$, '42501', NULL,
    'nor through set_config() (42501)');
SELECT throws_ok('ALTER ROLE tg87_app SET tenantguard.scrypt_log_n = 1', '42501', NULL,
    'nor for its own future sessions with ALTER ROLE ... SET (42501)');
SELECT throws_ok('ALTER ROLE tg87_app SET tenantguard.password_min_length = 1', '42501', NULL,
    'nor the minimum length with ALTER ROLE ... SET (42501)');
RESET ROLE;
SET ROLE tg87_admin;
SELECT throws_ok('SET tenantguard.scrypt_log_n = 1', '42501', NULL, 'an administrator role (not superuser) cannot either (42501)');
RESET ROLE;
SELECT is(current_setting('tenantguard.scrypt_log_n'), '4', 'the session''s superuser-set cost is unchanged');

-- ---------------------------------------------------------------------------
-- 2. hash_password / verify_password
-- ---------------------------------------------------------------------------
SELECT tenantguard.hash_password('correct horse battery') AS h \gset
SELECT matches(:'h'::text, '^\$scrypt\$ln=4,r=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$',
    'hash_password() writes $scrypt$ln=4,r=1,p=1$<16-byte salt>$<32-byte checksum> in standard base64 without padding');
SELECT isnt(tenantguard.hash_password('correct horse battery'), :'h', 'each hash has a fresh salt');
SELECT ok(tenantguard.verify_password('correct horse battery', :'h'), 'verify_password(): the right password');
SELECT ok(NOT tenantguard.verify_password('correct horse batterY', :'h'), 'verify_password(): a wrong password is false');
SELECT ok(NOT tenantguard.verify_password('correct horse battery ', :'h'), 'verify_password(): a trailing space makes it wrong');

SET tenantguard.scrypt_log_n = 5;
SET tenantguard.scrypt_r = 2;
SET tenantguard.scrypt_p = 2;
SELECT matches(tenantguard.hash_password('correct horse battery'), '^\$scrypt\$ln=5,r=2,p=2\$',
    'the costs come from the settings at the time of hashing');
SELECT ok(tenantguard.verify_password('correct horse battery', :'h'),
    'a hash verifies at its own costs, whatever the settings are now');
SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 1;
SET tenantguard.scrypt_p = 1;

-- independent vectors
SELECT ok(tenantguard.verify_password('password', '$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI'),
    'RFC 7914 section 12 vector ("password", "NaCl", N=1024, r=8, p=16) in passlib form verifies');
SELECT ok(NOT tenantguard.verify_password('passwore', '$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI'),
    'the RFC 7914 vector with another password does not');
SELECT ok(tenantguard.verify_password('passlib''s password', '$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    'a hash made by passlib 1.7 verifies');
SELECT ok(tenantguard.verify_password('pässwörd ünïcödé', '$scrypt$ln=5,r=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$vXilbm1SKQnSbHp/ZIFfgQeCSfrJk1VkE1hivGFbUww'),
    'a passlib hash of a non-ASCII password verifies (both hash its UTF-8 bytes)');
SELECT ok(NOT tenantguard.verify_password('passwörd ünïcödé', '$scrypt$ln=5,r=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$vXilbm1SKQnSbHp/ZIFfgQeCSfrJk1VkE1hivGFbUww'),
    '(and a different non-ASCII password does not)');

-- the minimum length is for new passwords only
SET tenantguard.password_min_length = 20;
SELECT ok(tenantguard.verify_password('correct horse battery', :'h'),
    'raising password_min_length does not lock out existing shorter passwords');
RESET tenantguard.password_min_length;

-- STRICT
SELECT is(tenantguard.hash_password(NULL), NULL, 'hash_password(NULL) is NULL');
SELECT is(tenantguard.verify_password(NULL, :'h'), NULL, 'verify_password(NULL, hash) is NULL');
SELECT is(tenantguard.verify_password('correct horse battery', NULL), NULL, 'verify_password(password, NULL) is NULL');
SELECT is(tenantguard.password_needs_rehash(NULL), NULL, 'password_needs_rehash(NULL) is NULL');

-- ---------------------------------------------------------------------------
-- 3. Policy errors, never quoting the password
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT tenantguard.hash_password('Tr0ub4dor&3')$$, '22023', 'password is too short',
    'an 11-character password is refused (22023)');
SELECT is(tg87.err($$SELECT tenantguard.hash_password('Tr0ub4dor&3')$$),
    '22023 password is too short A password needs at least 12 characters (tenantguard.password_min_length). ',
    'the error names the rule and the setting, not the password');
SELECT matches(tenantguard.hash_password('Tr0ub4dor&3!'), '^\$scrypt\$', 'exactly 12 characters are enough');
SELECT throws_ok($$SELECT tenantguard.hash_password(repeat('é', 11))$$, '22023', 'password is too short',
    'the minimum counts characters: 11 two-byte characters (22 bytes) are too short');
SELECT matches(tenantguard.hash_password(repeat('é', 12)), '^\$scrypt\$', '12 two-byte characters are enough');
SELECT throws_ok($$SELECT tenantguard.hash_password('')$$, '22023', 'password is too short', 'the empty password is refused');
SET tenantguard.password_min_length = 4;
SELECT matches(tenantguard.hash_password('abcd'), '^\$scrypt\$', 'a superuser may lower password_min_length (4)');
RESET tenantguard.password_min_length;

SELECT throws_ok($$SELECT tenantguard.hash_password(repeat('x', 1025))$$, '22023', 'password is too long',
    'a password of 1025 bytes is refused (22023)');
SELECT is(tg87.err($$SELECT tenantguard.hash_password(repeat('x', 1025))$$),
    '22023 password is too long A password may have at most 1024 bytes (tenantguard.password_max_length). ',
    'the error names the limit and the setting');
SELECT matches(tenantguard.hash_password(repeat('x', 1024)), '^\$scrypt\$', 'exactly 1024 bytes are accepted');
SELECT throws_ok($$SELECT tenantguard.hash_password(repeat('é', 513))$$, '22023', 'password is too long',
    'the maximum counts bytes: 513 two-byte characters (1026 bytes) are too long');
SELECT throws_ok($$SELECT tenantguard.verify_password(repeat('x', 1025), '$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc')$$,
    '22023', 'password is too long', 'verify_password() refuses an over-long password with the same error');
SELECT throws_ok($$SELECT tenantguard.verify_password(repeat('x', 1000000), 'garbage')$$,
    '22023', 'password is too long', 'a megabyte password is refused before anything else');
SET tenantguard.password_max_length = 2048;
SELECT matches(tenantguard.hash_password(repeat('x', 2048)), '^\$scrypt\$', 'a superuser may raise password_max_length');
RESET tenantguard.password_max_length;
SELECT throws_ok('SET tenantguard.password_max_length = 63', '22023', NULL, 'password_max_length below 64 is refused');

SELECT ok(position('sekrit' IN tg87.err($$SELECT tenantguard.hash_password('sekrit')$$)) = 0
      AND position('sekrit' IN tg87.err($$SELECT tenantguard.hash_password(repeat('sekrit', 200))$$)) = 0
      AND position('sekrit' IN tg87.err($$SELECT tenantguard.verify_password(repeat('sekrit', 200), 'x')$$)) = 0,
    'no policy error quotes the password');

-- invalid costs together
SET tenantguard.scrypt_log_n = 20;
SET tenantguard.scrypt_r = 16;
SELECT throws_ok($$SELECT tenantguard.hash_password('correct horse battery')$$, '22023',
    'scrypt cost settings ln=20, r=16, p=1 are outside the supported limits',
    'costs that are valid one by one but not together (N*r = 2^24) are refused when used (22023)');
SELECT throws_ok($$SELECT tenantguard.password_needs_rehash('x')$$, '22023', NULL,
    'password_needs_rehash() refuses them too (it compares against them)');
SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 32;
SET tenantguard.scrypt_p = 5;
SELECT throws_ok($$SELECT tenantguard.hash_password('correct horse battery')$$, '22023', NULL,
    'r*p above 128 is refused (22023)');
-- a single run beyond the memory budget (ln=20, r=8: 1 GiB > 512 MiB)
SET tenantguard.scrypt_log_n = 20;
SET tenantguard.scrypt_r = 8;
SET tenantguard.scrypt_p = 1;
SELECT throws_ok($$SELECT tenantguard.hash_password('correct horse battery')$$, '53400', NULL,
    'costs needing more than tenantguard.scrypt_max_memory for one run are refused (53400) before running');
SELECT matches(tg87.err($$SELECT tenantguard.hash_password('correct horse battery')$$), 'scrypt_max_memory',
    '(the hint names the setting)');
SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 1;
SET tenantguard.scrypt_p = 1;

-- ---------------------------------------------------------------------------
-- 4. Malformed, foreign and hostile hashes: false, never an error
-- ---------------------------------------------------------------------------
CREATE TABLE tg87.bad (what text, hash text);
INSERT INTO tg87.bad VALUES
    ('empty', ''),
    ('garbage', 'garbage'),
    ('bcrypt', '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'),
    ('argon2', '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG'),
    ('passlib ab64 (.) alphabet', '$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5.7.AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('= padding', '$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA==$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc='),
    ('leading zero', '$scrypt$ln=04,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('other order', '$scrypt$r=1,ln=4,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('no checksum', '$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA'),
    ('short checksum', '$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62js'),
    ('trailing junk', '$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc$'),
    ('ln beyond the core limit', '$scrypt$ln=21,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('huge ln', '$scrypt$ln=99999999999999999999,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('r*p beyond the limit', '$scrypt$ln=4,r=32,p=16$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('p = 0', '$scrypt$ln=4,r=1,p=0$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('1 GiB work area, beyond scrypt_max_memory', '$scrypt$ln=20,r=8,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('100 kB string', '$scrypt$ln=4,r=1,p=1$' || repeat('A', 100000) || '$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    ('non-ASCII', '$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcé');
SELECT is((SELECT string_agg(what || '=' || tenantguard.verify_password('passlib''s password', hash)::text, ', ' ORDER BY what)
             FROM tg87.bad WHERE tenantguard.verify_password('passlib''s password', hash)),
    NULL, 'verify_password() is false for every malformed, foreign or out-of-limits hash (none is true)');
SELECT is((SELECT count(*)::int FROM tg87.bad WHERE tg87.err(format('SELECT tenantguard.verify_password(%L, %L)', 'passlib''s password', hash)) <> 'no error'),
    0, 'and none of them raises an error');
SELECT cmp_ok(tg87.elapsed($$SELECT tenantguard.verify_password('passlib''s password',
                    '$scrypt$ln=20,r=8,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc')$$), '<', interval '50 ms',
    'a hostile hash asking for a 1 GiB work area is refused at once, without running scrypt');
SELECT is((SELECT count(*)::int FROM tg87.bad WHERE NOT tenantguard.password_needs_rehash(hash)), 0,
    'password_needs_rehash() is true for each of them');

-- ---------------------------------------------------------------------------
-- 5. password_needs_rehash
-- ---------------------------------------------------------------------------
SELECT is(tenantguard.password_needs_rehash(:'h'), false, 'a hash at the current settings needs no rehash');
SET tenantguard.scrypt_log_n = 5;
SELECT is(tenantguard.password_needs_rehash(:'h'), true, 'after raising scrypt_log_n it does');
SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 2;
SELECT is(tenantguard.password_needs_rehash(:'h'), true, 'after changing scrypt_r it does');
SET tenantguard.scrypt_r = 1;
SET tenantguard.scrypt_p = 2;
SELECT is(tenantguard.password_needs_rehash(:'h'), true, 'after changing scrypt_p it does');
SET tenantguard.scrypt_p = 1;
SELECT is(tenantguard.password_needs_rehash('$scrypt$ln=4,r=1,p=1$dGVuYW50Z3VhcmQtc2FsdA$GESKo5+7+AgZyA2tOUHOjIYjaIzdHLXccb1Q62jsMcc'),
    false, 'a passlib hash with a 16-byte salt at the current costs needs no rehash');
SET tenantguard.scrypt_log_n = 10;
SET tenantguard.scrypt_r = 8;
SET tenantguard.scrypt_p = 16;
SELECT is(tenantguard.password_needs_rehash('$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI'),
    true, 'a hash with a 4-byte salt needs a rehash even at the current costs');
SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 1;
SET tenantguard.scrypt_p = 1;

-- ---------------------------------------------------------------------------
-- 6. statement_timeout ends a hash
-- ---------------------------------------------------------------------------
RESET tenantguard.scrypt_log_n;
RESET tenantguard.scrypt_r;
RESET tenantguard.scrypt_p;
SET statement_timeout = '60ms';
SELECT is(tg87.canceled($$SELECT tenantguard.hash_password('correct horse battery')$$), 'canceled',
    'hash_password() at the default costs (about 0.3 s) under statement_timeout = 60ms ends with 57014');
RESET statement_timeout;
SELECT matches(tenantguard.hash_password('correct horse battery'), '^\$scrypt\$ln=15,r=8,p=3\$',
    'afterwards hashing works again (the slot was given back); the default costs are 15/8/3');
SET tenantguard.scrypt_log_n = 4;
SET tenantguard.scrypt_r = 1;
SET tenantguard.scrypt_p = 1;

-- ---------------------------------------------------------------------------
-- 7. Who may call them
-- ---------------------------------------------------------------------------
SELECT is((SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'tenantguard'::regnamespace
              AND p.proname IN ('hash_password', 'verify_password', 'password_needs_rehash', 'totp_new_secret',
                                'totp_code', 'totp_verify', 'totp_uri')
              AND p.proisstrict AND NOT p.prosecdef
              AND has_function_privilege('tenantguard_app', p.oid, 'EXECUTE')
              AND has_function_privilege('tenantguard_admin', p.oid, 'EXECUTE')
              AND NOT has_function_privilege('tg87_other', p.oid, 'EXECUTE')),
    'hash_password,password_needs_rehash,totp_code,totp_new_secret,totp_uri,totp_verify,verify_password',
    'all seven are STRICT, SECURITY INVOKER, executable by tenantguard_app and tenantguard_admin, not by PUBLIC');
SELECT is((SELECT has_function_privilege('tenantguard_admin', 'tenantguard.scrypt_activity()', 'EXECUTE')::text || ','
              || has_function_privilege('tenantguard_app', 'tenantguard.scrypt_activity()', 'EXECUTE')::text || ','
              || has_function_privilege('tg87_other', 'tenantguard.scrypt_activity()', 'EXECUTE')::text),
    'true,false,false', 'scrypt_activity() is for administrators only');
SELECT is((SELECT running || ',' || memory FROM tenantguard.scrypt_activity()), '0,0',
    'scrypt_activity(): no run in progress between statements (every slot was given back)');
SET ROLE tg87_other;
SELECT throws_ok($$SELECT tenantguard.hash_password('correct horse battery')$$, '42501', NULL,
    'a role outside tenantguard''s roles cannot use the server as an scrypt engine (42501)');
SELECT throws_ok($$SELECT tenantguard.totp_new_secret()$$, '42501', NULL, 'nor call the TOTP functions (42501)');
RESET ROLE;
SET ROLE tg87_app;
SELECT ok(tenantguard.verify_password('correct horse battery', tenantguard.hash_password('correct horse battery')),
    'an application role may hash and verify');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 8. RFC 6238 Appendix B (8 digits, 30 s) and RFC 4226 Appendix D
-- ---------------------------------------------------------------------------
CREATE TABLE tg87.rfc6238 (t bigint, alg text, code text);
INSERT INTO tg87.rfc6238 VALUES
    (59, 'sha1', '94287082'), (59, 'sha256', '46119246'), (59, 'sha512', '90693936'),
    (1111111109, 'sha1', '07081804'), (1111111109, 'sha256', '68084774'), (1111111109, 'sha512', '25091201'),
    (1111111111, 'sha1', '14050471'), (1111111111, 'sha256', '67062674'), (1111111111, 'sha512', '99943326'),
    (1234567890, 'sha1', '89005924'), (1234567890, 'sha256', '91819424'), (1234567890, 'sha512', '93441116'),
    (2000000000, 'sha1', '69279037'), (2000000000, 'sha256', '90698825'), (2000000000, 'sha512', '38618901'),
    (20000000000, 'sha1', '65353130'), (20000000000, 'sha256', '77737706'), (20000000000, 'sha512', '47863826');
CREATE FUNCTION tg87.seed(alg text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE alg WHEN 'sha1' THEN 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
                    WHEN 'sha256' THEN 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA===='
                    ELSE 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA=' END $$;
SELECT is((SELECT count(*)::int FROM tg87.rfc6238
            WHERE tenantguard.totp_code(tg87.seed(alg), to_timestamp(t), 8, 30, alg) = code), 18,
    'totp_code(): all 18 RFC 6238 Appendix B vectors (SHA1, SHA256, SHA512; 1970 to 2603)');
SELECT is((SELECT count(*)::int FROM tg87.rfc6238
            WHERE tenantguard.totp_verify(tg87.seed(alg), code, to_timestamp(t), 0, 8, 30, alg)), 18,
    'totp_verify(): all 18 verify with window 0');
SELECT is((SELECT count(*)::int FROM tg87.rfc6238
            WHERE tenantguard.totp_verify(tg87.seed(alg), code, to_timestamp(t) + interval '60 seconds', 1, 8, 30, alg)), 0,
    'none verifies two steps later with window 1');
SELECT is(tenantguard.totp_code(:'s1', to_timestamp(59), 8), '94287082', 'the algorithm defaults to sha1 and the period to 30');
SELECT is(tenantguard.totp_code(:'s256', to_timestamp(59), 8, 30, 'SHA256'), '46119246', 'algorithm names are case-insensitive');
SELECT is(tenantguard.totp_code(lower(:'s1'), to_timestamp(59), 8), '94287082', 'secrets are case-insensitive');
SELECT is(tenantguard.totp_code(rtrim(:'s256', '='), to_timestamp(59), 8, 30, 'sha256'), '46119246', 'padding is optional');
SELECT is(tenantguard.totp_code(:'s1', to_timestamp(59)), '287082', '6 digits by default (the last 6 of the 8)');
SELECT is(tenantguard.totp_code(:'s1', to_timestamp(1111111109), 7), '7081804', '7 digits');

CREATE TABLE tg87.rfc4226 (c int, code text);
INSERT INTO tg87.rfc4226 VALUES (0, '755224'), (1, '287082'), (2, '359152'), (3, '969429'), (4, '338314'),
    (5, '254676'), (6, '287922'), (7, '162583'), (8, '399871'), (9, '520489');
SELECT is((SELECT count(*)::int FROM tg87.rfc4226 WHERE tenantguard.totp_code(:'s1', to_timestamp(c), 6, 1) = code), 10,
    'RFC 4226 Appendix D: HOTP of counters 0..9, as TOTP with a 1-second period at those seconds');
SELECT is(tenantguard.totp_code(:'s1', to_timestamp(59.999)), '287082', 'fractional seconds round down (59.999 is step 1)');

-- ---------------------------------------------------------------------------
-- 9. totp_verify windows and wrong codes
-- ---------------------------------------------------------------------------
SELECT tenantguard.totp_code(:'s1', to_timestamp(1111111111)) AS c0 \gset
SELECT tenantguard.totp_code(:'s1', to_timestamp(1111111111 - 30)) AS cm1 \gset
SELECT tenantguard.totp_code(:'s1', to_timestamp(1111111111 - 60)) AS cm2 \gset
SELECT tenantguard.totp_code(:'s1', to_timestamp(1111111111 + 30)) AS cp1 \gset
SELECT ok(tenantguard.totp_verify(:'s1', :'c0', to_timestamp(1111111111)), 'the current code verifies');
SELECT ok(tenantguard.totp_verify(:'s1', :'cm1', to_timestamp(1111111111)), 'the previous step''s code verifies with the default window 1');
SELECT ok(tenantguard.totp_verify(:'s1', :'cp1', to_timestamp(1111111111)), 'the next step''s code verifies with window 1 (clock skew)');
SELECT ok(NOT tenantguard.totp_verify(:'s1', :'cm2', to_timestamp(1111111111)), 'two steps back does not with window 1');
SELECT ok(tenantguard.totp_verify(:'s1', :'cm2', to_timestamp(1111111111), 2), 'two steps back does with window 2');
SELECT ok(NOT tenantguard.totp_verify(:'s1', :'cm1', to_timestamp(1111111111), 0), 'the previous step does not with window 0');
SELECT ok(tenantguard.totp_verify(:'s1', :'c0', to_timestamp(1111111111), "window" => 0), 'named notation: "window" => 0');
SELECT is((SELECT count(*)::int FROM unnest(ARRAY['', '12345', '1234567', ' ' || :'c0', :'c0' || ' ', '-12345', '+12345',
                                                 '12345a', '١٢٣٤٥٦', repeat('1', 100000)]) AS c
            WHERE tenantguard.totp_verify(:'s1', c, to_timestamp(1111111111)) OR
                  tg87.err(format('SELECT tenantguard.totp_verify(%L, %L, to_timestamp(1111111111))', :'s1', c)) <> 'no error'),
    0, 'codes of the wrong length, with spaces, signs, letters or non-ASCII digits are wrong (false), never an error');
SELECT is(tenantguard.totp_verify(:'s1', NULL), NULL, 'totp_verify with a NULL code is NULL');

-- ---------------------------------------------------------------------------
-- 10. Bad TOTP parameters: 22023, never quoting the secret
-- ---------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now(), 5)$$, :'s1'), '22023', 'TOTP digits must be between 6 and 8', 'digits 5 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now(), 9)$$, :'s1'), '22023', 'TOTP digits must be between 6 and 8', 'digits 9 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_verify(%L, '123456', now(), 1, 10)$$, :'s1'), '22023', NULL, 'totp_verify digits 10 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now(), 6, 0)$$, :'s1'), '22023', 'TOTP period must be between 1 and 86400 seconds', 'period 0 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now(), 6, -30)$$, :'s1'), '22023', NULL, 'period -30 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now(), 6, 86401)$$, :'s1'), '22023', NULL, 'period over a day (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now(), 6, 30, 'md5')$$, :'s1'), '22023', 'unsupported TOTP algorithm "md5"', 'algorithm md5 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now(), 6, 30, 'sha-1')$$, :'s1'), '22023', NULL, 'algorithm sha-1 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now(), 6, 30, repeat('x', 1000))$$, :'s1'), '22023', 'unsupported TOTP algorithm',
    'a long algorithm name is not echoed (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_verify(%L, '123456', now(), -1)$$, :'s1'), '22023', 'TOTP window must be between 0 and 10 time steps', 'window -1 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_verify(%L, '123456', now(), 11)$$, :'s1'), '22023', NULL, 'window 11 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, '1969-12-31 23:59:59+00')$$, :'s1'), '22023',
    'TOTP time must not be before 1970-01-01 00:00:00+00', 'a time before 1970 (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, 'infinity')$$, :'s1'), '22023', 'TOTP time must be finite', 'infinity (22023)');
SELECT throws_ok($$SELECT tenantguard.totp_code('GEZDGNBVGY3TQOJ1', now())$$, '22023', 'TOTP secret is not valid base32', 'the digit 1 is not base32 (22023)');
SELECT throws_ok($$SELECT tenantguard.totp_code('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ', now())$$, '22023', 'TOTP secret is not valid base32',
    'spaces are not base32 (22023)');
SELECT throws_ok($$SELECT tenantguard.totp_code('GEZDGNBVGY3TQOJQ=', now())$$, '22023', 'TOTP secret is not valid base32', 'incomplete padding (22023)');
SELECT throws_ok($$SELECT tenantguard.totp_code('GEZDGNBVGY3TQOI=', now())$$, '22023', 'TOTP secret is too short',
    'a 72-bit secret is refused: 80 bits are the minimum (22023)');
SELECT throws_ok($$SELECT tenantguard.totp_code('GEZDGNBVGY3TQ', now())$$, '22023', 'TOTP secret is too short',
    'a 64-bit secret is refused (22023)');
SELECT matches(tenantguard.totp_code('GEZDGNBVGY3TQOJQ', now()), '^[0-9]{6}$', 'an 80-bit secret (16 characters) is accepted');
SELECT throws_ok(format($$SELECT tenantguard.totp_code(%L, now())$$, :'s512' || 'AAAAAAAA'), '22023', 'TOTP secret is too long',
    'a secret over 64 bytes is refused (22023)');
SELECT throws_ok($$SELECT tenantguard.totp_code('', now())$$, '22023', NULL, 'the empty secret is refused (22023)');
SELECT ok(position('QOJQGEZDGNB' IN tg87.err($$SELECT tenantguard.totp_code('GEZDGNBVGY3TQOJQGEZDGNB!', now())$$)) = 0
      AND position('QOJQGEZDGNB' IN tg87.err($$SELECT tenantguard.totp_code('GEZDGNBVGY3TQOJQGEZDGNB', now(), 9)$$)) = 0
      AND position('QOJQGEZDGNB' IN tg87.err($$SELECT tenantguard.totp_uri('GEZDGNBVGY3TQOJQGEZDGNB1', 'a', 'b')$$)) = 0,
    'no TOTP error quotes the secret');

-- ---------------------------------------------------------------------------
-- 11. totp_new_secret and totp_uri
-- ---------------------------------------------------------------------------
SELECT tenantguard.totp_new_secret() AS ns \gset
SELECT matches(:'ns'::text, '^[A-Z2-7]{32}$', 'totp_new_secret(): 32 base32 characters (160 bits), no padding');
SELECT isnt(tenantguard.totp_new_secret(), :'ns', 'each secret is new');
SELECT is((SELECT count(DISTINCT tenantguard.totp_new_secret())::int FROM generate_series(1, 200)), 200, '200 secrets, 200 distinct');
SELECT matches(tenantguard.totp_code(:'ns'), '^[0-9]{6}$', 'a new secret gives codes');
SELECT ok(tenantguard.totp_verify(:'ns', tenantguard.totp_code(:'ns')), 'and its current code verifies');

SELECT is(tenantguard.totp_uri(:'s1', 'alice@example.com', 'Acme'),
    'otpauth://totp/Acme:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme&algorithm=SHA1&digits=6&period=30',
    'totp_uri(): the Key URI with issuer prefix and parameter, SHA1, 6 digits, 30 s');
SELECT is(tenantguard.totp_uri(:'s1', 'bob x/y?z&w=1 #é+%', 'Acme Inc & Co'),
    'otpauth://totp/Acme%20Inc%20%26%20Co:bob%20x%2Fy%3Fz%26w%3D1%20%23%C3%A9%2B%25?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Inc%20%26%20Co&algorithm=SHA1&digits=6&period=30',
    'label and issuer are percent-encoded (UTF-8 bytes as %XX)');
SELECT throws_ok(format($$SELECT tenantguard.totp_uri(%L, 'bob:x', 'Acme')$$, :'s1'), '22023', 'TOTP account must not contain ":"',
    'a colon in the account is refused, as the Key URI format says (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_uri(%L, 'bob', 'Acme: Inc')$$, :'s1'), '22023', 'TOTP issuer must not contain ":"',
    'a colon in the issuer is refused (22023)');
SELECT is(tenantguard.totp_uri(lower(:'s256'), 'a', 'b'),
    'otpauth://totp/b:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA&issuer=b&algorithm=SHA1&digits=6&period=30',
    'the secret in the URI is canonical: upper case, unpadded');
SELECT throws_ok(format($$SELECT tenantguard.totp_uri(%L, '', 'Acme')$$, :'s1'), '22023', 'TOTP account must have 1 to 255 bytes', 'an empty account (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_uri(%L, 'alice', '')$$, :'s1'), '22023', 'TOTP issuer must have 1 to 255 bytes', 'an empty issuer (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_uri(%L, repeat('a', 256), 'Acme')$$, :'s1'), '22023', NULL, 'a 256-byte account (22023)');
SELECT throws_ok(format($$SELECT tenantguard.totp_uri(%L, 'alice', repeat('é', 128))$$, :'s1'), '22023', NULL, 'a 256-byte issuer (22023)');
SELECT matches(tenantguard.totp_uri(:'s1', repeat('é', 127), repeat('ü', 127)), '^otpauth://totp/(%C3%BC){127}:(%C3%A9){127}\?',
    '254-byte account and issuer, every byte escaped, fit');

-- ---------------------------------------------------------------------------
-- 12. Hostile search_path: the callers' shadows of now(), = and the functions themselves are not used
-- ---------------------------------------------------------------------------
CREATE SCHEMA tg87_evil;
GRANT USAGE, CREATE ON SCHEMA tg87_evil TO PUBLIC;
CREATE FUNCTION tg87_evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '1970-01-01 00:00:59+00'::timestamptz $$;
CREATE FUNCTION tg87_evil.texteq(a text, b text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR tg87_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = tg87_evil.texteq);
-- Everything is computed under the hostile path and checked after it is
-- reset (pgTAP's own functions would use the shadows too).
SET search_path = tg87_evil, pg_catalog, public;
SELECT now() OPERATOR(pg_catalog.=) '1970-01-01 00:00:59+00'::timestamptz AND 'a'::text = 'b'::text AS shadowed,
       tenantguard.totp_code(:'s1') AS evil_code,
       tenantguard.totp_code(:'s1', pg_catalog.now()) AS real_code,
       tenantguard.verify_password('wrong password!', :'h') AS evil_wrong_pw,
       tenantguard.verify_password('correct horse battery', :'h') AS evil_right_pw,
       tenantguard.totp_verify(:'s1', '000000', '1970-01-01 00:00:59+00') AS evil_wrong_code,
       tenantguard.password_needs_rehash('garbage') AS evil_rehash \gset
RESET search_path;
SELECT ok(:'shadowed'::boolean, '(sanity: the hostile search_path shadows now() and text = text)');
SELECT is(:'evil_code'::text, :'real_code'::text, 'totp_code()''s default time is pg_catalog.now(), not the caller''s now()');
SELECT isnt(:'evil_code'::text, '287082', 'the code is not the one at 1970-01-01 00:00:59 that the shadow now() would give');
SELECT is(:'evil_wrong_pw'::text, 'f', 'verify_password() stays false for a wrong password');
SELECT is(:'evil_wrong_code'::text, 'f', 'totp_verify() stays false for a wrong code');
SELECT is(:'evil_right_pw'::text, 't', 'verify_password() is true for the right one');
SELECT is(:'evil_rehash'::text, 't', 'password_needs_rehash() still calls garbage garbage');

SELECT * FROM finish();
ROLLBACK;
