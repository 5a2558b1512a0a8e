-- 80_enrollment: agent enrollment. An enrollment token
-- (tgenr_<id>_<secret>_<checksum>, see docs/agents.md "Enrollment tokens")
-- is shown once by create_enrollment_token(); only the SHA-256 of its
-- secret is stored. enroll() spends one use of it and records the agent's
-- Ed25519 public key. Crypto and parsing in C (src/enrollment.c), the
-- rest here; every function is SECURITY DEFINER with search_path pinned.

CREATE FUNCTION tenantguard._enrollment_token_new(OUT token text, OUT token_id text, OUT secret_hash bytea)
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_enrollment_token_new';
CREATE FUNCTION tenantguard._enrollment_token_parse(token text, OUT token_id text, OUT secret_hash bytea)
    LANGUAGE C IMMUTABLE AS 'MODULE_PATHNAME', 'tg_enrollment_token_parse';
CREATE FUNCTION tenantguard._enrollment_hash_equal(a bytea, b bytea) RETURNS boolean
    LANGUAGE C IMMUTABLE AS 'MODULE_PATHNAME', 'tg_enrollment_hash_equal';
CREATE FUNCTION tenantguard._agent_key_fingerprint(public_key text) RETURNS text
    LANGUAGE C IMMUTABLE AS 'MODULE_PATHNAME', 'tg_agent_key_fingerprint';
CREATE FUNCTION tenantguard._enrollment_deny(action text, object text, reason text, tenant uuid DEFAULT NULL)
    RETURNS void
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_enrollment_deny';
REVOKE ALL ON FUNCTION tenantguard._enrollment_token_new(), tenantguard._enrollment_token_parse(text),
    tenantguard._enrollment_hash_equal(bytea, bytea), tenantguard._agent_key_fingerprint(text),
    tenantguard._enrollment_deny(text, text, text, uuid) FROM PUBLIC;

CREATE TABLE tenantguard.enrollment_token_store (
    id          text PRIMARY KEY CONSTRAINT enrollment_token_id_format CHECK (id OPERATOR(pg_catalog.~) '^[0-9A-Za-z]{17}$'),
    tenant_id   uuid NOT NULL REFERENCES tenantguard.tenants (id) ON DELETE CASCADE,
    label       text NOT NULL CONSTRAINT enrollment_token_label_length CHECK (pg_catalog.char_length(label) BETWEEN 1 AND 200),
    secret_hash bytea NOT NULL
                CONSTRAINT enrollment_token_hash_length CHECK (pg_catalog.octet_length(secret_hash) OPERATOR(pg_catalog.=) 32),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at  timestamptz NOT NULL,
    max_uses    integer NOT NULL CONSTRAINT enrollment_token_max_uses CHECK (max_uses BETWEEN 1 AND 10000),
    uses        integer NOT NULL DEFAULT 0 CONSTRAINT enrollment_token_uses CHECK (uses BETWEEN 0 AND max_uses),
    revoked_at  timestamptz
);
CREATE INDEX enrollment_token_store_tenant_idx ON tenantguard.enrollment_token_store (tenant_id);
COMMENT ON TABLE tenantguard.enrollment_token_store IS 'Enrollment tokens; secrets stored as their SHA-256 only. Readable by the extension owner only.';
SELECT pg_catalog.pg_extension_config_dump('tenantguard.enrollment_token_store', '');
REVOKE ALL ON tenantguard.enrollment_token_store FROM PUBLIC;

-- Tokens without their hashes: the current tenant's for principals with
-- agents.enroll or agents.manage; every tenant's for tenantguard_admin.
-- A security barrier: a caller's own functions in its WHERE never see the
-- rows filtered out.
CREATE VIEW tenantguard.enrollment_tokens WITH (security_barrier = true) AS
    SELECT id, tenant_id, label, created_by, created_at, expires_at, max_uses, uses, revoked_at
      FROM tenantguard.enrollment_token_store t
     WHERE pg_catalog.pg_has_role(CURRENT_USER, 'tenantguard_admin', 'USAGE')
        OR (t.tenant_id OPERATOR(pg_catalog.=) tenantguard.current_tenant()
            AND (tenantguard.authorize('agents.enroll') OR tenantguard.authorize('agents.manage')));
COMMENT ON VIEW tenantguard.enrollment_tokens IS 'Enrollment tokens without secrets: the current tenant''s (agents.enroll or agents.manage), all for tenantguard_admin.';
REVOKE ALL ON tenantguard.enrollment_tokens FROM PUBLIC;
GRANT SELECT ON tenantguard.enrollment_tokens TO tenantguard_app, tenantguard_admin;

CREATE TABLE tenantguard.agents (
    id           uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenantguard.tenants (id) ON DELETE CASCADE,
    name         text NOT NULL
                 CONSTRAINT agents_name_format CHECK (pg_catalog.char_length(name) BETWEEN 1 AND 100
                                                      AND name OPERATOR(pg_catalog.!~) '[[:cntrl:]]'),
    public_key   text NOT NULL,
    fingerprint  text NOT NULL,
    status       text NOT NULL DEFAULT 'active' CONSTRAINT agents_status_check CHECK (status IN ('active', 'revoked')),
    enrolled_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_seen_at timestamptz,
    enrollment_token_id text,
    CONSTRAINT agents_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT agents_tenant_name_key UNIQUE (tenant_id, name)
);
CREATE INDEX agents_id_idx ON tenantguard.agents (id);
COMMENT ON TABLE tenantguard.agents IS 'Enrolled agents: their Ed25519 public keys (no secrets), isolated per tenant.';
SELECT tenantguard.protect('tenantguard.agents');
SELECT pg_catalog.pg_extension_config_dump('tenantguard.agents', '');
REVOKE ALL ON tenantguard.agents FROM PUBLIC;
GRANT SELECT ON tenantguard.agents TO tenantguard_app, tenantguard_admin;

CREATE FUNCTION tenantguard.create_enrollment_token(label text, ttl interval DEFAULT '1 hour', max_uses integer DEFAULT 1)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t   uuid := tenantguard.current_tenant();
    tok record;
BEGIN
    IF t IS NULL THEN
        PERFORM tenantguard._enrollment_deny('enrollment_token.create', NULL, 'no tenant context');
        RAISE EXCEPTION 'create_enrollment_token() needs a tenant context'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Enter the tenant first (tenantguard.set_tenant(), login() or resume()).';
    END IF;
    PERFORM tenantguard.require('agents.enroll');
    IF label IS NULL OR pg_catalog.char_length(label) OPERATOR(pg_catalog.<) 1
       OR pg_catalog.char_length(label) OPERATOR(pg_catalog.>) 200 THEN
        RAISE EXCEPTION 'invalid enrollment token label'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A label is 1 to 200 characters.';
    END IF;
    IF ttl IS NULL OR ttl OPERATOR(pg_catalog.<=) interval '0' OR ttl OPERATOR(pg_catalog.>) interval '30 days' THEN
        RAISE EXCEPTION 'invalid enrollment token ttl'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The ttl is more than 0 and at most 30 days.';
    END IF;
    IF max_uses IS NULL OR max_uses OPERATOR(pg_catalog.<) 1 OR max_uses OPERATOR(pg_catalog.>) 10000 THEN
        RAISE EXCEPTION 'invalid enrollment token max_uses'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'max_uses is 1 to 10000.';
    END IF;
    SELECT * INTO tok FROM tenantguard._enrollment_token_new();
    INSERT INTO tenantguard.enrollment_token_store (id, tenant_id, label, secret_hash, created_by, expires_at, max_uses)
        VALUES (tok.token_id, t, label, tok.secret_hash,
                coalesce(tenantguard.current_principal(), SESSION_USER::text),
                pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) ttl, max_uses);
    PERFORM tenantguard_audit._record('enrollment', 'enrollment_token.create', 'enrollment_token:' OPERATOR(pg_catalog.||) tok.token_id,
        'allow', NULL, pg_catalog.jsonb_build_object('label', label, 'max_uses', max_uses,
                                                     'expires_at', pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) ttl), t);
    RETURN tok.token;
END
$$;
COMMENT ON FUNCTION tenantguard.create_enrollment_token(text, interval, integer) IS 'A token (shown once) with which max_uses agents may enroll into the current tenant within ttl (agents.enroll).';

CREATE FUNCTION tenantguard.revoke_enrollment_token(token_id text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard.current_tenant();
BEGIN
    IF t IS NULL THEN
        PERFORM tenantguard._enrollment_deny('enrollment_token.revoke', NULL, 'no tenant context');
        RAISE EXCEPTION 'revoke_enrollment_token() needs a tenant context'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Enter the tenant first (tenantguard.set_tenant(), login() or resume()).';
    END IF;
    IF NOT (tenantguard.authorize('agents.enroll') OR tenantguard.authorize('agents.manage')) THEN
        PERFORM tenantguard._enrollment_deny('enrollment_token.revoke', 'enrollment_token:' OPERATOR(pg_catalog.||) token_id,
                                             'permission denied', t);
        RAISE EXCEPTION 'permission denied to revoke enrollment tokens'
            USING ERRCODE = 'insufficient_privilege', HINT = 'It needs agents.enroll or agents.manage in the current tenant.';
    END IF;
    UPDATE tenantguard.enrollment_token_store s
       SET revoked_at = pg_catalog.statement_timestamp()
     WHERE s.id OPERATOR(pg_catalog.=) token_id AND s.tenant_id OPERATOR(pg_catalog.=) t
       AND s.revoked_at IS NULL;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM tenantguard.enrollment_token_store s
                        WHERE s.id OPERATOR(pg_catalog.=) token_id AND s.tenant_id OPERATOR(pg_catalog.=) t) THEN
            RAISE EXCEPTION 'enrollment token does not exist'
                USING ERRCODE = 'undefined_object', HINT = 'Pass the id of a token of the current tenant (see tenantguard.enrollment_tokens).';
        END IF;
        RETURN;  -- already revoked
    END IF;
    PERFORM tenantguard_audit._record('enrollment', 'enrollment_token.revoke', 'enrollment_token:' OPERATOR(pg_catalog.||) token_id,
        'allow', NULL, '{}', t);
END
$$;
COMMENT ON FUNCTION tenantguard.revoke_enrollment_token(text) IS 'No agent enrolls with this token any more (agents.enroll or agents.manage, current tenant).';

CREATE FUNCTION tenantguard.enroll(token text, agent_name text, public_key text) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p      record;
    r      record;
    fp     text;
    why    text;
    agent  uuid;
BEGIN
    -- Shape and checksum first: 22023, nothing looked up.
    SELECT * INTO p FROM tenantguard._enrollment_token_parse(token);
    IF agent_name IS NULL OR pg_catalog.char_length(agent_name) OPERATOR(pg_catalog.<) 1
       OR pg_catalog.char_length(agent_name) OPERATOR(pg_catalog.>) 100
       OR agent_name OPERATOR(pg_catalog.~) '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid agent name'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'An agent name is 1 to 100 characters, no control characters.';
    END IF;
    fp := tenantguard._agent_key_fingerprint(public_key);

    SELECT s.*, tn.status AS tenant_status INTO r
      FROM tenantguard.enrollment_token_store s JOIN tenantguard.tenants tn ON tn.id OPERATOR(pg_catalog.=) s.tenant_id
     WHERE s.id OPERATOR(pg_catalog.=) p.token_id;
    IF NOT FOUND THEN
        why := 'unknown token';
    ELSIF NOT tenantguard._enrollment_hash_equal(r.secret_hash, p.secret_hash) THEN
        why := 'wrong secret';
    ELSIF r.revoked_at IS NOT NULL THEN
        why := 'token revoked';
    ELSIF r.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp() THEN
        why := 'token expired';
    ELSIF r.uses OPERATOR(pg_catalog.>=) r.max_uses THEN
        why := 'token used up';
    ELSIF r.tenant_status OPERATOR(pg_catalog.<>) 'active' THEN
        why := 'tenant suspended';
    END IF;
    IF why IS NULL THEN
        -- One use, atomically: a concurrent enroll waits for this row and
        -- checks uses again, so exactly max_uses succeed.
        UPDATE tenantguard.enrollment_token_store s SET uses = s.uses OPERATOR(pg_catalog.+) 1
         WHERE s.id OPERATOR(pg_catalog.=) p.token_id AND s.uses OPERATOR(pg_catalog.<) s.max_uses
           AND s.revoked_at IS NULL AND s.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp();
        IF NOT FOUND THEN
            why := 'token used up';
        END IF;
    END IF;
    IF why IS NOT NULL THEN
        PERFORM tenantguard._enrollment_deny('enroll', 'enrollment_token:' OPERATOR(pg_catalog.||) p.token_id, why,
                                             CASE WHEN r IS NULL THEN NULL ELSE r.tenant_id END);
        RAISE EXCEPTION 'invalid or expired enrollment token'
            USING ERRCODE = 'invalid_authorization_specification',
                  HINT = 'Ask the tenant for a new token (tenantguard.create_enrollment_token()).';
    END IF;

    IF EXISTS (SELECT 1 FROM tenantguard.agents a
                WHERE a.tenant_id OPERATOR(pg_catalog.=) r.tenant_id AND a.name OPERATOR(pg_catalog.=) agent_name) THEN
        RAISE EXCEPTION 'an agent named "%" already exists in this tenant', agent_name
            USING ERRCODE = 'unique_violation', HINT = 'Choose another agent name.';
    END IF;
    INSERT INTO tenantguard.agents (tenant_id, name, public_key, fingerprint, enrollment_token_id)
        VALUES (r.tenant_id, agent_name, public_key, fp, p.token_id)
        RETURNING id INTO agent;
    PERFORM tenantguard_audit._record('enrollment', 'enroll', 'agent:' OPERATOR(pg_catalog.||) agent::text,
        'allow', NULL, pg_catalog.jsonb_build_object('enrollment_token', p.token_id, 'name', agent_name, 'fingerprint', fp),
        r.tenant_id);
    RETURN agent;
END
$$;
COMMENT ON FUNCTION tenantguard.enroll(text, text, text) IS 'Enroll an agent with an enrollment token and its Ed25519 public key; returns the agent id.';

REVOKE ALL ON FUNCTION tenantguard.create_enrollment_token(text, interval, integer),
    tenantguard.revoke_enrollment_token(text), tenantguard.enroll(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.create_enrollment_token(text, interval, integer),
    tenantguard.revoke_enrollment_token(text), tenantguard.enroll(text, text, text)
    TO tenantguard_app, tenantguard_admin;
