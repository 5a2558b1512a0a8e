-- The vault (secrets by name, version and reference) and the privileges
-- around keys: who may rotate, rewrap, re-encrypt and read key material.
--
-- Attacker: an application role (member of tenantguard_app) bound to one
-- tenant that tries to read another tenant's vault entries directly, through
-- references naming the other tenant, or by planting the other tenant's
-- ciphertexts in its own vault; and non-superusers reaching for key material.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg71_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(109);

-- ---------------------------------------------------------------------------
-- Fixture
-- ---------------------------------------------------------------------------
CREATE ROLE tg71_app LOGIN IN ROLE tenantguard_app;        -- bound to Acme
CREATE ROLE tg71_gapp LOGIN IN ROLE tenantguard_app;       -- bound to Globex
CREATE ROLE tg71_free LOGIN IN ROLE tenantguard_app;       -- not bound: no context
CREATE ROLE tg71_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg71_auditor LOGIN IN ROLE tenantguard_auditor;
CREATE ROLE tg71_plain LOGIN;                              -- no tenantguard role at all

SELECT tenantguard.create_tenant('acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('globex', 'Globex') AS globex \gset
SELECT tenantguard.bind_role('tg71_app', :'acme') \gset
SELECT tenantguard.bind_role('tg71_gapp', :'globex') \gset

CREATE SCHEMA tg71;
GRANT USAGE ON SCHEMA tg71 TO PUBLIC;
-- Number of rows a data-modifying statement touched (runs as the caller).
CREATE FUNCTION tg71.affected(stmt text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
    EXECUTE stmt;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
-- Run a statement; its SQLSTATE, or 'none' when it succeeds.
CREATE FUNCTION tg71.state(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg71 TO PUBLIC;

-- ---------------------------------------------------------------------------
-- 1. Versions, get_secret, scopes (as the Acme application role)
-- ---------------------------------------------------------------------------
SET ROLE tg71_app;
SELECT is(tenantguard.put_secret('db.password', 'acme-pw-1'), 1, 'put_secret() creates version 1');
SELECT is(tenantguard.put_secret('db.password', 'acme-pw-2'), 2, 'put_secret() again creates version 2');
SELECT is(tenantguard.put_secret('db.password', 'acme-pw-3'), 3, '... and version 3');
SELECT is(tenantguard.get_secret('db.password'), 'acme-pw-3', 'get_secret() returns the latest version');
SELECT is(tenantguard.get_secret('db.password', 'default', NULL), 'acme-pw-3', 'get_secret(version => NULL) returns the latest version');
SELECT is(tenantguard.get_secret('db.password', 'default', 1), 'acme-pw-1', 'get_secret() by version 1');
SELECT is(tenantguard.get_secret('db.password', version => 2), 'acme-pw-2', 'get_secret() by version 2');
SELECT is(tenantguard.put_secret('db.password', 'acme-staging-pw', 'staging'), 1, 'a scope has its own versions');
SELECT is(tenantguard.get_secret('db.password', 'staging'), 'acme-staging-pw', 'get_secret() in another scope');
SELECT is(tenantguard.get_secret('db.password'), 'acme-pw-3', 'the default scope is unaffected');
SELECT is(tenantguard.put_secret('API_Key-2.v1', 'k', 'Prod_EU-1.x'), 1, 'names and scopes take letters, digits, _ . -');
SELECT is(tenantguard.put_secret(repeat('n', 128), 'long', repeat('s', 128)), 1, 'names and scopes of 128 characters are valid');
SELECT is(tenantguard.put_secret('empty', ''), 1, 'an empty value can be stored ...');
SELECT is(tenantguard.get_secret('empty'), '', '... and comes back empty, not NULL');
SELECT is(tenantguard.put_secret('unicode', 'pässwörd 🔐'), 1, 'a unicode value can be stored ...');
SELECT is(tenantguard.get_secret('unicode'), 'pässwörd 🔐', '... and comes back intact');

SELECT throws_ok($$SELECT tenantguard.get_secret('no.such.secret')$$, '42704', NULL, 'get_secret() of a missing name fails with 42704');
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password', 'default', 4)$$, '42704', NULL, 'get_secret() of a missing version fails with 42704');
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password', 'no-such-scope')$$, '42704', NULL, 'get_secret() in a missing scope fails with 42704');
SELECT throws_ok($$SELECT tenantguard.secret_ref('no.such.secret')$$, '42704', NULL, 'secret_ref() of a missing name fails with 42704');
SELECT throws_ok($$SELECT tenantguard.delete_secret('no.such.secret')$$, '42704', NULL, 'delete_secret() of a missing name fails with 42704');

-- stored sealed: the vault row holds a ciphertext of this tenant, not the value
SELECT is((SELECT count(*)::int FROM tenantguard.vault WHERE name = 'db.password' AND scope = 'default'), 3,
    'the vault table holds one row per version');
SELECT is((SELECT count(*)::int FROM tenantguard.vault WHERE value::text LIKE '%acme-pw%' OR value::text !~ '^tgs1:'), 0,
    'vault values are stored sealed (tgs1: ciphertexts)');
SELECT is((SELECT array_agg(DISTINCT tenantguard.secret_tenant(value)) FROM tenantguard.vault), ARRAY[:'acme'::uuid],
    'vault values are sealed for their tenant');
SELECT is((SELECT array_agg(DISTINCT created_by) FROM tenantguard.vault), ARRAY['role:tg71_app'],
    'created_by records the principal');

-- ---------------------------------------------------------------------------
-- 2. References
-- ---------------------------------------------------------------------------
SELECT is(tenantguard.secret_ref('db.password'), 'tgref:acme/default/db.password@3', 'secret_ref() is tgref:<slug>/<scope>/<name>@<latest version>');
SELECT is(tenantguard.secret_ref('db.password', 'staging'), 'tgref:acme/staging/db.password@1', 'secret_ref() names the scope');
SELECT is(tenantguard.resolve_ref(tenantguard.secret_ref('db.password')), 'acme-pw-3', 'resolve_ref() of a fresh reference gives the latest value');
SELECT is(tenantguard.resolve_ref('tgref:acme/default/db.password@1'), 'acme-pw-1', 'resolve_ref() of a version-1 reference');
SELECT is(tenantguard.resolve_ref('tgref:acme/staging/db.password@1'), 'acme-staging-pw', 'resolve_ref() in another scope');
SELECT is(tenantguard.put_secret('db.password', 'acme-pw-4'), 4, '(a fourth version)');
SELECT is(tenantguard.resolve_ref('tgref:acme/default/db.password@3'), 'acme-pw-3', 'a reference stays pinned to its version');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:acme/default/db.password@9')$$, '42704', NULL,
    'resolve_ref() of a missing version fails with 42704');
RESET ROLE;

-- Globex stores its own secrets, some under the same names.
SET ROLE tg71_gapp;
SELECT is(tenantguard.put_secret('db.password', 'globex-pw-1'), 1, 'Globex versions its own db.password from 1');
SELECT is(tenantguard.put_secret('globex.only', 'globex-only-value'), 1, 'Globex stores a secret Acme does not have');
SELECT is(tenantguard.get_secret('db.password'), 'globex-pw-1', 'Globex reads its own db.password, not Acme''s');
SELECT is(tenantguard.secret_ref('db.password'), 'tgref:globex/default/db.password@1', 'Globex references name Globex');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:acme/default/db.password@1')$$, '42501',
    'secret reference belongs to another tenant', 'Globex cannot resolve an Acme reference (42501)');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:acme/default/db.password@4')$$, '42501',
    'secret reference belongs to another tenant', '... not even one whose version Globex lacks (42501, not 42704)');
RESET ROLE;

SET ROLE tg71_app;
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:globex/default/db.password@1')$$, '42501',
    'secret reference belongs to another tenant', 'Acme cannot resolve a Globex reference (42501)');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:globex/default/globex.only@1')$$, '42501',
    'secret reference belongs to another tenant', 'Acme cannot resolve a reference to a Globex-only secret (42501)');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:acme/default/globex.only@1')$$, '42704', NULL,
    'a reference rewritten to Acme''s slug looks in Acme''s vault only (42704)');
SELECT throws_ok($$SELECT tenantguard.get_secret('globex.only')$$, '42704', NULL,
    'get_secret() of a Globex-only name in Acme fails with 42704');

-- malformed references: 22023
CREATE TEMP TABLE bad_refs (ref text);
INSERT INTO bad_refs VALUES
    (''), ('db.password'), ('tgref:'), ('tgref:acme'), ('tgref:acme/default'),
    ('tgref:acme/default/db.password'), ('tgref:acme/default/db.password@'),
    ('tgref:acme/default/db.password@0'), ('tgref:acme/default/db.password@01'),
    ('tgref:acme/default/db.password@-1'), ('tgref:acme/default/db.password@x'),
    ('tgref:acme/default/db.password@1x'), ('tgref:acme/default/db.password@2147483648'),
    ('tgref:acme/default/db.password@99999999999'), ('tgref:acme/db.password@1'),
    ('tgref:acme/default/db.password@1/extra'), ('tgref:acme/default/sub/db.password@1'),
    ('tgref:Acme/default/db.password@1'), ('tgref:-acme/default/db.password@1'),
    ('tgref:a/default/db.password@1'), ('tgref:/default/db.password@1'),
    ('tgref:acme//db.password@1'), ('tgref:acme/default/@1'),
    ('tgref:acme/def ault/db.password@1'), ('tgref:acme/default/db password@1'),
    ('tgref:acme/default/db.password@ 1'), ('tgref:acme/default/db.password@1 '),
    (' tgref:acme/default/db.password@1'), ('TGREF:acme/default/db.password@1'),
    ('tgref:acme/./db.password@1'), ('tgref:acme/default/..@1'),
    ('tgref:acme/default/db.password@1@1'), ('tgref:acme/default/pässword@1'),
    ('tgref:acme/default/' || repeat('n', 129) || '@1'), ('tgref:' || repeat('a', 64) || '/default/x@1');
SELECT is((SELECT string_agg(quote_literal(ref) || '=' || st, ', ')
             FROM (SELECT ref, tg71.state(format('SELECT tenantguard.resolve_ref(%L)', ref)) AS st FROM bad_refs) x
            WHERE st <> '22023'), NULL,
    'every malformed reference (35 shapes) is refused with 22023');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:acme/default/db.password')$$, '22023',
    'malformed secret reference', 'a reference without a version: 22023 "malformed secret reference"');
SELECT is(tenantguard.resolve_ref('tgref:acme/default/db.password@2'), 'acme-pw-2', '(a well-formed reference of the same shape resolves)');
SELECT is(tenantguard.resolve_ref(NULL), NULL, 'resolve_ref(NULL) is NULL');

-- invalid names and scopes: 22023 everywhere
CREATE TEMP TABLE bad_names (n text);
INSERT INTO bad_names VALUES (''), ('has space'), ('semi;colon'), ('slash/name'), ('at@sign'), ('.'), ('..'),
    ('pässword'), (repeat('a', 129)), (E'tab\there'), ('quote''s'), ('new' || chr(10) || 'line'), ('star*');
SELECT is((SELECT string_agg(quote_literal(n) || '=' || st, ', ') FROM (
             SELECT n, tg71.state(format('SELECT tenantguard.put_secret(%L, %L)', n, 'v')) AS st FROM bad_names
             UNION ALL SELECT n, tg71.state(format('SELECT tenantguard.put_secret(%L, %L, %L)', 'ok-name', 'v', n)) FROM bad_names
             UNION ALL SELECT n, tg71.state(format('SELECT tenantguard.get_secret(%L)', n)) FROM bad_names
             UNION ALL SELECT n, tg71.state(format('SELECT tenantguard.get_secret(%L, %L)', 'db.password', n)) FROM bad_names
             UNION ALL SELECT n, tg71.state(format('SELECT tenantguard.secret_ref(%L)', n)) FROM bad_names
             UNION ALL SELECT n, tg71.state(format('SELECT tenantguard.delete_secret(%L)', n)) FROM bad_names
             UNION ALL SELECT n, tg71.state(format('SELECT tenantguard.delete_secret(%L, %L)', 'db.password', n)) FROM bad_names) x
            WHERE st <> '22023'), NULL,
    'invalid names and scopes are refused with 22023 by put_secret, get_secret, secret_ref and delete_secret');
SELECT throws_ok($$SELECT tenantguard.put_secret('has space', 'v')$$, '22023', 'invalid secret name', 'an invalid name: "invalid secret name"');
SELECT throws_ok($$SELECT tenantguard.put_secret('x', 'v', 'a/b')$$, '22023', 'invalid secret scope', 'an invalid scope: "invalid secret scope"');
SELECT is((SELECT count(*)::int FROM tenantguard.vault WHERE name = 'ok-name'), 0, 'nothing was stored by the refused calls');
SELECT throws_ok($$INSERT INTO tenantguard.vault (name, scope, value, version) VALUES ('bad name', 'default', tenantguard.seal('v'::text), 1)$$,
    '42501', NULL, 'applications cannot write the vault table directly, only through the audited functions (42501)');

-- ---------------------------------------------------------------------------
-- 3. The secrets view: metadata only, current tenant only
-- ---------------------------------------------------------------------------
SELECT hasnt_column('tenantguard', 'secrets', 'value', 'the secrets view has no value column');
SELECT is((SELECT count(*)::int FROM information_schema.columns
            WHERE table_schema = 'tenantguard' AND table_name = 'secrets' AND udt_name IN ('secret', 'bytea')), 0,
    'the secrets view has no column of type secret or bytea');
SELECT results_eq($$SELECT scope, name, latest_version, versions::int FROM tenantguard.secrets WHERE name = 'db.password' ORDER BY scope$$,
    $$VALUES ('default'::text, 'db.password'::text, 4, 4), ('staging', 'db.password', 1, 1)$$,
    'the secrets view lists scope, name, latest version and version count');
SELECT is((SELECT array_agg(DISTINCT tenant_id) FROM tenantguard.secrets), ARRAY[:'acme'::uuid],
    'the secrets view shows only the current tenant''s secrets');
SELECT is((SELECT count(*)::int FROM tenantguard.secrets WHERE name = 'globex.only'), 0, 'Globex-only secrets are not listed in Acme');
SELECT is((SELECT count(*)::int FROM tenantguard.secrets s
            WHERE row_to_json(s)::text ~ '(acme-pw|acme-staging-pw|tgs1:)'), 0,
    'no row of the secrets view contains a value or a ciphertext');

-- ---------------------------------------------------------------------------
-- 4. The vault table is isolated per tenant
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM tenantguard.vault WHERE tenant_id = :'globex'), 0, 'Acme sees none of Globex''s vault rows');
SELECT throws_ok(format('DELETE FROM tenantguard.vault WHERE tenant_id = %L', :'globex'), '42501', NULL,
    'Acme cannot delete Globex''s vault rows (no direct writes at all; 42501)');
SELECT throws_ok(format($$INSERT INTO tenantguard.vault (tenant_id, name, scope, value, version)
                          VALUES (%L, 'planted', 'default', tenantguard.seal('x'::text), 1)$$, :'globex'), '42501', NULL,
    'Acme cannot insert a vault row into Globex (42501)');
SELECT throws_ok($$UPDATE tenantguard.vault SET version = version + 10$$, '42501', NULL,
    'the application cannot UPDATE vault rows (versions are immutable; 42501)');
RESET ROLE;

-- The ciphertext of Globex's secret, planted by Acme in Acme's own vault.
-- Applications cannot write the vault table; someone with write access to it plants the copy.
SELECT value::text AS globex_ct FROM tenantguard.vault WHERE tenant_id = :'globex' AND name = 'globex.only' \gset
SELECT lives_ok(format($$INSERT INTO tenantguard.vault (tenant_id, name, scope, value, version) VALUES (%L, 'stolen', 'default', %L, 1)$$,
                       :'acme', :'globex_ct'),
    'a copied Globex ciphertext is planted in Acme''s vault ...');
SET ROLE tg71_app;
SELECT throws_ok($$SELECT tenantguard.get_secret('stolen')$$, '42501', 'secret belongs to another tenant',
    '... but get_secret() refuses to reveal it (42501)');
SELECT throws_ok(format('SELECT tenantguard.resolve_ref(%L)', tenantguard.secret_ref('stolen')), '42501', 'secret belongs to another tenant',
    '... and so does resolve_ref() (42501)');
RESET ROLE;

SET ROLE tg71_gapp;
SELECT is(tenantguard.get_secret('globex.only'), 'globex-only-value', 'Globex''s secrets are intact');
SELECT is((SELECT count(*)::int FROM tenantguard.vault), 2, 'Globex sees exactly its own two vault rows');
SELECT is((SELECT count(*)::int FROM tenantguard.secrets), 2, 'Globex''s secrets view lists its own two secrets');
RESET ROLE;

SELECT ok(EXISTS (SELECT 1 FROM tenantguard.protected_tables WHERE rel = 'tenantguard.vault'::regclass AND tenant_column = 'tenant_id'),
    'tenantguard.vault is a protected table');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'tenantguard.vault'::regclass),
    'tenantguard.vault has row level security enabled and forced');

-- no context: everything about the vault fails closed
SET ROLE tg71_free;
SELECT throws_ok('SELECT count(*) FROM tenantguard.vault', '42501', 'no tenant context is set', 'reading the vault without a context fails with 42501');
SELECT throws_ok('SELECT count(*) FROM tenantguard.secrets', '42501', 'no tenant context is set', 'reading the secrets view without a context fails with 42501');
SELECT throws_ok($$SELECT tenantguard.put_secret('x', 'v')$$, '42501', 'no tenant context is set', 'put_secret() without a context fails with 42501');
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password')$$, '42501', 'no tenant context is set', 'get_secret() without a context fails with 42501');
SELECT throws_ok($$SELECT tenantguard.secret_ref('db.password')$$, '42501', 'no tenant context is set', 'secret_ref() without a context fails with 42501');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:acme/default/db.password@1')$$, '42501', 'no tenant context is set', 'resolve_ref() without a context fails with 42501');
SELECT throws_ok($$SELECT tenantguard.delete_secret('db.password')$$, '42501', 'no tenant context is set', 'delete_secret() without a context fails with 42501');
RESET ROLE;
SET ROLE tg71_plain;
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password')$$, '42501', NULL, 'a role outside tenantguard_app cannot call get_secret() (42501)');
SELECT throws_ok('SELECT count(*) FROM tenantguard.vault', '42501', NULL, 'a role outside tenantguard_app cannot read the vault (42501)');
RESET ROLE;

-- an administrator uses the vault after entering a tenant
SET ROLE tg71_admin;
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password')$$, '42501', 'no tenant context is set', 'an administrator without a context gets 42501');
SELECT tenantguard.set_tenant(:'acme') \gset
SELECT is(tenantguard.get_secret('db.password'), 'acme-pw-4', 'an administrator in Acme reads Acme''s secret');
SELECT tenantguard.clear_context() \gset
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 5. delete_secret
-- ---------------------------------------------------------------------------
SET ROLE tg71_app;
SELECT is(tenantguard.delete_secret('db.password'), 4, 'delete_secret() removes all 4 versions and returns the count');
SELECT is((SELECT count(*)::int FROM tenantguard.vault WHERE name = 'db.password' AND scope = 'default'), 0, 'no version is left');
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password')$$, '42704', NULL, 'get_secret() after delete fails with 42704');
SELECT throws_ok($$SELECT tenantguard.get_secret('db.password', 'default', 2)$$, '42704', NULL, 'an old version after delete fails with 42704');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:acme/default/db.password@3')$$, '42704', NULL, 'an old reference after delete fails with 42704');
SELECT throws_ok($$SELECT tenantguard.delete_secret('db.password')$$, '42704', NULL, 'deleting again fails with 42704');
SELECT is(tenantguard.get_secret('db.password', 'staging'), 'acme-staging-pw', 'the same name in another scope survives');
SELECT is((SELECT count(*)::int FROM tenantguard.secrets WHERE name = 'db.password'), 1, 'the secrets view lists only the staging entry');
SELECT is(tenantguard.put_secret('db.password', 'acme-pw-new'), 5, 'a secret stored again after delete continues after its last version (5): versions are never reused');
SELECT throws_ok($$SELECT tenantguard.resolve_ref('tgref:acme/default/db.password@1')$$, '42704', NULL,
    'so a reference to a deleted version never resolves to a newer value (42704)');
RESET ROLE;
SET ROLE tg71_gapp;
SELECT is(tenantguard.get_secret('db.password'), 'globex-pw-1', 'Acme''s delete did not touch Globex''s secret of the same name');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 6. Key material and key management privileges
-- ---------------------------------------------------------------------------
SET ROLE tg71_app;
SELECT throws_ok('SELECT tenantguard.rotate_data_key()', '42501', NULL, 'rotate_data_key() is not executable by tenantguard_app (42501)');
SELECT throws_ok($$SELECT tenantguard.rewrap_keys('/tmp/x')$$, '42501', NULL, 'rewrap_keys() is not executable by tenantguard_app (42501)');
SELECT throws_ok('SELECT * FROM tenantguard.data_keys', '42501', NULL, 'tenantguard_app cannot read data_keys (42501)');
SELECT throws_ok('SELECT * FROM tenantguard.key_versions', '42501', NULL, 'tenantguard_app cannot read key_versions (42501)');
SELECT throws_ok($$UPDATE tenantguard.data_keys SET wrapped = '\x00'$$, '42501', NULL, 'tenantguard_app cannot change data_keys (42501)');
SELECT throws_ok('SELECT tenantguard._newest_key_version()', '42501', NULL, '_newest_key_version() is not executable by tenantguard_app');
RESET ROLE;
SET ROLE tg71_admin;
SELECT throws_ok('SELECT * FROM tenantguard.data_keys', '42501', NULL, 'tenantguard_admin cannot read data_keys (42501)');
SELECT throws_ok('SELECT wrapped FROM tenantguard.data_keys', '42501', NULL, 'tenantguard_admin cannot read wrapped keys (42501)');
SELECT throws_ok($$DELETE FROM tenantguard.data_keys$$, '42501', NULL, 'tenantguard_admin cannot delete data_keys (42501)');
SELECT throws_ok($$SELECT tenantguard.rewrap_keys('/tmp/x')$$, '42501', NULL, 'rewrap_keys() is not executable by tenantguard_admin (42501)');
SELECT lives_ok('SELECT * FROM tenantguard.key_versions', 'tenantguard_admin reads key_versions');
SELECT is(tenantguard.rotate_data_key(), (SELECT max(version) + 1 FROM tenantguard.key_versions WHERE purpose = 'data'),
    'tenantguard_admin may rotate_data_key()');
RESET ROLE;
SET ROLE tg71_auditor;
SELECT throws_ok('SELECT * FROM tenantguard.data_keys', '42501', NULL, 'tenantguard_auditor cannot read data_keys (42501)');
SELECT throws_ok('SELECT tenantguard.rotate_data_key()', '42501', NULL, 'tenantguard_auditor cannot rotate keys (42501)');
RESET ROLE;
SELECT hasnt_column('tenantguard', 'key_versions', 'wrapped', 'key_versions shows no wrapped key material');
SELECT is((SELECT string_agg(column_name::text, ',' ORDER BY ordinal_position) FROM information_schema.columns
            WHERE table_schema = 'tenantguard' AND table_name = 'key_versions'),
    'version,purpose,created_at,master_key_id', 'key_versions has exactly version, purpose, created_at, master_key_id');

-- rewrap_keys() checks for a superuser itself, even when EXECUTE is granted
GRANT EXECUTE ON FUNCTION tenantguard.rewrap_keys(text) TO tg71_admin;
SET ROLE tg71_admin;
SELECT throws_ok($$SELECT tenantguard.rewrap_keys('/tmp/x')$$, '42501', 'only superusers may rewrap keys',
    'rewrap_keys() refuses a non-superuser even with EXECUTE granted (42501)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
