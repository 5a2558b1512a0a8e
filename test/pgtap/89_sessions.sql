-- Login sessions: tokens, resume(), logout(), revoke_sessions(), expiry and
-- idle timeout, revocation by membership and user changes, current_aal() in
-- a restrictive policy, and attacks on the session path.
--
-- Attacker: an application login role (member of tenantguard_app) holding a
-- mistyped, truncated, forged, foreign, logged-out or other tenant's session
-- token, or reading the sessions table; it must never get a context from
-- them, nor see a token or token hash. Sessions are made with the owner-only
-- tenantguard._create_session() (what login() uses), as superuser.
-- Cross-backend revocation: test/suites/sessions.sh.
--
-- Runs in one transaction that is rolled back; roles are prefixed tg89_.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(93);

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE ROLE tg89_app LOGIN IN ROLE tenantguard_app;
CREATE ROLE tg89_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE tg89_bound LOGIN IN ROLE tenantguard_app;

SELECT tenantguard.create_tenant('acme', 'Acme') AS acme \gset
SELECT tenantguard.create_tenant('globex', 'Globex') AS globex \gset
SELECT tenantguard.bind_role('tg89_bound', :'globex') \gset

INSERT INTO tenantguard.users (email) VALUES ('alice@example.com') RETURNING id AS alice \gset
INSERT INTO tenantguard.users (email) VALUES ('bob@example.com') RETURNING id AS bob \gset
INSERT INTO tenantguard.users (email) VALUES ('carol@example.com') RETURNING id AS carol \gset
INSERT INTO tenantguard.memberships (tenant_id, user_id, role) VALUES
    (:'acme', :'alice', 'viewer'), (:'globex', :'alice', 'operator'),
    (:'acme', :'bob', 'admin'), (:'acme', :'carol', 'viewer');

CREATE SCHEMA tg89;
GRANT USAGE ON SCHEMA tg89 TO tg89_app, tg89_admin, tg89_bound;
CREATE TABLE tg89.docs (tenant_id uuid NOT NULL, id int NOT NULL, body text NOT NULL);
SELECT tenantguard.protect('tg89.docs') \gset
-- a second factor required for these rows
CREATE TABLE tg89.vault (tenant_id uuid NOT NULL, id int NOT NULL);
SELECT tenantguard.protect('tg89.vault') \gset
CREATE POLICY tg89_mfa ON tg89.vault AS RESTRICTIVE FOR ALL USING (tenantguard.current_aal() >= 2);
GRANT SELECT ON tg89.docs, tg89.vault TO tg89_app, tg89_bound, tg89_admin;
SELECT tenantguard.set_tenant(:'acme');
INSERT INTO tg89.docs VALUES (:'acme', 1, 'a1'), (:'acme', 2, 'a2');
INSERT INTO tg89.vault VALUES (:'acme', 1);
SELECT tenantguard.clear_context();
SELECT tenantguard.set_tenant(:'globex');
INSERT INTO tg89.docs VALUES (:'globex', 3, 'g1');
SELECT tenantguard.clear_context();

-- Did f fail with SQLSTATE st, without the token (or its secret) in message, detail or hint?
CREATE FUNCTION tg89.refused(sql text, tok text, OUT state text, OUT echoed boolean) LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE sql;
        state := 'ok';
    EXCEPTION WHEN OTHERS THEN
        DECLARE d text; h text; m text;
        BEGIN
            GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
            state := SQLSTATE;
            echoed := position(substr(tok, 7, 20) IN coalesce(m, '') || coalesce(d, '') || coalesce(h, '')) > 0;
        END;
    END;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tg89 TO tg89_app, tg89_bound, tg89_admin;

-- ---------------------------------------------------------------------------
-- Creating a session
-- ---------------------------------------------------------------------------
SELECT token AS t1, expires_at AS t1_exp FROM tenantguard._create_session(:'alice', :'acme', 1, 'password') \gset
SELECT token AS t2 FROM tenantguard._create_session(:'alice', :'acme', 2, 'password') \gset
SELECT ok(:'t1' ~ '^tgses_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}$', 'a session token is tgses_<43 base62>_<6 base62 checksum>');
SELECT isnt(:'t1'::text, :'t2'::text, 'every session has its own token');
SELECT ok(:'t1_exp'::timestamptz BETWEEN now() + interval '12 hours' - interval '1 minute'
                                    AND clock_timestamp() + interval '12 hours',
    'a session expires after tenantguard.session_ttl (12 h)');
SELECT is((SELECT count(*)::int FROM tenantguard.sessions WHERE token_hash = digest(:'t1', 'sha256')), 1,
    'the session is stored under the SHA-256 of its token');
SELECT is((SELECT count(*)::int FROM tenantguard.sessions s
            WHERE position(convert_to(substr(:'t1', 7, 43), 'UTF8') IN s.token_hash) > 0
               OR s::text LIKE '%' || substr(:'t1', 7, 43) || '%'), 0,
    'the token itself is stored nowhere in the row');
SELECT throws_ok(format($$SELECT * FROM tenantguard._create_session(%L, %L, 3, 'password')$$, :'alice', :'acme'),
    '22023', 'invalid assurance level 3', 'aal 3: 22023');
SELECT throws_ok(format($$SELECT * FROM tenantguard._create_session(%L, %L, 1, 'Pass word')$$, :'alice', :'acme'),
    '22023', 'invalid sign-in method', 'a method outside [a-z0-9_]: 22023');
SELECT throws_ok(format($$SELECT * FROM tenantguard._create_session(%L, %L, 1, 'password')$$, gen_random_uuid(), :'acme'),
    '23503', NULL, 'a session for an unknown user is refused by the foreign key');

-- ---------------------------------------------------------------------------
-- Who may see and make sessions
-- ---------------------------------------------------------------------------
SET ROLE tg89_app;
SELECT throws_ok('SELECT count(*) FROM tenantguard.sessions', '42501', NULL,
    'an application role cannot read tenantguard.sessions');
SELECT throws_ok('SELECT count(*) FROM tenantguard.user_sessions', '42501', NULL,
    'nor the sessions view');
SELECT throws_ok(format($$SELECT * FROM tenantguard._create_session(%L, %L, 2, 'password')$$, :'alice', :'acme'),
    '42501', NULL, 'nor create a session without credentials');
SELECT throws_ok($$UPDATE tenantguard.sessions SET revoked_at = NULL$$, '42501', NULL,
    'nor un-revoke sessions');
RESET ROLE;
SET ROLE tg89_admin;
SELECT is((SELECT count(*)::int FROM tenantguard.user_sessions WHERE user_id = :'alice' AND live), 2,
    'administrators see sessions through user_sessions');
SELECT throws_ok('SELECT token_hash FROM tenantguard.sessions', '42501', NULL,
    'but never a token hash');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- resume()
-- ---------------------------------------------------------------------------
SET ROLE tg89_app;
SELECT lives_ok(format($$SELECT tenantguard.resume(%L)$$, :'t1'), 'resume() with a fresh session token');
SELECT results_eq('SELECT tenant_slug, principal, role, scope, aal FROM tenantguard.whoami()',
    format($$VALUES ('acme'::text, 'user:%s'::text, 'viewer'::text, 'transaction'::text, 1)$$, :'alice'),
    'the context: the tenant, principal user:<id>, the membership''s role, aal 1');
SELECT is(tenantguard.current_aal(), 1, 'current_aal() is 1 for a password-only session');
SELECT is(tenantguard.current_tenant(), :'acme'::uuid, 'current_tenant() is the session''s tenant');
SELECT is((SELECT array_agg(id ORDER BY id) FROM tg89.docs), ARRAY[1, 2], 'only the tenant''s rows');
SELECT is((SELECT count(*)::int FROM tg89.vault), 0, 'a restrictive policy on current_aal() >= 2 hides rows from aal 1');
SELECT is((SELECT expires_at FROM tenantguard.whoami()), :'t1_exp'::timestamptz,
    'whoami() shows the session''s absolute expiry');
SELECT lives_ok(format($$SELECT tenantguard.resume(%L)$$, :'t1'), 'resume() again in the same transaction and tenant');
SELECT throws_ok(format($$SELECT tenantguard.set_tenant(%L)$$, :'globex'), '42501', NULL,
    'an application cannot move a resumed context with set_tenant()');
RESET ROLE;
SELECT tenantguard.clear_context();
SET ROLE tg89_app;
SELECT lives_ok(format($$SELECT tenantguard.resume(%L)$$, :'t2'), 'resume() a session signed in with a second factor');
SELECT is(tenantguard.current_aal(), 2, 'current_aal() is 2');
SELECT is((SELECT aal FROM tenantguard.whoami()), 2, 'whoami() shows aal 2');
SELECT is((SELECT count(*)::int FROM tg89.vault), 1, 'the restrictive policy lets aal 2 see the row');
SELECT tenantguard.clear_context();
SELECT is(tenantguard.current_aal(), NULL, 'current_aal() is NULL without a context');
SELECT lives_ok(format($$SELECT tenantguard.resume(%L, false)$$, :'t1'), 'resume(token, false): for the session');
SELECT is((SELECT scope FROM tenantguard.whoami()), 'session', 'whoami() reports session scope');
SELECT tenantguard.clear_context();
RESET ROLE;

-- other contexts are aal 1
SET ROLE tg89_admin;
SELECT tenantguard.set_tenant(:'acme');
SELECT is(tenantguard.current_aal(), 1, 'an administrator''s set_tenant() context is aal 1');
SELECT is((SELECT count(*)::int FROM tg89.vault), 0, 'and does not pass the two-factor policy');
SELECT tenantguard.clear_context();
RESET ROLE;
SET ROLE tg89_bound;
SELECT is(tenantguard.current_aal(), 1, 'a bound role''s context is aal 1');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Refused tokens: malformed shape 22023 before any lookup, else 28000
-- ---------------------------------------------------------------------------
SET ROLE tg89_app;
SELECT is(tg89.refused(format($$SELECT tenantguard.resume(%L)$$,
        overlay(:'t1' placing (CASE WHEN substr(:'t1', 20, 1) = 'a' THEN 'b' ELSE 'a' END) from 20 for 1)), :'t1'),
    ('22023'::text, false)::record, 'a mistyped token (one character changed): 22023 by its checksum, token not echoed');
SELECT is(tg89.refused(format($$SELECT tenantguard.resume(%L)$$, left(:'t1', 55)), :'t1'),
    ('22023'::text, false)::record, 'a truncated token: 22023');
SELECT is(tg89.refused(format($$SELECT tenantguard.resume(%L)$$, :'t1' || 'x'), :'t1'),
    ('22023'::text, false)::record, 'a token with a character appended: 22023');
SELECT is(tg89.refused(format($$SELECT tenantguard.resume(%L)$$, upper(:'t1')), :'t1'),
    ('22023'::text, false)::record, 'an upper-cased token: 22023');
SELECT is(tg89.refused(format($$SELECT tenantguard.resume(%L)$$, 'tgenr' || substr(:'t1', 6)), :'t1'),
    ('22023'::text, false)::record, 'a token of another kind (tgenr_): 22023');
SELECT is(tg89.refused($$SELECT tenantguard.resume('eyJhbGciOiJIUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln')$$, 'tgses_x'),
    ('22023'::text, false)::record, 'a JWT passed to resume(): 22023');
SELECT is(tg89.refused($$SELECT tenantguard.resume('')$$, 'tgses_x'), ('22023'::text, false)::record, 'an empty token: 22023');
SELECT throws_ok($$SELECT tenantguard.resume(NULL)$$, '22004', NULL, 'a NULL token: 22004');
-- a well-formed token with a valid checksum that names no session (made with a fresh secret)
RESET ROLE;
SELECT token AS forged FROM tenantguard._create_session(:'carol', :'acme', 1, 'password') \gset
DELETE FROM tenantguard.sessions WHERE token_hash = digest(:'forged', 'sha256');
SET ROLE tg89_app;
SELECT is(tg89.refused(format($$SELECT tenantguard.resume(%L)$$, :'forged'), :'forged'),
    ('28000'::text, false)::record, 'a well-formed token of no session: 28000, not echoed');
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'forged'), '28000', 'invalid session token',
    'the message is "invalid session token"');
SELECT is(tenantguard.current_tenant(), NULL, 'no context after refusals');
-- forging the internal context value
SELECT throws_ok(format($$SELECT set_config('tenantguard.context', 'tgctx2;%s;L;0;2;%s;owner;user:%s', true)$$,
        :'acme', gen_random_uuid(), :'alice'), '42501', 'tenant context cannot be set directly',
    'a hand-made context value with aal 2 and a session id: 42501');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- A session of tenant A used by a role bound to tenant B; a locked context
-- ---------------------------------------------------------------------------
SET ROLE tg89_bound;
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'t1'), '42501', 'role "tg89_bound" is bound to another tenant',
    'an acme session cannot be resumed by a role bound to globex');
SELECT is((SELECT array_agg(id) FROM tg89.docs), ARRAY[3], 'the bound role stays in globex');
RESET ROLE;
SELECT token AS tg FROM tenantguard._create_session(:'alice', :'globex', 1, 'password') \gset
SET ROLE tg89_app;
SELECT tenantguard.resume(:'t1');
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'tg'), '42501', 'tenant context is locked to another tenant',
    'resuming another tenant''s session inside a set context: 42501');
SELECT tenantguard.clear_context();
SELECT tenantguard.resume(:'tg');
SELECT results_eq('SELECT tenant_slug, role FROM tenantguard.whoami()', $$VALUES ('globex'::text, 'operator'::text)$$,
    'the same user''s globex session has its globex role');
SELECT tenantguard.clear_context();
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Hostile search_path: shadows of =, now() and statement_timestamp()
-- ---------------------------------------------------------------------------
CREATE TABLE public.tg89_pwned (what text);
GRANT INSERT, SELECT ON public.tg89_pwned TO PUBLIC;
CREATE SCHEMA tg89_evil AUTHORIZATION tg89_app;
GRANT USAGE ON SCHEMA tg89_evil TO PUBLIC;
SET ROLE tg89_app;
CREATE FUNCTION tg89_evil.trap(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO public.tg89_pwned VALUES (what) $$;
CREATE FUNCTION tg89_evil.uuideq(a uuid, b uuid) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN PERFORM tg89_evil.trap('uuid = uuid'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR tg89_evil.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = tg89_evil.uuideq);
CREATE FUNCTION tg89_evil.byteaeq(a bytea, b bytea) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN PERFORM tg89_evil.trap('bytea = bytea'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR tg89_evil.= (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = tg89_evil.byteaeq);
CREATE FUNCTION tg89_evil.now() RETURNS timestamptz LANGUAGE plpgsql
    AS $$ BEGIN PERFORM tg89_evil.trap('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION tg89_evil.statement_timestamp() RETURNS timestamptz LANGUAGE plpgsql
    AS $$ BEGIN PERFORM tg89_evil.trap('statement_timestamp()'); RETURN pg_catalog.statement_timestamp(); END $$;
SET search_path = tg89_evil, pg_catalog, public;
SELECT ('00000000-0000-0000-0000-000000000000'::uuid = '00000000-0000-0000-0000-000000000000'::uuid) AS shadow_works \gset
RESET search_path;
RESET ROLE;
UPDATE tenantguard.sessions SET last_seen_at = now() - interval '5 minutes' WHERE token_hash = digest(:'tg', 'sha256');
SET ROLE tg89_app;
SET search_path = tg89_evil, pg_catalog, public;
SELECT tenantguard.resume(:'tg');
SELECT tenantguard.clear_context();
SELECT tenantguard.logout(:'tg') AS logged_out \gset
RESET search_path;
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT what) FROM public.tg89_pwned), ARRAY['uuid = uuid'],
    'the shadows work for ordinary queries (only the probe sprang one)');
SELECT ok(:'logged_out', 'resume() (with a last_seen_at refresh) and logout() ran under the hostile search_path');

-- ---------------------------------------------------------------------------
-- logout(): replay after logout
-- ---------------------------------------------------------------------------
SET ROLE tg89_app;
SELECT tenantguard.resume(:'t1');
SELECT ok(tenantguard.logout(:'t1'), 'logout() ends a live session (true)');
SELECT is(tenantguard.current_tenant(), NULL, 'the context resumed from it ends at the next statement');
SELECT is(tenantguard.logout(:'t1'), false, 'logout() again: false');
SELECT is(tg89.refused(format($$SELECT tenantguard.resume(%L)$$, :'t1'), :'t1'), ('28000'::text, false)::record,
    'replaying a logged-out token: 28000');
SELECT throws_ok($$SELECT tenantguard.logout('tgses_nope')$$, '22023', NULL, 'logout() of a malformed token: 22023');
RESET ROLE;
SELECT is((SELECT revoked_reason FROM tenantguard.sessions WHERE token_hash = digest(:'t1', 'sha256')), 'logout',
    'the session row is kept, revoked with reason logout');

-- ---------------------------------------------------------------------------
-- Expiry and idle timeout
-- ---------------------------------------------------------------------------
SELECT token AS t3 FROM tenantguard._create_session(:'alice', :'acme', 1, 'password') \gset
UPDATE tenantguard.sessions SET expires_at = now() - interval '1 second' WHERE token_hash = digest(:'t3', 'sha256');
SET ROLE tg89_app;
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'t3'), '28000', 'invalid session token', 'an expired session: 28000');
SELECT is(tenantguard.logout(:'t3'), false, 'logout() of an expired session: false');
RESET ROLE;

SELECT token AS t4 FROM tenantguard._create_session(:'alice', :'acme', 1, 'password') \gset
UPDATE tenantguard.sessions SET last_seen_at = now() - interval '31 minutes' WHERE token_hash = digest(:'t4', 'sha256');
SET ROLE tg89_app;
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'t4'), '28000', 'invalid session token',
    'a session idle for 31 minutes (idle timeout 30 min): 28000');
RESET ROLE;
SET tenantguard.session_idle_timeout = '1h';
SET ROLE tg89_app;
SELECT throws_ok($$SET tenantguard.session_idle_timeout = '1d'$$, '42501', NULL,
    'the idle timeout is superuser-only');
SELECT throws_ok($$SET tenantguard.session_ttl = '30d'$$, '42501', NULL, 'so is the session lifetime');
SELECT lives_ok(format($$SELECT tenantguard.resume(%L)$$, :'t4'), 'with the idle timeout raised to 1 h it resumes');
SELECT tenantguard.clear_context();
RESET ROLE;
RESET tenantguard.session_idle_timeout;
SELECT ok((SELECT last_seen_at >= now() FROM tenantguard.sessions WHERE token_hash = digest(:'t4', 'sha256')),
    'a resume more than a minute after the last refresh writes last_seen_at');
UPDATE tenantguard.sessions SET last_seen_at = now() - interval '30 seconds' WHERE token_hash = digest(:'t4', 'sha256');
SET ROLE tg89_app;
SELECT tenantguard.resume(:'t4');
SELECT tenantguard.clear_context();
RESET ROLE;
SELECT ok((SELECT last_seen_at < now() - interval '29 seconds' FROM tenantguard.sessions WHERE token_hash = digest(:'t4', 'sha256')),
    'a resume within a minute of the last refresh writes nothing');
SET tenantguard.session_ttl = '1min';
SELECT ok((SELECT expires_at < clock_timestamp() + interval '61 seconds'
             FROM tenantguard._create_session(:'alice', :'acme', 1, 'password')),
    'tenantguard.session_ttl sets the lifetime of new sessions');
RESET tenantguard.session_ttl;

-- ---------------------------------------------------------------------------
-- Membership and user changes end contexts at the next statement
-- ---------------------------------------------------------------------------
SELECT token AS tc FROM tenantguard._create_session(:'carol', :'acme', 1, 'password') \gset
SET ROLE tg89_app;
SELECT tenantguard.resume(:'tc');
SELECT is(tenantguard.current_role_name(), 'viewer', 'carol is a viewer in acme');
RESET ROLE;
UPDATE tenantguard.memberships SET role = 'admin' WHERE user_id = :'carol' AND tenant_id = :'acme';
SET ROLE tg89_app;
SELECT is(tenantguard.current_tenant(), NULL, 'a role change ends the context resumed with the old role');
SELECT tenantguard.resume(:'tc');
SELECT is(tenantguard.current_role_name(), 'admin', 'the next resume() takes the new role');
RESET ROLE;
DELETE FROM tenantguard.memberships WHERE user_id = :'carol' AND tenant_id = :'acme';
SET ROLE tg89_app;
SELECT is(tenantguard.current_tenant(), NULL, 'removing the membership ends the context');
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'tc'), '28000', NULL, 'and the session');
RESET ROLE;
INSERT INTO tenantguard.memberships (tenant_id, user_id, role) VALUES (:'acme', :'carol', 'viewer');
SET ROLE tg89_app;
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'tc'), '28000', NULL,
    'a membership added again does not bring the session back');
RESET ROLE;
SELECT is((SELECT revoked_reason FROM tenantguard.sessions WHERE token_hash = digest(:'tc', 'sha256')), 'membership_removed',
    'the session was revoked with reason membership_removed');

SELECT token AS tb FROM tenantguard._create_session(:'bob', :'acme', 2, 'password') \gset
SET ROLE tg89_app;
SELECT tenantguard.resume(:'tb');
RESET ROLE;
UPDATE tenantguard.users SET status = 'disabled' WHERE id = :'bob';
SET ROLE tg89_app;
SELECT is(tenantguard.current_tenant(), NULL, 'disabling the user ends the context');
RESET ROLE;
UPDATE tenantguard.users SET status = 'active' WHERE id = :'bob';
SET ROLE tg89_app;
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'tb'), '28000', NULL,
    'enabling the user again does not bring its sessions back');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- revoke_sessions()
-- ---------------------------------------------------------------------------
SELECT token AS ta1 FROM tenantguard._create_session(:'alice', :'acme', 1, 'password') \gset
SELECT token AS ta2 FROM tenantguard._create_session(:'alice', :'globex', 1, 'password') \gset
SELECT token AS tb2 FROM tenantguard._create_session(:'bob', :'acme', 2, 'password') \gset
SET ROLE tg89_app;
SELECT throws_ok(format($$SELECT tenantguard.revoke_sessions(%L)$$, :'bob'), '42501', NULL,
    'revoke_sessions() without a context: 42501');
SELECT tenantguard.resume(:'ta1');
SELECT throws_ok(format($$SELECT tenantguard.revoke_sessions(%L)$$, :'bob'), '42501', NULL,
    'a viewer (no members.manage) cannot revoke another user''s sessions');
SELECT tenantguard.clear_context();
SELECT tenantguard.resume(:'tb2');
RESET ROLE;
SELECT count(*) FILTER (WHERE tenant_id = :'acme') AS alice_acme, count(*) FILTER (WHERE tenant_id = :'globex') AS alice_globex
  FROM tenantguard.sessions WHERE user_id = :'alice' AND revoked_at IS NULL AND expires_at > now() \gset
SET ROLE tg89_app;
SELECT is(tenantguard.revoke_sessions(:'alice'), :alice_acme,
    'a tenant admin (members.manage) revokes the user''s sessions in its tenant only');
SELECT tenantguard.clear_context();
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'ta1'), '28000', NULL, 'the acme session is gone');
SELECT tenantguard.resume(:'ta2');
SELECT is(tenantguard.current_role_name(), 'operator', 'the globex session still works');
SELECT is(tenantguard.revoke_sessions(:'alice'), :alice_globex, 'a user may revoke its own sessions');
SELECT is(tenantguard.current_tenant(), NULL, 'which ends its own context at the next statement');
SELECT throws_ok(format($$SELECT tenantguard.resume(%L)$$, :'tb2'), '42501', 'tenant context is locked to another tenant',
    'the ended context still locks the scope to its tenant (fail closed) until clear_context()');
SELECT tenantguard.clear_context();
RESET ROLE;
SET ROLE tg89_admin;
SELECT is(tenantguard.revoke_sessions(:'bob'), 1, 'an administrator revokes every session of a user');
SELECT throws_ok($$SELECT tenantguard.revoke_sessions(NULL)$$, '22004', NULL, 'revoke_sessions(NULL): 22004');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- purge_sessions()
-- ---------------------------------------------------------------------------
SELECT token AS tp FROM tenantguard._create_session(:'carol', :'acme', 1, 'password') \gset
UPDATE tenantguard.sessions SET revoked_at = now() - interval '40 days' WHERE token_hash = digest(:'t1', 'sha256');
SELECT count(*) FILTER (WHERE revoked_at < now() - interval '30 days' OR expires_at < now() - interval '30 days') AS old_ended,
       count(*) AS all_sessions
  FROM tenantguard.sessions \gset
SET ROLE tg89_app;
SELECT throws_ok($$SELECT tenantguard.purge_sessions()$$, '42501', NULL, 'applications cannot purge sessions');
RESET ROLE;
SET ROLE tg89_admin;
SELECT throws_ok($$SELECT tenantguard.purge_sessions('-1 day')$$, '22023', NULL, 'a negative interval: 22023');
SELECT is(tenantguard.purge_sessions(), :old_ended::bigint, 'purge_sessions() deletes the sessions that ended over 30 days ago');
RESET ROLE;
SELECT is((SELECT count(*) FROM tenantguard.sessions), :all_sessions::bigint - :old_ended::bigint, 'and nothing else');
SET ROLE tg89_app;
SELECT lives_ok(format($$SELECT tenantguard.resume(%L)$$, :'tp'), 'live sessions still resume after a purge');
SELECT tenantguard.clear_context();
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Audit
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM tenantguard_audit.events WHERE action = 'session.logout' AND decision = 'allow'), 2,
    'each logout is recorded');
SELECT is((SELECT count(*)::int FROM tenantguard_audit.events WHERE action = 'session.revoke' AND decision = 'allow'), 3,
    'each revoke_sessions() is recorded');
SELECT is((SELECT count(*)::int FROM tenantguard_audit.events e
            WHERE e::text LIKE '%' || substr(:'t1', 7, 20) || '%' OR e::text LIKE '%' || substr(:'t2', 7, 20) || '%'), 0,
    'no event contains a token');

SELECT * FROM finish();
ROLLBACK;
