#!/usr/bin/env bash
# Attacks on the identity functions that need more than one database or an
# independent JWT library (the rest: test/pgtap/96_attack_identity.sql):
#   - the failed-login counter is per database: the cluster's shared memory
#     holds every database's counts, and the same email in two databases is
#     two accounts. A success or unlock_user() in one database must not lift
#     the count or lock of the other (a lockout bypass for whoever has an
#     account, or administrator rights, in a second database), and failures
#     in one must not lock the other;
#   - an ES256 ID token that signed in once cannot sign in again with its
#     signature re-encoded as (r, n - s), which verifies as well.
#
# Runs against the main cluster from run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=attack_identity
source test/suites/lib/checks.sh

DB1=tg_suite_attack_id1
DB2=tg_suite_attack_id2
APP=tgsuite_attack_id_app
PY=/usr/bin/python3
ISS=https://idp.example.com
AUD=tg-attack-client
T=$(mktemp -d /tmp/tenantguard-attack-id-XXXXXX)
SETTINGS="tenantguard.scrypt_log_n tenantguard.scrypt_r tenantguard.scrypt_p"

reset_settings() {
  local s
  for s in $SETTINGS; do psql -X -q -d postgres -c "ALTER SYSTEM RESET $s" >/dev/null 2>&1; done
  psql -X -q -d postgres -c "SELECT pg_reload_conf()" >/dev/null 2>&1
}
cleanup() {
  tg_drop_database_and_roles "$DB1"
  tg_drop_database_and_roles "$DB2" "$APP"
  reset_settings
  rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT
tg_drop_database_and_roles "$DB1"
tg_drop_database_and_roles "$DB2" "$APP"

psql -X -q -d postgres -c "ALTER SYSTEM SET tenantguard.scrypt_log_n = 4" -c "ALTER SYSTEM SET tenantguard.scrypt_r = 1" \
  -c "ALTER SYSTEM SET tenantguard.scrypt_p = 1" -c "SELECT pg_reload_conf()" >/dev/null
RUN=$(tg_psql -d postgres -c "SELECT substr(md5(random()::text), 1, 10)")
EMAIL="victim.$RUN@example.com"
PW='correct horse battery'
for db in "$DB1" "$DB2"; do
  psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
  tg_psql -d "$db" -c "CREATE EXTENSION tenantguard" >/dev/null
  tg_psql -d "$db" -c "SELECT tenantguard.set_tenant(tenantguard.create_tenant('attack-id'));
                       SELECT tenantguard.add_member(tenantguard.create_user('$EMAIL', '$PW'), 'viewer')" >/dev/null
done
psql -X -q -d postgres -c "CREATE ROLE $APP LOGIN IN ROLE tenantguard_app" >/dev/null
st() {  # st DB PASSWORD: login()'s status in a fresh backend of DB
  tg_psql -d "$1" -U "$APP" -c "SELECT status FROM tenantguard.login('$EMAIL', '$2')"
}
guesses() {  # guesses DB N: N wrong passwords in one backend, the statuses on one line
  local i
  for i in $(seq 1 "$2"); do echo "SELECT status FROM tenantguard.login('$EMAIL', 'wrong guess $i!');"; done >"$T/g.sql"
  tg_psql -d "$1" -U "$APP" -f "$T/g.sql" | tr '\n' ' '
}
unlock() { tg_psql -d "$1" -c "SELECT tenantguard.unlock_user(id) FROM tenantguard.users WHERE email = '$EMAIL'" >/dev/null; }

# ---------------------------------------------------------------------------
# 1. The lockout counts per database
# ---------------------------------------------------------------------------
tg_check_eq "five wrong passwords in database 1" "$(guesses "$DB1" 5)" "invalid invalid invalid invalid invalid "
tg_check_eq "... lock the email there" "$(st "$DB1" "$PW")" "locked"
tg_check_eq "... not the same email's account in database 2" "$(st "$DB2" "$PW")" "ok"

tg_check_eq "four wrong passwords in database 2" "$(guesses "$DB2" 4)" "invalid invalid invalid invalid "
unlock "$DB1"
tg_check_eq "an administrator of database 1 unlocks the email there" "$(st "$DB1" "$PW")" "ok"
tg_check_eq "neither that unlock nor that success reset database 2's count: its fifth failure" \
  "$(guesses "$DB2" 1)" "invalid "
tg_check_eq "... locks the email in database 2" "$(st "$DB2" "$PW")" "locked"
unlock "$DB2"
tg_check_eq "unlock_user() in database 2 lifts its lock" "$(st "$DB2" "$PW")" "ok"

# ---------------------------------------------------------------------------
# 2. An ES256 ID token replayed with its signature re-encoded
# ---------------------------------------------------------------------------
if ! $PY -c "import jwt, cryptography" 2>/dev/null; then
  tg_fail "python3-jwt and python3-cryptography are installed (make prereqs installs them)"
  exit 1
fi
cat >"$T/idp.py" <<'PY'
import base64, json, os, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

d = sys.argv[1]
pem = os.path.join(d, "es.pem")
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551   # the order of P-256
b64d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
b64e = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
if sys.argv[2] == "keys":
    k = ec.generate_private_key(ec.SECP256R1())
    with open(pem, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(k.public_key()))
    jwk.update(kid="attack-es", use="sig")
    print(json.dumps({"keys": [jwk]}))
elif sys.argv[2] == "mint":
    with open(pem, "rb") as f:
        k = serialization.load_pem_private_key(f.read(), None)
    now = int(time.time())
    # a random claim: two tokens minted in the same second must differ
    print(jwt.encode({"iss": sys.argv[3], "aud": sys.argv[4], "sub": sys.argv[5], "iat": now, "exp": now + 300,
                      "sid": os.urandom(8).hex()},
                     k, algorithm="ES256", headers={"kid": "attack-es"}))
elif sys.argv[2] == "malleate":
    # the same header and claims, signature (r, s) -> (r, N - s): still valid
    h, p, s = sys.argv[3].split(".")
    sig = b64d(s)
    r, sv = sig[:32], int.from_bytes(sig[32:], "big")
    print(h + "." + p + "." + b64e(r + (N - sv).to_bytes(32, "big")))
PY
jwks=$($PY "$T/idp.py" "$T" keys)
tg_psql -d "$DB1" -c "SELECT tenantguard.import_signing_key(NULL, NULL, \$j\$$jwks\$j\$, '$ISS', '$AUD', 'id_token')" >/dev/null
tg_psql -d "$DB1" -c "SELECT tenantguard.link_identity(id, '$ISS', 'sub-victim') FROM tenantguard.users WHERE email = '$EMAIL'" >/dev/null
oidc() { tg_psql -d "$DB1" -U "$APP" -c "SELECT status FROM tenantguard.login_with_id_token('$1')"; }

t1=$($PY "$T/idp.py" "$T" mint "$ISS" "$AUD" sub-victim)
t1m=$($PY "$T/idp.py" "$T" malleate "$t1")
tg_check_ne "the re-encoded signature is another text" "$t1m" "$t1"
tg_check_eq "an ES256 ID token signs in" "$(oidc "$t1")" "ok"
tg_check_eq "... and again with its signature re-encoded as (r, n - s): refused as a replay" "$(oidc "$t1m")" "invalid"
t2=$($PY "$T/idp.py" "$T" mint "$ISS" "$AUD" sub-victim)
t2m=$($PY "$T/idp.py" "$T" malleate "$t2")
tg_check_eq "the re-encoded signature of a fresh token is valid: it signs in" "$(oidc "$t2m")" "ok"
tg_check_eq "... and the original is then a replay" "$(oidc "$t2")" "invalid"
if tg_wait_for "$DB1" "SELECT count(*) = 2 FROM tenantguard_audit.events
                       WHERE action = 'login' AND reason = 'id token: replayed id token'"; then
  tg_pass "both refusals are recorded as replays"
else
  tg_fail "both refusals are recorded as replays" \
    "$(tg_psql -d "$DB1" -c "SELECT reason, count(*) FROM tenantguard_audit.events WHERE action = 'login' GROUP BY 1")"
fi
