#!/usr/bin/env bash
# tenantguard — the guided tour (`make demo`).
#
# Starts a throwaway PostgreSQL 15 cluster with tenantguard preloaded, walks
# through the features that are built today and shows every statement with its
# output. Some steps are meant to fail (that is the point of them); the script
# checks that they fail with the right error, and exits non-zero if any step
# behaves differently from what the tour describes.
#
# Run it as root (the cluster then runs as the OS user postgres) or as the
# user that owns the PostgreSQL binaries. It takes a few seconds.
set -u
cd "$(dirname "$0")/.."
source test/cluster.sh

unexpected=()
steps=0

# A short heading for each step.
step() {
  steps=$((steps + 1))
  echo
  echo "==============================================================================="
  echo " $steps. $*"
  echo "==============================================================================="
}

# A line of explanation.
say() {
  local line
  for line in "$@"; do echo "   $line"; done
}

# Escape text for psql's \echo '...'.
tg_echo_quote() {
  local s=${1//\\/\\\\}
  printf "%s" "${s//\'/\'\'}"
}

# sql USER [EXPECTED_ERROR...] <<'SQL' ... SQL
# Shows each statement with a psql-like prompt, runs them in one psql session
# as USER and shows the output. Without EXPECTED_ERROR arguments any error is
# unexpected; with them, exactly those errors (matched as substrings, in order)
# must occur.
sql() {
  local user=$1; shift
  local expected=("$@")
  local prompt cont script stmt="" line trimmed out rc stop=1
  [ ${#expected[@]} -gt 0 ] && stop=0
  if [ "$user" = postgres ]; then prompt="postgres=# "; else prompt="$user=> "; fi
  cont=$(printf '%*s' ${#prompt} '')
  script=$(mktemp)
  {
    while IFS= read -r line; do
      trimmed="${line%"${line##*[![:space:]]}"}"
      if [ -z "$stmt" ] && [ -z "$trimmed" ]; then
        echo '\echo'
        continue
      fi
      if [ -z "$stmt" ] && [[ "$trimmed" == --* ]]; then
        echo "\\echo '$(tg_echo_quote "$cont$trimmed")'"
        continue
      fi
      if [ -z "$stmt" ] && [[ "$trimmed" == \\* ]]; then
        echo "\\echo '$(tg_echo_quote "$prompt$trimmed")'"
        echo "$trimmed"
        continue
      fi
      if [ -z "$stmt" ]; then
        echo "\\echo '$(tg_echo_quote "$prompt$line")'"
      else
        echo "\\echo '$(tg_echo_quote "$cont$line")'"
      fi
      stmt+="$line"$'\n'
      if [[ "$trimmed" == *\; ]]; then
        printf '%s' "$stmt"
        stmt=""
      fi
    done
    [ -n "$stmt" ] && printf '%s' "$stmt"
  } >"$script"
  out=$(psql -X -d postgres -U "$user" -v ON_ERROR_STOP=$stop -v VERBOSITY=verbose \
             -f "$script" 2>&1)
  rc=$?
  rm -f "$script"
  out=$(printf '%s\n' "$out" | grep -v '^LOCATION: ' | sed -E 's/^psql:[^:]*:[0-9]+: //')
  printf '%s\n' "$out" | sed 's/^/   /'

  local errors
  errors=$(printf '%s\n' "$out" | grep -E '^(ERROR|FATAL|PANIC):' || true)
  if [ ${#expected[@]} -eq 0 ]; then
    if [ $rc -ne 0 ] || [ -n "$errors" ]; then
      unexpected+=("step $steps: unexpected error (as $user)")
      echo "   !! unexpected error in this step"
    fi
    return
  fi
  local n_errors want i=0 ok=1
  n_errors=$(printf '%s' "$errors" | grep -c '' || true)
  if [ "$n_errors" -ne ${#expected[@]} ]; then
    ok=0
  else
    while IFS= read -r line; do
      want=${expected[$i]}
      [[ "$line" == *"$want"* ]] || ok=0
      i=$((i + 1))
    done <<<"$errors"
  fi
  if [ $ok -eq 1 ]; then
    echo "   -> refused as expected (${#expected[@]} error(s))"
  else
    local joined
    joined=$(printf '"%s", ' "${expected[@]}")
    unexpected+=("step $steps: expected error(s) ${joined%, } did not occur as described")
    echo "   !! expected error(s) ${joined%, } did not occur as described"
  fi
}

# check USER DESCRIPTION QUERY EXPECTED — a silent query whose one value must match.
check() {
  local user=$1 what=$2 query=$3 want=$4 got
  got=$(psql -X -d postgres -U "$user" -tA -v ON_ERROR_STOP=1 -c "$query" 2>&1)
  if [ "$got" = "$want" ]; then
    echo "   -> check: $what"
  else
    unexpected+=("step $steps: check failed: $what (got '$got', wanted '$want')")
    echo "   !! check failed: $what (got '$got', wanted '$want')"
  fi
}

echo "tenantguard guided tour"
echo "Starting a throwaway PostgreSQL 15 cluster with shared_preload_libraries = 'tenantguard' ..."
tg_cluster_start || { echo "could not start the cluster" >&2; exit 1; }
trap tg_cluster_stop EXIT
echo "Cluster running on port $PGPORT (socket in $PGHOST); it is removed when the tour ends."

step "Install the extension"
say "tenantguard must be preloaded (it installs hooks); CREATE EXTENSION checks that." \
    "It creates schema tenantguard and three NOLOGIN roles."
sql postgres <<'SQL'
CREATE EXTENSION tenantguard;
SELECT rolname FROM pg_roles WHERE rolname LIKE 'tenantguard%' ORDER BY 1;
SQL

step "Two tenants"
say "A tenant is a row in tenantguard.tenants, identified by a uuid, named by a slug."
sql postgres <<'SQL'
SELECT tenantguard.create_tenant('acme', 'Acme Corp');
SELECT tenantguard.create_tenant('globex', 'Globex Inc');
SELECT slug, name, status FROM tenantguard.tenants ORDER BY slug;
SQL
acme=$(psql -X -tA -U postgres -d postgres -c "SELECT tenantguard.tenant_id('acme')")
globex=$(psql -X -tA -U postgres -d postgres -c "SELECT tenantguard.tenant_id('globex')")

step "Protect a table with one call"
say "protect() makes tenant_id NOT NULL with DEFAULT tenantguard.current_tenant()," \
    "enables and forces row-level security and adds the policy tenantguard_isolation."
sql postgres <<'SQL'
CREATE TABLE notes (
    tenant_id uuid NOT NULL,
    id        uuid NOT NULL DEFAULT gen_random_uuid(),
    body      text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
SELECT tenantguard.protect('notes');
\d notes
SELECT rel, tenant_column, protected_by FROM tenantguard.protected_tables WHERE rel = 'notes'::regclass;
SQL

step "Roles: a platform administrator and an application login bound to acme"
say "platform_admin is an ordinary (non-superuser) member of tenantguard_admin." \
    "app_acme is a member of tenantguard_app, bound to tenant acme with bind_role()." \
    "Table privileges are granted as usual; isolation comes on top of them."
sql postgres <<'SQL'
CREATE ROLE platform_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE app_acme LOGIN IN ROLE tenantguard_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO tenantguard_admin, tenantguard_app;
SELECT tenantguard.bind_role('app_acme', tenantguard.tenant_id('acme'));
SQL

step "The administrator enters each tenant and writes rows"
say "set_tenant() enters a tenant for the current transaction (is_local defaults to true)." \
    "tenant_id is filled in by its default: nobody types a tenant id."
sql platform_admin <<'SQL'
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('acme'));
SELECT tenant_slug, principal, role, scope FROM tenantguard.whoami();
INSERT INTO notes (body)
     VALUES ('acme: renew the support contract'), ('acme: invoice 1042 is paid');
COMMIT;

BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('globex'));
INSERT INTO notes (body) VALUES ('globex: secret merger plans');
SELECT tenant_id, body FROM notes ORDER BY body;
COMMIT;
SQL

step "The context is locked within its scope"
say "Inside a transaction that entered globex, switching to acme is refused."
sql platform_admin "tenant context is locked to another tenant" <<'SQL'
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('globex'));
SELECT tenantguard.set_tenant(tenantguard.tenant_id('acme'));
ROLLBACK;
SQL

step "The bound application role sees only its tenant, even after RESET ALL"
say "app_acme never calls anything: its binding is the context." \
    "RESET ALL and DISCARD ALL clear settings, not the binding."
sql app_acme <<'SQL'
SELECT tenant_slug, principal, role, scope FROM tenantguard.whoami();
SELECT tenant_id, body FROM notes ORDER BY body;
RESET ALL;
DISCARD ALL;
SELECT tenant_id, body FROM notes ORDER BY body;
SQL
check app_acme "app_acme sees 2 rows, all of them acme's" \
  "SELECT count(*) || ' ' || bool_and(tenant_id = '$acme') FROM notes" "2 true"

step "Spoofing the context fails"
say "The context settings are read-only; tenantguard.context only takes values set by" \
    "tenantguard itself, or a signed context token (next steps)." \
    "Writing another tenant's id into a row is stopped by the policy's WITH CHECK."
sql app_acme \
    "tenant context settings are read-only" \
    "invalid context token" \
    "tenant context cannot be set directly" \
    "new row violates row-level security policy" \
    "new row violates row-level security policy" <<SQL
SET tenantguard.tenant = '$globex';
SELECT set_config('tenantguard.context', '$globex', false);
SELECT set_config('tenantguard.context', 'tgctx1;$globex;S;0;admin;admin:postgres', false);
INSERT INTO notes (tenant_id, body) VALUES ('$globex', 'smuggled into globex');
UPDATE notes SET tenant_id = '$globex';
SELECT tenant_slug, scope FROM tenantguard.whoami();
SQL
check app_acme "still in acme, still 2 rows" \
  "SELECT count(*) || ' ' || bool_and(tenant_id = '$acme') FROM notes" "2 true"

step "No context, no rows: an error that says what to do"
say "platform_admin has not entered a tenant in this session." \
    "(The hint also names entry paths that are coming: resume, agent_login.)"
sql platform_admin "no tenant context is set" <<'SQL'
SELECT tenant_slug, scope FROM tenantguard.whoami();
SELECT count(*) FROM notes;
SQL

step "An app server's signed token: the database decides the tenant"
say "An administrator makes an HS256 key; the app server keeps its secret and mints a" \
    "short-lived JWT per request (any JWT library: docs/identity.md). Here mint_token()" \
    "stands in for the app server. app_server is an unbound tenantguard_app login:" \
    "it cannot choose a tenant, only present a token that a trusted key signed."
sql platform_admin <<'SQL'
SELECT kid, length(secret) AS secret_chars FROM tenantguard.add_signing_key();
SQL
psql -X -q -U postgres -d postgres -c "CREATE ROLE app_server LOGIN IN ROLE tenantguard_app" >/dev/null
token=$(psql -X -tA -U platform_admin -d postgres -c \
  "SELECT tenantguard.mint_token(tenantguard.tenant_id('globex'), 'user-42', 'operator', '5 minutes')")
sql app_server <<SQL
BEGIN;
SET LOCAL tenantguard.context = '$token';
SELECT tenant_slug, principal, role, scope FROM tenantguard.whoami();
SELECT body FROM notes;
COMMIT;
SELECT count(*) AS contexts_after_commit FROM tenantguard.whoami() WHERE tenant_id IS NOT NULL;
SQL

step "Forged, tampered and session-level tokens are refused"
say "Changing one character breaks the signature (28000, and the error never shows the" \
    "token); a session-level SET would leak to the next client behind a pooler (42501)."
i=$(( ${#token} - 10 ))
c=${token:$i:1}; [ "$c" = A ] && c=B || c=A
forged="${token:0:$i}$c${token:$((i + 1))}"
sql app_server "invalid context token" "a signed context token cannot be set for the session" <<SQL
BEGIN;
SET LOCAL tenantguard.context = '$forged';
ROLLBACK;
SET tenantguard.context = '$token';
SELECT count(*) AS contexts FROM tenantguard.whoami() WHERE tenant_id IS NOT NULL;
SQL

step "People signed in by the database: a password and a second factor"
say "Users are global, with a role in each tenant they belong to. The administrator" \
    "creates Alice (scrypt hash, passlib's format), makes her an operator of acme and" \
    "enrols TOTP: enable_mfa() returns the otpauth:// URI an authenticator app scans."
sql platform_admin <<'SQL'
SELECT tenantguard.create_user('alice@acme.example', 'correct horse battery staple', 'Alice') IS NOT NULL AS created;
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('acme'));
SELECT tenantguard.add_member(id, 'operator') FROM tenantguard.users WHERE email = 'alice@acme.example';
COMMIT;
SQL
uri=$(psql -X -tA -U platform_admin -d postgres -c \
  "SELECT tenantguard.enable_mfa(id) FROM tenantguard.users WHERE email = 'alice@acme.example'")
echo "   enable_mfa() -> ${uri%%secret=*}secret=<base32 secret>&..."
totp_secret=$(printf '%s' "$uri" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p')
say "Her authenticator app shows a code; confirming it turns MFA on (totp_code() stands in for the app):"
sql platform_admin <<SQL
SELECT tenantguard.confirm_mfa(id, tenantguard.totp_code('$totp_secret')) AS confirmed
  FROM tenantguard.users WHERE email = 'alice@acme.example';
SQL
say "The application (app_server, no tenant of its own) signs her in. login() never raises for" \
    "bad credentials: it returns a status. The password alone is not enough any more."
sql app_server <<'SQL'
SELECT status FROM tenantguard.login('alice@acme.example', 'correct horse battery staple');
SQL
# the app's next code (one step ahead is within the accepted window): the current one
# was spent by confirm_mfa()
code=$(psql -X -tA -U platform_admin -d postgres -c \
  "SELECT tenantguard.totp_code('$totp_secret', now() + interval '30 seconds')")
session=$(psql -X -tA -U app_server -d postgres -c \
  "SELECT session_token FROM tenantguard.login('alice@acme.example', 'correct horse battery staple', '$code', 'acme')")
echo "   login(email, password, '<code>', 'acme') -> status ok, session token ${session:0:6}... (shown once, stored hashed)"
check app_server "the session token has the tgses_ prefix" "SELECT left('$session', 6)" "tgses_"
say "The same code a second time is refused: a code is accepted once per user."
sql app_server <<SQL
SELECT status FROM tenantguard.login('alice@acme.example', 'correct horse battery staple', '$code', 'acme');
SQL

step "A session per request: resume(), whoami(), and lockout that a rollback cannot undo"
say "Per request the application resumes the session: the database enters acme as Alice," \
    "with her membership's role and assurance level 2 (she used a second factor)."
sql app_server <<SQL
BEGIN;
SELECT tenantguard.resume('$session');
SELECT tenant_slug, principal LIKE 'user:%' AS is_user, role, aal FROM tenantguard.whoami();
SELECT count(*) AS acme_notes FROM notes;
COMMIT;
SQL
say "An attacker guesses passwords inside a transaction and rolls it back, hoping to undo" \
    "the failure count. The count lives in shared memory: after 5 failures (the replayed code" \
    "above was the first) the email is locked, and the rollback changes nothing."
sql app_server <<'SQL'
BEGIN;
SELECT g AS attempt, status FROM generate_series(1, 6) g,
       LATERAL tenantguard.login('alice@acme.example', 'guess number ' || g || ' is wrong') l;
ROLLBACK;
SELECT status FROM tenantguard.login('alice@acme.example', 'correct horse battery staple');
SQL
check app_server "the email stays locked after the rollback" \
  "SELECT status FROM tenantguard.login('alice@acme.example', 'correct horse battery staple')" "locked"
sql platform_admin <<'SQL'
SELECT tenantguard.unlock_user(id) FROM tenantguard.users WHERE email = 'alice@acme.example';
SQL
check app_server "after unlock_user() her password works again (her second factor is still asked for)" \
  "SELECT status FROM tenantguard.login('alice@acme.example', 'correct horse battery staple')" "mfa_required"

step "The DDL guard"
say "Even a superuser cannot quietly weaken a protected table: unprotect() is the way out" \
    "(and tenantguard.ddl_guard = off the superuser-only emergency switch)."
sql postgres \
    "cannot disable row level security on protected table \"notes\"" \
    "cannot drop policy tenantguard_isolation on protected table \"notes\"" \
    "cannot add permissive policy \"everyone\" to protected table \"notes\"" <<'SQL'
ALTER TABLE notes DISABLE ROW LEVEL SECURITY;
DROP POLICY tenantguard_isolation ON notes;
CREATE POLICY everyone ON notes USING (true);
SQL

step "The isolation report finds planted holes"
say "A new table with a tenant_id that nobody protected, and a view created by a" \
    "superuser without security_invoker: through it, app_acme reads globex's notes."
sql postgres <<'SQL'
CREATE TABLE invoices (tenant_id uuid NOT NULL, id bigint, amount numeric);
CREATE VIEW all_notes AS SELECT tenant_id, id, body FROM notes;
GRANT SELECT ON all_notes TO tenantguard_app;
SQL
sql app_acme <<'SQL'
SELECT tenant_id, body FROM all_notes ORDER BY body;
SQL
check app_acme "the view leaks: app_acme sees 3 rows through it" \
  "SELECT count(*) FROM all_notes" "3"
sql platform_admin <<'SQL'
\x on
SELECT * FROM tenantguard.isolation_report();
SQL
check platform_admin "the report has 2 errors" \
  "SELECT count(*) FROM tenantguard.isolation_report() WHERE severity = 'error'" "2"

step "Fix the holes; the report is clean"
sql postgres <<'SQL'
SELECT tenantguard.protect('invoices');
ALTER VIEW all_notes SET (security_invoker = on);
SQL
sql platform_admin <<'SQL'
SELECT * FROM tenantguard.isolation_report();
SQL
sql app_acme <<'SQL'
SELECT tenant_id, body FROM all_notes ORDER BY body;
SQL
check platform_admin "the report is empty" \
  "SELECT count(*) FROM tenantguard.isolation_report()" "0"
check app_acme "the view now shows app_acme only acme's 2 rows" \
  "SELECT count(*) FROM all_notes" "2"

step "Encrypted secrets: sealed for one tenant, revealed only there"
say "A tenantguard.secret column stores ciphertext (XChaCha20-Poly1305 under a key" \
    "derived for the tenant). seal() encrypts for the current tenant, reveal() decrypts" \
    "only in that tenant. The throwaway cluster has a master key file of its own."
sql postgres <<'SQL'
CREATE TABLE integrations (
    tenant_id  uuid NOT NULL,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL,
    credential tenantguard.secret NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
SELECT tenantguard.protect('integrations');
GRANT SELECT, INSERT ON integrations TO tenantguard_app, tenantguard_admin;
SQL
sql app_acme <<'SQL'
INSERT INTO integrations (name, credential) VALUES ('stripe', tenantguard.seal('sk_live_acme_4242'));
SELECT name, left(credential::text, 40) || '...' AS stored FROM integrations;
SELECT name, tenantguard.reveal(credential) FROM integrations;
SQL
check app_acme "the stored value is ciphertext, not the plaintext" \
  "SELECT credential::text LIKE 'tgs1:%' AND strpos(credential::text, 'sk_live') = 0 FROM integrations" "t"
cipher=$(psql -X -tA -U app_acme -d postgres -c "SELECT credential FROM integrations")
say "" "The ciphertext copied out of acme's row, revealed in globex:"
sql platform_admin "secret belongs to another tenant" <<SQL
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('globex'));
SELECT tenantguard.reveal('$cipher'::tenantguard.secret);
ROLLBACK;
SQL

step "The vault: secrets by name and by reference"
say "put_secret() stores a new version; secret_ref() hands out a reference that" \
    "resolves only in the tenant that made it; the secrets view shows no values."
sql app_acme <<'SQL'
SELECT tenantguard.put_secret('smtp-password', 'correct horse battery staple');
SELECT tenantguard.put_secret('smtp-password', 'correct horse battery staple 2');
SELECT tenantguard.secret_ref('smtp-password');
SELECT tenantguard.resolve_ref('tgref:acme/default/smtp-password@1');
SELECT scope, name, latest_version, versions FROM tenantguard.secrets;
SQL
check app_acme "the newest version is 2 and resolves" \
  "SELECT tenantguard.get_secret('smtp-password')" "correct horse battery staple 2"
sql platform_admin "secret reference belongs to another tenant" <<'SQL'
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('globex'));
SELECT tenantguard.resolve_ref('tgref:acme/default/smtp-password@2');
ROLLBACK;
SQL

step "Authorization: what a role may do within its tenant"
say "Each context has a role in its tenant: set_tenant() gives admin, bind_role() binds as" \
    "operator unless told otherwise. Rules are dotted permissions on resource paths, with" \
    "* globs; a deny beats every allow, and nothing matching is a deny. A viewer reads" \
    "everything but secrets; the operator app_acme uses secrets but cannot grant itself rights."
sql postgres <<'SQL'
CREATE ROLE report_acme LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.bind_role('report_acme', tenantguard.tenant_id('acme'), 'viewer');
SQL
sql platform_admin <<'SQL'
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('acme'));
SELECT tenantguard.grant_permission('operator', 'notes.delete', 'project/*', 'deny');
COMMIT;
SQL
sql report_acme "permission denied for \"secrets.read\" on \"vault/default/smtp-password\"" <<'SQL'
SELECT tenantguard.authorize('notes.read') AS may_read, tenantguard.authorize('notes.write') AS may_write;
SELECT * FROM tenantguard.explain_authorization('secrets.read');
SELECT tenantguard.get_secret('smtp-password');
SQL
sql app_acme "permission denied for \"roles.manage\" on \"role/operator\"" <<'SQL'
SELECT tenantguard.authorize('notes.delete', 'project/app-web') AS may_delete_there,
       tenantguard.authorize('notes.delete', 'archive/2023') AS may_delete_elsewhere;
SELECT tenantguard.grant_permission('operator', 'roles.manage');
SQL
sleep 1   # refusals reach the ledger through its background worker
check postgres "both refusals are in the ledger, one event each" \
  "SELECT count(*) FROM tenantguard_audit.events WHERE action = 'authorize' AND decision = 'deny' AND object IN ('secrets.read', 'roles.manage')" "2"

step "An audited table and the auditor's view"
say "audit_table() adds C triggers that record every change (changed columns only for" \
    "UPDATE) in tenantguard_audit.events, with who, where and in which tenant." \
    "An auditor (member of tenantguard_auditor) reads every tenant's events with SQL."
sql postgres <<'SQL'
SELECT tenantguard.audit_table('notes');
CREATE ROLE auditor LOGIN IN ROLE tenantguard_auditor;
SQL
sql app_acme <<'SQL'
UPDATE notes SET body = 'acme: invoice 1042 is paid (receipt sent)' WHERE body LIKE '%1042%';
SQL
sql auditor <<'SQL'
SELECT action, object, principal, old_row, new_row
  FROM tenantguard_audit.data_changes ORDER BY id;
SELECT category, action, object, principal, decision
  FROM tenantguard_audit.events ORDER BY id DESC LIMIT 6;
SQL
check auditor "the update is recorded with acme's bound role as principal" \
  "SELECT principal FROM tenantguard_audit.data_changes WHERE action = 'update'" "role:app_acme"

step "The ledger: sealed, signed, and a superuser's edit caught"
say "seal() hashes committed events into a signed, hash-chained block (a background" \
    "worker also does it); verify() recomputes every hash; digest() is what to keep" \
    "outside the database. A superuser can switch the append-only triggers off —" \
    "but not without verify() noticing, nor without the digest kept outside" \
    "(here a table, for brevity) failing to verify."
sql platform_admin <<'SQL'
SELECT tenantguard_audit.seal() > 0 AS sealed_some;
SELECT ok, events_checked > 0 AS checked_events, blocks_checked > 0 AS checked_blocks, problem
  FROM tenantguard_audit.verify();
SELECT jsonb_pretty(tenantguard_audit.digest() - 'public_key' - 'signature');
SQL
sql postgres <<'SQL'
CREATE TABLE kept_digest AS SELECT tenantguard_audit.digest() AS digest;
GRANT SELECT ON kept_digest TO platform_admin;
SQL
sql postgres "cannot update audit table \"events\"" <<'SQL'
UPDATE tenantguard_audit.events SET principal = 'role:someone_else' WHERE action = 'update';
-- a superuser switches the append-only triggers off:
SET session_replication_role = replica;
UPDATE tenantguard_audit.events SET principal = 'role:someone_else' WHERE action = 'update';
RESET session_replication_role;
SQL
sql platform_admin <<'SQL'
SELECT ok, first_bad_event IS NOT NULL AS names_the_event, problem FROM tenantguard_audit.verify();
SELECT tenantguard_audit.verify_digest(digest) AS digest_verifies FROM kept_digest;
SQL
check platform_admin "verify() reports the edited event" \
  "SELECT ok FROM tenantguard_audit.verify()" "f"
check platform_admin "and the kept digest no longer verifies" \
  "SELECT tenantguard_audit.verify_digest(digest) FROM kept_digest" "f"

echo
echo "==============================================================================="
if [ ${#unexpected[@]} -eq 0 ]; then
  echo " Tour complete: $steps steps, everything behaved as described."
  echo " Next: README.md, docs/concepts.md and docs/reference.md."
  echo "==============================================================================="
  exit 0
fi
echo " Tour finished with ${#unexpected[@]} unexpected result(s):"
printf '   - %s\n' "${unexpected[@]}"
echo "==============================================================================="
exit 1
