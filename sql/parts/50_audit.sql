-- 50_audit: the tamper-evident audit ledger in schema tenantguard_audit:
-- events hashed at insert, sealed into hash-chained signed blocks, verified;
-- row auditing with audit_table(), application events with audit_log().

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
-- Indexes: every one costs each event an insert (see docs/performance.md).
-- A tenant's events in order: (tenant_id, id); the sealer's and verifier's
-- transaction id ranges: (txid) (xid8 has no BRIN operator class); time
-- ranges follow insertion order, so a BRIN index serves them at almost no
-- cost per event. Auditors who often filter by principal or object add their
-- own index (docs/audit.md, "Indexes and query plans").
CREATE INDEX events_tenant_id_idx ON tenantguard_audit.events (tenant_id, id);
CREATE INDEX events_txid_idx ON tenantguard_audit.events (txid);
CREATE INDEX events_time_brin ON tenantguard_audit.events USING brin (occurred_at);

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

-- Refuse UPDATE, DELETE and TRUNCATE of the ledger's tables.
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

-- Visibility: auditors read everything; inside a tenant, principals with
-- permission audit.read read that tenant's events; everyone else reads nothing.
-- C, not SQL: a SQL function here would be inlined into the policy and its
-- operators resolved through the querying role's search_path. Parallel
-- restricted: its decision is audited once per statement (src/authz.c).
CREATE FUNCTION tenantguard_audit._can_read_tenant(tenant uuid) RETURNS boolean
    LANGUAGE C STABLE PARALLEL RESTRICTED
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

-- Record an application event; actor, tenant and time come from the context.
CREATE FUNCTION tenantguard.audit_log(action text, object text DEFAULT NULL, details jsonb DEFAULT '{}')
    RETURNS void
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_log';
COMMENT ON FUNCTION tenantguard.audit_log(text, text, jsonb) IS 'Record an application event; actor, tenant and time come from the context.';
REVOKE ALL ON FUNCTION tenantguard.audit_log(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.audit_log(text, text, jsonb) TO tenantguard_app, tenantguard_admin;

-- The triggers audit_table() installs write events with a direct heap insert
-- (no privilege check), so they need no SECURITY DEFINER.
-- Record an audited table's inserted, updated and deleted rows.
CREATE FUNCTION tenantguard_audit._row_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'tg_audit_row_trigger';
-- Record a TRUNCATE of an audited table.
CREATE FUNCTION tenantguard_audit._truncate_trigger() RETURNS trigger
    LANGUAGE C
    AS 'MODULE_PATHNAME', 'tg_audit_truncate_trigger';

-- Record every row change of a table (minus excluded columns) in the ledger.
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
        RAISE EXCEPTION 'arguments of audit_table() must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = rel) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    IF NOT tenantguard._invoker_owns(rel) THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT x INTO bad FROM unnest(exclude_columns) x
     WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = rel AND a.attname = x AND a.attnum > 0 AND NOT a.attisdropped)
     LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', bad, rel USING ERRCODE = 'undefined_column';
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

-- Stop recording a table's row changes.
CREATE FUNCTION tenantguard.unaudit_table(rel regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT tenantguard._invoker_owns(rel) THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = 'insufficient_privilege';
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

-- Seal committed events into a new signed block; returns the number of events sealed.
CREATE FUNCTION tenantguard_audit.seal() RETURNS bigint
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_seal_sql';
COMMENT ON FUNCTION tenantguard_audit.seal() IS 'Seal committed events into a new signed block; returns the number of events sealed.';

-- Recompute every event hash, block link and signature; one row saying ok or the problem.
CREATE FUNCTION tenantguard_audit.verify(tenant uuid DEFAULT NULL,
    OUT ok boolean, OUT events_checked bigint, OUT blocks_checked bigint,
    OUT first_bad_event bigint, OUT problem text)
    RETURNS SETOF record
    LANGUAGE C STABLE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_verify_sql';

-- The current ledger signing public key (Ed25519, base64).
CREATE FUNCTION tenantguard_audit.public_key() RETURNS text
    LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_public_key';

-- Do blocks 1 to block_id verify, ending in this block hash? (for verify_digest)
CREATE FUNCTION tenantguard_audit._verify_chain_to(block_id bigint, block_hash bytea) RETURNS boolean
    LANGUAGE C STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_audit_verify_chain_to';

-- The newest block's id, hash and signature, to keep outside the database.
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

-- Does the ledger still contain, unchanged, the block a kept digest names?
CREATE FUNCTION tenantguard_audit.verify_digest(digest jsonb) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    bid bigint;
    bhash bytea;
BEGIN
    IF digest IS NULL THEN
        RAISE EXCEPTION 'digest must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    BEGIN
        bid := (digest->>'block_id')::bigint;
        bhash := decode(digest->>'block_hash', 'hex');
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'malformed audit digest' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass a value returned by tenantguard_audit.digest().';
    END;
    IF bid IS NULL OR bhash IS NULL OR length(bhash) <> 32 THEN
        RAISE EXCEPTION 'malformed audit digest' USING ERRCODE = 'invalid_parameter_value',
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

