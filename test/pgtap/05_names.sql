-- Name rules and error codes of the SQL layer.
--
-- The tenant slug and tenant role-name rules live in C (tenantguard._slug_valid
-- and tenantguard._role_name_valid, over core/); the CHECK constraints and
-- the PL/pgSQL checks call them. This file shows that they decide exactly as
-- the regular expressions they replaced, on every short string over an
-- alphabet of edge characters and on strings around the length limits; that
-- the errors of create_tenant() and bind_role() are unchanged; that direct
-- writes to the tables still meet the constraints; and that the PL/pgSQL
-- errors written with condition names raise the same SQLSTATEs as before.
--
-- Runs in one transaction that is rolled back; objects are prefixed tg05.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(40);

-- ---------------------------------------------------------------------------
-- The functions: C, IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
-- ---------------------------------------------------------------------------
SELECT is((SELECT concat_ws(' ', l.lanname, p.provolatile, p.proisstrict, p.proparallel, p.proleakproof)
             FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.oid = 'tenantguard._slug_valid(text)'::regprocedure),
          'c i t s t', '_slug_valid is C, IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF');
SELECT is((SELECT concat_ws(' ', l.lanname, p.provolatile, p.proisstrict, p.proparallel, p.proleakproof)
             FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.oid = 'tenantguard._role_name_valid(text)'::regprocedure),
          'c i t s t', '_role_name_valid is C, IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF');
SELECT is(tenantguard._slug_valid(NULL), NULL, '_slug_valid(NULL) is NULL (STRICT)');

-- ---------------------------------------------------------------------------
-- The same decisions as the regular expressions they replace
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE tg05_alphabet (c text);
INSERT INTO tg05_alphabet
SELECT unnest(ARRAY['a', 'z', '0', '9', 'A', 'Z', '-', '_', '.', '`', '{', '/', ':', ' ', E'\n', E'\t',
                    chr(233), chr(223), chr(305), chr(128578)]);    -- é ß ı and an emoji
CREATE TEMP TABLE tg05_strings (s text);
INSERT INTO tg05_strings SELECT '';
INSERT INTO tg05_strings SELECT c FROM tg05_alphabet;
INSERT INTO tg05_strings SELECT a.c || b.c FROM tg05_alphabet a, tg05_alphabet b;
INSERT INTO tg05_strings SELECT a.c || b.c || d.c FROM tg05_alphabet a, tg05_alphabet b, tg05_alphabet d;
-- around the length limits: one character of the alphabet first, in the middle or last
INSERT INTO tg05_strings
SELECT CASE pos WHEN 0 THEN a.c || repeat('a', n - 1)
                WHEN 1 THEN repeat('a', n / 2) || a.c || repeat('a', n - n / 2 - 1)
                ELSE repeat('a', n - 1) || a.c END
  FROM tg05_alphabet a, generate_series(60, 66) n, generate_series(0, 2) pos;

SELECT ok((SELECT count(*) FROM tg05_strings) > 8000, 'more than 8000 strings are compared');
SELECT is((SELECT count(*) FROM tg05_strings
            WHERE tenantguard._slug_valid(s) IS DISTINCT FROM (s ~ '^[a-z0-9][a-z0-9-]{1,62}$')),
          0::bigint, '_slug_valid decides as ^[a-z0-9][a-z0-9-]{1,62}$ on every string');
SELECT is((SELECT count(*) FROM tg05_strings
            WHERE tenantguard._role_name_valid(s) IS DISTINCT FROM (s ~ '^[a-z0-9][a-z0-9_.-]{0,62}$')),
          0::bigint, '_role_name_valid decides as ^[a-z0-9][a-z0-9_.-]{0,62}$ on every string');
SELECT ok((SELECT count(*) FILTER (WHERE tenantguard._slug_valid(s)) > 100
              AND count(*) FILTER (WHERE NOT tenantguard._slug_valid(s)) > 100
              AND count(*) FILTER (WHERE tenantguard._role_name_valid(s)) > 100
              AND count(*) FILTER (WHERE NOT tenantguard._role_name_valid(s)) > 100
             FROM tg05_strings),
          'both rules accept and refuse many of the strings');
SELECT ok(tenantguard._slug_valid(repeat('x', 63)) AND NOT tenantguard._slug_valid(repeat('x', 64))
          AND tenantguard._slug_valid('ab') AND NOT tenantguard._slug_valid('a'),
          'slugs: 2 to 63 characters');
SELECT ok(tenantguard._role_name_valid('a') AND tenantguard._role_name_valid(repeat('r', 63))
          AND NOT tenantguard._role_name_valid(repeat('r', 64)) AND NOT tenantguard._role_name_valid(''),
          'tenant role names: 1 to 63 characters');

-- ---------------------------------------------------------------------------
-- The constraints call the functions, and still hold for direct writes
-- ---------------------------------------------------------------------------
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'tenants_slug_format'),
          'CHECK (tenantguard._slug_valid(slug))', 'tenants_slug_format calls _slug_valid');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'role_bindings_tenant_role_format'),
          'CHECK (tenantguard._role_name_valid(tenant_role))', 'role_bindings_tenant_role_format calls _role_name_valid');
SELECT throws_ok($$INSERT INTO tenantguard.tenants (slug) VALUES ('-x')$$, '23514',
    'new row for relation "tenants" violates check constraint "tenants_slug_format"',
    'a direct insert of a bad slug violates tenants_slug_format');
SELECT throws_ok($$INSERT INTO tenantguard.tenants (slug) VALUES ('caf' || chr(233))$$, '23514', NULL,
    'a direct insert of a non-ASCII slug violates tenants_slug_format');
SELECT lives_ok($$INSERT INTO tenantguard.tenants (slug) VALUES ('tg05-direct')$$,
    'a direct insert of a good slug passes the constraint');

CREATE ROLE tg05_bound LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.create_tenant('tg05-acme') AS acme \gset
SELECT throws_ok(format($$INSERT INTO tenantguard.role_bindings (role, role_name, tenant_id, tenant_role)
                          VALUES ('tg05_bound', 'tg05_bound', %L, 'Admin')$$, :'acme'), '23514',
    'new row for relation "role_bindings" violates check constraint "role_bindings_tenant_role_format"',
    'a direct insert of a bad tenant role violates role_bindings_tenant_role_format');
SELECT tenantguard.bind_role('tg05_bound', :'acme', 'viewer') \gset
SELECT throws_ok(format($$UPDATE tenantguard.role_bindings SET tenant_role = '.x' WHERE tenant_id = %L$$, :'acme'),
    '23514', NULL, 'a direct update to a bad tenant role violates role_bindings_tenant_role_format');

-- ---------------------------------------------------------------------------
-- create_tenant() and bind_role(): the errors of before
-- ---------------------------------------------------------------------------
SELECT throws_ok($$SELECT tenantguard.create_tenant('Bad Slug')$$, '22023', 'invalid tenant slug',
    'create_tenant: upper case and a space are refused');
SELECT throws_ok($$SELECT tenantguard.create_tenant('-x')$$, '22023', 'invalid tenant slug',
    'create_tenant: a leading hyphen is refused');
SELECT throws_ok($$SELECT tenantguard.create_tenant('a')$$, '22023', 'invalid tenant slug',
    'create_tenant: one character is refused');
SELECT throws_ok($$SELECT tenantguard.create_tenant(repeat('a', 64))$$, '22023', 'invalid tenant slug',
    'create_tenant: 64 characters are refused');
SELECT throws_ok($$SELECT tenantguard.create_tenant(NULL)$$, '22023', 'invalid tenant slug',
    'create_tenant: NULL is refused');
SELECT lives_ok($$SELECT tenantguard.create_tenant(repeat('a', 63))$$,
    'create_tenant: 63 characters are a slug');
-- the detail and hint, exactly
CREATE FUNCTION pg_temp.tg05_error(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN concat_ws(' | ', st, msg, nullif(det, ''), nullif(hnt, ''));
END
$$;
SELECT is(pg_temp.tg05_error($$SELECT tenantguard.create_tenant('x_y')$$),
    '22023 | invalid tenant slug | Slug ''x_y'' does not match ^[a-z0-9][a-z0-9-]{1,62}$. | Use 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit.',
    'create_tenant: SQLSTATE, message, detail and hint as before');
SELECT is(pg_temp.tg05_error(format($$SELECT tenantguard.bind_role('tg05_bound', %L, 'Admin')$$, :'acme')),
    '22023 | invalid tenant role name | Use lower-case letters, digits, "_", "." and "-".',
    'bind_role: an upper-case tenant role is refused, SQLSTATE, message and hint as before');
SELECT throws_ok(format($$SELECT tenantguard.bind_role('tg05_bound', %L, '-ops')$$, :'acme'), '22023',
    'invalid tenant role name', 'bind_role: a leading hyphen is refused');
SELECT throws_ok(format($$SELECT tenantguard.bind_role('tg05_bound', %L, '')$$, :'acme'), '22023',
    'invalid tenant role name', 'bind_role: an empty tenant role is refused');
SELECT throws_ok(format($$SELECT tenantguard.bind_role('tg05_bound', %L, repeat('r', 64))$$, :'acme'), '22023',
    'invalid tenant role name', 'bind_role: 64 characters are refused');
SELECT throws_ok(format($$SELECT tenantguard.bind_role('tg05_bound', %L, 'r' || chr(244) || 'le')$$, :'acme'), '22023',
    'invalid tenant role name', 'bind_role: a non-ASCII tenant role is refused');
SELECT lives_ok(format($$SELECT tenantguard.bind_role('tg05_bound', %L, repeat('r', 63))$$, :'acme'),
    'bind_role: 63 characters are a tenant role name');
SELECT is((SELECT tenant_role FROM tenantguard.role_bindings WHERE role = 'tg05_bound'::regrole), repeat('r', 63),
    'the 63-character tenant role is stored');

-- ---------------------------------------------------------------------------
-- Condition names in PL/pgSQL: the same SQLSTATEs as the numeric codes before
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM pg_proc p
             JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'tenantguard'
            WHERE p.prosrc ~ $re$[Ee][Rr][Rr][Cc][Oo][Dd][Ee]\s*=\s*'[0-9A-Z]{5}'$re$),
          0::bigint, 'no function of the extension raises with a numeric ERRCODE');
CREATE SCHEMA tg05;
CREATE TABLE tg05.textcol (tenant_id text);
CREATE VIEW tg05.v AS SELECT 1 AS tenant_id;
CREATE TABLE tg05.nocol (id int);
SELECT throws_ok($$SELECT tenantguard.suspend_tenant(NULL)$$, '22004', 'tenant must not be null',
    'null_value_not_allowed is 22004 (not 39004)');
SELECT throws_ok($$SELECT tenantguard.create_tenant('tg05-acme')$$, '23505', 'tenant "tg05-acme" already exists',
    'unique_violation is 23505');
SELECT throws_ok($$SELECT tenantguard.protect_schema('tg05_nope')$$, '3F000', 'schema "tg05_nope" does not exist',
    'invalid_schema_name is 3F000');
SELECT throws_ok($$SELECT tenantguard.get_secret('x')$$, '42501', 'no tenant context is set',
    'insufficient_privilege is 42501');
SELECT throws_ok($$SELECT tenantguard.protect('tg05.nocol')$$, '42703', NULL,
    'undefined_column is 42703');
SELECT throws_ok($$SELECT tenantguard.tenant_id('tg05-nope')$$, '42704', 'tenant "tg05-nope" does not exist',
    'undefined_object is 42704');
SELECT throws_ok($$SELECT tenantguard.protect('tg05.textcol')$$, '42804', NULL,
    'datatype_mismatch is 42804');
SELECT throws_ok($$SELECT tenantguard.protect('tg05.v')$$, '42809', NULL,
    'wrong_object_type is 42809');
SELECT throws_ok($$SELECT tenantguard_audit.verify_digest('{"block_id": "x"}')$$, '22023', 'malformed audit digest',
    'invalid_parameter_value is 22023');

SELECT * FROM finish();
ROLLBACK;
