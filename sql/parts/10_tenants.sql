-- 10_tenants: the tenants table and the functions that create, suspend,
-- activate and look up tenants; the cache invalidation trigger every part's
-- catalogue tables use.

-- Is this a tenant slug (2 to 63 of [a-z0-9-], starting with a letter or digit)?
-- The rule is tg_slug_valid in src/core/secret_ref.c; vault references use it too.
CREATE FUNCTION tenantguard._slug_valid(slug text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tg_slug_valid_fn';

CREATE TABLE tenantguard.tenants (
    id          uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    slug        text NOT NULL UNIQUE
                CONSTRAINT tenants_slug_format CHECK (tenantguard._slug_valid(slug)),
    name        text,
    status      text NOT NULL DEFAULT 'active'
                CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE tenantguard.tenants IS 'Every tenant; status suspended means no path can enter it.';

SELECT pg_catalog.pg_extension_config_dump('tenantguard.tenants', '');

-- Every backend's cache of tenantguard's tables (tenants, bindings, protected
-- tables, data keys) is dropped when they change.
CREATE FUNCTION tenantguard._invalidate_cache() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'tg_invalidate_trigger';
REVOKE ALL ON FUNCTION tenantguard._invalidate_cache() FROM PUBLIC;

CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.tenants FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();

REVOKE ALL ON tenantguard.tenants FROM PUBLIC;
GRANT SELECT ON tenantguard.tenants TO tenantguard_admin;
GRANT SELECT ON tenantguard.tenants TO tenantguard_auditor;

-- Create a tenant from its slug (and display name); returns its id.
CREATE FUNCTION tenantguard.create_tenant(slug text, name text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    new_id uuid;
BEGIN
    IF slug IS NULL OR NOT tenantguard._slug_valid(slug) THEN
        RAISE EXCEPTION 'invalid tenant slug'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Slug %L does not match ^[a-z0-9][a-z0-9-]{1,62}$.', slug),
                  HINT = 'Use 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit.';
    END IF;
    IF EXISTS (SELECT 1 FROM tenantguard.tenants t WHERE t.slug = create_tenant.slug) THEN
        RAISE EXCEPTION 'tenant "%" already exists', slug USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO tenantguard.tenants (slug, name) VALUES (slug, name) RETURNING id INTO new_id;
    PERFORM tenantguard_audit._record('admin', 'tenant.create', slug, 'allow', NULL,
                                      jsonb_build_object('tenant_id', new_id, 'name', name), new_id);
    RETURN new_id;
END
$$;

-- Set a tenant's status to active or suspended and record the event.
CREATE FUNCTION tenantguard._set_tenant_status(tenant uuid, new_status text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'tenant must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE tenantguard.tenants SET status = new_status WHERE id = tenant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % does not exist', tenant USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM tenantguard_audit._record('admin',
        CASE new_status WHEN 'active' THEN 'tenant.activate' ELSE 'tenant.suspend' END,
        (SELECT t.slug FROM tenantguard.tenants t WHERE t.id = tenant), 'allow', NULL, '{}', tenant);
END
$$;
REVOKE ALL ON FUNCTION tenantguard._set_tenant_status(uuid, text) FROM PUBLIC;

-- Suspend a tenant: no path can enter it until it is activated again.
CREATE FUNCTION tenantguard.suspend_tenant(tenant uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._set_tenant_status(tenant, 'suspended') $$;

-- Activate a suspended tenant again.
CREATE FUNCTION tenantguard.activate_tenant(tenant uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._set_tenant_status(tenant, 'active') $$;

-- The id of the tenant with this slug (42704 when there is none).
CREATE FUNCTION tenantguard.tenant_id(slug text) RETURNS uuid
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    found_id uuid;
BEGIN
    SELECT t.id INTO found_id FROM tenantguard.tenants t WHERE t.slug = tenant_id.slug;
    IF found_id IS NULL THEN
        RAISE EXCEPTION 'tenant "%" does not exist', slug USING ERRCODE = 'undefined_object';
    END IF;
    RETURN found_id;
END
$$;

REVOKE ALL ON FUNCTION tenantguard.create_tenant(text, text),
    tenantguard.suspend_tenant(uuid), tenantguard.activate_tenant(uuid),
    tenantguard.tenant_id(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.create_tenant(text, text),
    tenantguard.suspend_tenant(uuid), tenantguard.activate_tenant(uuid),
    tenantguard.tenant_id(text) TO tenantguard_admin;
GRANT EXECUTE ON FUNCTION tenantguard.tenant_id(text) TO tenantguard_app;
