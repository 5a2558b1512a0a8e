-- 60_secrets: encrypted secrets: wrapped data keys, the tenantguard.secret
-- type, seal() / reveal() bound to the current tenant, blind indexes,
-- rotation and re-encryption.

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
-- Text input of tenantguard.secret (tgs1:<base64url>).
CREATE FUNCTION tenantguard.secret_in(cstring) RETURNS tenantguard.secret
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_in';
-- Text output of tenantguard.secret (tgs1:<base64url>, ciphertext only).
CREATE FUNCTION tenantguard.secret_out(tenantguard.secret) RETURNS cstring
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_out';
-- Binary input of tenantguard.secret.
CREATE FUNCTION tenantguard.secret_recv(internal) RETURNS tenantguard.secret
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_recv';
-- Binary output of tenantguard.secret.
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

-- Seal text for the current tenant under the newest data key.
CREATE FUNCTION tenantguard.seal(plaintext text) RETURNS tenantguard.secret
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_seal_text';
-- Seal bytes for the current tenant under the newest data key.
CREATE FUNCTION tenantguard.seal(plaintext bytea) RETURNS tenantguard.secret
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_seal_bytea';
-- Open a secret sealed for the current tenant, as text.
CREATE FUNCTION tenantguard.reveal(s tenantguard.secret) RETURNS text
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_reveal_text';
-- Open a secret sealed for the current tenant, as bytes.
CREATE FUNCTION tenantguard.reveal_bytea(s tenantguard.secret) RETURNS bytea
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_reveal_bytea';
-- A keyed hash of a value for equality lookups, per tenant and purpose.
CREATE FUNCTION tenantguard.blind_index(value text, purpose text DEFAULT 'default') RETURNS bytea
    LANGUAGE C STABLE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tg_blind_index_fn';
-- The data key version a secret is sealed under (no key needed).
CREATE FUNCTION tenantguard.secret_key_version(s tenantguard.secret) RETURNS integer
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_key_version';
-- The tenant a secret is sealed for (no key needed).
CREATE FUNCTION tenantguard.secret_tenant(s tenantguard.secret) RETURNS uuid
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'tg_secret_tenant';
-- Re-seal a secret under the newest data key, for reencrypt().
-- Executable by anyone, refused outside reencrypt() (whose UPDATE runs as the
-- table's owner); it only re-encrypts a ciphertext for its own tenant.
CREATE FUNCTION tenantguard._reseal(s tenantguard.secret) RETURNS tenantguard.secret
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'tg_reseal';
-- The data key version new seals use (creates version 1 when there is none).
CREATE FUNCTION tenantguard._newest_key_version() RETURNS integer
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_newest_key_version_fn';
-- Create the next data key version, wrapped by the master key; returns its number.
CREATE FUNCTION tenantguard.rotate_data_key() RETURNS integer
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_rotate_data_key';
-- After a master key replacement: re-wrap every stored key from the old master key.
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
-- protected table; see tg_reencrypt in src/key_admin.c.
CREATE FUNCTION tenantguard.reencrypt(rel regclass, col name, batch integer DEFAULT 1000,
                                      max_rows bigint DEFAULT NULL)
    RETURNS bigint
    LANGUAGE C VOLATILE
    AS 'MODULE_PATHNAME', 'tg_reencrypt';
COMMENT ON FUNCTION tenantguard.reencrypt(regclass, name, integer, bigint) IS
    'Re-seal a secret column under the newest data key; resumable (only stale rows are touched).';
REVOKE ALL ON FUNCTION tenantguard.reencrypt(regclass, name, integer, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.reencrypt(regclass, name, integer, bigint) TO tenantguard_admin;

