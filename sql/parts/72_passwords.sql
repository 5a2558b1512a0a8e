-- 72_passwords: scrypt password hashes in passlib's "$scrypt$" form and
-- TOTP (RFC 6238) one-time codes, as plain functions (C: src/password.c,
-- src/totp.c, over src/core/scrypt.c and src/core/otp.c). The users,
-- MFA and login functions (75_identity) build on them; applications that
-- keep their own users may call them directly. See docs/identity.md,
-- "Passwords and TOTP".
--
-- EXECUTE goes to tenantguard_app and tenantguard_admin only, not PUBLIC:
-- hash_password() and verify_password() each cost tens of MiB and a good
-- fraction of a CPU second, so every role able to call them can make the
-- server work; the server-wide bound (tenantguard.scrypt_max_concurrent,
-- tenantguard.scrypt_max_memory) caps the memory, and the grant keeps roles
-- that have no business hashing (reporting, monitoring) from queueing there.
-- All are STRICT: a NULL argument gives NULL.

CREATE FUNCTION tenantguard.hash_password(password text) RETURNS text
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tg_sql_hash_password';
COMMENT ON FUNCTION tenantguard.hash_password(text) IS
    'scrypt hash of a password at tenantguard.scrypt_log_n|r|p, as $scrypt$ln=..,r=..,p=..$salt$hash (passlib''s form).';

CREATE FUNCTION tenantguard.verify_password(password text, hash text) RETURNS boolean
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tg_sql_verify_password';
COMMENT ON FUNCTION tenantguard.verify_password(text, text) IS
    'Does the password match the $scrypt$ hash? Constant-time; false for a hash that is not a $scrypt$ string tenantguard reads.';

CREATE FUNCTION tenantguard.password_needs_rehash(hash text) RETURNS boolean
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_sql_password_needs_rehash';
COMMENT ON FUNCTION tenantguard.password_needs_rehash(text) IS
    'Should the hash be replaced: not ours, or made at other costs than the current settings?';

CREATE FUNCTION tenantguard.totp_new_secret() RETURNS text
    LANGUAGE C VOLATILE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_sql_totp_new_secret';
COMMENT ON FUNCTION tenantguard.totp_new_secret() IS 'A new random TOTP secret: 160 bits as unpadded base32.';

CREATE FUNCTION tenantguard.totp_code(secret text, at timestamptz DEFAULT pg_catalog.now(),
        digits int DEFAULT 6, period int DEFAULT 30, algorithm text DEFAULT 'sha1')
    RETURNS text
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_sql_totp_code';
COMMENT ON FUNCTION tenantguard.totp_code(text, timestamptz, int, int, text) IS
    'The RFC 6238 code of a base32 secret at a time.';

CREATE FUNCTION tenantguard.totp_verify(secret text, code text, at timestamptz DEFAULT pg_catalog.now(),
        "window" int DEFAULT 1, digits int DEFAULT 6, period int DEFAULT 30, algorithm text DEFAULT 'sha1')
    RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_sql_totp_verify';
COMMENT ON FUNCTION tenantguard.totp_verify(text, text, timestamptz, int, int, int, text) IS
    'Is code the RFC 6238 code of the secret within window time steps of at? Constant-time; no replay memory.';

CREATE FUNCTION tenantguard.totp_uri(secret text, account text, issuer text) RETURNS text
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_sql_totp_uri';
COMMENT ON FUNCTION tenantguard.totp_uri(text, text, text) IS
    'The otpauth://totp/ Key URI authenticator apps scan (SHA1, 6 digits, 30 s; label and issuer percent-encoded).';

REVOKE ALL ON FUNCTION tenantguard.hash_password(text), tenantguard.verify_password(text, text),
    tenantguard.password_needs_rehash(text), tenantguard.totp_new_secret(),
    tenantguard.totp_code(text, timestamptz, int, int, text),
    tenantguard.totp_verify(text, text, timestamptz, int, int, int, text),
    tenantguard.totp_uri(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.hash_password(text), tenantguard.verify_password(text, text),
    tenantguard.password_needs_rehash(text), tenantguard.totp_new_secret(),
    tenantguard.totp_code(text, timestamptz, int, int, text),
    tenantguard.totp_verify(text, text, timestamptz, int, int, int, text),
    tenantguard.totp_uri(text, text, text) TO tenantguard_app, tenantguard_admin;
