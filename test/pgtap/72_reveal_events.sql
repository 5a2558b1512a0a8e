-- Reveal events: one audit event per statement and (tenant, actor, call
-- site), carrying the count of reveals, named by what was revealed.
--
--   * counts per statement: a bulk reveal is one event with its count, two
--     columns are two events, nested statements (functions called per row,
--     triggers, PL/pgSQL exception blocks that succeed) fold into the
--     outermost statement; a cursor's FETCHes are statements of their own;
--   * naming: relation and column for a table column (also through joins,
--     sorts, views, sub-selects and partitioned tables), the function of an
--     expression, the vault entry (scope, name, version) for get_secret()
--     and resolve_ref();
--   * rollback: a savepoint rolled back after a statement's event was
--     written, a statement that errors half-way (its count never written),
--     a PL/pgSQL exception block: each leaves a summary event through the
--     ledger worker with the count and the call site;
--   * attacks: reveals of two tenants in one statement are never merged into
--     one tenant's event; the application cannot call _reveal_vault() to
--     name reveals after vault entries; no event contains a plaintext.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg72_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(37);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg72_app LOGIN IN ROLE tenantguard_app;        -- bound to Acme

SELECT tenantguard.create_tenant('tg72-acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('tg72-globex', 'Globex') AS globex \gset
SELECT tenantguard.bind_role('tg72_app', :'acme') \gset

CREATE SCHEMA tg72;
GRANT USAGE ON SCHEMA tg72 TO PUBLIC;
CREATE TABLE tg72.t (tenant_id uuid, id int, api_key tenantguard.secret, note tenantguard.secret,
                     PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('tg72.t') \gset
GRANT SELECT ON tg72.t TO tg72_app;
CREATE TABLE tg72.p (tenant_id uuid, id int, k tenantguard.secret) PARTITION BY RANGE (id);
CREATE TABLE tg72.p1 PARTITION OF tg72.p FOR VALUES FROM (0) TO (20);
CREATE TABLE tg72.p2 PARTITION OF tg72.p FOR VALUES FROM (20) TO (1000);
SELECT tenantguard.protect('tg72.p') \gset
CREATE VIEW tg72.v WITH (security_invoker = true) AS SELECT id, api_key FROM tg72.t;
CREATE TABLE tg72.inbox (tenant_id uuid DEFAULT tenantguard.current_tenant(), k tenantguard.secret);
SELECT tenantguard.protect('tg72.inbox') \gset

-- Run a statement; its SQLSTATE ('none' when it succeeds). A subtransaction.
CREATE FUNCTION tg72.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
-- A reveal in a function called per row (a nested statement each time).
CREATE FUNCTION tg72.open(s tenantguard.secret) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    SELECT tenantguard.reveal(s) INTO r FROM (VALUES (1)) v(x);
    RETURN r;
END $$;
-- A trigger that reveals what is inserted.
CREATE FUNCTION tg72.peek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantguard.reveal(NEW.k);
    RETURN NEW;
END $$;
CREATE TRIGGER peek AFTER INSERT ON tg72.inbox FOR EACH ROW EXECUTE FUNCTION tg72.peek();
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg72 TO PUBLIC;

-- Every plaintext used here; none may appear in an event.
CREATE TEMP TABLE plaintexts (p text PRIMARY KEY);
CREATE TEMP TABLE marks (name text PRIMARY KEY, id bigint);
GRANT SELECT ON marks TO PUBLIC;
CREATE FUNCTION pg_temp.mark(n text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO marks VALUES (n, (SELECT coalesce(max(id), 0) FROM tenantguard_audit.events))
    ON CONFLICT (name) DO UPDATE SET id = EXCLUDED.id
$$;
CREATE FUNCTION pg_temp.since(n text) RETURNS bigint LANGUAGE sql AS $$
    SELECT id FROM marks WHERE name = n
$$;
-- The reveal events (allowed, not summaries) since a mark, as one row each.
CREATE FUNCTION pg_temp.reveals(n text)
    RETURNS TABLE (object text, reveals int, site text, "as" text, tenant uuid, principal text)
    LANGUAGE sql AS $$
    SELECT e.object, (e.details->>'reveals')::int, e.details->>'site', e.details->>'as', e.tenant_id, e.principal
      FROM tenantguard_audit.events e
     WHERE e.id > pg_temp.since(n) AND e.action = 'reveal' AND e.decision = 'allow' AND e.reason IS NULL
     ORDER BY e.id
$$;
-- Rolled-back summaries since a mark: reveals (times repeated), per object and site.
CREATE FUNCTION pg_temp.summaries(n text) RETURNS TABLE (object text, site text, reveals bigint)
    LANGUAGE sql AS $$
    SELECT e.object, e.details->>'site',
           sum((e.details->>'reveals')::bigint * coalesce((e.details->>'repeated')::bigint, 1))
      FROM tenantguard_audit.events e
     WHERE e.id > pg_temp.since(n) AND e.action = 'reveal' AND e.details->>'rolled_back' = 'true'
     GROUP BY 1, 2 ORDER BY 1, 2
$$;
-- Wait (up to 10 s) until the summaries since a mark count want reveals; their count.
CREATE FUNCTION pg_temp.wait_summaries(n text, want bigint) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    got bigint;
    t0 timestamptz := clock_timestamp();
BEGIN
    LOOP
        EXECUTE 'SELECT coalesce(sum(reveals), 0) FROM pg_temp.summaries($1)' INTO got USING n;
        EXIT WHEN got >= want OR clock_timestamp() > t0 + interval '10 s';
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN got;
END $$;

SELECT pg_temp.mark('start') \gset
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO tg72.t SELECT :'acme', g, tenantguard.seal('tg72-key-' || g), tenantguard.seal(convert_to('tg72-note-' || g, 'UTF8'))
  FROM generate_series(1, 50) g;
INSERT INTO tg72.p SELECT :'acme', g, tenantguard.seal('tg72-part-' || g) FROM generate_series(1, 40) g;
INSERT INTO plaintexts SELECT 'tg72-key-' || g FROM generate_series(1, 50) g;
INSERT INTO plaintexts SELECT 'tg72-note-' || g FROM generate_series(1, 50) g;
INSERT INTO plaintexts SELECT 'tg72-part-' || g FROM generate_series(1, 40) g;
INSERT INTO plaintexts VALUES ('tg72-vault-value'), ('tg72-inbox');
SELECT tenantguard.put_secret('api', 'tg72-vault-value', 'prod') \gset
SELECT tenantguard.seal('tg72-acme-one') AS acme_one \gset
INSERT INTO plaintexts VALUES ('tg72-acme-one');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'globex') \gset
SELECT tenantguard.seal('tg72-globex-one') AS globex_one \gset
INSERT INTO plaintexts VALUES ('tg72-globex-one');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'acme') \gset

-- ---------------------------------------------------------------------------
-- 1. One event per statement and call site, with the count
-- ---------------------------------------------------------------------------
SELECT pg_temp.mark('bulk') \gset
SELECT count(tenantguard.reveal(api_key)) FROM tg72.t \gset
SELECT results_eq($$SELECT * FROM pg_temp.reveals('bulk')$$,
    format($$VALUES ('tg72.t.api_key', 50, 'column', 'text', %L::uuid, 'admin:postgres')$$, :'acme'),
    'revealing a column over 50 rows writes one event with the count 50, naming relation and column');
SELECT results_eq(
    $$SELECT details->>'relation', details->>'column' FROM tenantguard_audit.events
       WHERE id > pg_temp.since('bulk') AND action = 'reveal'$$,
    $$VALUES ('tg72.t', 'api_key')$$, '... the details name the relation and the column apart');

SELECT pg_temp.mark('two') \gset
SELECT count(*) FROM (SELECT tenantguard.reveal(api_key), tenantguard.reveal_bytea(note) FROM tg72.t) s \gset
SELECT results_eq($$SELECT object, reveals, "as" FROM pg_temp.reveals('two') ORDER BY 1$$,
    $$VALUES ('tg72.t.api_key', 50, 'text'), ('tg72.t.note', 50, 'bytea')$$,
    'two revealed columns in one statement: one event each');

SELECT pg_temp.mark('join') \gset
SELECT count(*) FROM (SELECT tenantguard.reveal(b.api_key) FROM tg72.t a JOIN tg72.t b USING (tenant_id, id)
                       ORDER BY 1 DESC LIMIT 7) s \gset
SELECT results_eq($$SELECT object, reveals FROM pg_temp.reveals('join')$$,
    $$VALUES ('tg72.t.api_key', 50)$$,
    'through a join and a sort the event still names the column (all 50 values were revealed to sort them)');

SELECT pg_temp.mark('limit') \gset
SELECT tenantguard.reveal(api_key) FROM tg72.t ORDER BY id LIMIT 3 \g /dev/null
SELECT results_eq($$SELECT object, reveals FROM pg_temp.reveals('limit')$$,
    $$VALUES ('tg72.t.api_key', 3)$$, 'a LIMIT above the sort counts only what was revealed');

SELECT pg_temp.mark('view') \gset
SELECT count(tenantguard.reveal(api_key)) FROM tg72.v WHERE id <= 10 \gset
SELECT (SELECT tenantguard.reveal(api_key) FROM tg72.t WHERE id = 3) \g /dev/null
SELECT results_eq($$SELECT object, reveals FROM pg_temp.reveals('view')$$,
    $$VALUES ('tg72.t.api_key', 10), ('tg72.t.api_key', 1)$$,
    'through a view and in a sub-select the event names the underlying table''s column');

SELECT pg_temp.mark('part') \gset
SELECT count(tenantguard.reveal(k)) FROM tg72.p \gset
SELECT results_eq($$SELECT object, reveals FROM pg_temp.reveals('part')$$,
    $$VALUES ('tg72.p.k', 40)$$, 'a partitioned table''s reveals are one event naming the table, not its partitions');

SELECT pg_temp.mark('expr') \gset
SELECT tenantguard.reveal(tenantguard.seal('tg72-expr')) \g /dev/null
INSERT INTO plaintexts VALUES ('tg72-expr');
SELECT results_eq(
    $$SELECT r.object, r.reveals, r.site, e.details->>'function' FROM pg_temp.reveals('expr') r
        JOIN tenantguard_audit.events e ON e.id > pg_temp.since('expr') AND e.action = 'reveal'$$,
    $$VALUES (NULL::text, 1, 'expression', 'tenantguard.seal')$$,
    'a reveal of an expression names its function; no object');

-- ---------------------------------------------------------------------------
-- 2. Nested statements fold into the outermost one
-- ---------------------------------------------------------------------------
SELECT pg_temp.mark('nested') \gset
SELECT count(tg72.open(api_key)) FROM tg72.t \gset
SELECT results_eq($$SELECT object, reveals, site FROM pg_temp.reveals('nested')$$,
    $$VALUES (NULL::text, 50, 'expression')$$,
    'a reveal in a function called for each of 50 rows: one event with the count 50');

SELECT pg_temp.mark('trigger') \gset
INSERT INTO tg72.inbox (k) SELECT tenantguard.seal('tg72-inbox') FROM generate_series(1, 12);
SELECT results_eq($$SELECT reveals, tenant FROM pg_temp.reveals('trigger')$$,
    format($$VALUES (12, %L::uuid)$$, :'acme'),
    'a reveal in a trigger function fired for 12 rows: one event with the count 12');

SELECT pg_temp.mark('block') \gset
SELECT is(tg72.state('SELECT count(tenantguard.reveal(api_key)) FROM tg72.t'), 'none',
    'a statement run in a PL/pgSQL exception block (a subtransaction) succeeds ...');
SELECT results_eq($$SELECT object, reveals FROM pg_temp.reveals('block')$$,
    $$VALUES ('tg72.t.api_key', 50)$$, '... and its reveals are one event of the outer statement');

SELECT pg_temp.mark('loop') \gset
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tenantguard.reveal(api_key) AS v FROM tg72.t WHERE id <= 25 LOOP
        NULL;
    END LOOP;
END $$;
SELECT results_eq($$SELECT object, reveals FROM pg_temp.reveals('loop')$$,
    $$VALUES ('tg72.t.api_key', 25)$$, 'a PL/pgSQL FOR loop over a query revealing 25 rows (fetched in batches): one event');

-- ---------------------------------------------------------------------------
-- 3. Cursors: each FETCH is a statement
-- ---------------------------------------------------------------------------
SELECT pg_temp.mark('cursor') \gset
DECLARE c72 CURSOR FOR SELECT tenantguard.reveal(api_key) FROM tg72.t ORDER BY id;
FETCH 10 FROM c72 \g /dev/null
FETCH 15 FROM c72 \g /dev/null
CLOSE c72;
SELECT results_eq($$SELECT object, reveals FROM pg_temp.reveals('cursor')$$,
    $$VALUES ('tg72.t.api_key', 10), ('tg72.t.api_key', 15)$$,
    'a cursor fetched twice: one event per FETCH with what it revealed, naming the column');

-- ---------------------------------------------------------------------------
-- 4. The vault: events named by scope, name and version
-- ---------------------------------------------------------------------------
SELECT pg_temp.mark('vault') \gset
SELECT count(tenantguard.get_secret('api', 'prod')) FROM generate_series(1, 7) \gset
SELECT tenantguard.resolve_ref(tenantguard.secret_ref('api', 'prod')) \g /dev/null
SELECT results_eq(
    $$SELECT r.object, r.reveals, r.site, e.details->>'scope', e.details->>'name', (e.details->>'version')::int
        FROM pg_temp.reveals('vault') r
        JOIN tenantguard_audit.events e ON e.id > pg_temp.since('vault') AND e.action = 'reveal'
             AND (e.details->>'reveals')::int = r.reveals
       ORDER BY e.id$$,
    $$VALUES ('vault:prod/api@1', 7, 'vault', 'prod', 'api', 1), ('vault:prod/api@1', 1, 'vault', 'prod', 'api', 1)$$,
    'get_secret() seven times in one statement: one event naming the vault entry, count 7; resolve_ref() likewise');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE id > pg_temp.since('vault') AND action = 'secret.read'),
    0::bigint, 'no separate secret.read event: the reveal event names the entry');

SELECT tenantguard.clear_context() \gset
SET ROLE tg72_app;
SELECT is(has_function_privilege('tenantguard._reveal_vault(tenantguard.secret, text, text, integer)', 'EXECUTE'),
    false, 'the application role may not execute _reveal_vault()');
SELECT is(tg72.state(format($$SELECT tenantguard._reveal_vault(%L, 'prod', 'decoy', 1)$$, :'acme_one')), '42501',
    '... so it cannot name its reveals after a vault entry (42501)');
SELECT pg_temp.mark('app') \gset
SELECT count(tenantguard.reveal(api_key)) FROM tg72.t \gset
RESET ROLE;
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT results_eq($$SELECT object, reveals, tenant, principal FROM pg_temp.reveals('app')$$,
    format($$VALUES ('tg72.t.api_key', 50, %L::uuid, 'role:tg72_app')$$, :'acme'),
    'the application role''s bulk reveal is one event with its principal and tenant');

-- ---------------------------------------------------------------------------
-- 5. Rollback: summaries through the ledger worker
-- ---------------------------------------------------------------------------
SELECT pg_temp.mark('sp') \gset
SAVEPOINT sp72;
SELECT count(tenantguard.reveal(api_key)) FROM tg72.t \gset
SELECT is((SELECT count(*) FROM pg_temp.reveals('sp')), 1::bigint, 'the statement''s event is written ...');
ROLLBACK TO SAVEPOINT sp72;
SELECT is((SELECT count(*) FROM pg_temp.reveals('sp')), 0::bigint, '... and rolled back with the savepoint ...');
SELECT is(pg_temp.wait_summaries('sp', 50), 50::bigint, '... but a summary arrives through the ledger worker');
SELECT results_eq($$SELECT * FROM pg_temp.summaries('sp')$$,
    $$VALUES ('tg72.t.api_key', 'column', 50::bigint)$$, '... with the count 50 and the column');
SELECT results_eq(
    $$SELECT tenant_id, principal, reason FROM tenantguard_audit.events
       WHERE id > pg_temp.since('sp') AND details->>'rolled_back' = 'true'$$,
    format($$VALUES (%L::uuid, 'admin:postgres', 'transaction rolled back after revealing')$$, :'acme'),
    '... in the tenant, by the principal');

-- a statement that reveals 24 rows, then fails: its count was never written
SELECT pg_temp.mark('partial') \gset
SELECT is(tg72.state($$SELECT CASE WHEN id < 25 THEN tenantguard.reveal(api_key) ELSE (1 / (id - id))::text END
                        FROM tg72.t WHERE tenant_id = tenantguard.current_tenant()$$), '22012',
    'a statement that reveals rows and then fails (22012) ...');
SELECT is(pg_temp.wait_summaries('partial', 24), 24::bigint,
    '... leaves a summary of the reveals it made before the error');
SELECT results_eq($$SELECT * FROM pg_temp.summaries('partial')$$,
    $$VALUES ('tg72.t.api_key', 'column', 24::bigint)$$, '... with their count (24), naming the column');
SELECT is((SELECT count(*) FROM pg_temp.reveals('partial')), 0::bigint, '... and no in-transaction event');

-- exception blocks undo their reveals three times over
SELECT pg_temp.mark('undo') \gset
DO $$
BEGIN
    FOR i IN 1..3 LOOP
        BEGIN
            PERFORM tenantguard.reveal(api_key) FROM tg72.t WHERE id <= 4;
            RAISE EXCEPTION 'undo';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
    END LOOP;
END $$;
SELECT is(pg_temp.wait_summaries('undo', 12), 12::bigint,
    'three rolled-back exception blocks leave summaries ...');
SELECT results_eq($$SELECT * FROM pg_temp.summaries('undo')$$,
    $$VALUES ('tg72.t.api_key', 'column', 12::bigint)$$, '... counting all 12 reveals');
SELECT is((SELECT count(*) FROM pg_temp.reveals('undo')), 0::bigint, '... and the DO statement writes no event of its own');

-- a cursor opened in a savepoint, fetched, and the savepoint rolled back
SELECT pg_temp.mark('spcursor') \gset
SAVEPOINT sp72c;
DECLARE c72b CURSOR FOR SELECT tenantguard.reveal(api_key) FROM tg72.t ORDER BY id;
FETCH 5 FROM c72b \g /dev/null
FETCH 6 FROM c72b \g /dev/null
ROLLBACK TO SAVEPOINT sp72c;
SELECT is(pg_temp.wait_summaries('spcursor', 11), 11::bigint,
    'a cursor fetched twice under a savepoint that is rolled back ...');
SELECT results_eq($$SELECT * FROM pg_temp.summaries('spcursor')$$,
    $$VALUES ('tg72.t.api_key', 'column', 11::bigint)$$, '... leaves one summary counting both fetches');

-- ---------------------------------------------------------------------------
-- 6. Attacks
-- ---------------------------------------------------------------------------
-- one statement that reveals in Acme, then switches to Globex and reveals there
CREATE FUNCTION tg72.hop(a tenantguard.secret, g tenantguard.secret, globex uuid) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantguard.reveal(a);
    PERFORM tenantguard.reveal(a);
    PERFORM tenantguard.clear_context();
    PERFORM tenantguard.set_tenant(globex);
    RETURN tenantguard.reveal(g);
END $$;
SELECT pg_temp.mark('hop') \gset
SELECT tg72.hop(:'acme_one', :'globex_one', :'globex') \g /dev/null
SELECT results_eq(format($$SELECT reveals, tenant FROM pg_temp.reveals('hop') ORDER BY tenant = %L::uuid$$, :'globex'),
    format($$VALUES (2, %L::uuid), (1, %L::uuid)$$, :'acme', :'globex'),
    'a statement that reveals in two tenants writes one event per tenant: nothing is counted in the wrong tenant');
SELECT tenantguard.clear_context() \gset
SELECT tenantguard.set_tenant(:'acme') \gset

-- the wrong tenant's secret is refused and nothing is counted for it
SELECT pg_temp.mark('wrong') \gset
SELECT is(tg72.state(format($$SELECT tenantguard.reveal(%L::tenantguard.secret)$$, :'globex_one')), '42501',
    'revealing Globex''s secret in Acme is refused (42501)');
SELECT is((SELECT count(*) FROM pg_temp.reveals('wrong')), 0::bigint, '... and counted as no reveal');

SELECT is((SELECT count(*) FROM tenantguard_audit.events e, plaintexts p
            WHERE e.id > pg_temp.since('start') AND position(p.p IN e::text) > 0), 0::bigint,
    'no event of this file contains a plaintext');

SELECT * FROM finish();
ROLLBACK;
