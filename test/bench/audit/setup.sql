-- tenantguard audit benchmark: data set and roles (superuser, fresh database).
-- psql variable: rows (pre-loaded rows per tenant in every items_* table).
--
-- Two tenants, and a login role bound to each (bench_t1, bench_t2: members
-- of tenantguard_app, never superuser): a bound role is in its tenant from
-- the first statement, with no per-transaction set_tenant() (which would
-- itself write an audit event).
--
-- Four physically identical, tenantguard-protected tables per workload,
-- differing only in how they are audited:
--   *_plain    not audited (baseline)
--   *_tg       tenantguard.audit_table()
--   *_plpgsql  a PL/pgSQL AFTER ROW trigger writing to_jsonb(OLD)/to_jsonb(NEW)
--              into bench.plpgsql_audit (SECURITY DEFINER, pinned search_path,
--              like tenantguard's own trigger)
--   *_pgaudit  pgaudit object logging: pgaudit.role = 'auditor' and the
--              auditor holds INSERT, UPDATE on the table; one line per
--              statement in the server log
-- bulk_plpgsqlix: the PL/pgSQL trigger again, into bench.plpgsql_audit_ix,
--              which carries the same five btree indexes as
--              tenantguard_audit.events (a like-for-like reference; bulk only)
-- items_*: pgbench single-row INSERT and UPDATE (tenant 1 owns ids 1..rows,
-- tenant 2 ids rows+1..2*rows). bulk_*: the timed INSERT ... SELECT (emptied
-- before every run).
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS tenantguard;
CREATE EXTENSION IF NOT EXISTS pgaudit;

SELECT tenantguard.create_tenant('bench-a', 'audit benchmark tenant A') AS t1 \gset
SELECT tenantguard.create_tenant('bench-b', 'audit benchmark tenant B') AS t2 \gset

CREATE ROLE auditor NOLOGIN;
CREATE ROLE bench_t1 LOGIN IN ROLE tenantguard_app;
CREATE ROLE bench_t2 LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.bind_role('bench_t1', :'t1');
SELECT tenantguard.bind_role('bench_t2', :'t2');

CREATE SCHEMA bench;
GRANT USAGE ON SCHEMA bench TO tenantguard_app;

-- Backend CPU time (ns) of the calling backend (see test/bench/secrets/setup.sql).
CREATE FUNCTION bench.cpu_ns() RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;
GRANT EXECUTE ON FUNCTION bench.cpu_ns() TO tenantguard_app;

-- The conventional alternative: a PL/pgSQL row trigger and a jsonb table.
CREATE TABLE bench.plpgsql_audit (
    id          bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    tenant_id   uuid,
    table_name  text NOT NULL,
    op          text NOT NULL,
    db_user     name NOT NULL DEFAULT session_user,
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    old_row     jsonb,
    new_row     jsonb
);
CREATE FUNCTION bench.plpgsql_audit_trigger() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO bench.plpgsql_audit (tenant_id, table_name, op, new_row)
        VALUES (NEW.tenant_id, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(NEW));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO bench.plpgsql_audit (tenant_id, table_name, op, old_row, new_row)
        VALUES (NEW.tenant_id, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(OLD), to_jsonb(NEW));
    ELSE
        INSERT INTO bench.plpgsql_audit (tenant_id, table_name, op, old_row)
        VALUES (OLD.tenant_id, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(OLD));
    END IF;
    RETURN NULL;
END
$$;

-- The same, into a table indexed like tenantguard_audit.events: primary key,
-- (tenant, time), (actor, time), (object, time), (txid).
CREATE TABLE bench.plpgsql_audit_ix (LIKE bench.plpgsql_audit INCLUDING DEFAULTS);
ALTER TABLE bench.plpgsql_audit_ix ALTER id SET DEFAULT nextval('bench.plpgsql_audit_id_seq'),
    ADD PRIMARY KEY (id);
CREATE INDEX ON bench.plpgsql_audit_ix (tenant_id, occurred_at);
CREATE INDEX ON bench.plpgsql_audit_ix (db_user, occurred_at);
CREATE INDEX ON bench.plpgsql_audit_ix (table_name, occurred_at);
CREATE INDEX ON bench.plpgsql_audit_ix (txid);
CREATE FUNCTION bench.plpgsql_audit_ix_trigger() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO bench.plpgsql_audit_ix (tenant_id, table_name, op, new_row)
        VALUES (NEW.tenant_id, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(NEW));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO bench.plpgsql_audit_ix (tenant_id, table_name, op, old_row, new_row)
        VALUES (NEW.tenant_id, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(OLD), to_jsonb(NEW));
    ELSE
        INSERT INTO bench.plpgsql_audit_ix (tenant_id, table_name, op, old_row)
        VALUES (OLD.tenant_id, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(OLD));
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
    v text;
BEGIN
    FOREACH t IN ARRAY ARRAY['items', 'bulk'] LOOP
        FOREACH v IN ARRAY ARRAY['plain', 'tg', 'plpgsql', 'pgaudit'] LOOP
            EXECUTE format($f$
                CREATE TABLE bench.%1$I (
                    id         bigint GENERATED BY DEFAULT AS IDENTITY,
                    tenant_id  uuid NOT NULL,
                    sku        text NOT NULL,
                    qty        integer NOT NULL,
                    price      numeric(10,2) NOT NULL,
                    note       text,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (tenant_id, id)
                )$f$, t || '_' || v);
            EXECUTE format('GRANT SELECT, INSERT, UPDATE ON bench.%1$I TO tenantguard_app',
                           t || '_' || v);
        END LOOP;
    END LOOP;
    CREATE TABLE bench.bulk_plpgsqlix (LIKE bench.bulk_plain INCLUDING ALL);
    GRANT SELECT, INSERT, UPDATE ON bench.bulk_plpgsqlix TO tenantguard_app;
END
$$;

-- Same rows, same physical order, in the four items tables.
SELECT set_config('bench.rows', :'rows', false), set_config('bench.t1', :'t1', false),
       set_config('bench.t2', :'t2', false) \gset
DO $$
DECLARE
    v text;
BEGIN
    FOREACH v IN ARRAY ARRAY['plain', 'tg', 'plpgsql', 'pgaudit'] LOOP
        EXECUTE format($f$
            INSERT INTO bench.%1$I (id, tenant_id, sku, qty, price, note, updated_at)
            SELECT k, CASE WHEN k <= %2$s THEN %3$L::uuid ELSE %4$L::uuid END,
                   'sku-' || md5(k::text), k %% 100, (k %% 10000) / 100.0,
                   'pre-loaded row ' || k, timestamptz '2024-01-01' + k * interval '1 second'
              FROM generate_series(1, 2 * %2$s) AS k$f$,
            'items_' || v, current_setting('bench.rows'), current_setting('bench.t1'),
            current_setting('bench.t2'));
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%1$L, ''id''), 100000000)',
                       'bench.items_' || v);
    END LOOP;
END
$$;

-- Protection (RLS) on every table, then the audit variants.
SELECT tenantguard.protect(format('bench.%I_%I', t, v)::regclass)
  FROM unnest(ARRAY['items', 'bulk']) AS t, unnest(ARRAY['plain', 'tg', 'plpgsql', 'pgaudit']) AS v;
SELECT tenantguard.protect('bench.bulk_plpgsqlix');
SELECT tenantguard.audit_table('bench.items_tg'), tenantguard.audit_table('bench.bulk_tg');
CREATE TRIGGER plpgsql_audit AFTER INSERT OR UPDATE OR DELETE ON bench.items_plpgsql
    FOR EACH ROW EXECUTE FUNCTION bench.plpgsql_audit_trigger();
CREATE TRIGGER plpgsql_audit AFTER INSERT OR UPDATE OR DELETE ON bench.bulk_plpgsql
    FOR EACH ROW EXECUTE FUNCTION bench.plpgsql_audit_trigger();
CREATE TRIGGER plpgsql_audit AFTER INSERT OR UPDATE OR DELETE ON bench.bulk_plpgsqlix
    FOR EACH ROW EXECUTE FUNCTION bench.plpgsql_audit_ix_trigger();
GRANT INSERT, UPDATE ON bench.items_pgaudit, bench.bulk_pgaudit TO auditor;

VACUUM (FREEZE, ANALYZE);
CHECKPOINT;
