-- Privileged code under a hostile search_path, and caller-owned code run by
-- privileged functions (issue 7, items 1, 2, 3, 5, and the checker).
--
-- Attackers: an application role (member of tenantguard_app) and an
-- administrator (member of tenantguard_admin), each with a schema of its
-- own in which it creates functions, aggregates and operators that shadow
-- pg_catalog's (search_path = evil, pg_catalog puts them first). A shadow
-- calls tg90_evil.trap(), which records the identity it runs as and tries
-- ALTER ROLE ... SUPERUSER: any row recorded with super = true is a
-- privilege escalation. Each attack is preceded by a check that the shadow
-- really is picked up by an ordinary query, so the test can fail.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg90_.
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
CREATE ROLE tg90_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg90_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg90_reader LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.create_tenant('acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('globex', 'Globex') AS globex \gset
SELECT tenantguard.bind_role('tg90_app', :'acme') \gset
SELECT tenantguard.bind_role('tg90_reader', :'acme', 'member') \gset

-- what the traps record (anyone may insert)
CREATE TABLE public.tg90_pwned (who name, super boolean, what text, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT, SELECT ON public.tg90_pwned TO PUBLIC;

-- The app role's schema of shadows (created by the app role itself).
CREATE SCHEMA tg90_evil AUTHORIZATION tg90_app;
GRANT USAGE ON SCHEMA tg90_evil TO PUBLIC;
SET ROLE tg90_app;
CREATE FUNCTION tg90_evil.trap(what text) RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO public.tg90_pwned (who, super, what)
    SELECT current_user, r.rolsuper, what FROM pg_roles r WHERE r.rolname = current_user;
    BEGIN
        EXECUTE 'ALTER ROLE tg90_app SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
END
$$;
-- max(integer) and max(bigint) whose final function springs the trap
CREATE FUNCTION tg90_evil.max_final4(integer) RETURNS integer LANGUAGE plpgsql
    SET search_path = pg_catalog AS $$ BEGIN PERFORM tg90_evil.trap('max(integer)'); RETURN $1; END $$;
CREATE AGGREGATE tg90_evil.max(integer) (SFUNC = pg_catalog.int4larger, STYPE = integer,
                                         FINALFUNC = tg90_evil.max_final4);
CREATE FUNCTION tg90_evil.max_final8(bigint) RETURNS bigint LANGUAGE plpgsql
    SET search_path = pg_catalog AS $$ BEGIN PERFORM tg90_evil.trap('max(bigint)'); RETURN $1; END $$;
CREATE AGGREGATE tg90_evil.max(bigint) (SFUNC = pg_catalog.int8larger, STYPE = bigint,
                                        FINALFUNC = tg90_evil.max_final8);
-- text = text and bigint + integer that spring the trap and answer correctly
CREATE FUNCTION tg90_evil.texteq(a text, b text) RETURNS boolean LANGUAGE plpgsql
    SET search_path = pg_catalog AS $$ BEGIN PERFORM tg90_evil.trap('text = text'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR tg90_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = tg90_evil.texteq);
CREATE FUNCTION tg90_evil.int84pl(a bigint, b integer) RETURNS bigint LANGUAGE plpgsql
    SET search_path = pg_catalog AS $$ BEGIN PERFORM tg90_evil.trap('bigint + integer'); RETURN a OPERATOR(pg_catalog.+) b; END $$;
CREATE OPERATOR tg90_evil.+ (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = tg90_evil.int84pl);
CREATE FUNCTION tg90_evil.int8pl(a bigint, b bigint) RETURNS bigint LANGUAGE plpgsql
    SET search_path = pg_catalog AS $$ BEGIN PERFORM tg90_evil.trap('bigint + bigint'); RETURN a OPERATOR(pg_catalog.+) b; END $$;
CREATE OPERATOR tg90_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = tg90_evil.int8pl);
RESET ROLE;

-- The shadows work: an ordinary query under the hostile search_path uses them.
SET ROLE tg90_app;
SET search_path = tg90_evil, pg_catalog, public;
SELECT max(x) AS m4, max(x::bigint) AS m8, ('a' = 'a') AS eq, (1::bigint + 1) AS pl
  FROM (VALUES (1)) v(x) \gset
RESET search_path;
RESET ROLE;
SELECT is((SELECT count(DISTINCT what)::int FROM public.tg90_pwned WHERE who = 'tg90_app' AND NOT super), 4,
          'sanity: the shadow max(integer), max(bigint), text = text and bigint + integer are used by ordinary queries');
DELETE FROM public.tg90_pwned;

-- ---------------------------------------------------------------------------
-- 1. The first seal() / blind_index() of the database creates a key as the
--    bootstrap superuser: under the app role's hostile search_path.
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM tenantguard.key_versions), 0, 'no key exists yet: the next seal() creates the first');
SET ROLE tg90_app;
SET search_path = tg90_evil, pg_catalog, public;
SELECT tenantguard.seal('first seal of the database') AS first_secret \gset
SELECT tenantguard.blind_index('first blind index') AS first_index \gset
RESET search_path;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM tenantguard.key_versions), 2, 'seal() and blind_index() created the data key and the index key');
SELECT is((SELECT count(*)::int FROM public.tg90_pwned), 0,
          'key creation under the hostile search_path ran none of the app role''s shadows');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'tg90_app'), 'the app role is not a superuser');

SET ROLE tg90_app;
SELECT is(tenantguard.reveal(:'first_secret'::tenantguard.secret), 'first seal of the database',
          'the secret sealed under the hostile search_path reveals');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 2. rotate_data_key() by an administrator whose search_path shadows = and max
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA tg90_evil TO tg90_admin;
SET ROLE tg90_admin;
SET search_path = tg90_evil, pg_catalog, public;
SELECT tenantguard.rotate_data_key() AS v2 \gset
RESET search_path;
RESET ROLE;
SELECT is(:v2, 2, 'rotate_data_key() under the hostile search_path made version 2');
SELECT is((SELECT count(*)::int FROM public.tg90_pwned), 0,
          'rotate_data_key() ran none of the shadows (max, =)');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'tg90_app'), 'the app role is still not a superuser');

-- sealing and the ledger under the hostile search_path (seal, verify, digest)
SET ROLE tg90_admin;
SET search_path = tg90_evil, pg_catalog, public;
SELECT tenantguard_audit.seal() AS sealed \gset
SELECT ok FROM tenantguard_audit.verify() \gset
RESET search_path;
RESET ROLE;
SELECT ok(:'sealed' IS NOT NULL AND (SELECT count(*) FROM tenantguard_audit.signing_keys) = 1,
          'tenantguard_audit.seal() under the hostile search_path ran and stored the first signing key (max(id) + 1)');
SELECT ok(:'ok'::boolean, 'tenantguard_audit.verify() under the hostile search_path verifies');
SELECT is((SELECT count(*)::int FROM public.tg90_pwned), 0, 'seal() and verify() ran none of the shadows (max, +)');

-- ---------------------------------------------------------------------------
-- 3. reencrypt() on a table owned by the administrator, with a trigger, a
--    check constraint, a generated column and an index expression that spring
--    the trap: they must run as the table's owner, never as a superuser.
-- ---------------------------------------------------------------------------
CREATE SCHEMA tg90_adm AUTHORIZATION tg90_admin;
SET ROLE tg90_admin;
CREATE FUNCTION tg90_adm.trig() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM tg90_evil.trap('trigger'); RETURN NEW; END $$;
CREATE FUNCTION tg90_adm.chk(s tenantguard.secret) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM tg90_evil.trap('check'); RETURN true; END $$;
CREATE TABLE tg90_adm.creds (id int PRIMARY KEY, s tenantguard.secret CHECK (tg90_adm.chk(s)));
CREATE TRIGGER creds_trig BEFORE UPDATE ON tg90_adm.creds FOR EACH ROW EXECUTE FUNCTION tg90_adm.trig();
SELECT tenantguard.set_tenant(:'acme');
INSERT INTO tg90_adm.creds VALUES (1, tenantguard.seal('cred one')), (2, tenantguard.seal('cred two'));
-- a temporary table works the same way
CREATE TEMP TABLE tg90_tmp (id int, s tenantguard.secret);
CREATE TRIGGER tmp_trig BEFORE UPDATE ON pg_temp.tg90_tmp FOR EACH ROW EXECUTE FUNCTION tg90_adm.trig();
INSERT INTO pg_temp.tg90_tmp VALUES (1, tenantguard.seal('temp one'));
SELECT tenantguard.rotate_data_key() AS v3 \gset
RESET ROLE;
DELETE FROM public.tg90_pwned;

SET ROLE tg90_admin;
SELECT is(tenantguard.reencrypt('tg90_adm.creds', 's'), 2::bigint, 'reencrypt() rewrote both rows of the owner''s table');
SELECT is(tenantguard.reencrypt('pg_temp.tg90_tmp', 's'), 1::bigint, 'reencrypt() rewrote the temporary table');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM public.tg90_pwned WHERE what = 'trigger'), 3,
          'the owner''s triggers ran for each rewritten row (two of creds, one of the temporary table)');
SELECT is((SELECT count(*)::int FROM public.tg90_pwned WHERE what = 'check'), 2,
          'the owner''s check constraint ran for each rewritten row of creds');
SELECT is((SELECT count(*)::int FROM public.tg90_pwned WHERE super OR who <> 'tg90_admin'), 0,
          'every trap sprung by reencrypt() ran as the table''s owner, none as a superuser');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'tg90_admin'), 'the administrator is not a superuser');
SET ROLE tg90_admin;
SELECT is((SELECT array_agg(tenantguard.secret_key_version(s) ORDER BY id) FROM tg90_adm.creds), ARRAY[3, 3],
          'the rows are under the newest key');
SELECT is((SELECT string_agg(tenantguard.reveal(s), ',' ORDER BY id) FROM tg90_adm.creds), 'cred one,cred two',
          'and reveal to what was sealed');
RESET ROLE;

-- reencrypt() on a table the caller does not own
SET ROLE tg90_app;
CREATE TABLE tg90_evil.mine (id int, s tenantguard.secret);
RESET ROLE;
SET ROLE tg90_admin;
SELECT throws_ok($$SELECT tenantguard.reencrypt('tg90_evil.mine', 's')$$, '42501', NULL,
                 'reencrypt() of a table the administrator does not own is refused');
RESET ROLE;

-- a protected table with rows of two tenants: every tenant's rows are rewritten
CREATE TABLE tg90_adm.multi (tenant_id uuid NOT NULL, id int, s tenantguard.secret, PRIMARY KEY (tenant_id, id));
ALTER TABLE tg90_adm.multi OWNER TO tg90_admin;
SELECT tenantguard.protect('tg90_adm.multi');
SET ROLE tg90_admin;
SELECT tenantguard.set_tenant(:'acme', false);
INSERT INTO tg90_adm.multi (id, s) VALUES (1, tenantguard.seal('acme one')), (2, tenantguard.seal('acme two'));
SELECT tenantguard.clear_context();
SELECT tenantguard.set_tenant(:'globex', false);
INSERT INTO tg90_adm.multi (id, s) VALUES (1, tenantguard.seal('globex one'));
SELECT tenantguard.clear_context();
SELECT tenantguard.rotate_data_key() AS v4 \gset
SELECT is(tenantguard.reencrypt('tg90_adm.multi', 's'), 3::bigint,
          'reencrypt() of a protected table rewrites every tenant''s rows, without a context of the caller''s');
SELECT is(tenantguard.reencrypt('tg90_adm.multi', 's', 1, 5), 0::bigint, 'a second run finds nothing stale');
SELECT is(tenantguard.current_tenant(), NULL, 'reencrypt() leaves the caller without a context, as it found it');
SELECT tenantguard.set_tenant(:'globex');
SELECT is((SELECT string_agg(tenantguard.reveal(s) || '@v' || tenantguard.secret_key_version(s), ',') FROM tg90_adm.multi),
          'globex one@v4', 'globex''s row is under the newest key and reveals');
RESET ROLE;

-- _reseal() is refused outside reencrypt()
SET ROLE tg90_app;
SELECT throws_ok(format($$SELECT tenantguard._reseal(%L::tenantguard.secret)$$, :'first_secret'), '42501', NULL,
                 '_reseal() outside reencrypt() is refused');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 5. The audit events policy under a hostile search_path: = (uuid, uuid) and
--    = (text, text) that always answer true.
-- ---------------------------------------------------------------------------
CREATE SCHEMA tg90_evil2 AUTHORIZATION tg90_reader;
SET ROLE tg90_reader;
CREATE FUNCTION tg90_evil2.always(a uuid, b uuid) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR tg90_evil2.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = tg90_evil2.always);
CREATE FUNCTION tg90_evil2.always(a text, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR tg90_evil2.= (LEFTARG = text, RIGHTARG = text, FUNCTION = tg90_evil2.always);
SET search_path = tg90_evil2, pg_catalog, public;
SELECT (gen_random_uuid() = gen_random_uuid()) AND ('x' = 'y') AS shadowed \gset
SELECT count(*) AS visible FROM tenantguard_audit.events \gset
SELECT count(*) AS visible_view FROM tenantguard_audit.data_changes \gset
RESET search_path;
SELECT count(*) AS visible_plain FROM tenantguard_audit.events \gset
RESET ROLE;
SELECT ok(:'shadowed'::boolean, 'sanity: the reader''s = (uuid, uuid) and = (text, text) are used by ordinary queries');
SELECT is(:visible_plain::int, 0, 'a member of a tenant reads no audit events');
SELECT is(:visible::int, 0, 'nor with operators that always answer true on its search_path');
SELECT is(:visible_view::int, 0, 'nor through the data_changes view');
SELECT ok((SELECT count(*) FROM tenantguard_audit.events WHERE tenant_id = :'globex') > 0,
          'there are events of another tenant to leak');

-- ---------------------------------------------------------------------------
-- Every SECURITY DEFINER entry point an administrator or application can
-- call, called under the hostile search_path (text =, max, +).
-- ---------------------------------------------------------------------------
DELETE FROM public.tg90_pwned;
CREATE TABLE tg90_adm.prot (tenant_id uuid, id int);
ALTER TABLE tg90_adm.prot OWNER TO tg90_admin;
SET ROLE tg90_admin;
SET search_path = tg90_evil, pg_catalog, public;
SELECT tenantguard.create_tenant('hostile-path', 'made under a hostile search_path') AS hostile \gset
SELECT tenantguard.tenant_id('hostile-path') IS NOT NULL AS resolved \gset
SELECT tenantguard.suspend_tenant(:'hostile'), tenantguard.activate_tenant(:'hostile') \gset
SELECT tenantguard.bind_role('tg90_reader', :'hostile', 'auditor'), tenantguard.unbind_role('tg90_reader') \gset
SELECT tenantguard.bind_role('tg90_reader', :'acme', 'member') \gset
SELECT tenantguard.protect('tg90_adm.prot') \gset
SELECT tenantguard.audit_table('tg90_adm.prot') \gset
SELECT tenantguard.unaudit_table('tg90_adm.prot') \gset
SELECT tenantguard.unprotect('tg90_adm.prot') \gset
SELECT count(*) AS findings FROM tenantguard.isolation_report() \gset
SELECT tenantguard.clear_context(), tenantguard.set_tenant(:'hostile', false) \gset
SELECT tenantguard.put_secret('api-key', 'hostile path value') AS pv \gset
SELECT tenantguard.get_secret('api-key') AS gv \gset
SELECT tenantguard.resolve_ref(tenantguard.secret_ref('api-key')) AS rv \gset
SELECT tenantguard.delete_secret('api-key') AS dv \gset
SELECT tenantguard.audit_log('hostile.path', 'test') \gset
SELECT tenantguard.clear_context() \gset
SELECT CASE WHEN tenantguard_audit.digest() IS NULL THEN true
            ELSE tenantguard_audit.verify_digest(tenantguard_audit.digest()) END AS digested \gset
SELECT tenantguard_audit.public_key() IS NOT NULL AS has_key \gset
RESET search_path;
RESET ROLE;
SELECT is(:'gv' || '|' || :'rv' || '|' || :dv, 'hostile path value|hostile path value|1',
          'the vault functions work under the hostile search_path');
SELECT is((SELECT count(*)::int FROM public.tg90_pwned WHERE super), 0,
          'no SECURITY DEFINER entry point ran a shadow as a superuser under the hostile search_path');
SELECT is((SELECT count(*)::int FROM public.tg90_pwned), 0, 'none ran a shadow at all');

-- ---------------------------------------------------------------------------
-- Checker: every SECURITY DEFINER function of the extension pins search_path
-- ---------------------------------------------------------------------------
SELECT is((SELECT coalesce(string_agg(p.oid::regprocedure::text, ', '), '')
             FROM pg_proc p
             JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'tenantguard'
            WHERE p.prosecdef
              AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                               WHERE c = 'search_path=pg_catalog, pg_temp')),
          '', 'every SECURITY DEFINER function of the extension has SET search_path = pg_catalog, pg_temp');
SELECT ok((SELECT count(*) FROM pg_proc p
             JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'tenantguard'
            WHERE p.prosecdef) >= 25, 'sanity: the checker sees the extension''s SECURITY DEFINER functions');
-- SQL functions of the extension that a policy could inline run under the
-- querying role's search_path: none may be used in a policy.
SELECT is((SELECT coalesce(string_agg(DISTINCT pol.polname || ' on ' || pol.polrelid::regclass::text, ', '), '')
             FROM pg_policy pol
             JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
                             AND d.refclassid = 'pg_proc'::regclass
             JOIN pg_proc p ON p.oid = d.refobjid
            WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql') AND p.proconfig IS NULL),
          '', 'no policy calls an inlinable SQL function');

SELECT * FROM finish();
ROLLBACK;
