-- 20_context: the tenant context (C: current_tenant, set_tenant, whoami, ...)
-- and login roles bound to one tenant.

-- The tenant in force, or NULL without a context (called by every isolation policy).
CREATE FUNCTION tenantguard.current_tenant() RETURNS uuid
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tg_current_tenant';
COMMENT ON FUNCTION tenantguard.current_tenant() IS 'The tenant in force, or NULL without a context.';

-- Who is acting: admin:<session user>, role:<bound role>, or NULL.
CREATE FUNCTION tenantguard.current_principal() RETURNS text
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_current_principal';

-- The role within the tenant (admin, or the binding's tenant_role), or NULL.
CREATE FUNCTION tenantguard.current_role_name() RETURNS text
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_current_role_name';

-- The context in force as one row: tenant, slug, principal, role, scope, expiry,
-- assurance level (2 = resumed from a login with a second factor).
CREATE FUNCTION tenantguard.whoami(
    OUT tenant_id uuid, OUT tenant_slug text, OUT principal text,
    OUT role text, OUT scope text, OUT expires_at timestamptz, OUT aal integer)
    RETURNS SETOF record
    LANGUAGE C STABLE ROWS 1
    AS 'MODULE_PATHNAME', 'tg_whoami';

-- The context's authenticator assurance level: 2 when it was resumed from a
-- login with a second factor, 1 for every other context, NULL without one
-- (for restrictive policies that demand two-factor sign-in).
CREATE FUNCTION tenantguard.current_aal() RETURNS integer
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tg_current_aal';
COMMENT ON FUNCTION tenantguard.current_aal() IS '2 for a session signed in with a second factor, 1 for other contexts, NULL without one.';

-- Enter a tenant, for the transaction (default) or the session; administrators only.
CREATE FUNCTION tenantguard.set_tenant(tenant uuid, is_local boolean DEFAULT true) RETURNS void
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_set_tenant';
COMMENT ON FUNCTION tenantguard.set_tenant(uuid, boolean) IS 'Administrators enter a tenant (principal admin:<session_user>).';

-- The current tenant, or 42501 "no tenant context is set" with the caller's hint
-- (for functions that work in the current tenant only: the vault, permission rules).
CREATE FUNCTION tenantguard._context_tenant(hint text) RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard.current_tenant();
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant context is set' USING ERRCODE = 'insufficient_privilege', HINT = hint;
    END IF;
    RETURN t;
END
$$;

-- Leave the tenant entered with set_tenant() (a role binding stays in force).
CREATE FUNCTION tenantguard.clear_context() RETURNS void
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_clear_context';

REVOKE ALL ON FUNCTION tenantguard.set_tenant(uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.set_tenant(uuid, boolean) TO tenantguard_admin;

-- Is this a tenant role name (1 to 63 of [a-z0-9_.-], starting with a letter or
-- digit)? The rule is tg_role_name_valid in src/core/context_value.c, which the
-- context format uses too.
CREATE FUNCTION tenantguard._role_name_valid(role_name text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tg_role_name_valid_fn';

CREATE TABLE tenantguard.role_bindings (
    role        regrole PRIMARY KEY,
    role_name   name NOT NULL,
    tenant_id   uuid NOT NULL REFERENCES tenantguard.tenants(id) ON DELETE CASCADE,
    tenant_role text NOT NULL DEFAULT 'operator'
                CONSTRAINT role_bindings_tenant_role_format CHECK (tenantguard._role_name_valid(tenant_role)),
    bound_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    bound_by    name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE tenantguard.role_bindings IS 'Login roles that are always in one tenant.';

SELECT pg_catalog.pg_extension_config_dump('tenantguard.role_bindings', '');

CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.role_bindings FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();

REVOKE ALL ON tenantguard.role_bindings FROM PUBLIC;
GRANT SELECT ON tenantguard.role_bindings TO tenantguard_admin;

-- Bind a login role to one tenant (with its role within the tenant, by default
-- the built-in operator: an application's everyday rights, no membership, role
-- or audit administration), or re-bind it.
CREATE FUNCTION tenantguard.bind_role(role regrole, tenant uuid, tenant_role text DEFAULT 'operator')
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
BEGIN
    IF role IS NULL OR tenant IS NULL OR tenant_role IS NULL THEN
        RAISE EXCEPTION 'role, tenant and tenant_role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT rolsuper, rolbypassrls, rolname INTO r FROM pg_roles WHERE oid = role;
    IF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'cannot bind role "%"', r.rolname
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Superusers and BYPASSRLS roles bypass row-level security, so a binding would not isolate them.',
                  HINT = 'Bind an ordinary login role that is a member of tenantguard_app.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tenantguard.tenants t WHERE t.id = tenant) THEN
        RAISE EXCEPTION 'tenant % does not exist', tenant USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT tenantguard._role_name_valid(tenant_role) THEN
        RAISE EXCEPTION 'invalid tenant role name' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use lower-case letters, digits, "_", "." and "-".';
    END IF;
    INSERT INTO tenantguard.role_bindings (role, role_name, tenant_id, tenant_role)
    VALUES (role, r.rolname, tenant, tenant_role)
    ON CONFLICT ON CONSTRAINT role_bindings_pkey DO UPDATE
        SET role_name = EXCLUDED.role_name, tenant_id = EXCLUDED.tenant_id,
            tenant_role = EXCLUDED.tenant_role, bound_at = now(), bound_by = session_user;
    PERFORM tenantguard_audit._record('admin', 'role.bind', r.rolname, 'allow', NULL,
                                      jsonb_build_object('tenant_role', tenant_role), tenant);
END
$$;

-- Remove a role's binding (a notice when it has none).
CREATE FUNCTION tenantguard.unbind_role(role regrole) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM tenantguard.role_bindings b WHERE b.role = unbind_role.role;
    IF NOT FOUND THEN
        RAISE NOTICE 'role "%" is not bound', role;
    ELSE
        PERFORM tenantguard_audit._record('admin', 'role.unbind', role::text);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION tenantguard.bind_role(regrole, uuid, text), tenantguard.unbind_role(regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.bind_role(regrole, uuid, text), tenantguard.unbind_role(regrole) TO tenantguard_admin;
