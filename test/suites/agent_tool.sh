#!/usr/bin/env bash
# agent_tool: the command-line tool tenantguard-agent (docs/agents.md,
# "The tenantguard-agent tool"), as installed into PostgreSQL's bindir:
#   - keygen writes the key file with mode 0600, prints a 44-character base64
#     public key, refuses to overwrite an existing file (exit 2, file unchanged);
#   - key files that are group/world-readable, missing, unreadable, truncated,
#     malformed or of the wrong size are refused with exit 2 and a message;
#   - login-args prints "<ts> <nonce> <signature>": ts within 5 s of date +%s,
#     a 32-character [A-Za-z0-9_-] nonce, fresh on every call, and a signature
#     that an independent Ed25519 (Python's cryptography) verifies over the
#     exact message of API.md — and not over another agent id or ts;
#   - rotate-args likewise over the rotate message;
#   - a bad AGENT_ID or NEW_PUBLIC_KEY exits 3, usage errors 1, --help and
#     --version 0; the private key never appears in any output.
# Needs no cluster.
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=agent_tool
source test/suites/lib/checks.sh

PY=/usr/bin/python3
TOOL=$PGBIN/tenantguard-agent
T=$(mktemp -d /tmp/tenantguard-agent-XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"; tg_suite_finish' EXIT

if [ -x "$TOOL" ]; then
  tg_pass "tenantguard-agent is installed in PostgreSQL's bindir ($PGBIN)"
else
  tg_fail "tenantguard-agent is installed in PostgreSQL's bindir ($PGBIN)"
  make -s -C tools/agent >/dev/null
  TOOL=tools/agent/tenantguard-agent
fi

# run ARGS...: sets OUT, ERR, RC
run() {
  OUT=$("$TOOL" "$@" 2>"$T/err")
  RC=$?
  ERR=$(cat "$T/err")
}

# verify KIND PUBKEY_B64 SIG_B64 MESSAGE: "ok" when Ed25519 verifies
verify() {
  "$PY" - "$1" "$2" "$3" "$4" <<'PYEOF'
import base64, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature
_, pk, sig, msg = sys.argv[1:]
try:
    Ed25519PublicKey.from_public_bytes(base64.b64decode(pk, validate=True)).verify(
        base64.b64decode(sig, validate=True), msg.encode())
    print("ok")
except InvalidSignature:
    print("bad signature")
PYEOF
}

AGENT=6ba7b810-9dad-11d1-80b4-00c04fd430c8
OTHER=6ba7b810-9dad-11d1-80b4-00c04fd430c9
NL=$'\n'

# --- help, version, usage ---------------------------------------------------
run --help
tg_check_eq "--help exits 0" "$RC" 0
tg_check_contains "--help documents the exit codes" "$OUT" "3  bad argument"
run --version
tg_check_eq "--version exits 0" "$RC" 0
tg_check_match "--version prints the version" "$OUT" '^tenantguard-agent [0-9]+\.[0-9]+\.[0-9]+$'
run
tg_check_eq "no command: exit 1" "$RC" 1
run frobnicate x
tg_check_eq "unknown command: exit 1" "$RC" 1
tg_check_contains "unknown command: message" "$ERR" 'unknown command "frobnicate"'
run login-args "$T/key"
tg_check_eq "login-args with one argument: exit 1" "$RC" 1

# --- keygen -------------------------------------------------------------------
run keygen "$T/key"
PK=$OUT
tg_check_eq "keygen exits 0" "$RC" 0
tg_check_match "keygen prints a 44-character standard base64 key" "$PK" '^[A-Za-z0-9+/]{43}=$'
tg_check_eq "the key file has mode 0600" "$(stat -c %a "$T/key")" 600
tg_check_match "the key file is one versioned line" "$(cat "$T/key")" '^tenantguard-agent-key-v1 [A-Za-z0-9+/]{43}=$'
tg_check_eq "the key file is exactly one line" "$(wc -l <"$T/key")" 1
SEED=$(sed -n 's/^tenantguard-agent-key-v1 //p' "$T/key")
want_pk=$("$PY" -c "
import base64, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as s
k = Ed25519PrivateKey.from_private_bytes(base64.b64decode(sys.argv[1], validate=True))
print(base64.b64encode(k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)).decode())" "$SEED")
tg_check_eq "the printed public key is the key file's seed's public key" "$PK" "$want_pk"
tg_check_lacks "keygen does not print the private key" "$OUT$ERR" "$SEED"
(umask 000; "$TOOL" keygen "$T/key_umask" >/dev/null 2>&1)
tg_check_eq "keygen writes 0600 under umask 000" "$(stat -c %a "$T/key_umask" 2>&1)" 600
before=$(cat "$T/key")
run keygen "$T/key"
tg_check_eq "keygen refuses to overwrite: exit 2" "$RC" 2
tg_check_contains "keygen refuses to overwrite: message" "$ERR" "already exists"
tg_check_eq "keygen refuses to overwrite: the key is unchanged" "$(cat "$T/key")" "$before"
ln -s "$T/elsewhere" "$T/link"
run keygen "$T/link"
tg_check_eq "keygen does not follow a symbolic link: exit 2" "$RC" 2
tg_check_eq "keygen does not follow a symbolic link: no file behind it" "$([ -e "$T/elsewhere" ] && echo exists || echo absent)" absent
run keygen "$T/no/such/dir/key"
tg_check_eq "keygen into a missing directory: exit 2" "$RC" 2
run keygen "$T/key2"
tg_check_ne "two keygen runs give different keys" "$OUT" "$PK"

# --- login-args -----------------------------------------------------------------
run login-args "$T/key" "$AGENT"
now=$(date +%s)
tg_check_eq "login-args exits 0" "$RC" 0
tg_check_match "login-args prints <ts> <nonce> <signature>" "$OUT" '^[1-9][0-9]* [A-Za-z0-9_-]{32} [A-Za-z0-9+/]{86}==$'
read -r ts nonce sig <<<"$OUT"
d=$((now - ${ts:-0})); d=${d#-}
tg_check_eq "ts is within 5 s of date +%s" "$([ "$d" -le 5 ] && echo yes || echo "no ($ts vs $now)")" yes
tg_check_eq "the login signature verifies (Python cryptography) over the exact message" \
  "$(verify login "$PK" "$sig" "tenantguard-agent-login${NL}${AGENT}${NL}${ts}${NL}${nonce}")" ok
tg_check_eq "the login signature does not verify for another agent id" \
  "$(verify login "$PK" "$sig" "tenantguard-agent-login${NL}${OTHER}${NL}${ts}${NL}${nonce}")" "bad signature"
tg_check_eq "the login signature does not verify for another ts" \
  "$(verify login "$PK" "$sig" "tenantguard-agent-login${NL}${AGENT}${NL}$((ts + 1))${NL}${nonce}")" "bad signature"
tg_check_eq "the login signature does not verify with a trailing newline" \
  "$(verify login "$PK" "$sig" "tenantguard-agent-login${NL}${AGENT}${NL}${ts}${NL}${nonce}${NL}")" "bad signature"
tg_check_lacks "login-args does not print the private key" "$OUT$ERR" "$SEED"
run login-args "$T/key" "$AGENT"
read -r _ nonce2 _ <<<"$OUT"
tg_check_ne "a fresh nonce on every call" "$nonce2" "$nonce"

for bad in 6BA7B810-9DAD-11D1-80B4-00C04FD430C8 6ba7b8109dad11d180b400c04fd430c8 "$AGENT " not-a-uuid ""; do
  run login-args "$T/key" "$bad"
  tg_check_eq "login-args refuses AGENT_ID '$bad': exit 3" "$RC" 3
done
tg_check_contains "a bad AGENT_ID: message" "$ERR" "invalid AGENT_ID"

# --- rotate-args ----------------------------------------------------------------
NEWPK=$("$TOOL" keygen "$T/newkey")
run rotate-args "$T/key" "$AGENT" "$NEWPK"
tg_check_eq "rotate-args exits 0" "$RC" 0
tg_check_match "rotate-args prints a 88-character signature" "$OUT" '^[A-Za-z0-9+/]{86}==$'
tg_check_eq "the rotate signature verifies by the current key over the exact message" \
  "$(verify rotate "$PK" "$OUT" "tenantguard-agent-rotate${NL}${AGENT}${NL}${NEWPK}")" ok
tg_check_eq "the rotate signature does not verify by the new key" \
  "$(verify rotate "$NEWPK" "$OUT" "tenantguard-agent-rotate${NL}${AGENT}${NL}${NEWPK}")" "bad signature"
tg_check_eq "the rotate signature does not verify for another agent id" \
  "$(verify rotate "$PK" "$OUT" "tenantguard-agent-rotate${NL}${OTHER}${NL}${NEWPK}")" "bad signature"
for bad in "${NEWPK%=}" "${NEWPK}=" "$(printf '%s' "$NEWPK" | tr '+/' '-_' | sed 's/=$/A/')" \
    "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "$(printf '%s' "${NEWPK:0:42}")x=" "not base64 at all"; do
  run rotate-args "$T/key" "$AGENT" "$bad"
  tg_check_eq "rotate-args refuses NEW_PUBLIC_KEY '$bad': exit 3" "$RC" 3
done
tg_check_contains "a bad NEW_PUBLIC_KEY: message" "$ERR" "invalid NEW_PUBLIC_KEY"
run rotate-args "$T/key" NOT-A-UUID "$NEWPK"
tg_check_eq "rotate-args refuses a bad AGENT_ID: exit 3" "$RC" 3

# --- bad key files --------------------------------------------------------------
# keyfile_refused WHAT FILE NEEDLE
keyfile_refused() {
  run login-args "$2" "$AGENT"
  tg_check_eq "$1: exit 2" "$RC" 2
  tg_check_contains "$1: message" "$ERR" "$3"
  tg_check_eq "$1: nothing on stdout" "$OUT" ""
}
cp -p "$T/key" "$T/k644"; chmod 644 "$T/k644"
keyfile_refused "a 0644 key file is refused" "$T/k644" "too open"
cp -p "$T/key" "$T/k640"; chmod 640 "$T/k640"
keyfile_refused "a 0640 (group-readable) key file is refused" "$T/k640" "too open"
cp -p "$T/key" "$T/k604"; chmod 604 "$T/k604"
keyfile_refused "a 0604 (world-readable) key file is refused" "$T/k604" "too open"
keyfile_refused "a missing key file is refused" "$T/missing" "does not exist"
keyfile_refused "a directory as key file is refused" "$T" "not a regular file"

# keyfile CONTENT NAME: a 0600 file
keyfile() { printf '%s' "$1" >"$T/$2"; chmod 600 "$T/$2"; }
full=$(cat "$T/key")
keyfile "${full:0:40}" trunc
keyfile_refused "a truncated key file is refused" "$T/trunc" "malformed"
keyfile "" empty
keyfile_refused "an empty key file is refused" "$T/empty" "malformed"
keyfile "tenantguard-agent-key-v2 ${SEED}" v2
keyfile_refused "an unknown key file version is refused" "$T/v2" "malformed"
keyfile "${full}${NL}${full}${NL}" twice
keyfile_refused "a key file of two lines is refused" "$T/twice" "malformed"
keyfile "tenantguard-agent-key-v1 $(head -c 48 /dev/urandom | base64 -w0)" long
keyfile_refused "a key of 48 bytes is refused" "$T/long" "wrong size"
keyfile "tenantguard-agent-key-v1 $(head -c 16 /dev/urandom | base64 -w0)" short
keyfile_refused "a key of 16 bytes is refused" "$T/short" "wrong size"
keyfile "tenantguard-agent-key-v1 $(printf '%s' "$SEED" | tr '+/' '-_')x" url
keyfile_refused "a key that is not standard base64 is refused" "$T/url" "malformed"
keyfile "tenantguard-agent-key-v1 $(head -c 3000 /dev/urandom | base64 -w0)" huge
keyfile_refused "a key file of 4 kB is refused" "$T/huge" "malformed"
keyfile "${full}"$'\r\n' crlf
keyfile_refused "a key file with CRLF is refused" "$T/crlf" "malformed"
keyfile "${full}" nonl
run login-args "$T/nonl" "$AGENT"
tg_check_eq "a key file without the final newline is accepted" "$RC" 0

if [ "$(id -u)" -eq 0 ]; then
  # root reads any file: the unreadable case runs as nobody on a root-owned 0600 file
  out=$(runuser -u nobody -- "$TOOL" login-args "$T/key" "$AGENT" 2>&1); rc=$?
else
  cp -p "$T/key" "$T/k000"; chmod 000 "$T/k000"
  out=$("$TOOL" login-args "$T/k000" "$AGENT" 2>&1); rc=$?
fi
tg_check_eq "an unreadable key file: exit 2" "$rc" 2
tg_check_contains "an unreadable key file: message" "$out" "Permission denied"
