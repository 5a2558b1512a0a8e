-- 70_vault: secrets by reference: the vault table (protected per tenant),
-- put_secret / get_secret / secret_ref / resolve_ref / delete_secret.
-- The vault functions are SECURITY DEFINER so that they alone record their
-- audit events; every statement in them filters on the current tenant.
-- Permissions: secrets.write on vault/<scope>/<name> for put_secret() and
-- delete_secret(), secrets.read for get_secret() and resolve_ref() (checked
-- again by the reveal itself).

-- Is this a valid secret name or scope (1 to 128 of [A-Za-z0-9_.-], not . or ..)?
CREATE FUNCTION tenantguard._secret_name_valid(name text) RETURNS boolean
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_name_valid_fn';

-- Split a reference tgref:<slug>/<scope>/<name>@<version> into its parts (22023 when malformed).
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

-- The current tenant, or 42501 when there is no context (the vault is per tenant).
CREATE FUNCTION tenantguard._vault_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._context_tenant('The vault is per tenant: enter a tenant first.') $$;

-- Refuse a NULL or invalid secret name or scope (22004, 22023).
CREATE FUNCTION tenantguard._check_secret_name(name text, scope text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF name IS NULL OR scope IS NULL THEN
        RAISE EXCEPTION 'secret name and scope must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT tenantguard._secret_name_valid(name) THEN
        RAISE EXCEPTION 'invalid secret name' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use 1 to 128 letters, digits, "_", "." and "-".';
    END IF;
    IF NOT tenantguard._secret_name_valid(scope) THEN
        RAISE EXCEPTION 'invalid secret scope' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use 1 to 128 letters, digits, "_", "." and "-".';
    END IF;
END
$$;

-- Store a new version of a named secret, sealed; returns the version number.
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
    PERFORM tenantguard.require('secrets.write', format('vault/%s/%s', scope, name));
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

-- reveal() of a vault entry, its audit event named by the entry
-- (vault:<scope>/<name>@<version>). Not granted to anyone: only the vault's
-- SECURITY DEFINER functions name reveals after vault entries.
CREATE FUNCTION tenantguard._reveal_vault(s tenantguard.secret, scope text, name text, version integer)
    RETURNS text
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_reveal_vault';
REVOKE ALL ON FUNCTION tenantguard._reveal_vault(tenantguard.secret, text, text, integer) FROM PUBLIC;

-- Reveal a named secret, its newest version or the one asked for. Its
-- audit event is the reveal's, named by the entry: one per statement and
-- entry, with the count.
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
    -- before the lookup: whether a secret exists is not told to who may not read it
    PERFORM tenantguard.require('secrets.read', format('vault/%s/%s', scope, name));
    SELECT s.value, s.version INTO sealed, found_version
      FROM tenantguard.vault s
     WHERE s.tenant_id = t AND s.scope = get_secret.scope AND s.name = get_secret.name
       AND (get_secret.version IS NULL OR s.version = get_secret.version)
     ORDER BY s.version DESC
     LIMIT 1;
    IF sealed IS NULL THEN
        IF get_secret.version IS NULL THEN
            RAISE EXCEPTION 'secret "%" does not exist in scope "%"', name, scope USING ERRCODE = 'undefined_object';
        END IF;
        RAISE EXCEPTION 'version % of secret "%" does not exist in scope "%"', version, name, scope
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN tenantguard._reveal_vault(sealed, scope, name, found_version);
END
$$;

-- A reference to the newest version of a named secret, to store instead of the value.
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
        RAISE EXCEPTION 'secret "%" does not exist in scope "%"', name, scope USING ERRCODE = 'undefined_object';
    END IF;
    RETURN format('tgref:%s/%s/%s@%s', (SELECT w.tenant_slug FROM tenantguard.whoami() w), scope, name, v);
END
$$;

-- Reveal the secret a reference names, in the tenant that created it only.
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
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A reference resolves only in the tenant that created it.';
    END IF;
    RETURN tenantguard.get_secret(r.name, r.scope, r.version);
END
$$;

-- Delete every version of a named secret; returns how many (versions are not reused).
CREATE FUNCTION tenantguard.delete_secret(name text, scope text DEFAULT 'default') RETURNS integer
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._vault_tenant();
    n integer;
BEGIN
    PERFORM tenantguard._check_secret_name(name, scope);
    PERFORM tenantguard.require('secrets.write', format('vault/%s/%s', scope, name));
    DELETE FROM tenantguard.vault s
     WHERE s.tenant_id = t AND s.scope = delete_secret.scope AND s.name = delete_secret.name;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'secret "%" does not exist in scope "%"', name, scope USING ERRCODE = 'undefined_object';
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
