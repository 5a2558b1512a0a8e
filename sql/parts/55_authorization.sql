-- 55_authorization: permissions of roles within a tenant. Built-in roles
-- (owner, admin, operator, viewer; their rules are in C, see
-- _builtin_permissions()), tenant rules in role_permissions, and the
-- decision functions authorize(), require(), explain_authorization().
-- The rules of names and globs are src/core/authz_rules.h
-- (docs/authorization.md).

-- Is this a permission pattern / resource pattern? (the CHECKs of role_permissions)
CREATE FUNCTION tenantguard._permission_pattern_valid(pattern text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tg_permission_pattern_valid_fn';
CREATE FUNCTION tenantguard._resource_pattern_valid(pattern text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tg_resource_pattern_valid_fn';

-- The tenants' own rules. Text compares byte for byte (COLLATE "C"), as
-- the matcher does; one rule per (role, permission, resource).
CREATE TABLE tenantguard.role_permissions (
    tenant_id  uuid NOT NULL REFERENCES tenantguard.tenants(id) ON DELETE CASCADE,
    role       text COLLATE "C" NOT NULL
               CONSTRAINT role_permissions_role_format CHECK (tenantguard._role_name_valid(role)),
    permission text COLLATE "C" NOT NULL
               CONSTRAINT role_permissions_permission_format CHECK (tenantguard._permission_pattern_valid(permission)),
    resource   text COLLATE "C" NOT NULL DEFAULT '*'
               CONSTRAINT role_permissions_resource_format CHECK (tenantguard._resource_pattern_valid(resource)),
    effect     text NOT NULL DEFAULT 'allow'
               CONSTRAINT role_permissions_effect_check CHECK (effect IN ('allow', 'deny')),
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by text NOT NULL DEFAULT coalesce(tenantguard.current_principal(), session_user::text),
    PRIMARY KEY (tenant_id, role, permission, resource),
    CONSTRAINT role_permissions_not_owner CHECK (role <> 'owner')
);
COMMENT ON TABLE tenantguard.role_permissions IS 'Permission rules of roles, per tenant (built-in rules are not stored here).';
SELECT tenantguard.protect('tenantguard.role_permissions');
SELECT pg_catalog.pg_extension_config_dump('tenantguard.role_permissions', '');
-- every backend's cached rules are dropped when they change
CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.role_permissions FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();
REVOKE ALL ON tenantguard.role_permissions FROM PUBLIC;
GRANT SELECT ON tenantguard.role_permissions TO tenantguard_app, tenantguard_admin;

-- The built-in rules of owner, admin, operator and viewer.
CREATE FUNCTION tenantguard._builtin_permissions(
    OUT role text, OUT permission text, OUT resource text, OUT effect text)
    RETURNS SETOF record
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 9
    AS 'MODULE_PATHNAME', 'tg_builtin_permissions';

-- Every rule in force in the current tenant: built-in, then the tenant's.
CREATE VIEW tenantguard.permissions WITH (security_invoker = true) AS
    SELECT b.role, b.permission, b.resource, b.effect, true AS builtin,
           NULL::timestamptz AS granted_at, NULL::text AS granted_by
      FROM tenantguard._builtin_permissions() b
    UNION ALL
    SELECT p.role, p.permission, p.resource, p.effect, false, p.granted_at, p.granted_by
      FROM tenantguard.role_permissions p;
COMMENT ON VIEW tenantguard.permissions IS 'The rules in force in the current tenant: built-in and granted.';
GRANT SELECT ON tenantguard.permissions TO tenantguard_app, tenantguard_admin;

-- May the current context use permission on resource? (literals, not patterns)
-- COST: in a policy, the planner evaluates the tenant comparison first.
CREATE FUNCTION tenantguard.authorize(permission text, resource text DEFAULT '*') RETURNS boolean
    LANGUAGE C STABLE PARALLEL RESTRICTED COST 100
    AS 'MODULE_PATHNAME', 'tg_authorize';
COMMENT ON FUNCTION tenantguard.authorize(text, text) IS 'May the current context use permission on resource? Usable in policies.';

-- 42501 unless the current context may use permission on resource.
CREATE FUNCTION tenantguard.require(permission text, resource text DEFAULT '*') RETURNS void
    LANGUAGE C VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'tg_require';

-- The decision, and every rule that matched (denies first), like a policy simulator.
CREATE FUNCTION tenantguard.explain_authorization(permission text, resource text DEFAULT '*',
    OUT decision text, OUT role text, OUT permission text, OUT resource text, OUT effect text,
    OUT builtin boolean)
    RETURNS SETOF record
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 3
    AS 'MODULE_PATHNAME', 'tg_explain_authorization';

-- The arguments of grant_permission() / revoke_permission() (22004, 22023; 42501 for owner).
CREATE FUNCTION tenantguard._check_rule(role text, permission text, resource text, effect text,
                                        for_grant boolean) RETURNS void
    LANGUAGE C IMMUTABLE
    AS 'MODULE_PATHNAME', 'tg_check_rule';

-- Add (or change the effect of) a rule of role in the current tenant; needs
-- roles.manage on role/<role>.
CREATE FUNCTION tenantguard.grant_permission(role text, permission text, resource text DEFAULT '*',
                                             effect text DEFAULT 'allow') RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._context_tenant('Permission rules belong to a tenant: enter it first.');
BEGIN
    PERFORM tenantguard._check_rule(role, permission, resource, effect, true);
    PERFORM tenantguard.require('roles.manage', 'role/' || role);
    INSERT INTO tenantguard.role_permissions AS p (tenant_id, role, permission, resource, effect)
    VALUES (t, role, permission, resource, effect)
    ON CONFLICT ON CONSTRAINT role_permissions_pkey DO UPDATE
        SET effect = EXCLUDED.effect, granted_at = now(), granted_by = EXCLUDED.granted_by;
    PERFORM tenantguard_audit._record('admin', 'permission.grant', role, 'allow', NULL,
        jsonb_build_object('permission', permission, 'resource', resource, 'effect', effect), t);
END
$$;
COMMENT ON FUNCTION tenantguard.grant_permission(text, text, text, text) IS
    'Add a rule (allow or deny) to a role of the current tenant; needs roles.manage.';

-- Remove a rule of role in the current tenant; needs roles.manage on role/<role>.
CREATE FUNCTION tenantguard.revoke_permission(role text, permission text, resource text DEFAULT '*')
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._context_tenant('Permission rules belong to a tenant: enter it first.');
    gone text;
BEGIN
    PERFORM tenantguard._check_rule(role, permission, resource, NULL, false);
    PERFORM tenantguard.require('roles.manage', 'role/' || role);
    DELETE FROM tenantguard.role_permissions p
     WHERE p.tenant_id = t AND p.role = revoke_permission.role
       AND p.permission = revoke_permission.permission AND p.resource = revoke_permission.resource
    RETURNING p.effect INTO gone;
    IF gone IS NOT NULL THEN
        PERFORM tenantguard_audit._record('admin', 'permission.revoke', role, 'allow', NULL,
            jsonb_build_object('permission', permission, 'resource', resource, 'effect', gone), t);
    ELSIF EXISTS (SELECT 1 FROM tenantguard._builtin_permissions() b
                   WHERE b.role = revoke_permission.role AND b.permission = revoke_permission.permission
                     AND b.resource = revoke_permission.resource) THEN
        RAISE EXCEPTION 'built-in rules of role "%" cannot be revoked', role
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The built-in roles keep their rules in every tenant.',
                  HINT = 'Add a deny rule with tenantguard.grant_permission(role, permission, resource, ''deny''), '
                         'or define a role of your own with exactly the rules it needs.';
    ELSE
        RAISE NOTICE 'role "%" has no such rule', role;
    END IF;
END
$$;
COMMENT ON FUNCTION tenantguard.revoke_permission(text, text, text) IS
    'Remove a rule of a role of the current tenant; needs roles.manage.';

REVOKE ALL ON FUNCTION tenantguard.grant_permission(text, text, text, text),
    tenantguard.revoke_permission(text, text, text), tenantguard._check_rule(text, text, text, text, boolean)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.grant_permission(text, text, text, text),
    tenantguard.revoke_permission(text, text, text) TO tenantguard_app, tenantguard_admin;
-- authorize(), require(), explain_authorization() and _builtin_permissions()
-- stay executable by PUBLIC: they answer only for the caller's own context,
-- and policies of any role call authorize().
