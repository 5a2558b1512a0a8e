-- 65_tokens: signed context tokens: the keys that sign them (made here or
-- imported from an identity provider), retiring a key (the kill switch),
-- entering a context with a token, its claims, and minting tokens.
-- Verification itself is C (src/core/jwt.c, src/token_keys.c), called by
-- the check hook of tenantguard.context.

-- Every key tokens may be signed with. HS256 secrets are sealed under the
-- data keys; of asymmetric keys only the public key is stored.
CREATE TABLE tenantguard.token_key_store (
    kid           text PRIMARY KEY
                  CONSTRAINT token_key_store_kid_format CHECK (kid ~ '^[A-Za-z0-9._~+/=:-]{1,128}$'),
    alg           text NOT NULL CHECK (alg IN ('HS256', 'EdDSA', 'ES256', 'RS256')),
    public_key    bytea,
    sealed_secret bytea,
    issuer        text CHECK (length(issuer) BETWEEN 1 AND 255),
    audience      text CHECK (length(audience) BETWEEN 1 AND 255),
    origin        text NOT NULL CHECK (origin IN ('generated', 'imported')),
    -- context: signed context tokens; id_token: an identity provider's ID
    -- tokens for login_with_id_token() (never a context)
    purpose       text NOT NULL DEFAULT 'context' CHECK (purpose IN ('context', 'id_token')),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_by    name NOT NULL DEFAULT session_user,
    retired_at    timestamptz,
    retired_by    name,
    CONSTRAINT token_key_store_material CHECK (
        CASE WHEN alg = 'HS256' THEN sealed_secret IS NOT NULL AND public_key IS NULL
             ELSE public_key IS NOT NULL AND sealed_secret IS NULL END),
    CONSTRAINT token_key_store_id_token_key CHECK (
        purpose = 'context' OR (alg <> 'HS256' AND issuer IS NOT NULL AND audience IS NOT NULL))
);
COMMENT ON TABLE tenantguard.token_key_store IS 'Keys of signed context tokens; see docs/identity.md.';
REVOKE ALL ON tenantguard.token_key_store FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('tenantguard.token_key_store', '');
CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.token_key_store FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();

-- The keys without secrets: public keys as base64url (what other nodes import).
CREATE VIEW tenantguard.token_keys AS
    SELECT kid, alg, origin, purpose, status, issuer, audience,
           CASE WHEN public_key IS NULL THEN NULL
                ELSE pg_catalog.rtrim(pg_catalog.translate(pg_catalog.encode(public_key, 'base64'), E'+/\n', '-_'), '=')
           END AS public_key,
           created_at, created_by, retired_at, retired_by
      FROM tenantguard.token_key_store;
COMMENT ON VIEW tenantguard.token_keys IS 'Signing keys of context tokens (never a secret).';
REVOKE ALL ON tenantguard.token_keys FROM PUBLIC;
GRANT SELECT ON tenantguard.token_keys TO tenantguard_admin;

-- C helpers (not granted): a new key; a key text parsed into canonical rows.
CREATE FUNCTION tenantguard._new_signing_key(alg text,
    OUT kid text, OUT secret text, OUT public_key bytea, OUT sealed_secret bytea)
    RETURNS record
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'tg_new_signing_key';
CREATE FUNCTION tenantguard._parse_signing_keys(kid text, alg text, key text,
    OUT kid text, OUT alg text, OUT public_key bytea, OUT sealed_secret bytea)
    RETURNS SETOF record
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_parse_signing_keys';
CREATE FUNCTION tenantguard._same_signing_secret(a bytea, b bytea) RETURNS boolean
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'tg_same_signing_secret';
REVOKE ALL ON FUNCTION tenantguard._new_signing_key(text), tenantguard._parse_signing_keys(text, text, text),
    tenantguard._same_signing_secret(bytea, bytea) FROM PUBLIC;

-- Make a key in the database: HS256 (the secret is returned once, stored
-- sealed) or EdDSA (the private key is returned once; only the public key is stored).
CREATE FUNCTION tenantguard.add_signing_key(alg text DEFAULT 'HS256')
    RETURNS TABLE (kid text, secret text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
BEGIN
    IF alg IS NULL OR alg NOT IN ('HS256', 'EdDSA', 'Ed25519') THEN
        RAISE EXCEPTION 'add_signing_key() makes HS256 and EdDSA keys only'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Import ES256 and RS256 public keys with tenantguard.import_signing_key().';
    END IF;
    SELECT * INTO STRICT k FROM tenantguard._new_signing_key(alg);
    INSERT INTO tenantguard.token_key_store (kid, alg, public_key, sealed_secret, origin)
    VALUES (k.kid, CASE WHEN alg = 'HS256' THEN 'HS256' ELSE 'EdDSA' END, k.public_key, k.sealed_secret, 'generated');
    PERFORM tenantguard_audit._record('admin', 'token_key.add', k.kid, 'allow', NULL,
                                      jsonb_build_object('alg', CASE WHEN alg = 'HS256' THEN 'HS256' ELSE 'EdDSA' END));
    kid := k.kid;
    secret := k.secret;
    RETURN NEXT;
END
$$;

-- Trust a key made elsewhere: raw base64url (HS256 secret, Ed25519 public
-- key, DER public key), a PEM public key, a JWK, or a JWKS document (every
-- usable key; kid NULL = all, else only that kid). Keys already present
-- with the same material are skipped (re-importing a JWKS is safe); a kid
-- present with other material is refused. Returns the kids imported.
CREATE FUNCTION tenantguard.import_signing_key(kid text, alg text, key text,
    issuer text DEFAULT NULL, audience text DEFAULT NULL, purpose text DEFAULT 'context')
    RETURNS SETOF text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    old record;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF issuer IS NOT NULL AND (length(issuer) NOT BETWEEN 1 AND 255) OR
       audience IS NOT NULL AND (length(audience) NOT BETWEEN 1 AND 255) THEN
        RAISE EXCEPTION 'issuer and audience must be 1 to 255 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF purpose IS NULL OR purpose NOT IN ('context', 'id_token') THEN
        RAISE EXCEPTION 'invalid key purpose'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A key verifies signed context tokens (''context'') or an identity provider''s ID tokens (''id_token'').';
    END IF;
    IF purpose = 'id_token' AND (issuer IS NULL OR audience IS NULL) THEN
        RAISE EXCEPTION 'an ID-token key needs its issuer and audience'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the provider''s issuer (its "iss") and your client id (the "aud" of its ID tokens).';
    END IF;
    LOCK TABLE tenantguard.token_key_store IN SHARE ROW EXCLUSIVE MODE;
    FOR k IN SELECT * FROM tenantguard._parse_signing_keys(import_signing_key.kid, import_signing_key.alg, key) LOOP
        IF purpose = 'id_token' AND k.alg = 'HS256' THEN
            RAISE EXCEPTION 'ID-token keys must be public keys (RS256, ES256 or EdDSA)'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT s.alg, s.public_key, s.sealed_secret, s.issuer, s.audience, s.purpose, s.status INTO old
          FROM tenantguard.token_key_store s WHERE s.kid = k.kid;
        IF FOUND THEN
            IF old.status = 'active' AND old.alg = k.alg AND old.public_key IS NOT DISTINCT FROM k.public_key
               AND (k.sealed_secret IS NULL OR tenantguard._same_signing_secret(old.sealed_secret, k.sealed_secret))
               AND old.issuer IS NOT DISTINCT FROM import_signing_key.issuer
               AND old.audience IS NOT DISTINCT FROM import_signing_key.audience
               AND old.purpose = import_signing_key.purpose THEN
                CONTINUE;
            END IF;
            RAISE EXCEPTION 'signing key "%" already exists', k.kid
                USING ERRCODE = 'duplicate_object',
                      DETAIL = CASE WHEN old.status = 'retired' THEN 'It was retired; a retired kid is never used again.'
                                    ELSE 'It has other key material, algorithm, issuer, audience or purpose.' END,
                      HINT = 'Give the new key another kid.';
        END IF;
        INSERT INTO tenantguard.token_key_store (kid, alg, public_key, sealed_secret, issuer, audience, origin, purpose)
        VALUES (k.kid, k.alg, k.public_key, k.sealed_secret, import_signing_key.issuer,
                import_signing_key.audience, 'imported', import_signing_key.purpose);
        PERFORM tenantguard_audit._record('admin', 'token_key.import', k.kid, 'allow', NULL,
                                          jsonb_build_object('alg', k.alg, 'issuer', import_signing_key.issuer,
                                                             'audience', import_signing_key.audience,
                                                             'purpose', import_signing_key.purpose));
        RETURN NEXT k.kid;
    END LOOP;
END
$$;

-- The kill switch: contexts entered with tokens of this key end at their
-- next statement in every backend, and no token of it is accepted again.
CREATE FUNCTION tenantguard.retire_signing_key(kid text) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    UPDATE tenantguard.token_key_store s
       SET status = 'retired', retired_at = clock_timestamp(), retired_by = session_user
     WHERE s.kid = retire_signing_key.kid AND s.status = 'active';
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM tenantguard.token_key_store s WHERE s.kid = retire_signing_key.kid) THEN
            RAISE NOTICE 'signing key "%" is already retired', kid;
            RETURN;
        END IF;
        RAISE EXCEPTION 'signing key "%" does not exist', kid USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM tenantguard_audit._record('admin', 'token_key.retire', kid);
END
$$;

-- Enter the context a signed token carries (28000 when it is not valid).
CREATE FUNCTION tenantguard.assume(token text, is_local boolean DEFAULT true) RETURNS void
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_assume';
COMMENT ON FUNCTION tenantguard.assume(text, boolean) IS 'Enter the context of a signed token (principal token:<sub>).';

-- The claims of the token the context in force was entered with (NULL otherwise).
CREATE FUNCTION tenantguard.claims() RETURNS jsonb
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_claims';
CREATE FUNCTION tenantguard.claim(name text) RETURNS text
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_claim';

-- Mint a token with the newest generated HS256 key (or kid's), for administrators and tests.
CREATE FUNCTION tenantguard.mint_token(tenant uuid, subject text, role text DEFAULT 'viewer',
    ttl interval DEFAULT '5 minutes', kid text DEFAULT NULL) RETURNS text
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_mint_token';

-- Sign arbitrary claims (for tests and SQL-side token issuers): with kid's
-- stored HS256 secret, or with the key given (an HS256 secret or an Ed25519
-- private key, base64url) under alg (default: kid's algorithm). The
-- result is checked only when it is used.
CREATE FUNCTION tenantguard.sign_token(claims jsonb, kid text, key text DEFAULT NULL, alg text DEFAULT NULL)
    RETURNS text
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_sign_token';

REVOKE ALL ON FUNCTION tenantguard.add_signing_key(text),
    tenantguard.import_signing_key(text, text, text, text, text, text),
    tenantguard.retire_signing_key(text),
    tenantguard.assume(text, boolean), tenantguard.claims(), tenantguard.claim(text),
    tenantguard.mint_token(uuid, text, text, interval, text),
    tenantguard.sign_token(jsonb, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.add_signing_key(text),
    tenantguard.import_signing_key(text, text, text, text, text, text),
    tenantguard.retire_signing_key(text),
    tenantguard.mint_token(uuid, text, text, interval, text),
    tenantguard.sign_token(jsonb, text, text, text) TO tenantguard_admin;
GRANT EXECUTE ON FUNCTION tenantguard.assume(text, boolean), tenantguard.claims(), tenantguard.claim(text)
    TO tenantguard_app, tenantguard_admin;
