#!/usr/bin/env bash
# passlib: tenantguard's scrypt hashes and Debian's python3-passlib (1.7)
# read each other, both ways, at several costs (docs/identity.md, "Passwords
# and TOTP", migration from passlib):
#   - hash_password() at ln/r/p = 4/1/1, 6/4/2, 10/8/1, 15/8/3 (the default)
#     and 16/8/1 (passlib's default) verifies in passlib.hash.scrypt, a wrong
#     password does not, and passlib parses the same parameters;
#   - passlib's hashes at those costs, with salts of 8, 16 and 32 bytes,
#     verify in verify_password(), a wrong password does not, and
#     password_needs_rehash() says whether they match the current settings;
#   - passwords with non-ASCII characters (hashed as UTF-8 by both);
#   - a TOTP secret from totp_new_secret() and passlib.totp agree on codes,
#     and passlib parses totp_uri()'s Key URI back to the secret, issuer and
#     account.
# Passwords travel to Python in the environment, never on a command line.
#
# Uses Debian's /usr/bin/python3 (not another python3 on PATH: the package
# python3-passlib installs for it). Runs against the main cluster from
# run-all.sh (PGHOST/PGPORT/PGUSER).
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=passlib
source test/suites/lib/checks.sh

DB=tg_suite_passlib
DB_LATIN1=tg_suite_passlib_latin1
PY=/usr/bin/python3
T=$(mktemp -d /tmp/tenantguard-passlib-XXXXXX)

cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DB_LATIN1 WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

if ! "$PY" -c 'import passlib.hash, passlib.totp' 2>/dev/null; then
  tg_fail "Debian's python3-passlib is installed (test/install-prereqs.sh)"
  exit 1
fi

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
tg_psql -d "$DB" -c "CREATE EXTENSION tenantguard" >/dev/null

cat >"$T/pl.py" <<'PY'
import os, sys
from passlib.hash import scrypt
op = sys.argv[1]
pw = os.environ.get("PW", "")
if op == "verify":                       # PW, H -> True/False
    print(scrypt.verify(pw, os.environ["H"]))
elif op == "params":                     # H -> ln,r,p,saltlen,checksumlen
    h = scrypt.from_string(os.environ["H"])
    print("%d,%d,%d,%d,%d" % (h.rounds, h.block_size, h.parallelism, len(h.salt), len(h.checksum)))
elif op == "hash":                       # PW; argv ln r p saltsize -> hash
    ln, r, p, ss = map(int, sys.argv[2:6])
    print(scrypt.using(rounds=ln, block_size=r, parallelism=p, salt_size=ss).hash(pw))
elif op == "totp":                       # SECRET; argv unix_time digits period alg -> code
    from passlib.totp import TOTP
    t, d, per, alg = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    print(TOTP(key=os.environ["SECRET"], format="base32", digits=d, period=per, alg=alg).generate(t).token)
elif op == "uri":                        # URI -> secret|issuer|account|digits|period|alg
    from passlib.totp import TOTP
    o = TOTP.from_uri(os.environ["URI"])
    print("%s|%s|%s|%d|%d|%s" % (o.base32_key, o.issuer, o.label, o.digits, o.period, o.alg))
PY

# sql LN R P: run stdin at those costs (psql variables from the remaining args)
sql() {
  local ln=$1 r=$2 p=$3
  shift 3
  { echo "SET tenantguard.scrypt_log_n = $ln; SET tenantguard.scrypt_r = $r; SET tenantguard.scrypt_p = $p;"; cat; } |
    tg_psql -d "$DB" "$@"
}

PASSWORDS=("correct horse battery staple" "pässwörd ünïcödé ✓ 🔑 — 密码")
WRONG="correct horse battery stapler"

# ---------------------------------------------------------------------------
# tenantguard -> passlib
# ---------------------------------------------------------------------------
for cost in 4:1:1 6:4:2 10:8:1 15:8:3 16:8:1; do
  IFS=: read -r ln r p <<<"$cost"
  for i in 0 1; do
    pw=${PASSWORDS[$i]}
    h=$(sql "$ln" "$r" "$p" -v pw="$pw" <<<"SELECT tenantguard.hash_password(:'pw');")
    case $h in
      "\$scrypt\$ln=$ln,r=$r,p=$p\$"*) ;;
      *) tg_fail "tenantguard hashes at $cost (password $i)" "$h"; continue ;;
    esac
    tg_check_eq "passlib verifies tenantguard's hash at ln/r/p $cost (password $i)" \
      "$(PW=$pw H=$h "$PY" "$T/pl.py" verify 2>&1)" "True"
    if [ "$i" = 0 ]; then
      tg_check_eq "passlib refuses a wrong password against it ($cost)" \
        "$(PW=$WRONG H=$h "$PY" "$T/pl.py" verify 2>&1)" "False"
      tg_check_eq "passlib reads the same parameters, a 16-byte salt and a 32-byte checksum ($cost)" \
        "$(H=$h "$PY" "$T/pl.py" params 2>&1)" "$ln,$r,$p,16,32"
    fi
  done
done

# ---------------------------------------------------------------------------
# passlib -> tenantguard
# ---------------------------------------------------------------------------
for cost in 4:1:1 6:4:2 10:8:1 15:8:3 16:8:1; do
  IFS=: read -r ln r p <<<"$cost"
  for ss in 8 16 32; do
    for i in 0 1; do
      pw=${PASSWORDS[$i]}
      [ "$ss" != 16 ] && [ "$i" = 1 ] && continue
      h=$(PW=$pw "$PY" "$T/pl.py" hash "$ln" "$r" "$p" "$ss" 2>&1)
      out=$(sql "$ln" "$r" "$p" -v pw="$pw" -v wrong="$WRONG" -v h="$h" <<'SQL'
SELECT tenantguard.verify_password(:'pw', :'h') || ',' || tenantguard.verify_password(:'wrong', :'h')
       || ',' || tenantguard.password_needs_rehash(:'h');
SQL
)
      if [ "$ss" = 16 ]; then want_rehash=false; else want_rehash=true; fi
      tg_check_eq "verify_password() accepts passlib's hash at $cost with a $ss-byte salt (password $i), refuses a wrong password; needs_rehash $want_rehash" \
        "$out" "true,false,$want_rehash"
    done
  done
done

# passlib's default hash (ln=16, r=8, p=1) needs a rehash at tenantguard's defaults (15/8/3)
h=$(PW="${PASSWORDS[0]}" "$PY" -c 'import os; from passlib.hash import scrypt; print(scrypt.hash(os.environ["PW"]))')
out=$(tg_psql -d "$DB" -v pw="${PASSWORDS[0]}" -v h="$h" <<'SQL'
SELECT tenantguard.verify_password(:'pw', :'h') || ',' || tenantguard.password_needs_rehash(:'h');
SQL
)
tg_check_eq "passlib's default hash (ln=16, r=8, p=1) verifies at tenantguard's default settings and needs a rehash to 15/8/3" \
  "$out" "true,true"

# ---------------------------------------------------------------------------
# A LATIN1 database hashes the same UTF-8 bytes
# ---------------------------------------------------------------------------
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB_LATIN1" \
  -c "CREATE DATABASE $DB_LATIN1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
tg_psql -d "$DB_LATIN1" -c "CREATE EXTENSION tenantguard" >/dev/null
latin="pässwörd für Müller"
h=$(PGCLIENTENCODING=UTF8 tg_psql -d "$DB_LATIN1" -v pw="$latin" <<<"SET tenantguard.scrypt_log_n = 4; SET tenantguard.scrypt_r = 1; SET tenantguard.scrypt_p = 1;
SELECT tenantguard.hash_password(:'pw');")
tg_check_eq "a hash made in a LATIN1 database verifies in passlib (the password is hashed as UTF-8)" \
  "$(PW=$latin H=$h "$PY" "$T/pl.py" verify 2>&1)" "True"
h=$(PW=$latin "$PY" "$T/pl.py" hash 4 1 1 16 2>&1)
out=$(PGCLIENTENCODING=UTF8 tg_psql -d "$DB_LATIN1" -v pw="$latin" -v h="$h" <<<"SELECT tenantguard.verify_password(:'pw', :'h');")
tg_check_eq "passlib's hash of a non-ASCII password verifies in a LATIN1 database" "$out" "t"
out=$(PGCLIENTENCODING=UTF8 tg_psql -d "$DB" -v pw="$latin" -v h="$h" <<<"SELECT tenantguard.verify_password(:'pw', :'h');")
tg_check_eq "(and in the UTF-8 database)" "$out" "t"

# ---------------------------------------------------------------------------
# TOTP: codes and Key URIs agree with passlib.totp
# ---------------------------------------------------------------------------
secret=$(tg_psql -d "$DB" -c "SELECT tenantguard.totp_new_secret()")
for spec in 1111111111:6:30:sha1 1234567890:8:30:sha256 2000000000:7:60:sha512 $(date +%s):6:30:sha1; do
  IFS=: read -r t d per alg <<<"$spec"
  ours=$(tg_psql -d "$DB" -v s="$secret" <<<"SELECT tenantguard.totp_code(:'s', to_timestamp($t), $d, $per, '$alg');")
  theirs=$(SECRET=$secret "$PY" "$T/pl.py" totp "$t" "$d" "$per" "$alg" 2>&1)
  tg_check_eq "totp_code() and passlib.totp agree ($alg, $d digits, $per s, t=$t)" "$ours" "$theirs"
done
for names in "alice@example.com|Acme" "bob x/y?z&w=1 #é+%|Acme Inc & Co — ünïcode"; do
  acct=${names%%|*}
  iss=${names#*|}
  uri=$(tg_psql -d "$DB" -v s="$secret" -v a="$acct" -v i="$iss" <<<"SELECT tenantguard.totp_uri(:'s', :'a', :'i');")
  tg_check_eq "passlib parses totp_uri()'s Key URI back to the secret, issuer, account ($acct), 6 digits, 30 s, sha1" \
    "$(URI=$uri "$PY" "$T/pl.py" uri 2>&1)" "$secret|$iss|$acct|6|30|sha1"
done
