#!/usr/bin/env bash
# OpenID Connect sign-in (docs/identity.md "Signing in with an identity provider"):
#   - an identity provider's JWKS imported for ID tokens (purpose 'id_token',
#     issuer and audience required); its keys never verify a context token,
#     and context-token keys never verify an ID token;
#   - link_identity()/unlink_identity(): validation, one account per issuer,
#     an identity linked to one user only, administrators only;
#   - ID tokens minted by an independent library (PyJWT, Debian's
#     python3-jwt with python3-cryptography) with RS256, ES256 and EdDSA keys
#     sign the linked user in (status ok, a session that resume() enters);
#   - every bad token answers 'invalid' without an error: wrong aud, wrong
#     iss, expired, not yet valid, wrong/missing/unchecked nonce, replay,
#     unknown kid, an unlinked subject, the HS256 alg-swap forgery, garbage;
#     no membership, a disabled user;
#   - refusals are recorded although the caller rolls back, and no event
#     holds a token.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=oidc
source test/suites/lib/checks.sh

DB=tg_suite_oidc
APP=tgsuite_oidc_app
PY=/usr/bin/python3
ISS=https://idp.example.com
AUD=tg-client-1
T=

cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $APP" >/dev/null 2>&1
  [ -n "$T" ] && rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT
cleanup
T=$(mktemp -d /tmp/tenantguard-oidc-XXXXXX)

as_app() { tg_psql -d "$DB" -U "$APP" "$@"; }
as_super() { tg_psql -d "$DB" -c "$1"; }

if ! $PY -c "import jwt, cryptography" 2>/dev/null; then
  tg_fail "python3-jwt and python3-cryptography are installed (make prereqs installs them)"
  exit 1
fi

cat >"$T/idp.py" <<'PY'
# A stand-in identity provider: keys kept in files, ID tokens minted with PyJWT.
import json, os, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

d = sys.argv[1]
algs = {"idp-rs": "RS256", "idp-es": "ES256", "idp-ed": "EdDSA", "ctx-rs": "RS256", "rogue-rs": "RS256"}

def load(kid):
    with open(os.path.join(d, kid + ".pem"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)

if sys.argv[2] == "keys":
    keys = {}
    for kid, alg in algs.items():
        k = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg == "RS256" else
             ec.generate_private_key(ec.SECP256R1()) if alg == "ES256" else ed25519.Ed25519PrivateKey.generate())
        with open(os.path.join(d, kid + ".pem"), "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(k.public_key()))
        jwk.update(kid=kid, use="sig")
        keys[kid] = jwk
    # the provider's JWKS document; ctx-rs is imported for context tokens, rogue-rs never
    print(json.dumps({"keys": [keys["idp-rs"], keys["idp-es"], keys["idp-ed"]]}))
    with open(os.path.join(d, "ctx.jwk"), "w") as f:
        f.write(json.dumps(keys["ctx-rs"]))
elif sys.argv[2] == "mint":
    # mint KID ISS AUD SUB NONCE|- EXP_OFFSET [NBF_OFFSET] [EXTRA_JSON]
    kid, iss, aud, sub, nonce, exp_off = sys.argv[3:9]
    now = int(time.time())
    # sid: a random claim, so that two tokens minted in the same second differ
    # (each ID token signs in once)
    claims = {"iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + int(exp_off),
              "email": "alice@example.com", "name": "Alice", "sid": os.urandom(8).hex()}
    if nonce != "-":
        claims["nonce"] = nonce
    if len(sys.argv) > 9 and sys.argv[9] != "-":
        claims["nbf"] = now + int(sys.argv[9])
    if len(sys.argv) > 10:
        claims.update(json.loads(sys.argv[10]))
    print(jwt.encode(claims, load(kid), algorithm=algs[kid], headers={"kid": kid}))
elif sys.argv[2] == "forge":
    # the alg-swap forgery: an HS256 token for an RS256 kid, HMAC keyed with its public key
    import base64, hashlib, hmac
    kid, iss, aud, sub = sys.argv[3:7]
    b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    pub = load(kid).public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    si = (b64u(json.dumps({"alg": "HS256", "kid": kid}).encode()) + "." +
          b64u(json.dumps({"iss": iss, "aud": aud, "sub": sub, "exp": now + 300}).encode()))
    print(si + "." + b64u(hmac.new(pub, si.encode(), hashlib.sha256).digest()))
PY
mint() { $PY "$T/idp.py" "$T" mint "$@"; }

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $APP LOGIN IN ROLE tenantguard_app" >/dev/null
A=$(as_super "SELECT tenantguard.create_tenant('oidc-a')")
B=$(as_super "SELECT tenantguard.create_tenant('oidc-b')")
ALICE=$(as_super "SELECT tenantguard.create_user('alice@example.com', NULL, 'Alice')")
BOB=$(as_super "SELECT tenantguard.create_user('bob@example.com')")
as_super "SELECT tenantguard.set_tenant('$A'); SELECT tenantguard.add_member('$ALICE', 'operator');
          SELECT tenantguard.add_member('$BOB', 'viewer');" >/dev/null
as_super "CREATE TABLE notes (tenant_id uuid NOT NULL, body text); SELECT tenantguard.protect('notes');
          GRANT SELECT ON notes TO $APP;
          SELECT tenantguard.set_tenant('$A'); INSERT INTO notes VALUES ('$A', 'a-note');
          SELECT tenantguard.clear_context(); SELECT tenantguard.set_tenant('$B');
          INSERT INTO notes VALUES ('$B', 'b-note');" >/dev/null

jwks=$($PY "$T/idp.py" "$T" keys 2>&1)
printf '%s' "$jwks" >"$T/jwks.json"

# --- importing the provider's keys ----------------------------------------------------
out=$(as_super "SELECT tenantguard.import_signing_key(NULL, NULL, \$j\$$jwks\$j\$, purpose => 'id_token')")
tg_check_eq "an ID-token key without issuer and audience is refused (22023)" "$(tg_sqlstate "$out")" "22023"
out=$(as_super "SELECT tenantguard.import_signing_key(NULL, NULL, \$j\$$jwks\$j\$, '$ISS', '$AUD', 'login')")
tg_check_eq "an unknown purpose is refused (22023)" "$(tg_sqlstate "$out")" "22023"
out=$(as_super "SELECT tenantguard.import_signing_key('hs-idp', 'HS256', 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj',
                  '$ISS', '$AUD', 'id_token')")
tg_check_eq "an HS256 (shared secret) ID-token key is refused (22023)" "$(tg_sqlstate "$out")" "22023"
out=$(as_super "SELECT string_agg(k, ',' ORDER BY k) FROM tenantguard.import_signing_key(NULL, NULL, \$j\$$jwks\$j\$,
                  '$ISS', '$AUD', 'id_token') k")
tg_check_eq "the provider's JWKS imports every key for ID tokens" "$out" "idp-ed,idp-es,idp-rs"
out=$(as_super "SELECT count(*) FROM tenantguard.import_signing_key(NULL, NULL, \$j\$$jwks\$j\$, '$ISS', '$AUD', 'id_token')")
tg_check_eq "... and importing it again is a no-op" "$out" "0"
out=$(as_super "SELECT string_agg(kid || ':' || purpose, ',' ORDER BY kid) FROM tenantguard.token_keys")
tg_check_eq "... token_keys shows their purpose" "$out" "idp-ed:id_token,idp-es:id_token,idp-rs:id_token"
out=$(as_super "SELECT tenantguard.import_signing_key(NULL, NULL, \$j\$$jwks\$j\$, '$ISS', '$AUD')")
tg_check_eq "... the same kids for context tokens are refused (42710)" "$(tg_sqlstate "$out")" "42710"
as_super "SELECT tenantguard.import_signing_key(NULL, NULL, \$j\$$(cat "$T/ctx.jwk")\$j\$, '$ISS', '$AUD')" >/dev/null

# --- linking ---------------------------------------------------------------------------
out=$(as_super "SELECT tenantguard.link_identity('$ALICE', '$ISS', 'sub-alice')")
tg_check_eq "link_identity links a user" "$(tg_sqlstate "$out")" "none"
out=$(as_super "SELECT tenantguard.link_identity('$ALICE', '$ISS', 'sub-alice')")
tg_check_eq "... linking the same again is a no-op" "$(tg_sqlstate "$out")" "none"
out=$(as_super "SELECT tenantguard.link_identity('$BOB', '$ISS', 'sub-alice')")
tg_check_eq "... an identity linked to another user is refused (23505)" "$(tg_sqlstate "$out")" "23505"
out=$(as_super "SELECT tenantguard.link_identity('$ALICE', '$ISS', 'sub-alice-2')")
tg_check_eq "... a second account at the same issuer is refused (23505)" "$(tg_sqlstate "$out")" "23505"
out=$(as_super "SELECT tenantguard.link_identity(gen_random_uuid(), '$ISS', 'sub-x')")
tg_check_eq "... an unknown user is refused (42704)" "$(tg_sqlstate "$out")" "42704"
out=$(as_super "SELECT tenantguard.link_identity('$ALICE', NULL, 'sub-x')")
tg_check_eq "... a NULL issuer is refused (22004)" "$(tg_sqlstate "$out")" "22004"
out=$(as_super "SELECT tenantguard.link_identity('$BOB', E'$ISS\\n', 'sub-bob')")
tg_check_eq "... a control character is refused (22023)" "$(tg_sqlstate "$out")" "22023"
out=$(as_super "SELECT tenantguard.link_identity('$BOB', repeat('x', 256), 'sub-bob')")
tg_check_eq "... an issuer over 255 bytes is refused (22023)" "$(tg_sqlstate "$out")" "22023"
out=$(as_app -c "SELECT tenantguard.link_identity('$BOB', '$ISS', 'sub-bob')")
tg_check_eq "... an application role cannot link (42501)" "$(tg_sqlstate "$out")" "42501"
out=$(as_app -c "SELECT count(*) FROM tenantguard.identities")
tg_check_eq "... nor read the links (42501)" "$(tg_sqlstate "$out")" "42501"
as_super "SELECT tenantguard.link_identity('$BOB', '$ISS', 'sub-bob')" >/dev/null

# --- signing in ------------------------------------------------------------------------
login() {  # login TOKEN [TENANT] [NONCE]: status|user|tenant|token-prefix
  local t=${2:+"'$2'"} n=${3:+"'$3'"}
  as_app -c "SELECT status || '|' || coalesce(user_id::text, '-') || '|' || coalesce(tenant_id::text, '-') || '|'
                    || coalesce(left(session_token, 6), '-')
               FROM tenantguard.login_with_id_token('$1', ${t:-NULL}, ${n:-NULL})"
}
rs=$(mint idp-rs "$ISS" "$AUD" sub-alice n-0S6_WzA2Mj 300)
tg_check_eq "an RS256 ID token with its nonce signs the linked user in" "$(login "$rs" oidc-a n-0S6_WzA2Mj)" \
  "ok|$ALICE|$A|tgses_"
tg_check_eq "... the same token again is refused (single use)" "$(login "$rs" oidc-a n-0S6_WzA2Mj)" "invalid|-|-|-"
es=$(mint idp-es "$ISS" "$AUD" sub-alice - 300)
tg_check_eq "an ES256 ID token signs in (tenant implied: uuid given)" "$(login "$es" "$A")" "ok|$ALICE|$A|tgses_"
ed=$(mint idp-ed "$ISS" "[\"other\", \"$AUD\"]" sub-alice - 300 - '{"aud": ["other", "'$AUD'"]}')
tg_check_eq "an EdDSA ID token whose aud array includes the client id signs in (single membership)" \
  "$(login "$ed")" "ok|$ALICE|$A|tgses_"

tok=$(as_app -c "SELECT session_token FROM tenantguard.login_with_id_token('$(mint idp-rs "$ISS" "$AUD" sub-alice - 300)', 'oidc-a')")
out=$(as_app -c "BEGIN; SELECT tenantguard.resume('$tok'); SELECT principal || ' ' || role FROM tenantguard.whoami();
                 SELECT string_agg(body, ',') FROM notes; COMMIT;")
tg_check_eq "... its session enters the tenant as the user with the membership's role" "$out" "
user:$ALICE operator
a-note"
out=$(as_app -c "SELECT tenantguard.current_aal() FROM (SELECT tenantguard.resume('$tok')) r")
tg_check_eq "... at assurance level 1 (the provider's second factor is not asserted)" "$out" "1"

check_invalid() {  # check_invalid WHAT TOKEN [TENANT] [NONCE]
  tg_check_eq "$1 → invalid" "$(login "$2" "${3:-}" "${4:-}")" "invalid|-|-|-"
}
check_invalid "wrong audience" "$(mint idp-rs "$ISS" other-client sub-alice - 300)" oidc-a
check_invalid "wrong issuer" "$(mint idp-rs https://evil.example.com "$AUD" sub-alice - 300)" oidc-a
check_invalid "expired (beyond the leeway)" "$(mint idp-rs "$ISS" "$AUD" sub-alice - -120)" oidc-a
check_invalid "not yet valid (nbf)" "$(mint idp-rs "$ISS" "$AUD" sub-alice - 600 300)" oidc-a
check_invalid "wrong nonce" "$(mint idp-rs "$ISS" "$AUD" sub-alice n-1 300)" oidc-a n-2
check_invalid "a nonce expected, none in the token" "$(mint idp-rs "$ISS" "$AUD" sub-alice - 300)" oidc-a n-1
check_invalid "a nonce in the token, none checked" "$(mint idp-rs "$ISS" "$AUD" sub-alice n-1 300)" oidc-a
check_invalid "a key the database does not know" "$(mint rogue-rs "$ISS" "$AUD" sub-alice - 300)" oidc-a
check_invalid "a context-token key's token" "$(mint ctx-rs "$ISS" "$AUD" sub-alice - 300)" oidc-a
check_invalid "a subject linked to nobody" "$(mint idp-rs "$ISS" "$AUD" sub-carol - 300)" oidc-a
check_invalid "the HS256 alg-swap forgery" "$($PY "$T/idp.py" "$T" forge idp-rs "$ISS" "$AUD" sub-alice)" oidc-a
check_invalid "garbage" "not.a.token" oidc-a
check_invalid "an empty string" "" oidc-a
out=$(as_app -c "SELECT status FROM tenantguard.login_with_id_token(NULL)")
tg_check_eq "a NULL token is an error (22004)" "$(tg_sqlstate "$out")" "22004"
out=$(login "$(mint idp-rs "$ISS" "$AUD" sub-alice - 300)" oidc-b)
tg_check_eq "a tenant the user is no member of → no_membership" "${out%%|*}" "no_membership"
out=$(login "$(mint idp-es "$ISS" "$AUD" sub-alice - 300)" no-such-tenant)
tg_check_eq "an unknown tenant → no_membership" "${out%%|*}" "no_membership"

out=$(as_app -c "BEGIN; SET LOCAL tenantguard.context = '$(mint idp-rs "$ISS" "$AUD" sub-alice - 300 - "{\"tid\": \"$A\"}")';
                 SELECT count(*) FROM notes; COMMIT;")
tg_check_eq "an ID token (even with a tid claim) never enters a context (28000)" "$(tg_sqlstate "$out")" "28000"
tg_check_contains "... saying the key verifies ID tokens only" "$out" "ID tokens only"

# --- refusals survive rollback; no token in any event -------------------------------
bad=$(mint idp-rs "$ISS" rolled-back-aud sub-alice - 300)
as_app -c "BEGIN; SELECT status FROM tenantguard.login_with_id_token('$bad', 'oidc-a'); ROLLBACK;" >/dev/null
if tg_wait_for "$DB" "SELECT count(*) > 0 FROM tenantguard_audit.events WHERE category = 'auth' AND action = 'login'
                      AND decision = 'deny' AND reason = 'id token: wrong audience' AND db_user = '$APP'"; then
  tg_pass "a refused ID token is recorded although the caller rolled back"
else
  tg_fail "a refused ID token is recorded although the caller rolled back" \
    "$(as_super "SELECT action, decision, reason FROM tenantguard_audit.events ORDER BY id DESC LIMIT 5")"
fi
tg_wait_for "$DB" "SELECT count(*) > 0 FROM tenantguard_audit.events WHERE reason = 'id token: no user linked to this identity'" >/dev/null
# a refusal while the caller is inside a tenant is not put in that tenant's audit trail
as_super "BEGIN; SELECT tenantguard.set_tenant('$A');
          SELECT status FROM tenantguard.login_with_id_token('$(mint idp-rs "$ISS" other-aud-in-a sub-alice - 300)', 'oidc-a');
          COMMIT;" >/dev/null
tg_wait_for "$DB" "SELECT count(*) >= 2 FROM tenantguard_audit.events WHERE reason = 'id token: wrong audience'" >/dev/null
out=$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE reason LIKE 'id token: %' AND tenant_id IS NOT NULL")
tg_check_eq "refused ID tokens are recorded without a tenant, even from inside one" "$out" "0"
# each refusal above for its own reason (not, say, every one for a replay)
want="algorithm mismatch,expired,key of another purpose,malformed token,missing nonce,no user linked to this identity,nonce not checked,not yet valid,replayed id token,unknown signing key,wrong audience,wrong issuer,wrong nonce"
got=$(as_super "SELECT string_agg(DISTINCT substr(reason, 11), ',' ORDER BY substr(reason, 11))
                  FROM tenantguard_audit.events WHERE category = 'auth' AND action = 'login' AND reason LIKE 'id token: %'")
tg_check_eq "... every refusal was recorded with its own reason" "$got" "$want"
out=$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE category = 'auth' AND action = 'login'
                  AND decision = 'allow' AND details->>'method' = 'oidc'")
tg_check_ne "successful ID-token sign-ins are recorded" "$out" "0"
leak=$(as_super "SELECT count(*) FROM tenantguard_audit.events
                  WHERE concat_ws(' ', object, reason, details::text) LIKE '%' || split_part('$rs', '.', 3) || '%'
                     OR concat_ws(' ', object, reason, details::text) LIKE '%' || split_part('$bad', '.', 2) || '%'
                     OR concat_ws(' ', object, reason, details::text) LIKE '%tgses_%'")
tg_check_eq "... and no event holds an ID token or a session token" "$leak" "0"

# --- a hostile search_path changes nothing ------------------------------------------------
as_super "CREATE SCHEMA evil; GRANT USAGE ON SCHEMA evil TO $APP;
          CREATE FUNCTION evil.texteq_evil(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
          CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq_evil);
          CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE sql AS 'SELECT ''x''';" >/dev/null
out=$(as_app -c "SET search_path = evil, pg_catalog, public;
                 SELECT status FROM tenantguard.login_with_id_token('$(mint idp-rs "$ISS" "$AUD" sub-nobody - 300)', 'oidc-a')")
tg_check_eq "a shadowed = operator cannot link an unknown subject to a user" "$out" "invalid"

# --- disabled users, unlinking, retiring the provider's key -----------------------------
as_super "SELECT tenantguard.disable_user('$BOB')" >/dev/null
out=$(login "$(mint idp-rs "$ISS" "$AUD" sub-bob - 300)" oidc-a)
tg_check_eq "a disabled user → disabled" "${out%%|*}" "disabled"
out=$(as_super "SELECT tenantguard.unlink_identity('$ALICE', '$ISS')")
tg_check_eq "unlink_identity removes the link" "$(tg_sqlstate "$out")" "none"
check_invalid "... after which the provider's token signs nobody in" "$(mint idp-rs "$ISS" "$AUD" sub-alice - 300)" oidc-a
out=$(as_super "SELECT tenantguard.unlink_identity('$ALICE', '$ISS')")
tg_check_eq "... unlinking again is refused (42704)" "$(tg_sqlstate "$out")" "42704"
as_super "SELECT tenantguard.link_identity('$ALICE', '$ISS', 'sub-alice'); SELECT tenantguard.retire_signing_key('idp-es')" >/dev/null
check_invalid "a retired provider key's token" "$(mint idp-es "$ISS" "$AUD" sub-alice - 300)" oidc-a
tg_check_eq "... while its other keys still sign in" "$(login "$(mint idp-ed "$ISS" "$AUD" sub-alice - 300)" oidc-a)" \
  "ok|$ALICE|$A|tgses_"
