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
SELECT pg_catalog.pg_extension_config_dump('tenantguard.protected_registry', '');
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

-- The USING / WITH CHECK expression protect() gives a tenant column.
CREATE FUNCTION tenantguard._policy_expr(tenant_column name) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT format('(%I = tenantguard.current_tenant())', tenant_column) $$;

-- Protect one table (not its partitions); parent is set for partitions.
CREATE FUNCTION tenantguard._protect_one(rel regclass, tenant_column name, create_index boolean, parent regclass)
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
    IF NOT tenantguard._invoker_owns(rel) THEN
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
REVOKE ALL ON FUNCTION tenantguard._protect_one(regclass, name, boolean, regclass) FROM PUBLIC;

CREATE FUNCTION tenantguard.protect(rel regclass, tenant_column name DEFAULT 'tenant_id',
                                    create_index boolean DEFAULT true)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    part record;
BEGIN
    IF rel IS NULL OR tenant_column IS NULL OR create_index IS NULL THEN
        RAISE EXCEPTION 'arguments of protect() must not be null' USING ERRCODE = '22004';
    END IF;
    PERFORM tenantguard._protect_one(rel, tenant_column, create_index,
        (SELECT i.inhparent::regclass FROM pg_inherits i
           JOIN tenantguard.protected_registry r ON r.rel = i.inhparent
          WHERE i.inhrelid = protect.rel));
    -- every partition, at every level
    FOR part IN
        WITH RECURSIVE tree(relid, parent) AS (
            SELECT i.inhrelid, i.inhparent FROM pg_inherits i WHERE i.inhparent = rel
            UNION ALL
            SELECT i.inhrelid, i.inhparent FROM pg_inherits i JOIN tree t ON i.inhparent = t.relid)
        SELECT relid::regclass AS relid, parent::regclass AS parent FROM tree
    LOOP
        PERFORM tenantguard._protect_one(part.relid, tenant_column, create_index, part.parent);
    END LOOP;
END
$$;
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
        IF part.created_index IS NOT NULL AND part.rel <> rel THEN
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
    IF NOT pg_has_role((SELECT nspowner FROM pg_namespace WHERE oid = nsp), 'USAGE')
       AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
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
        PERFORM tenantguard.protect(t.rel, tenant_column);
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
            PERFORM tenantguard.protect(cmd.objid::regclass, par.tenant_column);
            CONTINUE;
        END IF;
        SELECT s.tenant_column INTO sch
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN tenantguard.protected_schemas s ON s.schema_name = n.nspname
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = s.tenant_column AND NOT a.attisdropped
         WHERE c.oid = cmd.objid AND NOT c.relispartition AND a.atttypid = 'uuid'::regtype;
        IF FOUND THEN
            PERFORM tenantguard.protect(cmd.objid::regclass, sch.tenant_column);
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
    -- 6. views over protected tables without security_invoker
    SELECT CASE WHEN o.rolsuper OR o.rolbypassrls THEN 'error' ELSE 'warning' END,
           v.oid::regclass::text,
           format('view reads protected table %s with its owner''s rights (no security_invoker)%s',
                  p.rel, CASE WHEN o.rolsuper OR o.rolbypassrls
                              THEN format('; owner %s bypasses row level security, so every tenant is visible', o.rolname)
                              ELSE '' END),
           format('ALTER VIEW %s SET (security_invoker = on);', v.oid::regclass)
      FROM pg_class v
      JOIN pg_roles o ON o.oid = v.relowner
      JOIN pg_rewrite rw ON rw.ev_class = v.oid AND rw.rulename = '_RETURN'
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
      JOIN prot p ON p.relid = d.refobjid
     WHERE v.relkind IN ('v', 'm')
       AND (v.relkind = 'm' OR NOT coalesce(v.reloptions @> ARRAY['security_invoker=true']
                                            OR v.reloptions @> ARRAY['security_invoker=on']
                                            OR v.reloptions @> ARRAY['security_invoker=1'], false))
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
)
SELECT severity, object, finding, fix FROM findings
 ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, object, finding
$report$;
COMMENT ON FUNCTION tenantguard.isolation_report() IS 'Lint for isolation holes; an empty result means no finding.';
REVOKE ALL ON FUNCTION tenantguard.isolation_report() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.isolation_report() TO tenantguard_admin, tenantguard_auditor;
