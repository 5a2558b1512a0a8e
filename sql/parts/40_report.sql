-- 40_report: isolation_report(), the linter that lists what row-level
-- security leaves open, with a severity and the SQL that fixes each finding.

-- Lint for isolation holes: one row per finding, with its severity and fix.
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
       -- tenantguard's own cache invalidation (a statement trigger that reads no row)
       AND NOT (t.tgname = 'tenantguard_invalidate'
                AND t.tgfoid IN (SELECT f.oid FROM pg_proc f JOIN pg_namespace fn ON fn.oid = f.pronamespace
                                  WHERE fn.nspname = 'tenantguard' AND f.proname = '_invalidate_cache'))
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

