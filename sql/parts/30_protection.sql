-- 30_protection: protect() and its registry, protect_schema(), unprotect(),
-- the helpers the DDL guard and protect() share, and the event triggers that
-- protect new partitions and tables of protected schemas.

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

SELECT pg_catalog.pg_extension_config_dump('tenantguard.protected_registry',
    'WHERE rel::text NOT LIKE ''tenantguard.%''');
SELECT pg_catalog.pg_extension_config_dump('tenantguard.protected_schemas', '');

CREATE TRIGGER tenantguard_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenantguard.protected_registry FOR EACH STATEMENT EXECUTE FUNCTION tenantguard._invalidate_cache();

REVOKE ALL ON tenantguard.protected_registry, tenantguard.protected_schemas FROM PUBLIC;
GRANT SELECT ON tenantguard.protected_registry, tenantguard.protected_schemas TO tenantguard_admin;

CREATE VIEW tenantguard.protected_tables AS
    SELECT rel, tenant_column, protected_at, protected_by
      FROM tenantguard.protected_registry;
COMMENT ON VIEW tenantguard.protected_tables IS 'Tables protected by tenantguard.protect().';
GRANT SELECT ON tenantguard.protected_tables TO PUBLIC;

-- Let tenantguard's own DDL past the DDL guard, until switched off again.
CREATE FUNCTION tenantguard._guard_bypass(on_off boolean) RETURNS void
    LANGUAGE C VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'tg_guard_bypass';
REVOKE ALL ON FUNCTION tenantguard._guard_bypass(boolean) FROM PUBLIC;

-- Does the calling role (not the definer) own this table?
CREATE FUNCTION tenantguard._invoker_owns(rel regclass) RETURNS boolean
    LANGUAGE C STABLE STRICT
    AS 'MODULE_PATHNAME', 'tg_invoker_owns';
REVOKE ALL ON FUNCTION tenantguard._invoker_owns(regclass) FROM PUBLIC;
-- Does the calling role (not the definer) own this schema?
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

-- Citus: is rel distributed by the column col? false without Citus, for
-- reference tables and for other distribution columns. Citus refuses ALTER
-- COLUMN ... SET/DROP DEFAULT and DROP NOT NULL on a distribution column.
CREATE FUNCTION tenantguard._citus_distributed_by(rel regclass, col name) RETURNS boolean
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    found boolean;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                             WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1 AND p.partkey IS NOT NULL
                               AND pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) OPERATOR(pg_catalog.=) $2)'
       INTO found USING rel::oid, col::text;
    RETURN found;
END
$$;
REVOKE ALL ON FUNCTION tenantguard._citus_distributed_by(regclass, name) FROM PUBLIC;

-- Citus: run "ALTER TABLE rel <action>" on the distribution column of a
-- distributed table, which Citus' DDL propagation refuses: on this node with
-- propagation off (in the transaction), then on the shell tables of the nodes
-- with metadata and on every shard placement, as Citus documents for DDL it
-- does not propagate itself. The remote part runs over connections of its own
-- and commits by itself, so callers run it before any DDL that Citus
-- propagates in the transaction (it would wait for that DDL's locks on the
-- shards until lock_timeout, 5 s when unset, and fail); it is idempotent. Each
-- remote command is one statement (Citus reports only the first result of a
-- multi-statement string). A failure on any node is an error.
CREATE FUNCTION tenantguard._citus_alter_distribution_column(rel regclass, action text) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    prev text := pg_catalog.current_setting('citus.enable_ddl_propagation');
    wait text := pg_catalog.current_setting('lock_timeout');
    prologue text;
    r record;
BEGIN
    PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
    EXECUTE format('ALTER TABLE %s %s', rel, action);
    PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', prev, true);

    prologue := format('DO $tg_citus$ BEGIN SET LOCAL lock_timeout = %L; SET LOCAL citus.enable_ddl_propagation = off; ',
                       CASE WHEN wait IN ('0', '') THEN '5s' ELSE wait END);
    FOR r IN EXECUTE 'SELECT w.nodename || '':'' || w.nodeport AS node, w.success, w.result
                        FROM pg_catalog.run_command_on_workers($1) w'
             USING prologue || format('EXECUTE %L; END $tg_citus$', format('ALTER TABLE IF EXISTS %s %s', rel, action))
    LOOP
        IF NOT r.success THEN
            RAISE EXCEPTION 'could not change the tenant column of % on node %', rel, r.node
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = r.result,
                      HINT = 'Call it again once every node is reachable, in a transaction that has not changed the table yet.';
        END IF;
    END LOOP;
    -- Citus puts each placement's (quoted, qualified) name where the one %s
    -- is left, so every other % is doubled; the name arrives dollar-quoted
    FOR r IN EXECUTE 'SELECT p.nodename || '':'' || p.nodeport AS node, p.shardid, p.success, p.result
                        FROM pg_catalog.run_command_on_placements($1, $2) p'
             USING rel, replace(prologue || format('EXECUTE pg_catalog.format(%L, $tg_rel$',
                                                   'ALTER TABLE %s ' || replace(action, '%', '%%')), '%', '%%')
                        || '%s$tg_rel$::pg_catalog.regclass); END $tg_citus$'
    LOOP
        IF NOT r.success THEN
            RAISE EXCEPTION 'could not change the tenant column of shard % of % on node %', r.shardid, rel, r.node
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = r.result,
                      HINT = 'Call it again once every node is reachable, in a transaction that has not changed the table yet.';
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION tenantguard._citus_alter_distribution_column(regclass, text) FROM PUBLIC;

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
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    IF check_owner AND NOT tenantguard._invoker_owns(rel) THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT a.attnum, a.atttypid, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def
      INTO att
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = rel AND a.attname = tenant_column AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', tenant_column, rel
            USING ERRCODE = 'undefined_column',
                  HINT = 'Pass the tenant column: tenantguard.protect(rel, tenant_column => ''...'').';
    END IF;
    IF att.atttypid <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'tenant column "%" of % must be of type uuid', tenant_column, rel
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = format('It is of type %s.', format_type(att.atttypid, NULL));
    END IF;

    SELECT * INTO reg FROM tenantguard.protected_registry r WHERE r.rel = _protect_one.rel;
    registered := FOUND;
    IF registered AND reg.tenant_column <> tenant_column THEN
        RAISE EXCEPTION '% is already protected on column "%"', rel, reg.tenant_column
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Call tenantguard.unprotect() first to change the tenant column.';
    END IF;

    PERFORM tenantguard._guard_bypass(true);
    IF NOT registered THEN
        INSERT INTO tenantguard.protected_registry
            (rel, tenant_column, parent, prev_rls_enabled, prev_rls_forced, prev_not_null, prev_default)
        VALUES (rel, tenant_column, parent, cls.relrowsecurity, cls.relforcerowsecurity,
                att.attnotnull, att.def);
    END IF;

    IF tenantguard._citus_distributed_by(rel, tenant_column) THEN
        -- first (its remote part must not wait for the locks of the DDL
        -- below), and every time: it repairs the workers after a
        -- rolled-back unprotect(), whose remote part had committed. Not for
        -- a partition that has both already: its parent's change recursed
        -- into it on every node, and the parent's DDL now locks its shards.
        IF parent IS NULL OR NOT (att.attnotnull AND att.def IS NOT DISTINCT FROM 'tenantguard.current_tenant()') THEN
            PERFORM tenantguard._citus_alter_distribution_column(rel,
                format('ALTER COLUMN %1$I SET DEFAULT tenantguard.current_tenant(), ALTER COLUMN %1$I SET NOT NULL',
                       tenant_column));
        END IF;
    ELSE
        IF NOT att.attnotnull THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', rel, tenant_column);
        END IF;
        IF att.def IS DISTINCT FROM 'tenantguard.current_tenant()' THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT tenantguard.current_tenant()', rel, tenant_column);
        END IF;
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
        RAISE EXCEPTION 'arguments of protect() must not be null' USING ERRCODE = 'null_value_not_allowed';
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

-- Isolate a table and its partitions by tenant (see _protect_tree).
CREATE FUNCTION tenantguard.protect(rel regclass, tenant_column name DEFAULT 'tenant_id',
                                    create_index boolean DEFAULT true)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._protect_tree(rel, tenant_column, create_index, true) $$;
COMMENT ON FUNCTION tenantguard.protect(regclass, name, boolean) IS 'Isolate a table by tenant: NOT NULL default, forced RLS, policy, index; partitions too.';

-- Undo exactly what protect() did to a table and its partitions.
CREATE FUNCTION tenantguard.unprotect(rel regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    part record;
    citus boolean;
BEGIN
    SELECT * INTO reg FROM tenantguard.protected_registry r WHERE r.rel = unprotect.rel;
    IF NOT FOUND THEN
        RAISE NOTICE '% is not protected', rel;
        RETURN;
    END IF;
    IF NOT tenantguard._invoker_owns(rel) THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_inherits i JOIN tenantguard.protected_registry r ON r.rel = i.inhparent
                WHERE i.inhrelid = unprotect.rel) THEN
        RAISE EXCEPTION '% is a partition of a protected table', rel
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Unprotect the partitioned table instead; its partitions follow.';
    END IF;

    PERFORM tenantguard._guard_bypass(true);
    -- a Citus distribution column's changes first, for their remote part
    citus := tenantguard._citus_distributed_by(rel, reg.tenant_column);
    IF citus THEN
        PERFORM tenantguard._citus_alter_distribution_column(rel,
            CASE WHEN reg.prev_default IS NULL
                 THEN format('ALTER COLUMN %I DROP DEFAULT', reg.tenant_column)
                 ELSE format('ALTER COLUMN %I SET DEFAULT %s', reg.tenant_column, reg.prev_default) END
            || CASE WHEN reg.prev_not_null THEN ''
                    ELSE format(', ALTER COLUMN %I DROP NOT NULL', reg.tenant_column) END);
    END IF;
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
    IF NOT citus THEN
        IF reg.prev_default IS NULL THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', rel, reg.tenant_column);
        ELSE
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', rel, reg.tenant_column, reg.prev_default);
        END IF;
        IF NOT reg.prev_not_null THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', rel, reg.tenant_column);
        END IF;
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

-- Protect a schema's tables with the tenant column, now and when created later.
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
        RAISE EXCEPTION 'arguments of protect_schema() must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT oid INTO nsp FROM pg_namespace WHERE nspname = schema;
    IF nsp IS NULL THEN
        RAISE EXCEPTION 'schema "%" does not exist', schema USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF NOT tenantguard._invoker_owns_schema(schema) THEN
        RAISE EXCEPTION 'must be owner of schema %', schema USING ERRCODE = 'insufficient_privilege';
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

