#!/usr/bin/env bash
# Signed context tokens across transactions and backends (docs/identity.md):
#   - a jti is single use: another transaction or backend is refused, even
#     after the first use rolled back; Citus-style connections of one
#     coordinator backend (application_name "citus_internal gpid=N") share
#     the use, another gpid does not;
#   - the kill switch: retiring a key in one backend ends a session-scope
#     context of another backend at its next statement;
#   - a session-scope context whose token expires fails closed at the next
#     statement;
#   - set_config(context, token, false) fails at commit and leaves nothing;
#   - a refused token is recorded even when the caller rolls back;
#   - interoperability: tokens signed by PyJWT (Debian's python3-jwt with
#     python3-cryptography) with HS256, EdDSA, ES256 and RS256 keys imported
#     as JWK, JWKS, PEM and raw base64url enter; tokens tenantguard mints or
#     signs verify in PyJWT.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=tokens
source test/suites/lib/checks.sh

DB=tg_suite_tokens
APP=tgsuite_tokens_app
PY=/usr/bin/python3
T=$(mktemp -d /tmp/tenantguard-tokens-XXXXXX)

cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $APP" >/dev/null 2>&1
  rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT
cleanup
T=$(mktemp -d /tmp/tenantguard-tokens-XXXXXX)

as_app() { PGAPPNAME=${APPNAME:-tokens} tg_psql -d "$DB" -U "$APP" "$@"; }
as_super() { tg_psql -d "$DB" -c "$1"; }

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
as_super "CREATE EXTENSION tenantguard" >/dev/null
psql -X -q -d postgres -c "CREATE ROLE $APP LOGIN IN ROLE tenantguard_app" >/dev/null
A=$(as_super "SELECT tenantguard.create_tenant('tok-a')")
B=$(as_super "SELECT tenantguard.create_tenant('tok-b')")
as_super "CREATE TABLE docs (tenant_id uuid NOT NULL, id int, body text);
          SELECT tenantguard.protect('docs');
          GRANT SELECT, INSERT ON docs TO $APP;
          SELECT tenantguard.set_tenant('$A'); INSERT INTO docs VALUES ('$A', 1, 'a1'), ('$A', 2, 'a2');
          SELECT tenantguard.clear_context();
          SELECT tenantguard.set_tenant('$B'); INSERT INTO docs VALUES ('$B', 3, 'b1');" >/dev/null
keys=$(as_super "SELECT kid || ' ' || secret FROM tenantguard.add_signing_key()")
KID=${keys%% *}
SECRET=${keys#* }
[ -n "$KID" ] && [ -n "$SECRET" ] || { tg_fail "add a signing key" "$keys"; exit 1; }

jti_token() {  # jti_token JTI [TENANT]: an HS256 token with that jti, valid 60 s
  as_super "SELECT tenantguard.sign_token(jsonb_build_object('tid', '${2:-$A}', 'sub', 'jti-user',
              'exp', extract(epoch FROM now())::bigint + 60, 'jti', '$1'), '$KID')"
}
count_in() {   # count_in TOKEN: rows of docs the token's context sees, or the error's SQLSTATE
  local out
  out=$(as_app -c "BEGIN; SET LOCAL tenantguard.context = '$1'; SELECT count(*) FROM docs; COMMIT;")
  if [ "$(tg_sqlstate "$out")" = none ]; then echo "$out"; else tg_sqlstate "$out"; fi
}

# --- single-use jti -----------------------------------------------------------
t1=$(jti_token "once-1")
tg_check_eq "a jti token enters once" "$(count_in "$t1")" "2"
tg_check_eq "... the same token in another transaction is refused (28000)" "$(count_in "$t1")" "28000"
out=$(as_app -c "BEGIN; SET LOCAL tenantguard.context = '$t1'; COMMIT;")
tg_check_contains "... saying it was used" "$out" "already been used"
t2=$(jti_token "twice-in-one")
out=$(as_app -c "BEGIN; SET LOCAL tenantguard.context = '$t2'; RESET tenantguard.context;
                 SELECT set_config('tenantguard.context', '$t2', true) IS NOT NULL; SELECT count(*) FROM docs; COMMIT;")
tg_check_eq "setting a jti token twice in one transaction is one use" "$out" "t
2"
t3=$(jti_token "rolled-back")
as_app -c "BEGIN; SET LOCAL tenantguard.context = '$t3'; ROLLBACK;" >/dev/null
tg_check_eq "a use that rolled back still consumed the jti" "$(count_in "$t3")" "28000"
t4=$(jti_token "citus-fanout")
c1=$(APPNAME="citus_internal gpid=10000001234" count_in "$t4")
c2=$(APPNAME="citus_internal gpid=10000001234" count_in "$t4")
c3=$(APPNAME="citus_internal gpid=10000009999" count_in "$t4")
tg_check_eq "connections of one Citus coordinator backend (same gpid) share one use" "$c1 $c2" "2 2"
tg_check_eq "... another coordinator backend (other gpid) is refused" "$c3" "28000"
tg_check_eq "... and so is a plain connection" "$(count_in "$t4")" "28000"

# --- the kill switch across backends --------------------------------------------
keys2=$(as_super "SELECT kid || ' ' || secret FROM tenantguard.add_signing_key()")
KID2=${keys2%% *}
tok2=$(as_super "SELECT tenantguard.mint_token('$A', 'killme', 'viewer', '5 minutes', '$KID2')")
out=$(as_app -v ON_ERROR_STOP=0 <<SQL
SELECT tenantguard.assume('$tok2', false);
SELECT 'before=' || count(*) FROM docs;
\\! psql -X -q -d $DB -c "SELECT tenantguard.retire_signing_key('$KID2')" >/dev/null
SELECT 'tenant=' || coalesce(tenantguard.current_tenant()::text, 'none');
SELECT 'after=' || count(*) FROM docs;
SQL
)
tg_check_contains "a session-scope token context works before its key is retired" "$out" "before=2"
tg_check_contains "retiring the key in another backend ends the context at the next statement" "$out" "tenant=none"
tg_check_match "... and the protected table then fails closed (42501)" "$out" "ERROR: +42501: no tenant context"

# --- session expiry mid-session -------------------------------------------------
short=$(as_super "SELECT tenantguard.sign_token(jsonb_build_object('tid', '$A', 'sub', 'brief',
          'exp', extract(epoch FROM now())::bigint + 2), '$KID')")
psql -X -q -d postgres -c "ALTER SYSTEM SET tenantguard.token_leeway = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
out=$(as_app -v ON_ERROR_STOP=0 <<SQL
SELECT tenantguard.assume('$short', false);
SELECT 'before=' || count(*) FROM docs;
SELECT pg_sleep(3);
SELECT 'after=' || count(*) FROM docs;
SQL
)
psql -X -q -d postgres -c "ALTER SYSTEM RESET tenantguard.token_leeway" -c "SELECT pg_reload_conf()" >/dev/null
tg_check_contains "a session-scope context works while its token is valid" "$out" "before=2"
tg_check_match "... and fails closed at the first statement after it expired (42501)" "$out" "ERROR: +42501: no tenant context"
tg_check_lacks "... without returning rows" "$out" "after="

# --- set_config(..., false) -------------------------------------------------------
tok=$(as_super "SELECT tenantguard.mint_token('$A', 'sess', 'viewer')")
out=$(as_app -v ON_ERROR_STOP=0 <<SQL
SELECT set_config('tenantguard.context', '$tok', false) IS NOT NULL;
SELECT 'tenant=' || coalesce(tenantguard.current_tenant()::text, 'none');
SQL
)
tg_check_match "set_config(context, token, false) in autocommit fails at commit (42501)" "$out" \
  "ERROR: +42501: a signed context token cannot be set for the session"
tg_check_contains "... with the hint" "$out" "tenantguard.assume(token, false)"
tg_check_contains "... and the session has no context after it" "$out" "tenant=none"
out=$(as_app -c "SET tenantguard.context = '$tok'")
tg_check_eq "SET (session) of a valid token is refused (42501)" "$(tg_sqlstate "$out")" "42501"

# --- refusals survive rollback ------------------------------------------------------
as_app -v ON_ERROR_STOP=0 -c "BEGIN; SELECT tenantguard.assume('$t1'); ROLLBACK;" >/dev/null
if tg_wait_for "$DB" "SELECT count(*) > 0 FROM tenantguard_audit.events WHERE action = 'context.token'
                      AND decision = 'deny' AND reason = 'replayed jti' AND db_user = '$APP'"; then
  tg_pass "a refused (replayed) token is recorded although the caller rolled back"
else
  tg_fail "a refused (replayed) token is recorded although the caller rolled back" \
    "$(as_super "SELECT action, decision, reason FROM tenantguard_audit.events ORDER BY id DESC LIMIT 5")"
fi
leak=$(as_super "SELECT count(*) FROM tenantguard_audit.events WHERE details::text LIKE '%$SECRET%'
                 OR reason LIKE '%' || split_part('$t1', '.', 3) || '%'")
tg_check_eq "... and no event contains a token or secret" "$leak" "0"

# --- interoperability with PyJWT ------------------------------------------------------
if ! $PY -c "import jwt, cryptography" 2>/dev/null; then
  tg_fail "python3-jwt and python3-cryptography are installed (make prereqs installs them)"
  exit 1
fi
cat >"$T/interop.py" <<'PY'
import base64, json, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def unb64u(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def hs_forge(claims, kid, secret):
    import hashlib, hmac
    si = b64u(json.dumps({"alg": "HS256", "kid": kid}).encode()) + "." + b64u(json.dumps(claims).encode())
    return si + "." + b64u(hmac.new(secret, si.encode(), hashlib.sha256).digest())

mode = sys.argv[1]
if mode == "keys":
    tenant = sys.argv[2]
    now = int(time.time())
    claims = {"tid": tenant, "sub": "py", "role": "operator", "iat": now, "exp": now + 120, "org": "interop"}
    hs = bytes(range(40))
    ed = ed25519.Ed25519PrivateKey.generate()
    es = ec.generate_private_key(ec.SECP256R1())
    rs = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = lambda k: k.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    der = lambda k: b64u(k.public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    def jwk(k, kid, alg):
        d = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(k.public_key()))
        d["kid"] = kid
        return d
    ed_pub = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    out = {
        "imports": [
            ["py-hs", "HS256", b64u(hs)],
            ["py-ed", "EdDSA", b64u(ed_pub)],
            ["py-es-pem", None, pem(es)],
            ["py-rs-der", "RS256", der(rs)],
            [None, None, json.dumps({"keys": [jwk(es, "py-es-jwk", "ES256"),
                                              dict(jwk(rs2, "py-rs-jwk", "RS256"), use="sig")]})],
        ],
        "tokens": {
            "HS256 (raw secret)": jwt.encode(claims, hs, algorithm="HS256", headers={"kid": "py-hs"}),
            "EdDSA (raw public key)": jwt.encode(claims, ed, algorithm="EdDSA", headers={"kid": "py-ed"}),
            "ES256 (PEM)": jwt.encode(claims, es, algorithm="ES256", headers={"kid": "py-es-pem"}),
            "RS256 (DER)": jwt.encode(claims, rs, algorithm="RS256", headers={"kid": "py-rs-der"}),
            "ES256 (JWKS)": jwt.encode(claims, es, algorithm="ES256", headers={"kid": "py-es-jwk"}),
            "RS256 (JWKS)": jwt.encode(claims, rs2, algorithm="RS256", headers={"kid": "py-rs-jwk"}),
        },
        # the alg-swap forgery: HS256 tokens for the RS256 and ES256 kids, HMAC keyed with
        # their public keys (PEM text, DER bytes) -- what a verifier that trusts "alg" accepts
        "forged": [hs_forge(claims, "py-rs-der", pem(rs).encode()),
                   hs_forge(claims, "py-rs-der", unb64u(der(rs))),
                   hs_forge(claims, "py-es-pem", pem(es).encode())],
    }
    json.dump(out, sys.stdout)
elif mode == "verify-hs":
    tok, secret = sys.argv[2], unb64u(sys.argv[3])
    c = jwt.decode(tok, secret, algorithms=["HS256"])
    print("ok", c["sub"], c["role"], jwt.get_unverified_header(tok)["kid"])
elif mode == "verify-ed":
    tok, pub = sys.argv[2], unb64u(sys.argv[3])
    key = ed25519.Ed25519PublicKey.from_public_bytes(pub)
    c = jwt.decode(tok, key, algorithms=["EdDSA"])
    print("ok", c["sub"])
PY
doc=$($PY "$T/interop.py" keys "$A" 2>&1)
if ! printf '%s' "$doc" | $PY -c "import json,sys; json.load(sys.stdin)" 2>/dev/null; then
  tg_fail "PyJWT made keys and tokens" "$doc"
  exit 1
fi
printf '%s' "$doc" >"$T/doc.json"
nimp=$($PY -c "import json; print(len(json.load(open('$T/doc.json'))['imports']))")
for i in $(seq 0 $((nimp - 1))); do
  args=$($PY - "$T/doc.json" "$i" <<'PY'
import json, sys
kid, alg, key = json.load(open(sys.argv[1]))["imports"][int(sys.argv[2])]
q = lambda v: "NULL" if v is None else "'" + v.replace("'", "''") + "'"
print(f"{q(kid)}, {q(alg)}, {q(key)}")
PY
)
  out=$(as_super "SELECT string_agg(k, ',' ORDER BY k) FROM tenantguard.import_signing_key($args) k")
  tg_check_match "PyJWT's key set $i imports" "$out" "^py-"
done
$PY - "$T/doc.json" <<'PY' >"$T/tokens.tsv"
import json, sys
for label, tok in json.load(open(sys.argv[1]))["tokens"].items():
    print(f"{label}\t{tok}")
PY
while IFS=$'\t' read -r label tok; do
  out=$(as_app -c "BEGIN; SET LOCAL tenantguard.context = '$tok';
                   SELECT principal || ' ' || role || ' ' || tenantguard.claim('org') FROM tenantguard.whoami();
                   SELECT count(*) FROM docs; COMMIT;")
  tg_check_eq "a PyJWT token enters: $label" "$out" "token:py operator interop
2"
done <"$T/tokens.tsv"

$PY -c "import json; [print(t) for t in json.load(open('$T/doc.json'))['forged']]" >"$T/forged.txt"
nforged=0
while read -r tok; do
  [ "$(count_in "$tok")" = 28000 ] && nforged=$((nforged + 1))
done <"$T/forged.txt"
tg_check_eq "HS256 tokens keyed with an RS256/ES256 key's public key (PEM, DER) are refused (28000)" "$nforged" "3"

mint=$(as_super "SELECT tenantguard.mint_token('$A', 'minted', 'admin')")
out=$($PY "$T/interop.py" verify-hs "$mint" "$SECRET" 2>&1)
tg_check_eq "a token minted by tenantguard verifies in PyJWT (HS256)" "$out" "ok minted admin $KID"
ekeys=$(as_super "SELECT kid || ' ' || secret FROM tenantguard.add_signing_key('EdDSA')")
EKID=${ekeys%% *}
ESEED=${ekeys#* }
EPUB=$(as_super "SELECT public_key FROM tenantguard.token_keys WHERE kid = '$EKID'")
etok=$(as_super "SELECT tenantguard.sign_token(jsonb_build_object('tid', '$A', 'sub', 'signed-ed',
          'exp', extract(epoch FROM now())::bigint + 60), '$EKID', '$ESEED', 'EdDSA')")
out=$($PY "$T/interop.py" verify-ed "$etok" "$EPUB" 2>&1)
tg_check_eq "a token signed by tenantguard with an Ed25519 key verifies in PyJWT (EdDSA)" "$out" "ok signed-ed"
tg_check_eq "... and enters" "$(count_in "$etok")" "2"
