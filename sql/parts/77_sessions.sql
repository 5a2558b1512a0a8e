-- 77_sessions: login sessions. A session token (tgses_<secret>_<checksum>,
-- see docs/identity.md "Sessions") is shown once by login(); only its
-- SHA-256 is stored. resume() enters the session's context, logout() and
-- revoke_sessions() end sessions; C in src/sessions.c.

CREATE TABLE tenantguard.sessions (
    id             uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    user_id        uuid NOT NULL REFERENCES tenantguard.users (id) ON DELETE CASCADE,
    tenant_id      uuid NOT NULL REFERENCES tenantguard.tenants (id) ON DELETE CASCADE,
    token_hash     bytea NOT NULL
                   CONSTRAINT sessions_token_hash_key UNIQUE
                   CONSTRAINT sessions_token_hash_length CHECK (pg_catalog.octet_length(token_hash) OPERATOR(pg_catalog.=) 32),
    aal            smallint NOT NULL CONSTRAINT sessions_aal_check CHECK (aal IN (1, 2)),
    method         text NOT NULL CONSTRAINT sessions_method_format CHECK (method OPERATOR(pg_catalog.~) '^[a-z0-9_]{1,32}$'),
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_seen_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text CONSTRAINT sessions_revoked_reason_length CHECK (pg_catalog.char_length(revoked_reason) BETWEEN 1 AND 64)
);
CREATE INDEX sessions_tenant_user_idx ON tenantguard.sessions (tenant_id, user_id);
CREATE INDEX sessions_user_idx ON tenantguard.sessions (user_id);
COMMENT ON TABLE tenantguard.sessions IS 'Login sessions; tokens stored as their SHA-256 only. Readable by the extension owner only.';
SELECT pg_catalog.pg_extension_config_dump('tenantguard.sessions', '');
REVOKE ALL ON tenantguard.sessions FROM PUBLIC;

-- Sessions without their token hashes, for administrators.
CREATE VIEW tenantguard.user_sessions AS
    SELECT id, user_id, tenant_id, aal, method, created_at, last_seen_at, expires_at,
           revoked_at, revoked_reason,
           revoked_at IS NULL AND expires_at OPERATOR(pg_catalog.>) pg_catalog.now() AS live
      FROM tenantguard.sessions;
COMMENT ON VIEW tenantguard.user_sessions IS 'Login sessions without token hashes (idle time: compare last_seen_at with tenantguard.session_idle_timeout).';
REVOKE ALL ON tenantguard.user_sessions FROM PUBLIC;
GRANT SELECT ON tenantguard.user_sessions TO tenantguard_admin;

-- What may end a session context: a session revoked or deleted, a user's
-- status, a membership changed or removed. Each such statement invalidates
-- every backend's session checks; a context resumed from an affected
-- session ends at its next statement (src/sessions.c). Creating a session
-- or refreshing last_seen_at invalidates nothing.
CREATE TRIGGER tenantguard_sessions_invalidate AFTER UPDATE OF revoked_at OR DELETE OR TRUNCATE
    ON tenantguard.sessions FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();
CREATE TRIGGER tenantguard_sessions_invalidate AFTER UPDATE OF status OR DELETE OR TRUNCATE
    ON tenantguard.users FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();
CREATE TRIGGER tenantguard_sessions_invalidate AFTER UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.memberships FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();

-- A user disabled, or removed from a tenant, loses those sessions for good
-- (enabling the user or adding the membership again does not bring them
-- back). A role change only ends the contexts resumed with the old role:
-- the next resume() takes the new one.
CREATE FUNCTION tenantguard._sessions_revoke_trigger() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_TABLE_NAME = 'memberships' THEN
        UPDATE tenantguard.sessions s SET revoked_at = pg_catalog.now(), revoked_reason = 'membership_removed'
         WHERE s.user_id OPERATOR(pg_catalog.=) OLD.user_id AND s.tenant_id OPERATOR(pg_catalog.=) OLD.tenant_id
           AND s.revoked_at IS NULL;
    ELSE
        UPDATE tenantguard.sessions s SET revoked_at = pg_catalog.now(), revoked_reason = 'user_disabled'
         WHERE s.user_id OPERATOR(pg_catalog.=) NEW.id AND s.revoked_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION tenantguard._sessions_revoke_trigger() FROM PUBLIC;
CREATE TRIGGER tenantguard_sessions_revoke AFTER DELETE
    ON tenantguard.memberships FOR EACH ROW EXECUTE FUNCTION tenantguard._sessions_revoke_trigger();
CREATE TRIGGER tenantguard_sessions_revoke AFTER UPDATE OF status
    ON tenantguard.users FOR EACH ROW
    WHEN (NEW.status OPERATOR(pg_catalog.=) 'disabled' AND OLD.status OPERATOR(pg_catalog.<>) 'disabled')
    EXECUTE FUNCTION tenantguard._sessions_revoke_trigger();

-- The C API for SQL, owner-only and never granted: login() creates sessions
-- with it (after checking the credentials); tests call it as superuser.
CREATE FUNCTION tenantguard._create_session(user_id uuid, tenant_id uuid, aal integer, method text,
    OUT token text, OUT expires_at timestamptz)
    RETURNS record
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_create_session_fn';
REVOKE ALL ON FUNCTION tenantguard._create_session(uuid, uuid, integer, text) FROM PUBLIC;

-- Enter a login session's context (28000 for a session that does not hold,
-- 22023 for text that is not a session token).
CREATE FUNCTION tenantguard.resume(session_token text, is_local boolean DEFAULT true) RETURNS void
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_resume';
COMMENT ON FUNCTION tenantguard.resume(text, boolean) IS 'Enter the context of a login session (principal user:<uuid>, the membership''s role).';

-- End a session; false when the token names no live session.
CREATE FUNCTION tenantguard.logout(session_token text) RETURNS boolean
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_logout';
COMMENT ON FUNCTION tenantguard.logout(text) IS 'End the session of a token (true), or false when it names no live session.';

-- End a user's sessions: administrators (all tenants), the user itself (all
-- its sessions), or in the current tenant a context with members.manage.
CREATE FUNCTION tenantguard.revoke_sessions(user_id uuid) RETURNS integer
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_revoke_sessions';
COMMENT ON FUNCTION tenantguard.revoke_sessions(uuid) IS 'End a user''s sessions; returns how many were ended.';

REVOKE ALL ON FUNCTION tenantguard.resume(text, boolean), tenantguard.logout(text),
    tenantguard.revoke_sessions(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.resume(text, boolean), tenantguard.logout(text),
    tenantguard.revoke_sessions(uuid) TO tenantguard_app, tenantguard_admin;
