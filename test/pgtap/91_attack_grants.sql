-- Cross-tenant attack catalogue, part 9: what TRIGGER and REFERENCES on a
-- protected table give an application role.
--
-- An application role that was granted ALL on a protected table (the usual
-- GRANT) holds TRIGGER and REFERENCES too. A trigger sees and can rewrite
-- every tenant's writes; a foreign key from the attacker's own table into the
-- protected one is checked without row level security, so its inserts tell
-- which of another tenant's keys exist (23503 or not) and its rows block that
-- tenant's deletes. The DDL guard refuses both to roles subject to the
-- table's row level security, refuses rules on protected tables, and insists
-- that foreign keys into protected tables come from protected tables and pair
-- the tenant columns. The isolation report lists such grants and objects.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg91_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(45);

CREATE ROLE tg91_owner LOGIN;                          -- owns the protected tables (a migration role)
CREATE ROLE tg91_app LOGIN IN ROLE tenantguard_app;    -- the attacker, bound to Acme
CREATE ROLE tg91_victim LOGIN IN ROLE tenantguard_app; -- bound to Globex

SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset
SELECT tenantguard.bind_role('tg91_app', :'acme') \gset
SELECT tenantguard.bind_role('tg91_victim', :'globex') \gset

CREATE SCHEMA tg91 AUTHORIZATION tg91_owner;
CREATE SCHEMA tg91app AUTHORIZATION tg91_app;          -- the attacker may create objects here
GRANT USAGE ON SCHEMA tg91 TO PUBLIC;

SET ROLE tg91_owner;
CREATE TABLE tg91.orders (tenant_id uuid, id int, secret text, PRIMARY KEY (tenant_id, id));
CREATE TABLE tg91.codes (tenant_id uuid, code text, PRIMARY KEY (tenant_id, code), UNIQUE (code));
CREATE TABLE tg91.events (tenant_id uuid NOT NULL, k int NOT NULL) PARTITION BY LIST (k);
CREATE TABLE tg91.events_1 PARTITION OF tg91.events FOR VALUES IN (1);
SELECT tenantguard.protect('tg91.orders') \gset
SELECT tenantguard.protect('tg91.codes') \gset
SELECT tenantguard.protect('tg91.events') \gset
-- an unprotected partitioned table with a protected partition (itself an isolation report error)
CREATE TABLE tg91.mixed (tenant_id uuid NOT NULL, k int NOT NULL) PARTITION BY LIST (k);
CREATE TABLE tg91.mixed_1 PARTITION OF tg91.mixed FOR VALUES IN (1);
SELECT tenantguard.protect('tg91.mixed_1') \gset
CREATE VIEW tg91.orders_v WITH (security_invoker = true) AS SELECT * FROM tg91.orders;
-- the usual, too generous grant
GRANT ALL ON tg91.orders, tg91.codes, tg91.events, tg91.events_1, tg91.mixed, tg91.mixed_1, tg91.orders_v
    TO tenantguard_app;
RESET ROLE;

SET ROLE tg91_victim;
INSERT INTO tg91.orders (id, secret) VALUES (7, 'globex order 7');
INSERT INTO tg91.codes (code) VALUES ('GLOBEX-ONLY');
RESET ROLE;

-- The attacker's trigger function: streams every new row out, or rewrites it.
SET ROLE tg91_app;
CREATE FUNCTION tg91app.spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('spy', row_to_json(NEW)::text);
    RETURN NEW;
END $$;
CREATE FUNCTION tg91app.rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.secret := 'rewritten by acme';
    RETURN NEW;
END $$;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 1. TRIGGER privilege: refused to roles subject to row level security
-- ---------------------------------------------------------------------------
SET ROLE tg91_app;
SELECT throws_ok('CREATE TRIGGER spy AFTER INSERT ON tg91.orders FOR EACH ROW EXECUTE FUNCTION tg91app.spy()',
    '42501', 'cannot create trigger "spy" on protected table "orders"',
    'an AFTER INSERT trigger streaming every tenant''s new rows (pg_notify(row_to_json(NEW))) is refused (42501)');
SELECT throws_ok('CREATE TRIGGER rewrite BEFORE INSERT OR UPDATE ON tg91.orders FOR EACH ROW EXECUTE FUNCTION tg91app.rewrite()',
    '42501', NULL, 'a BEFORE trigger rewriting every tenant''s rows is refused (42501)');
SELECT throws_ok('CREATE OR REPLACE TRIGGER spy AFTER UPDATE ON tg91.orders FOR EACH ROW EXECUTE FUNCTION tg91app.spy()',
    '42501', NULL, 'CREATE OR REPLACE TRIGGER is refused too (42501)');
SELECT throws_ok('CREATE CONSTRAINT TRIGGER spy AFTER INSERT ON tg91.orders DEFERRABLE FOR EACH ROW EXECUTE FUNCTION tg91app.spy()',
    '42501', NULL, 'a constraint trigger is refused (42501)');
SELECT throws_ok('CREATE TRIGGER spy AFTER INSERT ON tg91.orders REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION tg91app.spy()',
    '42501', NULL, 'a statement trigger with a transition table (every tenant''s new rows) is refused (42501)');
SELECT throws_ok('CREATE TRIGGER spy AFTER INSERT ON tg91.events_1 FOR EACH ROW EXECUTE FUNCTION tg91app.spy()',
    '42501', NULL, 'a trigger on a partition of a protected table is refused (42501)');
SELECT throws_ok('CREATE TRIGGER spy AFTER INSERT ON tg91.events FOR EACH ROW EXECUTE FUNCTION tg91app.spy()',
    '42501', NULL, 'a trigger on a protected partitioned table is refused (42501)');
SELECT throws_ok('CREATE TRIGGER spy AFTER INSERT ON tg91.mixed FOR EACH ROW EXECUTE FUNCTION tg91app.spy()',
    '42501', 'cannot create trigger "spy" on protected table "mixed_1"',
    'a row trigger on an unprotected parent, which would be cloned onto its protected partition, is refused (42501)');
SELECT throws_ok('CREATE TRIGGER spy INSTEAD OF INSERT ON tg91.orders_v FOR EACH ROW EXECUTE FUNCTION tg91app.spy()',
    '42501', 'cannot create trigger "spy" on view "orders_v" over protected table "orders"',
    'an INSTEAD OF trigger on a view over a protected table (it sees every tenant''s writes through the view) is refused (42501)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgname IN ('spy', 'rewrite')), 0, 'no attacker trigger exists');

SET ROLE tg91_victim;
INSERT INTO tg91.orders (id, secret) VALUES (8, 'globex order 8');
RESET ROLE;
SELECT is((SELECT secret FROM tg91.orders WHERE id = 8), 'globex order 8', 'the victim''s write arrived unchanged');

-- The table's owner, superusers and tenantguard's own audit triggers may.
CREATE FUNCTION tg91.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
SET ROLE tg91_owner;
SELECT lives_ok('CREATE TRIGGER touch BEFORE UPDATE ON tg91.orders FOR EACH ROW EXECUTE FUNCTION tg91.touch()',
    'the table''s owner may create a trigger (owners are trusted: they can unprotect the table)');
SELECT lives_ok($$SELECT tenantguard.audit_table('tg91.codes')$$, 'audit_table() still installs its triggers');
RESET ROLE;
SELECT lives_ok('CREATE TRIGGER touch BEFORE UPDATE ON tg91.codes FOR EACH ROW EXECUTE FUNCTION tg91.touch()',
    'a superuser may create a trigger');

-- ---------------------------------------------------------------------------
-- 2. Rules: refused on protected tables, owners included
-- ---------------------------------------------------------------------------
SET ROLE tg91_owner;
SELECT throws_ok('CREATE RULE spy AS ON INSERT TO tg91.orders DO ALSO NOTIFY spy',
    '42501', 'cannot create rule "spy" on protected table "orders"',
    'a rule on a protected table is refused, even to its owner (42501)');
SELECT throws_ok('CREATE RULE swallow AS ON UPDATE TO tg91.events_1 DO INSTEAD NOTHING',
    '42501', NULL, 'a rule on a partition of a protected table is refused (42501)');
RESET ROLE;
SET ROLE tg91_app;
SELECT throws_ok('CREATE RULE spy AS ON INSERT TO tg91.orders DO ALSO NOTIFY spy',
    '42501', NULL, 'a rule by an application role is refused (42501)');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 3. REFERENCES privilege: no foreign key from the attacker's table
-- ---------------------------------------------------------------------------
SET ROLE tg91_app;
SELECT throws_ok(format($$CREATE TABLE tg91app.probe (tenant_id uuid DEFAULT %L, id int,
                          FOREIGN KEY (tenant_id, id) REFERENCES tg91.orders (tenant_id, id) ON DELETE RESTRICT)$$, :'globex'),
    '42501', 'cannot add a foreign key into protected table "orders"',
    'CREATE TABLE ... REFERENCES a protected table (an existence oracle on Globex''s keys) is refused (42501)');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = 'probe'), 0, '(the table was not created either)');
CREATE TABLE tg91app.probe2 (tenant_id uuid, id int, code text);
SELECT throws_ok('ALTER TABLE tg91app.probe2 ADD CONSTRAINT p FOREIGN KEY (tenant_id, id) REFERENCES tg91.orders (tenant_id, id) NOT VALID',
    '42501', NULL, 'ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY into a protected table is refused (42501)');
SELECT throws_ok('ALTER TABLE tg91app.probe2 ADD COLUMN c2 text REFERENCES tg91.codes (code)',
    '42501', NULL, 'ALTER TABLE ... ADD COLUMN ... REFERENCES a protected table is refused (42501)');
SELECT throws_ok('CREATE TABLE tg91app.probe3 (code text REFERENCES tg91.codes (code))',
    '42501', NULL, 'a column REFERENCES clause into a protected table is refused (42501)');
SELECT throws_ok('CREATE TABLE tg91app.probe4 (tenant_id uuid, k int, FOREIGN KEY (tenant_id, k) REFERENCES tg91.events_1 (tenant_id, k))',
    '42501', NULL, 'a foreign key into a partition of a protected table is refused (42501)');
-- the attacker protects its own table, which it owns: still not the owner of orders
CREATE TABLE tg91app.own (tenant_id uuid, id int);
SELECT tenantguard.protect('tg91app.own') \gset
SELECT throws_ok('ALTER TABLE tg91app.own ADD FOREIGN KEY (tenant_id, id) REFERENCES tg91.orders (tenant_id, id)',
    '42501', NULL, 'a foreign key from a protected table of its own is refused too: REFERENCES grants nothing (42501)');
RESET ROLE;

SET ROLE tg91_victim;
SELECT lives_ok('DELETE FROM tg91.orders WHERE id = 7', 'the victim''s delete is not blocked by any foreign key');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 4. Foreign keys into protected tables: from a protected table, tenant columns paired
-- ---------------------------------------------------------------------------
SET ROLE tg91_owner;
SELECT throws_ok('CREATE TABLE tg91.lines (tenant_id uuid, order_id int, FOREIGN KEY (tenant_id, order_id) REFERENCES tg91.orders (tenant_id, id))',
    '42501', 'foreign key "lines_tenant_id_order_id_fkey" into protected table "orders" must come from a protected table',
    'even the owner cannot reference a protected table from an unprotected one (42501)');
CREATE TABLE tg91.lines (tenant_id uuid, other_tenant uuid, order_id int, code text);
SELECT tenantguard.protect('tg91.lines') \gset
SELECT throws_ok('ALTER TABLE tg91.lines ADD FOREIGN KEY (other_tenant, order_id) REFERENCES tg91.orders (tenant_id, id)',
    '42501', 'foreign key "lines_other_tenant_order_id_fkey" into protected table "orders" must pair the tenant columns',
    'a foreign key whose tenant columns are not paired is refused (42501)');
SELECT throws_ok('ALTER TABLE tg91.lines ADD FOREIGN KEY (code) REFERENCES tg91.codes (code)',
    '42501', NULL, 'a tenant-blind foreign key between two protected tables is refused (42501)');
SELECT lives_ok('ALTER TABLE tg91.lines ADD FOREIGN KEY (tenant_id, order_id) REFERENCES tg91.orders (tenant_id, id)',
    'a foreign key from a protected table pairing the tenant columns is allowed');
SELECT lives_ok('ALTER TABLE tg91.lines ADD FOREIGN KEY (code, tenant_id) REFERENCES tg91.codes (code, tenant_id)',
    'in any column order');
RESET ROLE;
SELECT throws_ok('CREATE TABLE tg91.blind (tenant_id uuid, code text REFERENCES tg91.codes (code))',
    '42501', NULL, 'a superuser cannot create a tenant-blind foreign key into a protected table either (42501)');
SELECT tenantguard.protect_schema('tg91') \gset
SET ROLE tg91_owner;
SELECT lives_ok('CREATE TABLE tg91.items (tenant_id uuid, order_id int, FOREIGN KEY (tenant_id, order_id) REFERENCES tg91.orders (tenant_id, id))',
    'in a protected schema the new table is protected when CREATE TABLE ends, so its paired foreign key is allowed');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tg91.items'::regclass), '(tg91.items is protected)');

-- ---------------------------------------------------------------------------
-- 5. The isolation report
-- ---------------------------------------------------------------------------
CREATE FUNCTION tg91.finding(sev text, obj text, pattern text) RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM tenantguard.isolation_report() r
                    WHERE r.severity = sev AND r.object = obj AND r.finding LIKE pattern)
$$;
SELECT ok(tg91.finding('warning', 'tg91.orders', 'TRIGGER privilege is granted to tenantguard_app%'),
    'a TRIGGER grant on a protected table to tenantguard_app is a warning');
SELECT ok(tg91.finding('warning', 'tg91.orders', 'REFERENCES privilege is granted to tenantguard_app%'),
    'a REFERENCES grant on a protected table to tenantguard_app is a warning');
GRANT TRIGGER ON tg91.lines TO PUBLIC;
GRANT REFERENCES ON tg91.lines TO tg91_app;
SELECT ok(tg91.finding('warning', 'tg91.lines', 'TRIGGER privilege is granted to PUBLIC%'), 'also to PUBLIC');
SELECT ok(tg91.finding('warning', 'tg91.lines', 'REFERENCES privilege is granted to tg91_app%'), 'and to a member of tenantguard_app');
SELECT ok(tg91.finding('warning', 'tg91.orders trigger touch', 'trigger runs tg91.touch on every tenant''s writes%'),
    'a user trigger on a protected table is a warning');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object LIKE 'tg91.codes trigger tenantguard_audit%'),
    'tenantguard''s own audit triggers are not');

SET LOCAL tenantguard.ddl_guard = off;   -- what the guard now refuses, made with it off
CREATE RULE swallow AS ON UPDATE TO tg91.orders DO INSTEAD NOTHING;
CREATE TABLE tg91x_probe (tenant_id uuid, id int, FOREIGN KEY (tenant_id, id) REFERENCES tg91.orders (tenant_id, id));
ALTER TABLE tg91.lines ADD CONSTRAINT lines_unpaired FOREIGN KEY (other_tenant, order_id) REFERENCES tg91.orders (tenant_id, id);
SET LOCAL tenantguard.ddl_guard = on;
SELECT ok(tg91.finding('warning', 'tg91.orders rule swallow', 'rule is rewritten into every tenant''s statements%'),
    'a rule on a protected table is a warning');
SELECT ok(tg91.finding('error', 'public.tg91x_probe constraint tg91x_probe_tenant_id_id_fkey',
                       'foreign key into protected table tg91.orders comes from an unprotected table%'),
    'a foreign key into a protected table from an unprotected table is an error');
SELECT ok(tg91.finding('warning', 'tg91.lines constraint lines_unpaired',
                       'foreign key to tg91.orders does not include the tenant column%'),
    'a foreign key between protected tables that does not pair the tenant columns is a warning');
SELECT ok(NOT EXISTS (SELECT 1 FROM tenantguard.isolation_report() WHERE object LIKE 'tg91.lines constraint lines_tenant_id_order_id_fkey'),
    'a paired foreign key is not a finding');

-- Wait (up to 10 s) until n events match cond; they are committed by the ledger worker.
CREATE FUNCTION tg91.wait_events(cond text, want bigint) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
    t0 timestamptz := clock_timestamp();
BEGIN
    LOOP
        EXECUTE 'SELECT count(*) FROM tenantguard_audit.events e WHERE ' || cond INTO n;
        EXIT WHEN n >= want OR clock_timestamp() > t0 + interval '10 seconds';
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN n;
END $$;
SELECT is(tg91.wait_events($$e.category = 'ddl' AND e.decision = 'deny' AND e.action = 'create trigger' AND e.object = 'tg91.orders'$$, 6),
    6::bigint, 'the refused triggers on orders (five on the table, one on its view) are recorded as ddl / create trigger / deny');
SELECT is(tg91.wait_events($$e.category = 'ddl' AND e.decision = 'deny' AND e.action = 'add foreign key' AND e.object = 'tg91.orders'$$, 5),
    5::bigint, 'so are the refused foreign keys into it');

SELECT * FROM finish();
ROLLBACK;
