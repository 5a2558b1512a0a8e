-- Audit ledger, part 3: columns that hold a tenantguard.secret inside another
-- type are recorded as "[secret]", like plain secret columns.
--
-- The attack: an application role (member of tenantguard_app, bound to its
-- tenant as 'owner', so it may read its tenant's events; CREATE on a schema)
-- keeps credentials in arrays, composites and domains of tenantguard.secret
-- in a table it audits, then deletes or overwrites them. Before, the row
-- trigger rendered such columns with their text output — ciphertexts
-- (tgs1:...) inside "{...}" or "(...)" — so the append-only ledger kept every
-- deleted ciphertext for good, and reveal() of it in the tenant gave the
-- deleted plaintext back. Now every column whose type contains
-- tenantguard.secret anywhere (secret[], secret[][], composite with a secret
-- attribute, composite with an array of such composites, domain over secret,
-- over secret[], over such a composite, array of a domain over secret) is
-- "[secret]" as a whole (null when NULL), in INSERT, UPDATE (changed columns
-- only, still compared by value) and DELETE events; types created or altered
-- after audit_table() are covered; other arrays and composites keep their
-- text form.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg82_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(28);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg82_dev LOGIN IN ROLE tenantguard_app;     -- the attacker: bound to Acme as 'owner'
CREATE ROLE tg82_auditor LOGIN IN ROLE tenantguard_auditor;
SELECT tenantguard.create_tenant('tg82-acme', 'Acme') AS acme \gset
SELECT tenantguard.bind_role('tg82_dev', :'acme', 'owner') \gset
CREATE SCHEMA tg82 AUTHORIZATION tg82_dev;

-- The newest event id before a step: events of the step have larger ids.
CREATE TEMP TABLE marks (name text PRIMARY KEY, id bigint);
GRANT SELECT ON marks TO PUBLIC;
CREATE FUNCTION pg_temp.mark(n text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO marks VALUES (n, (SELECT coalesce(max(id), 0) FROM tenantguard_audit.events))
    ON CONFLICT (name) DO UPDATE SET id = EXCLUDED.id
$$;
CREATE FUNCTION pg_temp.since(n text) RETURNS bigint LANGUAGE sql AS $$
    SELECT id FROM marks WHERE name = n
$$;
-- Every sealed value used here (and its plaintext); none may appear in an event.
CREATE TEMP TABLE sealed (p text PRIMARY KEY, s tenantguard.secret);
GRANT SELECT, INSERT ON sealed TO PUBLIC;
CREATE FUNCTION pg_temp.s(p text) RETURNS tenantguard.secret LANGUAGE sql AS $$ SELECT s FROM sealed WHERE sealed.p = $1 $$;
-- The data events of this file, as the auditor sees them (all tenants).
CREATE FUNCTION pg_temp.data_events() RETURNS SETOF tenantguard_audit.events LANGUAGE sql SECURITY DEFINER AS $$
    SELECT * FROM tenantguard_audit.events
     WHERE id > pg_temp.since('start') AND category = 'data' AND object LIKE 'tg82.%' ORDER BY id
$$;

SELECT pg_temp.mark('start') \gset

SET ROLE tg82_dev;
CREATE TYPE tg82.cred AS (label text, key tenantguard.secret);
CREATE TYPE tg82.account AS (name text, creds tg82.cred[]);       -- array of composites inside a composite
CREATE TYPE tg82.pair AS (x int, y int);                          -- no secret: keeps its text form
CREATE TYPE tg82.tag AS (name text);                              -- gets a secret attribute later
CREATE DOMAIN tg82.secret_d AS tenantguard.secret;
CREATE DOMAIN tg82.secrets_d AS tenantguard.secret[];
CREATE DOMAIN tg82.secrets_dd AS tg82.secrets_d;                  -- domain over a domain over secret[]
CREATE DOMAIN tg82.cred_d AS tg82.cred;
CREATE TABLE tg82.vaultish (
    id        int PRIMARY KEY,
    tenant_id uuid NOT NULL,
    note      text,
    keys      tenantguard.secret[],
    grid      tenantguard.secret[][],
    cred      tg82.cred,
    creds     tg82.cred[],
    acct      tg82.account,
    accts     tg82.account[],
    d_key     tg82.secret_d,
    d_keys    tg82.secrets_d,
    dd_keys   tg82.secrets_dd,
    d_cred    tg82.cred_d,
    arr_d     tg82.secret_d[],
    pair      tg82.pair,
    nums      int[],
    tag       tg82.tag
);
SELECT tenantguard.protect('tg82.vaultish') \gset
SELECT tenantguard.audit_table('tg82.vaultish') \gset

INSERT INTO sealed SELECT p, tenantguard.seal(p)
  FROM unnest(ARRAY['tg82-key-1', 'tg82-key-2', 'tg82-grid-1', 'tg82-grid-2', 'tg82-grid-3', 'tg82-grid-4',
                    'tg82-cred-1', 'tg82-creds-1', 'tg82-creds-2', 'tg82-acct-1', 'tg82-accts-1',
                    'tg82-dkey-1', 'tg82-dkeys-1', 'tg82-ddkeys-1', 'tg82-dcred-1', 'tg82-arrd-1',
                    'tg82-key-3', 'tg82-key-4', 'tg82-cred-2', 'tg82-late-1', 'tg82-tag-1', 'tg82-fn-1']) AS p;

INSERT INTO tg82.vaultish (id, note, keys, grid, cred, creds, acct, accts, d_key, d_keys, dd_keys, d_cred, arr_d,
                           pair, nums, tag)
VALUES (1, 'first',
        ARRAY[pg_temp.s('tg82-key-1'), pg_temp.s('tg82-key-2'), NULL],
        ARRAY[ARRAY[pg_temp.s('tg82-grid-1'), pg_temp.s('tg82-grid-2')],
              ARRAY[pg_temp.s('tg82-grid-3'), pg_temp.s('tg82-grid-4')]],
        ROW('github', pg_temp.s('tg82-cred-1')),
        ARRAY[ROW('a', pg_temp.s('tg82-creds-1')), ROW('b', pg_temp.s('tg82-creds-2'))]::tg82.cred[],
        ROW('ops', ARRAY[ROW('c', pg_temp.s('tg82-acct-1'))]::tg82.cred[]),
        ARRAY[ROW('dev', ARRAY[ROW('d', pg_temp.s('tg82-accts-1'))]::tg82.cred[])]::tg82.account[],
        pg_temp.s('tg82-dkey-1'),
        ARRAY[pg_temp.s('tg82-dkeys-1')],
        ARRAY[pg_temp.s('tg82-ddkeys-1')],
        ROW('dom', pg_temp.s('tg82-dcred-1')),
        ARRAY[pg_temp.s('tg82-arrd-1')::tg82.secret_d],
        ROW(1, 2), ARRAY[1, 2], ROW('blue'));
INSERT INTO tg82.vaultish (id, note) VALUES (2, 'nulls');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 1. INSERT: every secret-holding column is "[secret]"
-- ---------------------------------------------------------------------------
SELECT is((SELECT new_row FROM pg_temp.data_events() WHERE action = 'insert' AND (new_row->>'id')::int = 1),
    jsonb_build_object('id', 1, 'tenant_id', :'acme'::uuid, 'note', 'first',
                       'keys', '[secret]', 'grid', '[secret]', 'cred', '[secret]', 'creds', '[secret]',
                       'acct', '[secret]', 'accts', '[secret]', 'd_key', '[secret]', 'd_keys', '[secret]',
                       'dd_keys', '[secret]', 'd_cred', '[secret]', 'arr_d', '[secret]',
                       'pair', '(1,2)', 'nums', '{1,2}', 'tag', '(blue)'),
    'INSERT: secret[], secret[][], composites holding a secret (also through arrays of composites), domains over secret, secret[] and such a composite, and arrays of a domain over secret are "[secret]"; other arrays and composites keep their text form');
SELECT is((SELECT new_row FROM pg_temp.data_events() WHERE action = 'insert' AND (new_row->>'id')::int = 2),
    jsonb_build_object('id', 2, 'tenant_id', :'acme'::uuid, 'note', 'nulls',
                       'keys', NULL, 'grid', NULL, 'cred', NULL, 'creds', NULL, 'acct', NULL, 'accts', NULL,
                       'd_key', NULL, 'd_keys', NULL, 'dd_keys', NULL, 'd_cred', NULL, 'arr_d', NULL,
                       'pair', NULL, 'nums', NULL, 'tag', NULL),
    'INSERT: NULL secret-holding columns are JSON null');

-- ---------------------------------------------------------------------------
-- 2. UPDATE: changed columns only, still compared by value
-- ---------------------------------------------------------------------------
SET ROLE tg82_dev;
SELECT pg_temp.mark('upd_note') \gset
UPDATE tg82.vaultish SET note = 'edited' WHERE id = 1;
SELECT pg_temp.mark('upd_same') \gset
UPDATE tg82.vaultish SET keys = keys, cred = cred, acct = acct, d_keys = d_keys WHERE id = 1;
SELECT pg_temp.mark('upd_label') \gset
UPDATE tg82.vaultish SET cred = ROW('gitlab', (cred).key) WHERE id = 1;
SELECT pg_temp.mark('upd_keys') \gset
UPDATE tg82.vaultish SET keys = ARRAY[pg_temp.s('tg82-key-3')], creds = NULL WHERE id = 1;
SELECT pg_temp.mark('upd_append') \gset
-- || builds an expanded array, which is stored flattened with a 4-byte header; the
-- next UPDATE copies the same value with a 1-byte header (it is under 127 bytes)
UPDATE tg82.vaultish SET keys = ARRAY[]::tenantguard.secret[] || pg_temp.s('tg82-key-4') WHERE id = 1;
SELECT pg_temp.mark('upd_pair') \gset
UPDATE tg82.vaultish SET pair = ROW(3, 4), nums = nums || 3 WHERE id = 1;
SELECT pg_temp.mark('upd_end') \gset
RESET ROLE;

SELECT results_eq(
    $$SELECT old_row, new_row FROM pg_temp.data_events() WHERE id > pg_temp.since('upd_note') AND id <= pg_temp.since('upd_same')$$,
    $$VALUES ('{"note": "first"}'::jsonb, '{"note": "edited"}'::jsonb)$$,
    'UPDATE of another column: the unchanged secret-holding columns are left out of both images');
SELECT is((SELECT count(*) FROM pg_temp.data_events() WHERE id > pg_temp.since('upd_same') AND id <= pg_temp.since('upd_label')),
    0::bigint, 'UPDATE setting secret-holding columns to themselves records nothing (compared by value)');
SELECT results_eq(
    $$SELECT old_row, new_row FROM pg_temp.data_events() WHERE id > pg_temp.since('upd_label') AND id <= pg_temp.since('upd_keys')$$,
    $$VALUES ('{"cred": "[secret]"}'::jsonb, '{"cred": "[secret]"}'::jsonb)$$,
    'UPDATE of a non-secret field of a composite holding a secret: the column is "[secret]" in both images');
SELECT results_eq(
    $$SELECT old_row, new_row FROM pg_temp.data_events() WHERE id > pg_temp.since('upd_keys') AND id <= pg_temp.since('upd_append')$$,
    $$VALUES ('{"keys": "[secret]", "creds": "[secret]"}'::jsonb, '{"keys": "[secret]", "creds": null}'::jsonb)$$,
    'UPDATE of a secret[] and of an array of composites (to NULL): "[secret]", null when NULL');
SELECT results_eq(
    $$SELECT old_row, new_row FROM pg_temp.data_events() WHERE id > pg_temp.since('upd_append') AND id <= pg_temp.since('upd_pair')$$,
    $$VALUES ('{"keys": "[secret]"}'::jsonb, '{"keys": "[secret]"}'::jsonb)$$,
    'UPDATE of a secret[] built with ||: "[secret]" in both images');
SELECT results_eq(
    $$SELECT old_row, new_row FROM pg_temp.data_events() WHERE id > pg_temp.since('upd_pair') AND id <= pg_temp.since('upd_end')$$,
    $$VALUES ('{"pair": "(1,2)", "nums": "{1,2}"}'::jsonb, '{"pair": "(3,4)", "nums": "{1,2,3}"}'::jsonb)$$,
    'the next UPDATE leaves the appended secret[] out (stored with another header, same value), and records a composite and an array without a secret with their values');

-- ---------------------------------------------------------------------------
-- 3. Types created or altered after audit_table(), in the same session
-- ---------------------------------------------------------------------------
SET ROLE tg82_dev;
-- a plan-cached insert, run before and after the type changes
CREATE FUNCTION tg82.put(i int, t tg82.tag) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tg82.vaultish (id, note, tag) VALUES (i, 'fn', t);
END $$;
SELECT tg82.put(10, ROW('green')) \gset
CREATE TYPE tg82.late AS (label text, key tg82.secret_d);
ALTER TABLE tg82.vaultish ADD COLUMN late tg82.late[];
ALTER TYPE tg82.tag ADD ATTRIBUTE hidden tenantguard.secret;
SELECT pg_temp.mark('late') \gset
INSERT INTO tg82.vaultish (id, note, late, tag)
VALUES (3, 'late', ARRAY[ROW('x', pg_temp.s('tg82-late-1'))]::tg82.late[], ROW('red', pg_temp.s('tg82-tag-1')));
SELECT tg82.put(11, ROW('black', pg_temp.s('tg82-fn-1'))) \gset
SELECT pg_temp.mark('late_upd') \gset
UPDATE tg82.vaultish SET note = 'late, edited', tag = ROW('blue', NULL) WHERE id = 1;
SELECT pg_temp.mark('late_end') \gset
RESET ROLE;

SELECT is((SELECT new_row->'tag' FROM pg_temp.data_events() WHERE action = 'insert' AND (new_row->>'id')::int = 10),
    '"(green)"'::jsonb, 'before ALTER TYPE ... ADD ATTRIBUTE, the composite without a secret has its text form');
SELECT is((SELECT new_row->'late' FROM pg_temp.data_events() WHERE id > pg_temp.since('late') AND (new_row->>'id')::int = 3),
    '"[secret]"'::jsonb, 'a column of a composite type created after audit_table() (array of it, secret through a domain) is "[secret]"');
SELECT is((SELECT new_row->'tag' FROM pg_temp.data_events() WHERE id > pg_temp.since('late') AND (new_row->>'id')::int = 3),
    '"[secret]"'::jsonb, 'after ALTER TYPE ... ADD ATTRIBUTE of a secret, the existing column of that type is "[secret]"');
SELECT is((SELECT new_row->'tag' FROM pg_temp.data_events() WHERE id > pg_temp.since('late') AND (new_row->>'id')::int = 11),
    '"[secret]"'::jsonb, '... also for the same plan-cached INSERT in the same session');
SELECT results_eq(
    $$SELECT old_row, new_row FROM pg_temp.data_events() WHERE id > pg_temp.since('late_upd') AND id <= pg_temp.since('late_end')$$,
    $$VALUES ('{"note": "edited", "tag": "[secret]"}'::jsonb, '{"note": "late, edited", "tag": "[secret]"}'::jsonb)$$,
    'an UPDATE of a row stored before the type gained a secret records the column as "[secret]" too');

-- ---------------------------------------------------------------------------
-- 4. DELETE, and the attack: recovering deleted secrets from the ledger
-- ---------------------------------------------------------------------------
SET ROLE tg82_dev;
SELECT pg_temp.mark('delete') \gset
DELETE FROM tg82.vaultish WHERE id IN (1, 3, 10, 11);
RESET ROLE;
SELECT is((SELECT old_row FROM pg_temp.data_events() WHERE id > pg_temp.since('delete') AND (old_row->>'id')::int = 1),
    jsonb_build_object('id', 1, 'tenant_id', :'acme'::uuid, 'note', 'late, edited',
                       'keys', '[secret]', 'grid', '[secret]', 'cred', '[secret]', 'creds', NULL,
                       'acct', '[secret]', 'accts', '[secret]', 'd_key', '[secret]', 'd_keys', '[secret]',
                       'dd_keys', '[secret]', 'd_cred', '[secret]', 'arr_d', '[secret]',
                       'pair', '(3,4)', 'nums', '{1,2,3}', 'tag', '[secret]', 'late', NULL),
    'DELETE: old_row has every secret-holding column as "[secret]"');

SET ROLE tg82_dev;
SELECT is((SELECT count(*) FROM tg82.vaultish WHERE keys IS NOT NULL OR cred IS NOT NULL OR tag IS NOT NULL),
    0::bigint, 'the attacker deleted or overwrote every stored secret');
SELECT cmp_ok((SELECT count(*) FROM tenantguard_audit.events WHERE category = 'data' AND object = 'tg82.vaultish'),
    '>=', 10::bigint, 'the attacker (tenant role owner) reads its tenant''s data events');
SELECT is((SELECT count(*) FROM tenantguard_audit.events
            WHERE category = 'data' AND object = 'tg82.vaultish'
              AND (coalesce(old_row::text, '') || coalesce(new_row::text, '')) LIKE '%tgs1:%'),
    0::bigint, 'no data event the attacker can read contains a ciphertext (tgs1:)');
SELECT is((SELECT count(*) FROM tenantguard_audit.events e,
                  LATERAL regexp_matches(coalesce(e.old_row::text, '') || coalesce(e.new_row::text, ''),
                                         'tgs1:[A-Za-z0-9_-]+', 'g') AS m
            WHERE e.category = 'data' AND e.object = 'tg82.vaultish'
              AND tenantguard.reveal(m[1]::tenantguard.secret) IS NOT NULL),
    0::bigint, 'so no deleted secret can be revealed again from the ledger');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 5. Nothing of any sealed value in any event (auditor view: all tenants)
-- ---------------------------------------------------------------------------
SET ROLE tg82_auditor;
SELECT cmp_ok((SELECT count(*) FROM tenantguard_audit.events WHERE category = 'data' AND object = 'tg82.vaultish'),
    '=', (SELECT count(*) FROM pg_temp.data_events()), 'the auditor sees every data event of the table');
CREATE TEMP TABLE ev_text AS
    SELECT id, coalesce(old_row::text, '') || ' ' || coalesce(new_row::text, '') || ' ' || details::text AS t
      FROM tenantguard_audit.events WHERE id > pg_temp.since('start');
RESET ROLE;
-- the forms a sealed value could take: its text form, the base64url body,
-- the same bytes in standard base64 and in hex (a bytea rendering)
CREATE TEMP TABLE forms AS
    SELECT p, kind, f FROM (
        SELECT p, s::text AS tf, decode(rpad(translate(substr(s::text, 6), '-_', '+/'),
                                             (length(substr(s::text, 6)) + 3) / 4 * 4, '='), 'base64') AS raw
          FROM sealed) x,
    LATERAL (VALUES ('plaintext', p),
                    ('text form', tf),
                    ('base64url body', right(tf, 40)),
                    ('standard base64', right(rtrim(replace(encode(raw, 'base64'), E'\n', ''), '='), 40)),
                    ('hex', encode(substr(raw, length(raw) - 23), 'hex'))) AS v(kind, f);
SELECT is((SELECT count(*) FROM sealed), 22::bigint, 'sanity: 22 values were sealed');
SELECT is((SELECT count(DISTINCT raw) FROM (SELECT decode(rpad(translate(substr(s::text, 6), '-_', '+/'),
                                                         (length(substr(s::text, 6)) + 3) / 4 * 4, '='), 'base64') AS raw
                                               FROM sealed) r
            WHERE length(raw) > 62), 22::bigint,
    'sanity: each ciphertext decodes to its envelope (plaintext + 62 bytes)');
SELECT ok(EXISTS (SELECT 1 FROM forms WHERE kind = 'text form' AND f LIKE 'tgs1:%'),
    'sanity: the text forms start with tgs1:');
SELECT is((SELECT count(*) FROM ev_text WHERE t LIKE '%tgs1:%'), 0::bigint,
    'no event of this file contains tgs1:');
SELECT is((SELECT string_agg(DISTINCT kind || ' of ' || p, ', ') FROM forms JOIN ev_text ON strpos(ev_text.t, forms.f) > 0
            WHERE kind <> 'plaintext'),
    NULL, 'no event contains a ciphertext, its base64url body, its standard base64 or its hex');
SELECT is((SELECT string_agg(DISTINCT p, ', ') FROM forms JOIN ev_text ON strpos(ev_text.t, forms.f) > 0
            WHERE kind = 'plaintext'),
    NULL, 'no event contains a plaintext');
SELECT is((SELECT count(*) FROM ev_text WHERE t LIKE '%[secret]%'), (SELECT count(*) FROM pg_temp.data_events()
            WHERE (coalesce(old_row::text, '') || coalesce(new_row::text, '')) LIKE '%[secret]%'),
    'sanity: the "[secret]" markers are in the data events');

-- ---------------------------------------------------------------------------
-- 6. The check sees through every layer: what audit_table() records per type
-- ---------------------------------------------------------------------------
CREATE TABLE tg82.kinds (
    id int,
    a tg82.secret_d[][],
    b tg82.cred_d[],
    c tg82.account[][],
    d tg82.pair[],
    e tg82.late
);
SELECT tenantguard.audit_table('tg82.kinds') \gset
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO tg82.kinds VALUES (1,
    ARRAY[ARRAY[pg_temp.s('tg82-key-1')::tg82.secret_d]],
    ARRAY[ROW('k', pg_temp.s('tg82-key-2'))::tg82.cred_d],
    ARRAY[ARRAY[ROW('n', ARRAY[ROW('m', pg_temp.s('tg82-cred-2'))]::tg82.cred[])::tg82.account]],
    ARRAY[ROW(5, 6)]::tg82.pair[],
    ROW('l', NULL));
SELECT tenantguard.clear_context() \gset
SELECT is((SELECT new_row FROM pg_temp.data_events() WHERE object = 'tg82.kinds'),
    '{"id": 1, "a": "[secret]", "b": "[secret]", "c": "[secret]", "d": "{\"(5,6)\"}", "e": "[secret]"}'::jsonb,
    '2-D arrays of a domain over secret, arrays of a domain over a composite, 2-D arrays of nested composites are "[secret]" (also with the secret field NULL); an array of a plain composite is not');
SELECT is((SELECT count(*) FROM pg_temp.data_events() WHERE object = 'tg82.kinds'
            AND new_row::text LIKE '%tgs1:%'), 0::bigint, '... and hold no ciphertext');

SELECT * FROM finish();
ROLLBACK;
