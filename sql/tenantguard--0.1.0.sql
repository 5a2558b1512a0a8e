-- tenantguard 0.1.0: tenants, tenant context, table protection, isolation report
\echo Use "CREATE EXTENSION tenantguard" to load this file. \quit

-- Refuse to install unless the library was preloaded (hooks enforce isolation).
CREATE FUNCTION tenantguard._assert_preloaded() RETURNS void
    LANGUAGE C AS 'MODULE_PATHNAME', 'tg_assert_preloaded';
SELECT tenantguard._assert_preloaded();
REVOKE ALL ON FUNCTION tenantguard._assert_preloaded() FROM PUBLIC;

-- Roles, created when missing (they are cluster-wide and survive DROP EXTENSION).
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenantguard_app') THEN
        CREATE ROLE tenantguard_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenantguard_admin') THEN
        CREATE ROLE tenantguard_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenantguard_auditor') THEN
        CREATE ROLE tenantguard_auditor NOLOGIN;
    END IF;
END
$roles$;

GRANT USAGE ON SCHEMA tenantguard TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

CREATE TABLE tenantguard.tenants (
    id          uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    slug        text NOT NULL UNIQUE
                CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text,
    status      text NOT NULL DEFAULT 'active'
                CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE tenantguard.tenants IS 'Every tenant; status suspended means no path can enter it.';

CREATE TABLE tenantguard.role_bindings (
    role        regrole PRIMARY KEY,
    role_name   name NOT NULL,
    tenant_id   uuid NOT NULL REFERENCES tenantguard.tenants(id) ON DELETE CASCADE,
    tenant_role text NOT NULL DEFAULT 'member'
                CONSTRAINT role_bindings_tenant_role_format CHECK (tenant_role ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    bound_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    bound_by    name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE tenantguard.role_bindings IS 'Login roles that are always in one tenant.';

CREATE TABLE tenantguard.protected_registry (
    rel              regclass PRIMARY KEY,
    tenant_column    name NOT NULL,
    protected_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    protected_by     name NOT NULL DEFAULT session_user,
    parent           regclass,
    prev_rls_enabled boolean NOT NULL,
    prev_rls_forced  boolean NOT NULL,
    prev_not_null    boolean NOT NULL,
    prev_default     text,
    created_index    name
);
COMMENT ON TABLE tenantguard.protected_registry IS 'What protect() did to each table, so unprotect() can undo exactly that.';

CREATE TABLE tenantguard.protected_schemas (
    schema_name   name PRIMARY KEY,
    tenant_column name NOT NULL,
    protected_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    protected_by  name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE tenantguard.protected_schemas IS 'Schemas whose future tables with the tenant column are protected on creation.';

SELECT pg_catalog.pg_extension_config_dump('tenantguard.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('tenantguard.role_bindings', '');
SELECT pg_catalog.pg_extension_config_dump('tenantguard.protected_registry',
    'WHERE rel::text NOT LIKE ''tenantguard.%''');
SELECT pg_catalog.pg_extension_config_dump('tenantguard.protected_schemas', '');

-- Every backend's cache of these tables is dropped when they change.
CREATE FUNCTION tenantguard._invalidate_cache() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'tg_invalidate_trigger';
REVOKE ALL ON FUNCTION tenantguard._invalidate_cache() FROM PUBLIC;

CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.tenants FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();
CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.role_bindings FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();
CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.protected_registry FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();

REVOKE ALL ON tenantguard.tenants, tenantguard.role_bindings,
    tenantguard.protected_registry, tenantguard.protected_schemas FROM PUBLIC;
GRANT SELECT ON tenantguard.tenants, tenantguard.role_bindings,
    tenantguard.protected_registry, tenantguard.protected_schemas TO tenantguard_admin;
GRANT SELECT ON tenantguard.tenants TO tenantguard_auditor;

CREATE VIEW tenantguard.protected_tables AS
    SELECT rel, tenant_column, protected_at, protected_by
      FROM tenantguard.protected_registry;
COMMENT ON VIEW tenantguard.protected_tables IS 'Tables protected by tenantguard.protect().';
GRANT SELECT ON tenantguard.protected_tables TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Tenant context (C)
-- ---------------------------------------------------------------------------

CREATE FUNCTION tenantguard.current_tenant() RETURNS uuid
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tg_current_tenant';
COMMENT ON FUNCTION tenantguard.current_tenant() IS 'The tenant in force, or NULL without a context.';

CREATE FUNCTION tenantguard.current_principal() RETURNS text
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_current_principal';

CREATE FUNCTION tenantguard.current_role_name() RETURNS text
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_current_role_name';

CREATE FUNCTION tenantguard.whoami(
    OUT tenant_id uuid, OUT tenant_slug text, OUT principal text,
    OUT role text, OUT scope text, OUT expires_at timestamptz)
    RETURNS SETOF record
    LANGUAGE C STABLE ROWS 1
    AS 'MODULE_PATHNAME', 'tg_whoami';

CREATE FUNCTION tenantguard.set_tenant(tenant uuid, is_local boolean DEFAULT true) RETURNS void
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_set_tenant';
COMMENT ON FUNCTION tenantguard.set_tenant(uuid, boolean) IS 'Administrators enter a tenant (principal admin:<session_user>).';

CREATE FUNCTION tenantguard.clear_context() RETURNS void
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_clear_context';

REVOKE ALL ON FUNCTION tenantguard.set_tenant(uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.set_tenant(uuid, boolean) TO tenantguard_admin;

-- ---------------------------------------------------------------------------
-- Tenants
-- ---------------------------------------------------------------------------

CREATE FUNCTION tenantguard.create_tenant(slug text, name text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    new_id uuid;
BEGIN
    IF slug IS NULL OR slug !~ '^[a-z0-9][a-z0-9-]{1,62}$' THEN
        RAISE EXCEPTION 'invalid tenant slug'
            USING ERRCODE = '22023',
                  DETAIL = format('Slug %L does not match ^[a-z0-9][a-z0-9-]{1,62}$.', slug),
                  HINT = 'Use 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit.';
    END IF;
    IF EXISTS (SELECT 1 FROM tenantguard.tenants t WHERE t.slug = create_tenant.slug) THEN
        RAISE EXCEPTION 'tenant "%" already exists', slug USING ERRCODE = '23505';
    END IF;
    INSERT INTO tenantguard.tenants (slug, name) VALUES (slug, name) RETURNING id INTO new_id;
    PERFORM tenantguard_audit._record('admin', 'tenant.create', slug, 'allow', NULL,
                                      jsonb_build_object('tenant_id', new_id, 'name', name), new_id);
    RETURN new_id;
END
$$;

CREATE FUNCTION tenantguard._set_tenant_status(tenant uuid, new_status text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'tenant must not be null' USING ERRCODE = '22004';
    END IF;
    UPDATE tenantguard.tenants SET status = new_status WHERE id = tenant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % does not exist', tenant USING ERRCODE = '42704';
    END IF;
    PERFORM tenantguard_audit._record('admin',
        CASE new_status WHEN 'active' THEN 'tenant.activate' ELSE 'tenant.suspend' END,
        (SELECT t.slug FROM tenantguard.tenants t WHERE t.id = tenant), 'allow', NULL, '{}', tenant);
END
$$;
REVOKE ALL ON FUNCTION tenantguard._set_tenant_status(uuid, text) FROM PUBLIC;

CREATE FUNCTION tenantguard.suspend_tenant(tenant uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._set_tenant_status(tenant, 'suspended') $$;

CREATE FUNCTION tenantguard.activate_tenant(tenant uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._set_tenant_status(tenant, 'active') $$;

CREATE FUNCTION tenantguard.tenant_id(slug text) RETURNS uuid
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    found_id uuid;
BEGIN
    SELECT t.id INTO found_id FROM tenantguard.tenants t WHERE t.slug = tenant_id.slug;
    IF found_id IS NULL THEN
        RAISE EXCEPTION 'tenant "%" does not exist', slug USING ERRCODE = '42704';
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

-- ---------------------------------------------------------------------------
-- Bound roles
-- ---------------------------------------------------------------------------

CREATE FUNCTION tenantguard.bind_role(role regrole, tenant uuid, tenant_role text DEFAULT 'member')
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
BEGIN
    IF role IS NULL OR tenant IS NULL OR tenant_role IS NULL THEN
        RAISE EXCEPTION 'role, tenant and tenant_role must not be null' USING ERRCODE = '22004';
    END IF;
    SELECT rolsuper, rolbypassrls, rolname INTO r FROM pg_roles WHERE oid = role;
    IF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'cannot bind role "%"', r.rolname
            USING ERRCODE = '22023',
                  DETAIL = 'Superusers and BYPASSRLS roles bypass row-level security, so a binding would not isolate them.',
                  HINT = 'Bind an ordinary login role that is a member of tenantguard_app.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tenantguard.tenants t WHERE t.id = tenant) THEN
        RAISE EXCEPTION 'tenant % does not exist', tenant USING ERRCODE = '42704';
    END IF;
    IF tenant_role !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid tenant role name' USING ERRCODE = '22023',
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

-- ---------------------------------------------------------------------------
-- Protection
-- ---------------------------------------------------------------------------

CREATE FUNCTION tenantguard._guard_bypass(on_off boolean) RETURNS void
    LANGUAGE C VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'tg_guard_bypass';
REVOKE ALL ON FUNCTION tenantguard._guard_bypass(boolean) FROM PUBLIC;

CREATE FUNCTION tenantguard._invoker_owns(rel regclass) RETURNS boolean
    LANGUAGE C STABLE STRICT
    AS 'MODULE_PATHNAME', 'tg_invoker_owns';
REVOKE ALL ON FUNCTION tenantguard._invoker_owns(regclass) FROM PUBLIC;
CREATE FUNCTION tenantguard._invoker_owns_schema(schema name) RETURNS boolean
    LANGUAGE C STABLE STRICT
    AS 'MODULE_PATHNAME', 'tg_invoker_owns_schema';
REVOKE ALL ON FUNCTION tenantguard._invoker_owns_schema(name) FROM PUBLIC;
-- Are a policy's USING and WITH CHECK expressions leakproof (as the DDL guard judges)?
CREATE FUNCTION tenantguard._policy_is_leakproof(policy oid) RETURNS boolean
    LANGUAGE C STABLE STRICT
    AS 'MODULE_PATHNAME', 'tg_policy_is_leakproof';
REVOKE ALL ON FUNCTION tenantguard._policy_is_leakproof(oid) FROM PUBLIC;

-- The USING / WITH CHECK expression protect() gives a tenant column.
CREATE FUNCTION tenantguard._policy_expr(tenant_column name) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT format('(%I = tenantguard.current_tenant())', tenant_column) $$;

-- Protect one table (not its partitions); parent is set for partitions.
CREATE FUNCTION tenantguard._protect_one(rel regclass, tenant_column name, create_index boolean, parent regclass,
                                         check_owner boolean DEFAULT true)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cls record;
    att record;
    reg record;
    registered boolean;
    idx name;
    expr text := tenantguard._policy_expr(tenant_column);
BEGIN
    SELECT c.relkind, c.relname, c.relrowsecurity, c.relforcerowsecurity
      INTO cls FROM pg_class c WHERE c.oid = rel;
    IF cls.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = '42809';
    END IF;
    IF check_owner AND NOT tenantguard._invoker_owns(rel) THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = '42501';
    END IF;
    SELECT a.attnum, a.atttypid, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def
      INTO att
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = rel AND a.attname = tenant_column AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', tenant_column, rel
            USING ERRCODE = '42703',
                  HINT = 'Pass the tenant column: tenantguard.protect(rel, tenant_column => ''...'').';
    END IF;
    IF att.atttypid <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'tenant column "%" of % must be of type uuid', tenant_column, rel
            USING ERRCODE = '42804',
                  DETAIL = format('It is of type %s.', format_type(att.atttypid, NULL));
    END IF;

    SELECT * INTO reg FROM tenantguard.protected_registry r WHERE r.rel = _protect_one.rel;
    registered := FOUND;
    IF registered AND reg.tenant_column <> tenant_column THEN
        RAISE EXCEPTION '% is already protected on column "%"', rel, reg.tenant_column
            USING ERRCODE = '22023',
                  HINT = 'Call tenantguard.unprotect() first to change the tenant column.';
    END IF;

    PERFORM tenantguard._guard_bypass(true);
    IF NOT registered THEN
        INSERT INTO tenantguard.protected_registry
            (rel, tenant_column, parent, prev_rls_enabled, prev_rls_forced, prev_not_null, prev_default)
        VALUES (rel, tenant_column, parent, cls.relrowsecurity, cls.relforcerowsecurity,
                att.attnotnull, att.def);
    END IF;

    IF NOT att.attnotnull THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', rel, tenant_column);
    END IF;
    IF att.def IS DISTINCT FROM 'tenantguard.current_tenant()' THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT tenantguard.current_tenant()', rel, tenant_column);
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', rel);
    IF EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = rel AND p.polname = 'tenantguard_isolation') THEN
        EXECUTE format('DROP POLICY tenantguard_isolation ON %s', rel);
    END IF;
    EXECUTE format('CREATE POLICY tenantguard_isolation ON %s AS PERMISSIVE FOR ALL TO PUBLIC USING %s WITH CHECK %s',
                   rel, expr, expr);

    IF create_index AND NOT EXISTS (
        SELECT 1 FROM pg_index i WHERE i.indrelid = rel AND i.indkey[0] = att.attnum) THEN
        idx := left(cls.relname, 40) || '_' || left(tenant_column, 14) || '_tg_idx';
        EXECUTE format('CREATE INDEX %I ON %s (%I)', idx, rel, tenant_column);
        UPDATE tenantguard.protected_registry r SET created_index = idx WHERE r.rel = _protect_one.rel;
    END IF;
    PERFORM tenantguard._guard_bypass(false);
END
$$;
REVOKE ALL ON FUNCTION tenantguard._protect_one(regclass, name, boolean, regclass, boolean) FROM PUBLIC;

-- Protect a table and all its partitions; check_owner is off only for
-- tenantguard's own callers (new partitions, tables of a protected schema).
CREATE FUNCTION tenantguard._protect_tree(rel regclass, tenant_column name, create_index boolean,
                                          check_owner boolean)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    part record;
    bad record;
BEGIN
    IF rel IS NULL OR tenant_column IS NULL OR create_index IS NULL THEN
        RAISE EXCEPTION 'arguments of protect() must not be null' USING ERRCODE = '22004';
    END IF;
    PERFORM tenantguard._protect_one(rel, tenant_column, create_index,
        (SELECT i.inhparent::regclass FROM pg_inherits i
           JOIN tenantguard.protected_registry r ON r.rel = i.inhparent
          WHERE i.inhrelid = _protect_tree.rel), check_owner);
    -- every partition, at every level
    FOR part IN
        WITH RECURSIVE tree(relid, parent) AS (
            SELECT i.inhrelid, i.inhparent FROM pg_inherits i WHERE i.inhparent = rel
            UNION ALL
            SELECT i.inhrelid, i.inhparent FROM pg_inherits i JOIN tree t ON i.inhparent = t.relid)
        SELECT relid::regclass AS relid, parent::regclass AS parent FROM tree
    LOOP
        PERFORM tenantguard._protect_one(part.relid, tenant_column, create_index, part.parent, check_owner);
    END LOOP;
    -- what protect() cannot repair by itself (isolation_report() lists it too)
    FOR bad IN
        WITH RECURSIVE tree(relid) AS (
            SELECT rel::oid
            UNION ALL
            SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.relid)
        SELECT con.conname, con.conrelid::regclass AS src, con.confrelid::regclass AS dst, r.rel AS src_protected
          FROM pg_constraint con
          JOIN tree t ON t.relid = con.confrelid
          JOIN tenantguard.protected_registry pr ON pr.rel = con.confrelid
          LEFT JOIN tenantguard.protected_registry r ON r.rel = con.conrelid
         WHERE con.contype = 'f' AND con.conparentid = 0
           AND NOT (r.rel IS NOT NULL AND EXISTS (
                   SELECT 1 FROM generate_subscripts(con.conkey, 1) k
                    WHERE con.conkey[k] = (SELECT a.attnum FROM pg_attribute a
                                            WHERE a.attrelid = con.conrelid AND a.attname = r.tenant_column)
                      AND con.confkey[k] = (SELECT a.attnum FROM pg_attribute a
                                             WHERE a.attrelid = con.confrelid AND a.attname = pr.tenant_column)))
    LOOP
        RAISE WARNING 'foreign key % of % into protected table % does not pair the tenant columns%',
            bad.conname, bad.src, bad.dst, CASE WHEN bad.src_protected IS NULL THEN ' (and comes from an unprotected table)' ELSE '' END
            USING DETAIL = 'A foreign key is checked without row level security: its rows can probe for, reference and block the deletes of another tenant''s rows.',
                  HINT = 'Protect the referencing table and re-create the foreign key with both tenant columns: FOREIGN KEY (tenant_id, ...) REFERENCES ' || bad.dst || ' (' || tenant_column || ', ...).';
    END LOOP;
    FOR bad IN
        WITH RECURSIVE tree(relid) AS (
            SELECT rel::oid
            UNION ALL
            SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.relid)
        SELECT pol.polname, pol.polrelid::regclass AS dst
          FROM pg_policy pol JOIN tree t ON t.relid = pol.polrelid
         WHERE NOT pol.polpermissive AND pol.polname <> 'tenantguard_isolation'
           AND NOT tenantguard._policy_is_leakproof(pol.oid)
    LOOP
        RAISE WARNING 'restrictive policy % on protected table % is not leakproof', bad.polname, bad.dst
            USING DETAIL = 'PostgreSQL may evaluate a restrictive policy before the tenant isolation policy, on every tenant''s rows: its errors can reveal another tenant''s values.',
                  HINT = 'Re-create it with only LEAKPROOF functions and operators applied to the table''s columns.';
    END LOOP;
    PERFORM tenantguard_audit._record('policy', 'protect', rel::text, 'allow', NULL,
                                      jsonb_build_object('tenant_column', tenant_column));
END
$$;
REVOKE ALL ON FUNCTION tenantguard._protect_tree(regclass, name, boolean, boolean) FROM PUBLIC;

CREATE FUNCTION tenantguard.protect(rel regclass, tenant_column name DEFAULT 'tenant_id',
                                    create_index boolean DEFAULT true)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._protect_tree(rel, tenant_column, create_index, true) $$;
COMMENT ON FUNCTION tenantguard.protect(regclass, name, boolean) IS 'Isolate a table by tenant: NOT NULL default, forced RLS, policy, index; partitions too.';

CREATE FUNCTION tenantguard.unprotect(rel regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    part record;
BEGIN
    SELECT * INTO reg FROM tenantguard.protected_registry r WHERE r.rel = unprotect.rel;
    IF NOT FOUND THEN
        RAISE NOTICE '% is not protected', rel;
        RETURN;
    END IF;
    IF NOT tenantguard._invoker_owns(rel) THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = '42501';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_inherits i JOIN tenantguard.protected_registry r ON r.rel = i.inhparent
                WHERE i.inhrelid = unprotect.rel) THEN
        RAISE EXCEPTION '% is a partition of a protected table', rel
            USING ERRCODE = '42501',
                  HINT = 'Unprotect the partitioned table instead; its partitions follow.';
    END IF;

    PERFORM tenantguard._guard_bypass(true);
    -- the table and all its partitions: policies and row security
    FOR part IN
        WITH RECURSIVE tree(relid) AS (
            SELECT rel::oid
            UNION ALL
            SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.relid)
        SELECT r.* FROM tree t JOIN tenantguard.protected_registry r ON r.rel = t.relid
    LOOP
        IF EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = part.rel AND p.polname = 'tenantguard_isolation') THEN
            EXECUTE format('DROP POLICY tenantguard_isolation ON %s', part.rel);
        END IF;
        IF NOT part.prev_rls_forced THEN
            EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', part.rel);
        END IF;
        IF NOT part.prev_rls_enabled THEN
            EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', part.rel);
        END IF;
        IF part.created_index IS NOT NULL AND part.rel <> rel
           AND NOT EXISTS (SELECT 1 FROM pg_class ic JOIN pg_inherits ih ON ih.inhrelid = ic.oid
                            WHERE ic.relname = part.created_index
                              AND ic.relnamespace = (SELECT c.relnamespace FROM pg_class c WHERE c.oid = part.rel)) THEN
            EXECUTE format('DROP INDEX IF EXISTS %I.%I',
                           (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE c.oid = part.rel), part.created_index);
        END IF;
        DELETE FROM tenantguard.protected_registry r WHERE r.rel = part.rel;
    END LOOP;
    -- column changes recurse into partitions from the top table
    IF reg.prev_default IS NULL THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', rel, reg.tenant_column);
    ELSE
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', rel, reg.tenant_column, reg.prev_default);
    END IF;
    IF NOT reg.prev_not_null THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', rel, reg.tenant_column);
    END IF;
    IF reg.created_index IS NOT NULL THEN
        EXECUTE format('DROP INDEX IF EXISTS %I.%I',
                       (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE c.oid = rel), reg.created_index);
    END IF;
    PERFORM tenantguard._guard_bypass(false);
    PERFORM tenantguard_audit._record('policy', 'unprotect', rel::text);
END
$$;
COMMENT ON FUNCTION tenantguard.unprotect(regclass) IS 'Undo exactly what protect() did.';

CREATE FUNCTION tenantguard.protect_schema(schema name, tenant_column name DEFAULT 'tenant_id')
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t record;
    n integer := 0;
    nsp oid;
BEGIN
    IF schema IS NULL OR tenant_column IS NULL THEN
        RAISE EXCEPTION 'arguments of protect_schema() must not be null' USING ERRCODE = '22004';
    END IF;
    SELECT oid INTO nsp FROM pg_namespace WHERE nspname = schema;
    IF nsp IS NULL THEN
        RAISE EXCEPTION 'schema "%" does not exist', schema USING ERRCODE = '3F000';
    END IF;
    IF NOT tenantguard._invoker_owns_schema(schema) THEN
        RAISE EXCEPTION 'must be owner of schema %', schema USING ERRCODE = '42501';
    END IF;
    INSERT INTO tenantguard.protected_schemas (schema_name, tenant_column)
    VALUES (schema, tenant_column)
    ON CONFLICT (schema_name) DO UPDATE SET tenant_column = EXCLUDED.tenant_column;
    FOR t IN
        SELECT c.oid::regclass AS rel
          FROM pg_class c
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = tenant_column AND NOT a.attisdropped
         WHERE c.relnamespace = nsp AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND a.atttypid = 'uuid'::regtype
         ORDER BY c.relname
    LOOP
        PERFORM tenantguard._protect_tree(t.rel, tenant_column, true, false);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

GRANT EXECUTE ON FUNCTION tenantguard.protect(regclass, name, boolean),
    tenantguard.unprotect(regclass), tenantguard.protect_schema(name, name) TO PUBLIC;

-- New partitions of protected tables, and new tables in protected schemas.
CREATE FUNCTION tenantguard._on_ddl_command_end() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cmd record;
    par record;
    sch record;
BEGIN
    FOR cmd IN
        SELECT DISTINCT objid FROM pg_event_trigger_ddl_commands()
         WHERE object_type IN ('table') AND classid = 'pg_class'::regclass
    LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM tenantguard.protected_registry r WHERE r.rel = cmd.objid);
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = cmd.objid AND c.relkind IN ('r', 'p'));
        SELECT r.rel, r.tenant_column INTO par
          FROM pg_inherits i JOIN tenantguard.protected_registry r ON r.rel = i.inhparent
         WHERE i.inhrelid = cmd.objid;
        IF FOUND THEN
            PERFORM tenantguard._protect_tree(cmd.objid::regclass, par.tenant_column, true, false);
            CONTINUE;
        END IF;
        SELECT s.tenant_column INTO sch
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN tenantguard.protected_schemas s ON s.schema_name = n.nspname
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = s.tenant_column AND NOT a.attisdropped
         WHERE c.oid = cmd.objid AND NOT c.relispartition AND a.atttypid = 'uuid'::regtype;
        IF FOUND THEN
            PERFORM tenantguard._protect_tree(cmd.objid::regclass, sch.tenant_column, true, false);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION tenantguard._on_ddl_command_end() FROM PUBLIC;

CREATE EVENT TRIGGER tenantguard_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
    EXECUTE FUNCTION tenantguard._on_ddl_command_end();

-- Forget dropped tables and schemas.
CREATE FUNCTION tenantguard._on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM tenantguard.protected_registry r
     WHERE r.rel::oid IN (SELECT d.objid FROM pg_event_trigger_dropped_objects() d
                           WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0);
    DELETE FROM tenantguard.protected_schemas s
     WHERE s.schema_name IN (SELECT d.object_name FROM pg_event_trigger_dropped_objects() d
                              WHERE d.object_type = 'schema');
END
$$;
REVOKE ALL ON FUNCTION tenantguard._on_sql_drop() FROM PUBLIC;

CREATE EVENT TRIGGER tenantguard_sql_drop ON sql_drop
    EXECUTE FUNCTION tenantguard._on_sql_drop();

-- ---------------------------------------------------------------------------
-- Isolation report
-- ---------------------------------------------------------------------------

CREATE FUNCTION tenantguard.isolation_report()
    RETURNS TABLE(severity text, object text, finding text, fix text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $report$
WITH
ext_objs AS (
    SELECT d.objid FROM pg_depend d
      JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
     WHERE e.extname = 'tenantguard' AND d.deptype = 'e' AND d.classid = 'pg_class'::regclass
),
tenant_columns AS (
    SELECT 'tenant_id'::name AS col
    UNION SELECT tenant_column FROM tenantguard.protected_registry
    UNION SELECT tenant_column FROM tenantguard.protected_schemas
),
prot AS (
    SELECT r.rel::oid AS relid, r.rel, r.tenant_column, c.relname, c.relrowsecurity, c.relforcerowsecurity,
           c.relowner, (SELECT a.attnum FROM pg_attribute a
                         WHERE a.attrelid = c.oid AND a.attname = r.tenant_column AND NOT a.attisdropped) AS tattnum
      FROM tenantguard.protected_registry r JOIN pg_class c ON c.oid = r.rel
),
user_tables AS (
    SELECT c.oid, c.oid::regclass AS rel, c.relispartition, c.relkind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tenantguard', 'tenantguard_audit')
       AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
       AND c.oid NOT IN (SELECT objid FROM ext_objs)
),
app_members AS (
    WITH RECURSIVE m(roleid) AS (
        SELECT am.member FROM pg_auth_members am
         WHERE am.roleid = (SELECT oid FROM pg_roles WHERE rolname = 'tenantguard_app')
        UNION
        SELECT am.member FROM pg_auth_members am JOIN m ON am.roleid = m.roleid)
    SELECT r.oid, r.rolname, r.rolsuper, r.rolbypassrls
      FROM pg_roles r JOIN m ON m.roleid = r.oid
),
findings AS (
    -- 1. tables that have a tenant column but are not protected
    SELECT 'error' AS severity, t.rel::text AS object,
           format('table has uuid column "%s" but is not protected', a.attname) AS finding,
           CASE WHEN t.relispartition
                THEN format('SELECT tenantguard.protect(%L, %L);  -- or protect its partitioned table', t.rel::text, a.attname)
                ELSE format('SELECT tenantguard.protect(%L, %L);', t.rel::text, a.attname) END AS fix
      FROM user_tables t
      JOIN pg_attribute a ON a.attrelid = t.oid AND NOT a.attisdropped AND a.attnum > 0
      JOIN tenant_columns tc ON tc.col = a.attname
     WHERE a.atttypid = 'uuid'::regtype
       AND t.oid NOT IN (SELECT relid FROM prot)
       AND NOT (t.relispartition AND EXISTS (
               SELECT 1 FROM pg_inherits i JOIN prot p ON p.relid = i.inhparent WHERE i.inhrelid = t.oid))
    UNION ALL
    -- 2. partitions of protected tables without their own protection
    SELECT 'error', i.inhrelid::regclass::text,
           format('partition of protected table %s is not protected (queried directly it shows every tenant)', p.rel),
           format('SELECT tenantguard.protect(%L, %L);', i.inhrelid::regclass::text, p.tenant_column)
      FROM pg_inherits i JOIN prot p ON p.relid = i.inhparent
     WHERE i.inhrelid NOT IN (SELECT relid FROM prot)
    UNION ALL
    -- 2b. protected tables hanging under an unprotected parent
    SELECT 'error', i.inhparent::regclass::text,
           format('protected table %s is a child of this unprotected table (queries on the parent are refused, or would bypass its isolation)', p.rel),
           format('SELECT tenantguard.protect(%L, %L);', i.inhparent::regclass::text, p.tenant_column)
      FROM pg_inherits i JOIN prot p ON p.relid = i.inhrelid
     WHERE i.inhparent NOT IN (SELECT relid FROM prot)
    UNION ALL
    -- 3. row level security disabled or not forced
    SELECT 'error', p.rel::text, 'row level security is disabled',
           format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY;', p.rel)
      FROM prot p WHERE NOT p.relrowsecurity
    UNION ALL
    SELECT 'error', p.rel::text, 'row level security is not forced (the owner bypasses isolation)',
           format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', p.rel)
      FROM prot p WHERE NOT p.relforcerowsecurity
    UNION ALL
    -- 4. the tenantguard policy missing or altered
    SELECT 'error', p.rel::text, 'policy tenantguard_isolation is missing',
           format('SELECT tenantguard.protect(%L, %L);', p.rel::text, p.tenant_column)
      FROM prot p
     WHERE NOT EXISTS (SELECT 1 FROM pg_policy pol WHERE pol.polrelid = p.relid AND pol.polname = 'tenantguard_isolation')
    UNION ALL
    SELECT 'error', p.rel::text || ' policy tenantguard_isolation',
           'policy tenantguard_isolation was altered: ' || concat_ws(', ',
               CASE WHEN pol.polcmd <> '*' THEN 'it no longer covers all commands' END,
               CASE WHEN NOT pol.polpermissive THEN 'it is no longer permissive' END,
               CASE WHEN pol.polroles <> '{0}' THEN 'it no longer applies to PUBLIC' END,
               CASE WHEN pg_get_expr(pol.polqual, pol.polrelid) IS DISTINCT FROM tenantguard._policy_expr(p.tenant_column)
                    THEN 'its USING expression changed' END,
               CASE WHEN pg_get_expr(pol.polwithcheck, pol.polrelid) IS DISTINCT FROM tenantguard._policy_expr(p.tenant_column)
                    THEN 'its WITH CHECK expression changed' END),
           format('SELECT tenantguard.protect(%L, %L);  -- re-creates the policy', p.rel::text, p.tenant_column)
      FROM prot p JOIN pg_policy pol ON pol.polrelid = p.relid AND pol.polname = 'tenantguard_isolation'
     WHERE pol.polcmd <> '*' OR NOT pol.polpermissive OR pol.polroles <> '{0}'
        OR pg_get_expr(pol.polqual, pol.polrelid) IS DISTINCT FROM tenantguard._policy_expr(p.tenant_column)
        OR pg_get_expr(pol.polwithcheck, pol.polrelid) IS DISTINCT FROM tenantguard._policy_expr(p.tenant_column)
    UNION ALL
    -- 5. extra permissive policies (OR-ed with isolation)
    SELECT 'error', p.rel::text || ' policy ' || quote_ident(pol.polname),
           'extra permissive policy widens tenant isolation (permissive policies are combined with OR)',
           format('DROP POLICY %I ON %s;  -- re-create it AS RESTRICTIVE if it narrows access', pol.polname, p.rel)
      FROM prot p JOIN pg_policy pol ON pol.polrelid = p.relid
     WHERE pol.polname <> 'tenantguard_isolation' AND pol.polpermissive
    UNION ALL
    -- 5b. restrictive policies that are not leakproof (evaluated on every tenant's rows)
    SELECT 'error', p.rel::text || ' policy ' || quote_ident(pol.polname),
           'restrictive policy is not leakproof (it may run before tenant isolation, on every tenant''s rows: its errors can show other tenants'' values, and one bad row fails every tenant''s queries)',
           format('DROP POLICY %I ON %s;  -- re-create it with only LEAKPROOF functions and operators on the columns', pol.polname, p.rel)
      FROM prot p JOIN pg_policy pol ON pol.polrelid = p.relid
     WHERE pol.polname <> 'tenantguard_isolation' AND NOT pol.polpermissive
       AND NOT tenantguard._policy_is_leakproof(pol.oid)
    UNION ALL
    -- 6. views over protected tables without security_invoker
    SELECT CASE WHEN o.rolsuper OR o.rolbypassrls THEN 'error' ELSE 'warning' END,
           v.oid::regclass::text,
           format(CASE WHEN v.relkind = 'm'
                       THEN 'materialized view stores rows of protected table %s, read with its owner''s rights when refreshed%s'
                       ELSE 'view reads protected table %s with its owner''s rights (no security_invoker)%s' END,
                  p.rel, CASE WHEN o.rolsuper OR o.rolbypassrls
                              THEN format('; owner %s bypasses row level security, so every tenant is visible', o.rolname)
                              ELSE '' END),
           CASE WHEN v.relkind = 'm'
                THEN format('DROP MATERIALIZED VIEW %s;  -- a materialized view stores rows of every tenant its owner could see; or REVOKE ALL ON %s FROM PUBLIC, tenantguard_app', v.oid::regclass, v.oid::regclass)
                ELSE format('ALTER VIEW %s SET (security_invoker = on);', v.oid::regclass) END
      FROM pg_class v
      JOIN pg_roles o ON o.oid = v.relowner
      JOIN pg_rewrite rw ON rw.ev_class = v.oid AND rw.rulename = '_RETURN'
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
      JOIN prot p ON p.relid = d.refobjid
     WHERE v.relkind IN ('v', 'm')
       AND (v.relkind = 'm' OR NOT coalesce((SELECT o.option_value::boolean
                                                 FROM pg_options_to_table(v.reloptions) o
                                                WHERE o.option_name = 'security_invoker'), false))
     GROUP BY v.oid, o.rolsuper, o.rolbypassrls, o.rolname, p.rel
    UNION ALL
    -- 7. members of tenantguard_app that bypass isolation
    SELECT 'error', 'role ' || quote_ident(m.rolname),
           'member of tenantguard_app is a superuser (bypasses row level security)',
           format('ALTER ROLE %I NOSUPERUSER;', m.rolname)
      FROM app_members m WHERE m.rolsuper
    UNION ALL
    SELECT 'error', 'role ' || quote_ident(m.rolname),
           'member of tenantguard_app has BYPASSRLS',
           format('ALTER ROLE %I NOBYPASSRLS;', m.rolname)
      FROM app_members m WHERE m.rolbypassrls
    UNION ALL
    SELECT 'error', 'role ' || quote_ident(m.rolname),
           format('member of tenantguard_app owns protected table %s (an owner can change its policies)', p.rel),
           format('ALTER TABLE %s OWNER TO <a role outside tenantguard_app>;', p.rel)
      FROM app_members m JOIN prot p ON (m.oid = p.relowner OR (NOT m.rolsuper AND pg_has_role(m.oid, p.relowner, 'USAGE')))
    UNION ALL
    -- 8. SECURITY DEFINER functions callable by the app that read protected tables
    SELECT CASE WHEN o.rolsuper OR o.rolbypassrls THEN 'error' ELSE 'warning' END,
           'function ' || f.oid::regprocedure::text,
           format('SECURITY DEFINER function executable by tenantguard_app reads protected table %s as %s%s',
                  p.rel, o.rolname,
                  CASE WHEN o.rolsuper OR o.rolbypassrls THEN ', which bypasses row level security' ELSE '' END),
           format('ALTER FUNCTION %s SECURITY INVOKER;  -- or REVOKE EXECUTE ON FUNCTION %s FROM tenantguard_app, PUBLIC;',
                  f.oid::regprocedure, f.oid::regprocedure)
      FROM pg_proc f
      JOIN pg_roles o ON o.oid = f.proowner
      JOIN pg_namespace fn ON fn.oid = f.pronamespace
      JOIN prot p ON f.prosrc ~* ('\m' || regexp_replace(p.relname, '([^a-zA-Z0-9_])', '\\\1', 'g') || '\M')
     WHERE f.prosecdef
       AND fn.nspname NOT IN ('pg_catalog', 'information_schema', 'tenantguard', 'tenantguard_audit')
       AND has_function_privilege('tenantguard_app', f.oid, 'EXECUTE')
    UNION ALL
    -- 9. unique constraints and unique indexes without the tenant column
    SELECT 'warning', p.rel::text || ' index ' || quote_ident(ic.relname),
           'unique index does not include the tenant column (tenants can probe each other''s values through uniqueness errors)',
           format('Re-create it with the tenant column first, e.g. UNIQUE (%I, ...).', p.tenant_column)
      FROM prot p JOIN pg_index i ON i.indrelid = p.relid AND i.indisunique
      JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE NOT (p.tattnum = ANY (i.indkey::int2[]))
    UNION ALL
    -- 10. foreign keys on protected tables without the tenant column
    SELECT 'warning', p.rel::text || ' constraint ' || quote_ident(con.conname),
           format('foreign key to %s does not include the tenant column (rows can reference another tenant''s rows)',
                  con.confrelid::regclass),
           format('Use FOREIGN KEY (%I, ...) REFERENCES %s (<tenant column>, ...).', p.tenant_column, con.confrelid::regclass)
      FROM prot p JOIN pg_constraint con ON con.conrelid = p.relid AND con.contype = 'f'
     WHERE NOT (p.tattnum = ANY (con.conkey))
    UNION ALL
    -- 10b. foreign keys into protected tables that do not pair the tenant columns
    --      (those from protected tables without their tenant column are 10)
    SELECT CASE WHEN r.relid IS NULL THEN 'error' ELSE 'warning' END,
           con.conrelid::regclass::text || ' constraint ' || quote_ident(con.conname),
           CASE WHEN r.relid IS NULL
                THEN format('foreign key into protected table %s comes from an unprotected table (its rows can probe for, reference and block the deletes of any tenant''s rows)', p.rel)
                ELSE format('foreign key into protected table %s does not pair the tenant columns (its rows can probe for, reference and block the deletes of another tenant''s rows)', p.rel) END,
           CASE WHEN r.relid IS NULL
                THEN format('SELECT tenantguard.protect(%L);  -- then re-create the foreign key as FOREIGN KEY (<tenant column>, ...) REFERENCES %s (%I, ...)',
                            con.conrelid::regclass::text, p.rel, p.tenant_column)
                ELSE format('Re-create it as FOREIGN KEY (%I, ...) REFERENCES %s (%I, ...).', r.tenant_column, p.rel, p.tenant_column) END
      FROM pg_constraint con
      JOIN prot p ON p.relid = con.confrelid
      LEFT JOIN prot r ON r.relid = con.conrelid
     WHERE con.contype = 'f' AND con.conparentid = 0
       AND (r.relid IS NULL
            OR (r.tattnum = ANY (con.conkey)
                AND NOT EXISTS (SELECT 1 FROM generate_subscripts(con.conkey, 1) k
                                 WHERE con.conkey[k] = r.tattnum AND con.confkey[k] = p.tattnum)))
    UNION ALL
    -- 10c. exclusion constraints that do not compare the tenant column with =
    SELECT 'warning', p.rel::text || ' constraint ' || quote_ident(con.conname),
           'exclusion constraint does not compare the tenant column with = (tenants can probe each other''s values through exclusion errors)',
           format('Re-create it with the tenant column compared by equality, e.g. EXCLUDE USING gist (%I WITH =, ...) (uuid needs btree_gist).', p.tenant_column)
      FROM prot p JOIN pg_constraint con ON con.conrelid = p.relid AND con.contype = 'x'
     WHERE NOT EXISTS (SELECT 1 FROM generate_subscripts(con.conkey, 1) k
                         JOIN pg_operator o ON o.oid = con.conexclop[k]
                        WHERE con.conkey[k] = p.tattnum AND o.oprname = '=')
    UNION ALL
    -- 10d. TRIGGER and REFERENCES privileges of application roles on protected tables
    SELECT 'warning', p.rel::text,
           format(CASE acl.privilege_type
                       WHEN 'TRIGGER' THEN '%s privilege is granted to %s (a trigger sees and can rewrite every tenant''s writes; the DDL guard refuses it to roles subject to row level security)'
                       ELSE '%s privilege is granted to %s (a foreign key into the table probes for and blocks other tenants'' keys; the DDL guard refuses it to roles subject to row level security)' END,
                  acl.privilege_type, CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.rolname) END),
           format('REVOKE %s ON %s FROM %s;', acl.privilege_type, p.rel,
                  CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.rolname) END)
      FROM prot p
      JOIN pg_class c ON c.oid = p.relid
      CROSS JOIN LATERAL aclexplode(c.relacl) acl
      LEFT JOIN pg_roles g ON g.oid = acl.grantee
     WHERE acl.privilege_type IN ('TRIGGER', 'REFERENCES')
       AND acl.grantee <> c.relowner
       AND (acl.grantee = 0 OR g.rolname = 'tenantguard_app' OR acl.grantee IN (SELECT oid FROM app_members))
    UNION ALL
    -- 10e. user triggers and rules on protected tables (they run on every tenant's rows)
    SELECT 'warning', p.rel::text || ' trigger ' || quote_ident(t.tgname),
           format('trigger runs %s on every tenant''s writes (it sees every tenant''s rows: check what it does with them)', t.tgfoid::regproc),
           format('DROP TRIGGER %I ON %s;  -- unless %s is meant to see every tenant''s rows', t.tgname, p.rel, t.tgfoid::regprocedure)
      FROM prot p JOIN pg_trigger t ON t.tgrelid = p.relid
     WHERE NOT t.tgisinternal
       AND NOT (t.tgname IN ('tenantguard_audit_row', 'tenantguard_audit_truncate')
                AND t.tgfoid IN (SELECT f.oid FROM pg_proc f JOIN pg_namespace fn ON fn.oid = f.pronamespace
                                  WHERE fn.nspname = 'tenantguard_audit'
                                    AND f.proname IN ('_row_trigger', '_truncate_trigger')))
       AND NOT EXISTS (SELECT 1 FROM pg_trigger pt JOIN prot pp ON pp.relid = pt.tgrelid WHERE pt.oid = t.tgparentid)
    UNION ALL
    SELECT 'warning', p.rel::text || ' rule ' || quote_ident(rw.rulename),
           'rule is rewritten into every tenant''s statements on the table and runs with its owner''s rights',
           format('DROP RULE %I ON %s;  -- use a trigger instead', rw.rulename, p.rel)
      FROM prot p JOIN pg_rewrite rw ON rw.ev_class = p.relid
     WHERE rw.rulename <> '_RETURN'
    UNION ALL
    -- 11. protected tables without an index led by the tenant column
    SELECT 'info', p.rel::text, 'no index is led by the tenant column (tenant-wide scans read the whole table)',
           format('CREATE INDEX ON %s (%I);', p.rel, p.tenant_column)
      FROM prot p
     WHERE NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = p.relid AND i.indkey[0] = p.tattnum)
    UNION ALL
    -- 12. bindings whose role was renamed, dropped or gained bypass rights
    SELECT 'warning', 'role binding ' || quote_ident(b.role_name),
           CASE WHEN r.oid IS NULL THEN 'bound role no longer exists (a new role could reuse its OID)'
                WHEN r.rolname <> b.role_name THEN format('bound role was renamed to %s', r.rolname)
                ELSE 'bound role is a superuser or has BYPASSRLS, so the binding does not isolate it' END,
           format('SELECT tenantguard.unbind_role(%s);  -- then bind the right role again', b.role::oid)
      FROM tenantguard.role_bindings b LEFT JOIN pg_roles r ON r.oid = b.role::oid
     WHERE r.oid IS NULL OR r.rolname <> b.role_name OR r.rolsuper OR r.rolbypassrls
    UNION ALL
    -- 13. fail-open configuration
    SELECT 'warning', 'setting tenantguard.require_context',
           'require_context is off: statements without a tenant context silently see no rows instead of failing',
           'ALTER SYSTEM SET tenantguard.require_context = on; SELECT pg_reload_conf();'
     WHERE current_setting('tenantguard.require_context') = 'off'
    -- ---- side channels PostgreSQL opens to tenants (docs/concepts.md, Limitations) ----
    UNION ALL
    -- S1. identity and serial columns of protected tables: one sequence for every tenant
    SELECT 'info', p.rel::text || ' column ' || quote_ident(a.attname),
           format('column takes its values from sequence %s, which every tenant shares: the gaps between a tenant''s own values show how many rows other tenants inserted', seq.oid::regclass),
           'Use keys that do not count across tenants, e.g. uuid DEFAULT gen_random_uuid(), for new tables; a sequence cannot be split per tenant.'
      FROM prot p
      JOIN pg_class c ON c.oid = p.relid AND NOT c.relispartition
      JOIN pg_namespace cn ON cn.oid = c.relnamespace AND cn.nspname NOT IN ('tenantguard', 'tenantguard_audit')
      JOIN pg_attribute a ON a.attrelid = p.relid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN LATERAL (
          -- an identity column's sequence is an internal dependency of the column
          SELECT d.objid AS oid FROM pg_depend d
           WHERE a.attidentity <> '' AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
             AND d.refobjid = p.relid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
          UNION
          -- a serial column's (or any nextval()) default depends on the sequence
          SELECT d.refobjid FROM pg_attrdef ad
            JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                            AND d.refclassid = 'pg_class'::regclass
            JOIN pg_class sq ON sq.oid = d.refobjid AND sq.relkind = 'S'
           WHERE ad.adrelid = p.relid AND ad.adnum = a.attnum) seq ON true
    UNION ALL
    -- S2. indexes without the tenant column: EXPLAIN ANALYZE counts other tenants' matches
    SELECT 'info', p.rel::text || ' index ' || quote_ident(ic.relname),
           'index does not have the tenant column as a key: EXPLAIN ANALYZE of a query that uses it shows how many rows of other tenants match a value or range (timing hints at it too)',
           format('Re-create it with the tenant column first, e.g. CREATE INDEX ON %s (%I, ...), and drop this one.', p.rel, p.tenant_column)
      FROM prot p
      JOIN pg_class c ON c.oid = p.relid
      JOIN pg_namespace cn ON cn.oid = c.relnamespace AND cn.nspname NOT IN ('tenantguard', 'tenantguard_audit')
      JOIN pg_index i ON i.indrelid = p.relid AND NOT i.indisunique     -- unique ones: finding 9
      JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE NOT (p.tattnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))
       AND NOT EXISTS (SELECT 1 FROM pg_inherits ih WHERE ih.inhrelid = i.indexrelid)   -- reported on the parent
       AND NOT EXISTS (SELECT 1 FROM pg_constraint xc WHERE xc.conindid = i.indexrelid AND xc.contype = 'x')  -- exclusion constraints: their own finding
    UNION ALL
    -- S3. pg_stat_statements readable by applications
    SELECT 'info', 'extension pg_stat_statements',
           'tenantguard_app can read pg_stat_statements: the call and row counts of every role''s statements, and the texts of those its own login role ran in other tenants (utility statements such as DO keep their literals)',
           format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, tenantguard_app;  -- also REVOKE SELECT ON %I.pg_stat_statements FROM PUBLIC; grant both to monitoring roles only',
                  f.oid::regprocedure, fn.nspname)
      FROM pg_extension e
      JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
                      AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
      JOIN pg_proc f ON f.oid = d.objid AND f.proname = 'pg_stat_statements'
      JOIN pg_namespace fn ON fn.oid = f.pronamespace
     WHERE e.extname = 'pg_stat_statements'
       AND has_function_privilege('tenantguard_app', f.oid, 'EXECUTE')
    UNION ALL
    -- S4. application roles that read every session's query text
    SELECT 'warning', 'role ' || quote_ident(m.rolname),
           'member of tenantguard_app has the privileges of pg_read_all_stats: it reads the query text of every session (pg_stat_activity) and every statement (pg_stat_statements), other tenants'' literals included',
           format('REVOKE pg_read_all_stats FROM %I;  -- or pg_monitor, or the role it has them through', m.rolname)
      FROM app_members m
     WHERE NOT m.rolsuper AND pg_has_role(m.oid, 'pg_read_all_stats', 'USAGE')
    -- ---- end of side channels ----
)
SELECT severity, object, finding, fix FROM findings
 ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, object, finding
$report$;
COMMENT ON FUNCTION tenantguard.isolation_report() IS 'Lint for isolation holes; an empty result means no finding.';
REVOKE ALL ON FUNCTION tenantguard.isolation_report() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.isolation_report() TO tenantguard_admin, tenantguard_auditor;

-- ---------------------------------------------------------------------------
-- Audit ledger
-- ---------------------------------------------------------------------------

CREATE SCHEMA tenantguard_audit;
GRANT USAGE ON SCHEMA tenantguard_audit TO tenantguard_auditor, tenantguard_app, tenantguard_admin;

CREATE SEQUENCE tenantguard_audit.events_id_seq;

-- Column order is part of the hash format (see docs/audit.md); never reorder.
CREATE TABLE tenantguard_audit.events (
    id               bigint PRIMARY KEY DEFAULT nextval('tenantguard_audit.events_id_seq'),
    occurred_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    tenant_id        uuid,
    category         text NOT NULL
                     CHECK (category IN ('auth', 'context', 'data', 'admin', 'secret', 'enrollment',
                                         'policy', 'ddl', 'app')),
    action           text NOT NULL,
    principal        text,
    db_user          name,
    object           text,
    decision         text CHECK (decision IN ('allow', 'deny')),
    reason           text,
    details          jsonb NOT NULL DEFAULT '{}',
    old_row          jsonb,
    new_row          jsonb,
    txid             xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    client_addr      inet,
    application_name text,
    event_hash       bytea NOT NULL
);
ALTER SEQUENCE tenantguard_audit.events_id_seq OWNED BY tenantguard_audit.events.id;
COMMENT ON TABLE tenantguard_audit.events IS 'Append-only audit events; each hashed at insert and later sealed into signed blocks.';
CREATE INDEX events_tenant_time_idx ON tenantguard_audit.events (tenant_id, occurred_at);
CREATE INDEX events_principal_time_idx ON tenantguard_audit.events (principal, occurred_at);
CREATE INDEX events_object_time_idx ON tenantguard_audit.events (object, occurred_at);
CREATE INDEX events_txid_idx ON tenantguard_audit.events (txid);

CREATE TABLE tenantguard_audit.blocks (
    id          bigint PRIMARY KEY,
    from_xid    xid8 NOT NULL,
    to_xid      xid8 NOT NULL,
    event_count bigint NOT NULL,
    first_event bigint,
    last_event  bigint,
    events_root bytea NOT NULL,
    prev_hash   bytea NOT NULL,
    block_hash  bytea NOT NULL,
    signature   bytea NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE tenantguard_audit.blocks IS 'Sealed blocks: events of a transaction id range, hash-chained and signed (Ed25519).';

CREATE TABLE tenantguard_audit.signing_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    first_block bigint NOT NULL,
    public_key  bytea NOT NULL,
    endorsement bytea,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE tenantguard_audit.signing_keys IS 'Ledger signing keys; each later key is endorsed by the one before (master key replacement).';

CREATE TABLE tenantguard_audit.audited_tables (
    rel             regclass PRIMARY KEY,
    exclude_columns name[] NOT NULL DEFAULT '{}',
    audited_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    audited_by      name NOT NULL DEFAULT session_user
);

SELECT pg_catalog.pg_extension_config_dump('tenantguard_audit.events', '');
SELECT pg_catalog.pg_extension_config_dump('tenantguard_audit.events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('tenantguard_audit.blocks', '');
SELECT pg_catalog.pg_extension_config_dump('tenantguard_audit.signing_keys', '');
SELECT pg_catalog.pg_extension_config_dump('tenantguard_audit.signing_keys_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('tenantguard_audit.audited_tables', '');

CREATE FUNCTION tenantguard_audit._append_only() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'tg_audit_append_only';
REVOKE ALL ON FUNCTION tenantguard_audit._append_only() FROM PUBLIC;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON tenantguard_audit.events
    FOR EACH ROW EXECUTE FUNCTION tenantguard_audit._append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON tenantguard_audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION tenantguard_audit._append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON tenantguard_audit.blocks
    FOR EACH ROW EXECUTE FUNCTION tenantguard_audit._append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON tenantguard_audit.blocks
    FOR EACH STATEMENT EXECUTE FUNCTION tenantguard_audit._append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON tenantguard_audit.signing_keys
    FOR EACH ROW EXECUTE FUNCTION tenantguard_audit._append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON tenantguard_audit.signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION tenantguard_audit._append_only();

-- Visibility: auditors read everything; inside a tenant, owner/admin/auditor
-- roles read that tenant's events; everyone else reads nothing.
-- C, not SQL: a SQL function here would be inlined into the policy and its
-- operators resolved through the querying role's search_path.
CREATE FUNCTION tenantguard_audit._can_read_tenant(tenant uuid) RETURNS boolean
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'tg_can_read_audit_tenant';
ALTER TABLE tenantguard_audit.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY auditor_reads_all ON tenantguard_audit.events FOR SELECT TO tenantguard_auditor USING (true);
CREATE POLICY tenant_reads_own ON tenantguard_audit.events FOR SELECT TO PUBLIC
    USING (tenantguard_audit._can_read_tenant(tenant_id));
REVOKE ALL ON tenantguard_audit.events, tenantguard_audit.blocks, tenantguard_audit.audited_tables,
    tenantguard_audit.signing_keys FROM PUBLIC;
GRANT SELECT ON tenantguard_audit.events TO tenantguard_auditor, tenantguard_app, tenantguard_admin;
GRANT SELECT ON tenantguard_audit.blocks, tenantguard_audit.audited_tables, tenantguard_audit.signing_keys
    TO tenantguard_auditor, tenantguard_admin;

-- The one SQL entry point for tenantguard's own functions (not granted).
CREATE FUNCTION tenantguard_audit._record(category text, action text, object text DEFAULT NULL,
    decision text DEFAULT 'allow', reason text DEFAULT NULL, details jsonb DEFAULT '{}',
    tenant uuid DEFAULT NULL) RETURNS void
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_audit_record_sql';
REVOKE ALL ON FUNCTION tenantguard_audit._record(text, text, text, text, text, jsonb, uuid) FROM PUBLIC;

CREATE FUNCTION tenantguard.audit_log(action text, object text DEFAULT NULL, details jsonb DEFAULT '{}')
    RETURNS void
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_log';
COMMENT ON FUNCTION tenantguard.audit_log(text, text, jsonb) IS 'Record an application event; actor, tenant and time come from the context.';
REVOKE ALL ON FUNCTION tenantguard.audit_log(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.audit_log(text, text, jsonb) TO tenantguard_app, tenantguard_admin;

-- The triggers write events with a direct heap insert (no privilege check),
-- so they need no SECURITY DEFINER.
CREATE FUNCTION tenantguard_audit._row_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'tg_audit_row_trigger';
CREATE FUNCTION tenantguard_audit._truncate_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'tg_audit_truncate_trigger';

CREATE FUNCTION tenantguard.audit_table(rel regclass, exclude_columns name[] DEFAULT '{}')
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    bad name;
    args text;
BEGIN
    IF rel IS NULL OR exclude_columns IS NULL THEN
        RAISE EXCEPTION 'arguments of audit_table() must not be null' USING ERRCODE = '22004';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = rel) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = '42809';
    END IF;
    IF NOT tenantguard._invoker_owns(rel) THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = '42501';
    END IF;
    SELECT x INTO bad FROM unnest(exclude_columns) x
     WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = rel AND a.attname = x AND a.attnum > 0 AND NOT a.attisdropped)
     LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', bad, rel USING ERRCODE = '42703';
    END IF;
    SELECT string_agg(quote_literal(x), ', ') INTO args FROM unnest(exclude_columns) x;
    PERFORM tenantguard._guard_bypass(true);
    IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = rel AND t.tgname = 'tenantguard_audit_row') THEN
        EXECUTE format('DROP TRIGGER tenantguard_audit_row ON %s', rel);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = rel AND t.tgname = 'tenantguard_audit_truncate') THEN
        EXECUTE format('DROP TRIGGER tenantguard_audit_truncate ON %s', rel);
    END IF;
    EXECUTE format('CREATE TRIGGER tenantguard_audit_row AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION tenantguard_audit._row_trigger(%s)', rel, coalesce(args, ''));
    EXECUTE format('CREATE TRIGGER tenantguard_audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION tenantguard_audit._truncate_trigger()', rel);
    PERFORM tenantguard._guard_bypass(false);
    INSERT INTO tenantguard_audit.audited_tables (rel, exclude_columns) VALUES (rel, exclude_columns)
    ON CONFLICT ON CONSTRAINT audited_tables_pkey
    DO UPDATE SET exclude_columns = EXCLUDED.exclude_columns, audited_at = now(), audited_by = session_user;
    PERFORM tenantguard_audit._record('policy', 'audit_table', rel::text, 'allow', NULL,
                                      jsonb_build_object('exclude_columns', exclude_columns));
END
$$;

CREATE FUNCTION tenantguard.unaudit_table(rel regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT tenantguard._invoker_owns(rel) THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = '42501';
    END IF;
    PERFORM tenantguard._guard_bypass(true);
    EXECUTE format('DROP TRIGGER IF EXISTS tenantguard_audit_row ON %s', rel);
    EXECUTE format('DROP TRIGGER IF EXISTS tenantguard_audit_truncate ON %s', rel);
    PERFORM tenantguard._guard_bypass(false);
    DELETE FROM tenantguard_audit.audited_tables a WHERE a.rel = unaudit_table.rel;
    PERFORM tenantguard_audit._record('policy', 'unaudit_table', rel::text);
END
$$;
GRANT EXECUTE ON FUNCTION tenantguard.audit_table(regclass, name[]), tenantguard.unaudit_table(regclass) TO PUBLIC;

-- Sealing and verification
CREATE FUNCTION tenantguard_audit.seal() RETURNS bigint
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_seal_sql';
COMMENT ON FUNCTION tenantguard_audit.seal() IS 'Seal committed events into a new signed block; returns the number of events sealed.';

CREATE FUNCTION tenantguard_audit.verify(tenant uuid DEFAULT NULL,
    OUT ok boolean, OUT events_checked bigint, OUT blocks_checked bigint,
    OUT first_bad_event bigint, OUT problem text)
    RETURNS SETOF record
    LANGUAGE C STABLE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_verify_sql';

CREATE FUNCTION tenantguard_audit.public_key() RETURNS text
    LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_public_key';

CREATE FUNCTION tenantguard_audit._verify_chain_to(block_id bigint, block_hash bytea) RETURNS boolean
    LANGUAGE C STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_verify_chain_to';

CREATE FUNCTION tenantguard_audit.digest() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT jsonb_build_object(
               'block_id', b.id,
               'block_hash', encode(b.block_hash, 'hex'),
               'signature', translate(encode(b.signature, 'base64'), E'\n', ''),
               'to_xid', b.to_xid::text,
               'event_count', b.event_count,
               'sealed_at', b.sealed_at,
               'public_key', (SELECT translate(encode(k.public_key, 'base64'), E'\n', '') FROM tenantguard_audit.signing_keys k
                               WHERE k.first_block <= b.id ORDER BY k.id DESC LIMIT 1))
      FROM tenantguard_audit.blocks b
     ORDER BY b.id DESC
     LIMIT 1
$$;

CREATE FUNCTION tenantguard_audit.verify_digest(digest jsonb) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    bid bigint;
    bhash bytea;
BEGIN
    IF digest IS NULL THEN
        RAISE EXCEPTION 'digest must not be null' USING ERRCODE = '22004';
    END IF;
    BEGIN
        bid := (digest->>'block_id')::bigint;
        bhash := decode(digest->>'block_hash', 'hex');
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'malformed audit digest' USING ERRCODE = '22023',
            HINT = 'Pass a value returned by tenantguard_audit.digest().';
    END;
    IF bid IS NULL OR bhash IS NULL OR length(bhash) <> 32 THEN
        RAISE EXCEPTION 'malformed audit digest' USING ERRCODE = '22023',
            HINT = 'Pass a value returned by tenantguard_audit.digest().';
    END IF;
    RETURN tenantguard_audit._verify_chain_to(bid, bhash);
END
$$;

REVOKE ALL ON FUNCTION tenantguard_audit.seal(), tenantguard_audit.verify(uuid),
    tenantguard_audit.public_key(), tenantguard_audit._verify_chain_to(bigint, bytea),
    tenantguard_audit.digest(), tenantguard_audit.verify_digest(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard_audit.seal(), tenantguard_audit.verify(uuid),
    tenantguard_audit.public_key(), tenantguard_audit.digest(),
    tenantguard_audit.verify_digest(jsonb) TO tenantguard_auditor, tenantguard_admin;

-- After a restore into a cluster whose transaction counter is behind the
-- ledger, advance the counter past the newest block (one transaction per id).
CREATE PROCEDURE tenantguard_audit.catch_up()
    LANGUAGE plpgsql
    AS $$
DECLARE
    target xid8;
BEGIN
    SELECT max(b.to_xid) INTO target FROM tenantguard_audit.blocks b;
    IF target IS NULL THEN
        RETURN;
    END IF;
    WHILE pg_catalog.pg_current_xact_id() < target LOOP
        COMMIT;
    END LOOP;
END
$$;
REVOKE ALL ON PROCEDURE tenantguard_audit.catch_up() FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE tenantguard_audit.catch_up() TO tenantguard_admin;

-- Ready-made views for the common questions (they inherit the table's visibility).
CREATE VIEW tenantguard_audit.auth_events WITH (security_invoker = true) AS
    SELECT id, occurred_at, tenant_id, action, principal, db_user, decision, reason, client_addr, application_name, details
      FROM tenantguard_audit.events WHERE category IN ('auth', 'context', 'enrollment');
CREATE VIEW tenantguard_audit.data_changes WITH (security_invoker = true) AS
    SELECT id, occurred_at, tenant_id, object, action, principal, db_user, old_row, new_row, txid
      FROM tenantguard_audit.events WHERE category = 'data';
CREATE VIEW tenantguard_audit.secret_access WITH (security_invoker = true) AS
    SELECT id, occurred_at, tenant_id, action, object, principal, db_user, decision, reason, details
      FROM tenantguard_audit.events WHERE category = 'secret';
CREATE VIEW tenantguard_audit.policy_decisions WITH (security_invoker = true) AS
    SELECT id, occurred_at, tenant_id, category, action, object, principal, db_user, decision, reason, details
      FROM tenantguard_audit.events WHERE decision = 'deny' OR category = 'policy';
CREATE VIEW tenantguard_audit.admin_changes WITH (security_invoker = true) AS
    SELECT id, occurred_at, tenant_id, action, object, principal, db_user, details
      FROM tenantguard_audit.events WHERE category IN ('admin', 'ddl', 'policy');
GRANT SELECT ON tenantguard_audit.auth_events, tenantguard_audit.data_changes, tenantguard_audit.secret_access,
    tenantguard_audit.policy_decisions, tenantguard_audit.admin_changes
    TO tenantguard_auditor, tenantguard_app, tenantguard_admin;

-- ---------------------------------------------------------------------------
-- Encrypted secrets
-- ---------------------------------------------------------------------------

-- Data keys (purpose 'data', versioned) and the index key (purpose 'index'),
-- each wrapped by the master key. Never readable by applications.
CREATE TABLE tenantguard.data_keys (
    version       integer NOT NULL CHECK (version > 0),
    purpose       text NOT NULL CHECK (purpose IN ('data', 'index')),
    wrapped       bytea NOT NULL,
    master_key_id bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (purpose, version)
);
COMMENT ON TABLE tenantguard.data_keys IS 'Data keys wrapped by the master key; see docs/secrets.md.';
REVOKE ALL ON tenantguard.data_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('tenantguard.data_keys', '');
CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.data_keys FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();

CREATE VIEW tenantguard.key_versions AS
    SELECT version, purpose, created_at, encode(master_key_id, 'hex') AS master_key_id
      FROM tenantguard.data_keys;
COMMENT ON VIEW tenantguard.key_versions IS 'Key versions and the master key that wraps them (no key material).';
REVOKE ALL ON tenantguard.key_versions FROM PUBLIC;
GRANT SELECT ON tenantguard.key_versions TO tenantguard_admin;

CREATE TYPE tenantguard.secret;
CREATE FUNCTION tenantguard.secret_in(cstring) RETURNS tenantguard.secret
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_in';
CREATE FUNCTION tenantguard.secret_out(tenantguard.secret) RETURNS cstring
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_out';
CREATE FUNCTION tenantguard.secret_recv(internal) RETURNS tenantguard.secret
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_recv';
CREATE FUNCTION tenantguard.secret_send(tenantguard.secret) RETURNS bytea
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_send';
CREATE TYPE tenantguard.secret (
    INPUT = tenantguard.secret_in,
    OUTPUT = tenantguard.secret_out,
    RECEIVE = tenantguard.secret_recv,
    SEND = tenantguard.secret_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = external
);
COMMENT ON TYPE tenantguard.secret IS 'A value sealed for one tenant (XChaCha20-Poly1305); text form tgs1:<base64url>.';

CREATE FUNCTION tenantguard.seal(plaintext text) RETURNS tenantguard.secret
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_seal_text';
CREATE FUNCTION tenantguard.seal(plaintext bytea) RETURNS tenantguard.secret
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_seal_bytea';
CREATE FUNCTION tenantguard.reveal(s tenantguard.secret) RETURNS text
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_reveal_text';
CREATE FUNCTION tenantguard.reveal_bytea(s tenantguard.secret) RETURNS bytea
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_reveal_bytea';
CREATE FUNCTION tenantguard.blind_index(value text, purpose text DEFAULT 'default') RETURNS bytea
    LANGUAGE C STABLE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_blind_index_fn';
CREATE FUNCTION tenantguard.secret_key_version(s tenantguard.secret) RETURNS integer
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_key_version';
CREATE FUNCTION tenantguard.secret_tenant(s tenantguard.secret) RETURNS uuid
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_tenant';
-- Executable by anyone, refused outside reencrypt() (whose UPDATE runs as the
-- table's owner); it only re-encrypts a ciphertext for its own tenant.
CREATE FUNCTION tenantguard._reseal(s tenantguard.secret) RETURNS tenantguard.secret
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'tg_reseal';
CREATE FUNCTION tenantguard._newest_key_version() RETURNS integer
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_newest_key_version_fn';
CREATE FUNCTION tenantguard.rotate_data_key() RETURNS integer
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_rotate_data_key';
CREATE FUNCTION tenantguard.rewrap_keys(old_master_key_file text) RETURNS integer
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'tg_rewrap_keys';

REVOKE ALL ON FUNCTION tenantguard.seal(text), tenantguard.seal(bytea),
    tenantguard.reveal(tenantguard.secret), tenantguard.reveal_bytea(tenantguard.secret),
    tenantguard.blind_index(text, text),
    tenantguard._newest_key_version(), tenantguard.rotate_data_key(),
    tenantguard.rewrap_keys(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.seal(text), tenantguard.seal(bytea),
    tenantguard.reveal(tenantguard.secret), tenantguard.reveal_bytea(tenantguard.secret),
    tenantguard.blind_index(text, text)
    TO tenantguard_app, tenantguard_admin;
GRANT EXECUTE ON FUNCTION tenantguard.rotate_data_key() TO tenantguard_admin;

-- Rewrite a table's secret column to the newest data key, in batches. C, not
-- SECURITY DEFINER: the UPDATE runs as the table's owner (its triggers,
-- defaults and constraints are the owner's code), tenant by tenant for a
-- protected table; see tg_reencrypt in src/secrets.c.
CREATE FUNCTION tenantguard.reencrypt(rel regclass, col name, batch integer DEFAULT 1000,
                                      max_rows bigint DEFAULT NULL)
    RETURNS bigint
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_reencrypt';
COMMENT ON FUNCTION tenantguard.reencrypt(regclass, name, integer, bigint) IS
    'Re-seal a secret column under the newest data key; resumable (only stale rows are touched).';
REVOKE ALL ON FUNCTION tenantguard.reencrypt(regclass, name, integer, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.reencrypt(regclass, name, integer, bigint) TO tenantguard_admin;

-- ---------------------------------------------------------------------------
-- Vault: secrets by reference
-- The vault functions are SECURITY DEFINER so that they alone record their
-- audit events; every statement in them filters on the current tenant.
-- ---------------------------------------------------------------------------

CREATE FUNCTION tenantguard._secret_name_valid(name text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_name_valid_fn';

CREATE FUNCTION tenantguard._parse_ref(ref text,
    OUT slug text, OUT scope text, OUT name text, OUT version integer)
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_parse_ref';

CREATE TABLE tenantguard.vault (
    tenant_id  uuid NOT NULL,
    name       text NOT NULL CONSTRAINT vault_name_format CHECK (tenantguard._secret_name_valid(name)),
    scope      text NOT NULL DEFAULT 'default'
               CONSTRAINT vault_scope_format CHECK (tenantguard._secret_name_valid(scope)),
    value      tenantguard.secret NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by text NOT NULL DEFAULT coalesce(tenantguard.current_principal(), session_user::text),
    PRIMARY KEY (tenant_id, scope, name, version)
);
COMMENT ON TABLE tenantguard.vault IS 'Sealed secrets by name and version, isolated per tenant.';
SELECT tenantguard.protect('tenantguard.vault');
SELECT pg_catalog.pg_extension_config_dump('tenantguard.vault', '');
REVOKE ALL ON tenantguard.vault FROM PUBLIC;
GRANT SELECT ON tenantguard.vault TO tenantguard_app, tenantguard_admin;

-- The last version ever used per secret name: a version number is never
-- reused, even after delete_secret(), so an old reference never resolves to
-- a newer value.
CREATE TABLE tenantguard.vault_versions (
    tenant_id    uuid NOT NULL,
    scope        text NOT NULL,
    name         text NOT NULL,
    last_version integer NOT NULL,
    PRIMARY KEY (tenant_id, scope, name)
);
SELECT tenantguard.protect('tenantguard.vault_versions');
SELECT pg_catalog.pg_extension_config_dump('tenantguard.vault_versions', '');
REVOKE ALL ON tenantguard.vault_versions FROM PUBLIC;

CREATE VIEW tenantguard.secrets WITH (security_invoker = true) AS
    SELECT tenant_id, scope, name,
           max(version) AS latest_version,
           count(*) AS versions,
           min(created_at) AS created_at,
           max(created_at) AS updated_at,
           (array_agg(created_by ORDER BY version DESC))[1] AS updated_by
      FROM tenantguard.vault
     GROUP BY tenant_id, scope, name;
COMMENT ON VIEW tenantguard.secrets IS 'Vault metadata of the current tenant; never values.';
GRANT SELECT ON tenantguard.secrets TO tenantguard_app, tenantguard_admin;

CREATE FUNCTION tenantguard._vault_tenant() RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard.current_tenant();
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant context is set'
            USING ERRCODE = '42501', HINT = 'The vault is per tenant: enter a tenant first.';
    END IF;
    RETURN t;
END
$$;

CREATE FUNCTION tenantguard._check_secret_name(name text, scope text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF name IS NULL OR scope IS NULL THEN
        RAISE EXCEPTION 'secret name and scope must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT tenantguard._secret_name_valid(name) THEN
        RAISE EXCEPTION 'invalid secret name' USING ERRCODE = '22023',
            HINT = 'Use 1 to 128 letters, digits, "_", "." and "-".';
    END IF;
    IF NOT tenantguard._secret_name_valid(scope) THEN
        RAISE EXCEPTION 'invalid secret scope' USING ERRCODE = '22023',
            HINT = 'Use 1 to 128 letters, digits, "_", "." and "-".';
    END IF;
END
$$;

CREATE FUNCTION tenantguard.put_secret(name text, value text, scope text DEFAULT 'default')
    RETURNS integer
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._vault_tenant();
    v integer;
BEGIN
    PERFORM tenantguard._check_secret_name(name, scope);
    -- The upsert takes the row lock of (tenant, scope, name): concurrent
    -- writers of the same secret queue on it, so versions never collide, and
    -- no other tenant can take that lock (an advisory lock key could be
    -- computed, and held, by anyone).
    INSERT INTO tenantguard.vault_versions AS vv (tenant_id, scope, name, last_version)
    VALUES (t, scope, name, 1)
    ON CONFLICT ON CONSTRAINT vault_versions_pkey DO UPDATE SET last_version = vv.last_version + 1
    RETURNING vv.last_version INTO v;
    INSERT INTO tenantguard.vault (tenant_id, name, scope, value, version)
    VALUES (t, name, scope, tenantguard.seal(value), v);
    PERFORM tenantguard_audit._record('secret', 'secret.write', format('vault:%s/%s@%s', scope, name, v));
    RETURN v;
END
$$;

CREATE FUNCTION tenantguard.get_secret(name text, scope text DEFAULT 'default', version integer DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._vault_tenant();
    sealed tenantguard.secret;
    found_version integer;
BEGIN
    PERFORM tenantguard._check_secret_name(name, scope);
    SELECT s.value, s.version INTO sealed, found_version
      FROM tenantguard.vault s
     WHERE s.tenant_id = t AND s.scope = get_secret.scope AND s.name = get_secret.name
       AND (get_secret.version IS NULL OR s.version = get_secret.version)
     ORDER BY s.version DESC
     LIMIT 1;
    IF sealed IS NULL THEN
        IF get_secret.version IS NULL THEN
            RAISE EXCEPTION 'secret "%" does not exist in scope "%"', name, scope USING ERRCODE = '42704';
        END IF;
        RAISE EXCEPTION 'version % of secret "%" does not exist in scope "%"', version, name, scope
            USING ERRCODE = '42704';
    END IF;
    PERFORM tenantguard_audit._record('secret', 'secret.read', format('vault:%s/%s@%s', scope, name, found_version));
    RETURN tenantguard.reveal(sealed);
END
$$;

CREATE FUNCTION tenantguard.secret_ref(name text, scope text DEFAULT 'default') RETURNS text
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._vault_tenant();
    v integer;
BEGIN
    PERFORM tenantguard._check_secret_name(name, scope);
    SELECT max(s.version) INTO v FROM tenantguard.vault s
     WHERE s.tenant_id = t AND s.scope = secret_ref.scope AND s.name = secret_ref.name;
    IF v IS NULL THEN
        RAISE EXCEPTION 'secret "%" does not exist in scope "%"', name, scope USING ERRCODE = '42704';
    END IF;
    RETURN format('tgref:%s/%s/%s@%s', (SELECT w.tenant_slug FROM tenantguard.whoami() w), scope, name, v);
END
$$;

CREATE FUNCTION tenantguard.resolve_ref(ref text) RETURNS text
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._vault_tenant();
    r record;
BEGIN
    SELECT * INTO r FROM tenantguard._parse_ref(ref);
    IF r.slug IS DISTINCT FROM (SELECT w.tenant_slug FROM tenantguard.whoami() w) THEN
        RAISE EXCEPTION 'secret reference belongs to another tenant'
            USING ERRCODE = '42501',
                  HINT = 'A reference resolves only in the tenant that created it.';
    END IF;
    RETURN tenantguard.get_secret(r.name, r.scope, r.version);
END
$$;

CREATE FUNCTION tenantguard.delete_secret(name text, scope text DEFAULT 'default') RETURNS integer
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._vault_tenant();
    n integer;
BEGIN
    PERFORM tenantguard._check_secret_name(name, scope);
    DELETE FROM tenantguard.vault s
     WHERE s.tenant_id = t AND s.scope = delete_secret.scope AND s.name = delete_secret.name;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'secret "%" does not exist in scope "%"', name, scope USING ERRCODE = '42704';
    END IF;
    PERFORM tenantguard_audit._record('secret', 'secret.delete', format('vault:%s/%s', scope, name), 'allow', NULL,
                                      jsonb_build_object('versions', n));
    RETURN n;
END
$$;

REVOKE ALL ON FUNCTION tenantguard.put_secret(text, text, text), tenantguard.get_secret(text, text, integer),
    tenantguard.secret_ref(text, text), tenantguard.resolve_ref(text),
    tenantguard.delete_secret(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.put_secret(text, text, text), tenantguard.get_secret(text, text, integer),
    tenantguard.secret_ref(text, text), tenantguard.resolve_ref(text),
    tenantguard.delete_secret(text, text) TO tenantguard_app, tenantguard_admin;
