-- 78_oidc: signing in with an OpenID Connect identity provider (Google,
-- Microsoft Entra ID, Okta, Keycloak, ...). The provider's keys are imported
-- with import_signing_key(..., purpose => 'id_token') together with its
-- issuer and your client id (the audience of its ID tokens); a user is
-- linked to the provider's (issuer, subject) pair; login_with_id_token()
-- verifies the token (src/token_keys.c) and signs the user in like login()
-- (src/oidc.c). The user, tenant and membership model stays the same
-- whichever way a user signs in.

CREATE TABLE tenantguard.identities (
    issuer     text NOT NULL CONSTRAINT identities_issuer_length CHECK (pg_catalog.octet_length(issuer) BETWEEN 1 AND 255),
    subject    text NOT NULL CONSTRAINT identities_subject_length CHECK (pg_catalog.octet_length(subject) BETWEEN 1 AND 255),
    user_id    uuid NOT NULL REFERENCES tenantguard.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by name NOT NULL DEFAULT session_user,
    PRIMARY KEY (issuer, subject),
    CONSTRAINT identities_one_per_issuer UNIQUE (user_id, issuer)
);
COMMENT ON TABLE tenantguard.identities IS 'Users'' accounts at external identity providers: (issuer, subject) → user.';
SELECT pg_catalog.pg_extension_config_dump('tenantguard.identities', '');
REVOKE ALL ON tenantguard.identities FROM PUBLIC;
GRANT SELECT ON tenantguard.identities TO tenantguard_admin;

-- Link a user to the account (issuer, subject) at an identity provider.
CREATE FUNCTION tenantguard.link_identity(user_id uuid, issuer text, subject text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    other uuid;
BEGIN
    IF user_id IS NULL OR issuer IS NULL OR subject IS NULL THEN
        RAISE EXCEPTION 'user_id, issuer and subject must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF octet_length(issuer) NOT BETWEEN 1 AND 255 OR octet_length(subject) NOT BETWEEN 1 AND 255
       OR issuer ~ '[[:cntrl:]]' OR subject ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid issuer or subject'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Issuer and subject are 1 to 255 bytes without control characters, exactly as the provider''s "iss" and "sub" claims.';
    END IF;
    PERFORM 1 FROM tenantguard.users u WHERE u.id OPERATOR(pg_catalog.=) link_identity.user_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % does not exist', user_id USING ERRCODE = 'undefined_object';
    END IF;
    LOCK TABLE tenantguard.identities IN SHARE ROW EXCLUSIVE MODE;
    SELECT i.user_id INTO other FROM tenantguard.identities i
     WHERE i.issuer OPERATOR(pg_catalog.=) link_identity.issuer
       AND i.subject OPERATOR(pg_catalog.=) link_identity.subject;
    IF FOUND THEN
        IF other OPERATOR(pg_catalog.=) user_id THEN
            RETURN;
        END IF;
        RAISE EXCEPTION 'this identity is already linked to another user'
            USING ERRCODE = 'unique_violation',
                  HINT = 'Unlink it from that user first with tenantguard.unlink_identity().';
    END IF;
    IF EXISTS (SELECT 1 FROM tenantguard.identities i
                WHERE i.user_id OPERATOR(pg_catalog.=) link_identity.user_id
                  AND i.issuer OPERATOR(pg_catalog.=) link_identity.issuer) THEN
        RAISE EXCEPTION 'user % already has an identity at this issuer', user_id
            USING ERRCODE = 'unique_violation',
                  HINT = 'A user has one account per identity provider; unlink the old one first.';
    END IF;
    INSERT INTO tenantguard.identities (issuer, subject, user_id) VALUES (issuer, subject, user_id);
    PERFORM tenantguard_audit._record('admin', 'identity.link', 'user:' || user_id::text, 'allow', NULL,
                                      jsonb_build_object('issuer', issuer, 'subject', subject));
END
$$;
COMMENT ON FUNCTION tenantguard.link_identity(uuid, text, text) IS 'Link a user to an identity provider''s account (iss, sub).';

-- Remove a user's link to an identity provider.
CREATE FUNCTION tenantguard.unlink_identity(user_id uuid, issuer text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    gone text;
BEGIN
    IF user_id IS NULL OR issuer IS NULL THEN
        RAISE EXCEPTION 'user_id and issuer must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM tenantguard.identities i
     WHERE i.user_id OPERATOR(pg_catalog.=) unlink_identity.user_id
       AND i.issuer OPERATOR(pg_catalog.=) unlink_identity.issuer
    RETURNING i.subject INTO gone;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % has no identity at this issuer', user_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM tenantguard_audit._record('admin', 'identity.unlink', 'user:' || user_id::text, 'allow', NULL,
                                      jsonb_build_object('issuer', issuer, 'subject', gone));
END
$$;
COMMENT ON FUNCTION tenantguard.unlink_identity(uuid, text) IS 'Remove a user''s link to an identity provider.';

-- Sign in with an ID token: the same row as login().
CREATE FUNCTION tenantguard.login_with_id_token(id_token text, tenant text DEFAULT NULL, nonce text DEFAULT NULL)
    RETURNS TABLE (status text, session_token text, user_id uuid, tenant_id uuid, expires_at timestamptz)
    LANGUAGE C VOLATILE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_login_with_id_token';
COMMENT ON FUNCTION tenantguard.login_with_id_token(text, text, text) IS 'Sign in with an identity provider''s ID token; returns the same row as login().';

REVOKE ALL ON FUNCTION tenantguard.link_identity(uuid, text, text), tenantguard.unlink_identity(uuid, text),
    tenantguard.login_with_id_token(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.link_identity(uuid, text, text), tenantguard.unlink_identity(uuid, text)
    TO tenantguard_admin;
GRANT EXECUTE ON FUNCTION tenantguard.login_with_id_token(text, text, text) TO tenantguard_app, tenantguard_admin;
