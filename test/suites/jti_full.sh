#!/usr/bin/env bash
# jti_full: the shared table of single-use token ids, filled up (fail closed).
#
# tenantguard remembers every jti (and every ID token signed in with) until
# the token expires, in a fixed shared-memory table (tenantguard.token_jti_slots).
# When the slots a new id maps to are all taken by unexpired tokens, the
# token is refused — never accepted without its single-use check:
#   - a context token with a jti: SET LOCAL fails with 53400 and a hint that
#     names the setting, and leaves no context;
#   - an ID token: login_with_id_token() raises 53400 (it cannot promise
#     single use), and the refusal is recorded;
#   - tokens without a jti are not affected.
#
# Starts its own cluster with the smallest table (128 slots).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=jti_full
source test/suites/lib/checks.sh
source test/cluster.sh

trap 'tg_cluster_stop; tg_suite_finish' EXIT
unset PGOPTIONS
if ! tg_cluster_start "tenantguard.token_jti_slots = 128"; then
  tg_fail "throwaway cluster starts"
  exit 1
fi
sql() { tg_psql -d postgres "$@"; }

setup=$(sql <<'SQL'
CREATE EXTENSION tenantguard;
CREATE ROLE jti_app LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.create_tenant('acme');
CREATE TABLE notes (tenant_id uuid NOT NULL, body text);
SELECT tenantguard.protect('notes');
GRANT SELECT ON notes TO jti_app;
SELECT tenantguard.create_user('ada@example.com');
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('acme'));
INSERT INTO notes (body) VALUES ('n1');
SELECT tenantguard.add_member(u.id, 'viewer') FROM tenantguard.users u;
COMMIT;
CREATE TABLE keys AS SELECT * FROM tenantguard.add_signing_key();
CREATE TABLE edkey AS SELECT * FROM tenantguard.add_signing_key('EdDSA');
-- an "identity provider" whose key is the EdDSA key's public half, trusted for ID tokens
SELECT tenantguard.import_signing_key('idp-1', 'EdDSA', k.public_key, 'https://idp.test', 'client-1', 'id_token')
  FROM tenantguard.token_keys k JOIN edkey e USING (kid);
SELECT tenantguard.link_identity(u.id, 'https://idp.test', 'ada') FROM tenantguard.users u;
-- 400 context tokens with distinct jtis, valid for 10 minutes
CREATE TABLE toks AS
SELECT g, tenantguard.sign_token(jsonb_build_object('tid', tenantguard.tenant_id('acme'), 'sub', 'u' || g,
           'exp', extract(epoch FROM now())::bigint + 600, 'jti', 'jti-' || g), k.kid) AS tok
  FROM generate_series(1, 400) g, keys k;
GRANT SELECT ON toks, keys, edkey TO jti_app;
SQL
)
tg_check_lacks "setup succeeds" "$setup" "ERROR"

# use every token once, each in its own transaction; count outcomes by SQLSTATE
out=$(sql <<'SQL'
CREATE TABLE outcome (g int, state text);
DO $$
DECLARE t record; st text;
BEGIN
  FOR t IN SELECT * FROM toks ORDER BY g LOOP
    BEGIN
      PERFORM set_config('tenantguard.context', t.tok, true);
      PERFORM count(*) FROM notes;
      st := 'ok';
      PERFORM set_config('tenantguard.context', '', true);
    EXCEPTION WHEN OTHERS THEN
      st := SQLSTATE;
    END;
    INSERT INTO outcome VALUES (t.g, st);
  END LOOP;
END $$;
SELECT state || ':' || count(*) FROM outcome GROUP BY state ORDER BY state;
SQL
)
ok=$(printf '%s\n' "$out" | sed -n 's/^ok://p')
full=$(printf '%s\n' "$out" | sed -n 's/^53400://p')
other=$(printf '%s\n' "$out" | grep -vE '^(ok|53400):[0-9]+$' | grep -c .)
tg_check_eq "every token was either accepted or refused with 53400 (nothing else)" "$other" "0"
if [ -n "$ok" ] && [ "$ok" -ge 100 ] && [ "$ok" -le 128 ] && [ -n "$full" ] && [ $((ok + full)) -eq 400 ]; then
  tg_pass "a 128-slot table accepts at most 128 live jtis, then refuses ($ok accepted, $full refused)"
else
  tg_fail "a 128-slot table accepts at most 128 live jtis, then refuses" "$out"
fi

last=$(sql -c "SELECT tok FROM toks WHERE g = 400")
out=$(tg_psql -d postgres -U jti_app -c "BEGIN; SET LOCAL tenantguard.context = '$last'; SELECT count(*) FROM notes; COMMIT;")
tg_check_eq "an application's token with a new jti is refused with 53400" "$(tg_sqlstate "$out")" "53400"
tg_check_contains "... with the setting to raise" "$out" "tenantguard.token_jti_slots"
out=$(tg_psql -d postgres -U jti_app -c "SELECT count(*) FROM tenantguard.whoami() WHERE tenant_id IS NOT NULL")
tg_check_eq "... and leaves no context" "$out" "0"
used=$(sql -c "SELECT tok FROM toks WHERE g = (SELECT min(g) FROM outcome WHERE state = 'ok')")
out=$(tg_psql -d postgres -U jti_app -c "BEGIN; SET LOCAL tenantguard.context = '$used'; SELECT count(*) FROM notes; COMMIT;")
tg_check_eq "an already used jti is still a replay (28000), not forgotten" "$(tg_sqlstate "$out")" "28000"
nojti=$(sql -c "SELECT tenantguard.sign_token(jsonb_build_object('tid', tenantguard.tenant_id('acme'), 'sub', 'x',
                  'exp', extract(epoch FROM now())::bigint + 60), kid) FROM keys")
out=$(tg_psql -d postgres -U jti_app -c "BEGIN; SET LOCAL tenantguard.context = '$nojti'; SELECT count(*) FROM notes; COMMIT;")
tg_check_eq "a token without a jti still enters" "$out" "1"

idt=$(sql -c "SELECT tenantguard.sign_token(jsonb_build_object('iss', 'https://idp.test', 'aud', 'client-1', 'sub', 'ada',
                'exp', extract(epoch FROM now())::bigint + 600), 'idp-1', e.secret, 'EdDSA') FROM edkey e")
out=$(tg_psql -d postgres -U jti_app -c "SELECT status FROM tenantguard.login_with_id_token('$idt', 'acme')")
tg_check_eq "an ID token cannot be promised single use: login_with_id_token raises 53400" "$(tg_sqlstate "$out")" "53400"
tg_check_contains "... saying why" "$out" "cannot accept the ID token now"
if tg_wait_for postgres "SELECT count(*) > 0 FROM tenantguard_audit.events WHERE category = 'auth' AND action = 'login'
                         AND decision = 'deny' AND reason = 'id token: jti table full'"; then
  tg_pass "... and the refusal is recorded"
else
  tg_fail "... and the refusal is recorded" "$(sql -c "SELECT action, reason FROM tenantguard_audit.events ORDER BY id DESC LIMIT 5")"
fi
