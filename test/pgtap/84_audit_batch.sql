-- Audit ledger, part 4: the row events of a statement are written in
-- batches (heap_multi_insert) at the end of the statement; this file shows
-- that batching loses, invents and misplaces nothing:
--
--   * every row of a bulk INSERT / UPDATE / DELETE / COPY has its event,
--     across several batches, in row order, and the events are in the table
--     as soon as the statement returns (also inside a PL/pgSQL function);
--   * each batched event's hash is the documented canonical hash;
--   * ROLLBACK TO SAVEPOINT drops the rolled-back statement's events, and
--     RELEASE keeps them; a failing statement inside an EXCEPTION block
--     leaves no event of its rows, the statements before it keep theirs;
--   * attack: a user trigger whose EXCEPTION block rolls back a nested
--     subtransaction while the outer statement's events are pending cannot
--     take those events with it (rows that stay keep their events), and an
--     event written directly meanwhile (audit_log) is kept too.
--
-- Runs in one transaction that is rolled back; objects are prefixed tg84.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(25);

CREATE SCHEMA tg84;
CREATE TABLE tg84.t (n int PRIMARY KEY, note text);
CREATE TABLE tg84.side (n int, note text);
SELECT tenantguard.audit_table('tg84.t');
SELECT tenantguard.audit_table('tg84.side');

-- events of a table since id > :mark
CREATE FUNCTION pg_temp.ev(action text, since bigint) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM tenantguard_audit.events
     WHERE object = 'tg84.t' AND events.action = ev.action AND id > since $$;
CREATE FUNCTION pg_temp.mark() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(max(id), 0) FROM tenantguard_audit.events $$;

-- ---------------------------------------------------------------------------
-- 1. Bulk statements: every row its event, several batches, row order
-- ---------------------------------------------------------------------------
SELECT pg_temp.mark() AS m0 \gset
INSERT INTO tg84.t SELECT g, 'bulk ' || g FROM generate_series(1, 2000) g;
SELECT is(pg_temp.ev('insert', :m0), 2000::bigint,
    'a 2000-row INSERT ... SELECT has 2000 insert events as soon as it returns');
SELECT is((SELECT count(DISTINCT (new_row->>'n')) FROM tenantguard_audit.events
            WHERE object = 'tg84.t' AND action = 'insert' AND id > :m0), 2000::bigint,
    'each row of the bulk INSERT has its own event (2000 distinct rows)');
SELECT ok((SELECT bool_and(ordered) FROM (
             SELECT (new_row->>'n')::int > lag((new_row->>'n')::int, 1, 0) OVER (ORDER BY id) AS ordered
               FROM tenantguard_audit.events
              WHERE object = 'tg84.t' AND action = 'insert' AND id > :m0) s),
    'the bulk INSERT''s events are in row order (ids ascending with n)');
SELECT is((SELECT count(DISTINCT txid) FROM tenantguard_audit.events
            WHERE object = 'tg84.t' AND id > :m0), 1::bigint,
    'every batched event carries the transaction''s txid');

CREATE FUNCTION pg_temp.f(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN b IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea || int4send(length(b)) || b END $$;
CREATE FUNCTION pg_temp.t(s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT convert_to(s, 'UTF8') $$;
SELECT is((SELECT count(*) FROM tenantguard_audit.events e
            WHERE e.id > :m0 AND e.event_hash IS DISTINCT FROM sha256('tenantguard-event-v1'::bytea
         || pg_temp.f(pg_temp.t(e.id::text))
         || pg_temp.f(pg_temp.t(((extract(epoch FROM e.occurred_at) * 1000000)::bigint)::text))
         || pg_temp.f(pg_temp.t(e.tenant_id::text))
         || pg_temp.f(pg_temp.t(e.category))
         || pg_temp.f(pg_temp.t(e.action))
         || pg_temp.f(pg_temp.t(e.principal))
         || pg_temp.f(pg_temp.t(e.db_user::text))
         || pg_temp.f(pg_temp.t(e.object))
         || pg_temp.f(pg_temp.t(e.decision))
         || pg_temp.f(pg_temp.t(e.reason))
         || pg_temp.f(pg_temp.t(e.details::text))
         || pg_temp.f(pg_temp.t(e.old_row::text))
         || pg_temp.f(pg_temp.t(e.new_row::text))
         || pg_temp.f(pg_temp.t(e.txid::text))
         || pg_temp.f(pg_temp.t(CASE WHEN e.client_addr IS NOT NULL THEN format('%s', e.client_addr) END))
         || pg_temp.f(pg_temp.t(e.application_name)))), 0::bigint,
    'every batched event''s stored hash is the documented canonical hash');

SELECT pg_temp.mark() AS m1 \gset
UPDATE tg84.t SET note = 'changed ' || n WHERE n <= 1500;
SELECT is(pg_temp.ev('update', :m1), 1500::bigint, 'a 1500-row UPDATE has 1500 update events');
DELETE FROM tg84.t WHERE n > 1700;
SELECT is(pg_temp.ev('delete', :m1), 300::bigint, 'a 300-row DELETE has 300 delete events');

SELECT pg_temp.mark() AS m2 \gset
COPY tg84.t (n, note) FROM PROGRAM 'seq 3001 3700 | sed "s/$/,copied/"' (FORMAT csv);
SELECT is(pg_temp.ev('insert', :m2), 700::bigint,
    'COPY FROM of 700 rows (row triggers fired outside the executor) has 700 events when it returns');

-- inside a function: the next statement already sees the previous one's events
CREATE FUNCTION tg84.insert_and_count(lo int, hi int, since bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tg84.t SELECT g, 'fn' FROM generate_series(lo, hi) g;
    RETURN (SELECT count(*) FROM tenantguard_audit.events WHERE object = 'tg84.t' AND action = 'insert' AND id > since);
END $$;
SELECT pg_temp.mark() AS m3 \gset
SELECT is(tg84.insert_and_count(5001, 5600, :m3), 600::bigint,
    'inside a PL/pgSQL function, the statement after a 600-row INSERT sees its 600 events');

-- ---------------------------------------------------------------------------
-- 2. Savepoints and exceptions
-- ---------------------------------------------------------------------------
SELECT pg_temp.mark() AS m4 \gset
SAVEPOINT s1;
INSERT INTO tg84.t SELECT g, 'rolled back' FROM generate_series(10001, 11000) g;
ROLLBACK TO SAVEPOINT s1;
SELECT is(pg_temp.ev('insert', :m4), 0::bigint,
    'ROLLBACK TO SAVEPOINT drops the events of the rolled-back 1000-row INSERT');
SELECT is((SELECT count(*) FROM tg84.t WHERE n BETWEEN 10001 AND 11000), 0::bigint,
    '... as it drops the rows');
SAVEPOINT s2;
INSERT INTO tg84.t SELECT g, 'released' FROM generate_series(10001, 10800) g;
RELEASE SAVEPOINT s2;
SELECT is(pg_temp.ev('insert', :m4), 800::bigint,
    'RELEASE SAVEPOINT keeps the events of the 800-row INSERT');

-- a statement that fails after 600 rows, caught by an EXCEPTION block
CREATE FUNCTION tg84.fail_midway(since bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tg84.t SELECT g, 'kept' FROM generate_series(20001, 20300) g;
    BEGIN
        INSERT INTO tg84.t SELECT g, 'lost' FROM generate_series(20301, 21000) g
          UNION ALL SELECT 20001, 'duplicate key';
    EXCEPTION WHEN unique_violation THEN
        NULL;
    END;
    RETURN (SELECT count(*) FROM tenantguard_audit.events WHERE object = 'tg84.t' AND action = 'insert' AND id > since);
END $$;
SELECT pg_temp.mark() AS m5 \gset
SELECT is(tg84.fail_midway(:m5), 300::bigint,
    'a statement that fails inside an EXCEPTION block leaves no events; the statement before keeps its 300');
SELECT is((SELECT count(*) FROM tg84.t WHERE n BETWEEN 20001 AND 21000), 300::bigint,
    '... matching the rows that stayed (300)');

-- ---------------------------------------------------------------------------
-- 3. Attack: a nested subtransaction rolled back while events are pending
-- ---------------------------------------------------------------------------
-- An AFTER ROW trigger of the table owner runs, for every row, an EXCEPTION
-- block (a subtransaction) that writes to another audited table, logs an
-- application event, and then fails. If the pending events of the outer
-- statement were written inside that subtransaction, its rollback would take
-- them along while the rows stay.
CREATE FUNCTION tg84.sneaky() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        INSERT INTO tg84.side VALUES (NEW.n, 'inside');
        PERFORM tenantguard.audit_log('tg84.sneaky', NULL, '{}');
        RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    IF NEW.n % 100 = 0 THEN
        PERFORM tenantguard.audit_log('tg84.kept', NULL, '{}');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_sneaky AFTER INSERT ON tg84.t FOR EACH ROW EXECUTE FUNCTION tg84.sneaky();
SELECT pg_temp.mark() AS m6 \gset
INSERT INTO tg84.t SELECT g, 'attack' FROM generate_series(30001, 31200) g;
SELECT is(pg_temp.ev('insert', :m6), 1200::bigint,
    'rows whose trigger rolls back a nested subtransaction still have all 1200 events');
SELECT is((SELECT count(*) FROM tg84.t WHERE n BETWEEN 30001 AND 31200), 1200::bigint,
    '... and the 1200 rows are there');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE object = 'tg84.side' AND id > :m6), 0::bigint,
    'the rolled-back nested inserts have no events (as they have no rows)');
SELECT is((SELECT count(*) FROM tg84.side), 0::bigint, '... and no rows');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE action = 'tg84.sneaky' AND id > :m6), 0::bigint,
    'the rolled-back application events are gone');
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE action = 'tg84.kept' AND id > :m6), 12::bigint,
    'the application events written directly between pending row events are kept (12)');
SELECT is((SELECT count(DISTINCT id) FROM tenantguard_audit.events WHERE id > :m6),
          (SELECT count(*) FROM tenantguard_audit.events WHERE id > :m6),
    'no event id is used twice');
DROP TRIGGER zz_sneaky ON tg84.t;

-- a savepoint taken by the client in the middle: pending events belong to
-- the statement that formed them, whatever happens to later subtransactions
SELECT pg_temp.mark() AS m7 \gset
INSERT INTO tg84.t SELECT g, 'before savepoint' FROM generate_series(40001, 40700) g;
SAVEPOINT s3;
SELECT throws_ok($$INSERT INTO tg84.t VALUES (40001, 'duplicate')$$, '23505', NULL,
    'a duplicate row in a later savepoint fails (23505)');
ROLLBACK TO SAVEPOINT s3;
SELECT is(pg_temp.ev('insert', :m7), 700::bigint,
    'a failed statement in a later savepoint does not take the earlier statement''s 700 events');

-- ---------------------------------------------------------------------------
-- 4. DDL on the events table in the same transaction still works after a batch
-- ---------------------------------------------------------------------------
INSERT INTO tg84.t SELECT g, 'then ddl' FROM generate_series(50001, 50700) g;
SELECT lives_ok($$CREATE INDEX tg84_ev_app ON tenantguard_audit.events (application_name)$$,
    'a batch followed by DDL on the events table in the same transaction works (table released)');
INSERT INTO tg84.t SELECT g, 'after ddl' FROM generate_series(50701, 51400) g;
SELECT is((SELECT count(*) FROM tenantguard_audit.events WHERE object = 'tg84.t' AND (new_row->>'n')::int BETWEEN 50001 AND 51400), 1400::bigint,
    'events are batched into the events table with its new index (1400)');

SELECT * FROM finish();
ROLLBACK;
