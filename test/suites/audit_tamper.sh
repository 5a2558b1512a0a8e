#!/usr/bin/env bash
# audit_tamper: the audit ledger detects what a superuser can do behind the
# append-only triggers (SET session_replication_role = replica), and things
# that need several transactions or cluster settings.
#
# Every scenario runs in a database of its own (main cluster from run-all.sh),
# built by the same fixture: two tenants, an audited protected table, three
# batches of committed changes; batch 1 sealed into block 1, batch 2 into
# block 2, batch 3 left unsealed.
#
#   edit      every hashed column of one event in block 1 changed in turn:
#             verify() is not ok and names that event; put back: ok again.
#             The same edit with a correctly recomputed event_hash: caught by
#             the block's events root. NULL and the empty value swapped
#             (reason, principal, old_row, details).
#   delete    an event of a sealed block deleted: not ok; re-inserted: ok.
#   forge     an event inserted with the txid of a sealed one (with and
#             without a correct hash): not ok; an unsealed event with a bad
#             hash: not ok and seal() refuses (XX001).
#   blocks    block_hash / signature / prev_hash / a middle block forged or
#             deleted; a whole re-hashed chain without the signing key; an
#             unendorsed signing key: not ok.
#   order     a block whose events' id order differs from their txid order
#             (seal()/verify() read txid ranges and sort by id): roots match
#             the documented formula; two events' hashes swapped and one
#             character deep inside a TOASTed details value: not ok.
#   noindex   the events' (txid) index dropped: seal() and verify() scan the
#             table, roots still match, edits, deletions and an unsealed
#             event's NULL -> '' are still caught.
#   digest    a digest taken, then an event of the newest block edited:
#             verify_digest(old) and verify() are false; the newest block
#             deleted (verify() cannot see it): verify_digest(old) is false.
#   external  the digest's signature verifies outside the database (openssl)
#             with public_key(), which is the key documented to be derived
#             from the master key file.
#   refusals  refused context entry and refused DDL inside transactions that
#             are rolled back are still recorded (ledger worker), timed.
#   autoseal  tenantguard.audit_seal_interval (PGC_SIGHUP) = 1: committed
#             events get sealed without anyone calling seal().
#
# Automatic sealing is switched off (audit_seal_interval = 0, ALTER SYSTEM)
# while the scenarios run so that no background seal() interleaves; the
# original setting is restored at the end, also on failure.
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=audit_tamper
source test/suites/lib/checks.sh

if [ -z "${PGPORT:-}" ] || [ -z "${PGHOST:-}" ]; then
  tg_fail "main cluster environment (PGHOST/PGPORT) is set"
  tg_suite_finish
  exit 1
fi
unset PGOPTIONS PGDATABASE

PREFIX=tg_suite_audit_tamper
T=
ORIG_INTERVAL_FROM_AUTO=
DBS=()

q() { local db=$1; shift; psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" "$@" 2>&1; }
qp() { q postgres "$@"; }

# set_interval VALUE|reset: ALTER SYSTEM + reload, wait until new sessions see it.
set_interval() {
  local want=$1 got i
  if [ "$want" == reset ]; then
    qp -c "ALTER SYSTEM RESET tenantguard.audit_seal_interval" -c "SELECT pg_reload_conf()" >/dev/null
    want=$ORIG_INTERVAL
  else
    qp -c "ALTER SYSTEM SET tenantguard.audit_seal_interval = $want" -c "SELECT pg_reload_conf()" >/dev/null
  fi
  for ((i = 0; i < 100; i++)); do
    got=$(qp -c "SELECT setting FROM pg_settings WHERE name = 'tenantguard.audit_seal_interval'")
    [ "$got" == "$want" ] && return 0
    sleep 0.05
  done
  echo "tenantguard.audit_seal_interval did not become $want (is $got)" >&2
  return 1
}

restore_interval() {
  [ -n "$ORIG_INTERVAL_FROM_AUTO" ] || return 0
  if [ "$ORIG_INTERVAL_FROM_AUTO" == yes ]; then
    set_interval "$ORIG_INTERVAL" || true
  else
    set_interval reset || true
  fi
  ORIG_INTERVAL_FROM_AUTO=
}

cleanup() {
  restore_interval
  local db
  for db in "${DBS[@]}"; do
    qp -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  done
  [ -n "$T" ] && rm -rf "$T"
}
trap 'cleanup; tg_suite_finish' EXIT

T=$(mktemp -d /tmp/tenantguard-audit-tamper-XXXXXX)
chmod 755 "$T"

orig=$(qp -F '|' -c "SELECT setting, coalesce(sourcefile, '') FROM pg_settings WHERE name = 'tenantguard.audit_seal_interval'")
ORIG_INTERVAL=${orig%%|*}
case "${orig#*|}" in
  *postgresql.auto.conf) ORIG_INTERVAL_FROM_AUTO=yes ;;
  *) ORIG_INTERVAL_FROM_AUTO=no ;;
esac
set_interval 0 || tg_fail "automatic sealing can be switched off for the suite"

# ---------------------------------------------------------------------------
# The fixture
# ---------------------------------------------------------------------------
# fresh NAME: a new database with the fixture; prints nothing on success.
fresh() {
  local db="${PREFIX}_$1" out
  DBS+=("$db")
  qp -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null || return 1
  out=$(q "$db" <<'SQL'
CREATE EXTENSION tenantguard;
SELECT tenantguard.create_tenant('acme') AS acme \gset
SELECT tenantguard.create_tenant('globex') AS globex \gset
CREATE SCHEMA tamper;
-- the documented hashes, in SQL (see src/core/ledger.h)
CREATE FUNCTION tamper.f(v text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
                ELSE '\x01'::bytea || int4send(octet_length(convert_to(v, 'UTF8'))) || convert_to(v, 'UTF8') END
$$;
CREATE FUNCTION tamper.event_hash(e tenantguard_audit.events) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256('tenantguard-event-v1'::bytea
        || tamper.f(e.id::text) || tamper.f((extract(epoch FROM e.occurred_at) * 1000000)::bigint::text)
        || tamper.f(e.tenant_id::text) || tamper.f(e.category) || tamper.f(e.action) || tamper.f(e.principal)
        || tamper.f(e.db_user::text) || tamper.f(e.object) || tamper.f(e.decision) || tamper.f(e.reason)
        || tamper.f(e.details::text) || tamper.f(e.old_row::text) || tamper.f(e.new_row::text)
        || tamper.f(e.txid::text)
        || tamper.f(CASE WHEN e.client_addr IS NULL THEN NULL ELSE format('%s', e.client_addr) END)
        || tamper.f(e.application_name))
$$;
CREATE FUNCTION tamper.events_root(b tenantguard_audit.blocks) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256('tenantguard-root-v1'::bytea
                  || coalesce((SELECT string_agg(e.event_hash, ''::bytea ORDER BY e.id)
                                 FROM tenantguard_audit.events e
                                WHERE e.txid >= b.from_xid AND e.txid < b.to_xid), ''::bytea))
$$;
CREATE FUNCTION tamper.block_hash(b tenantguard_audit.blocks) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256('tenantguard-block-v1'::bytea || int8send(b.id) || int8send(b.from_xid::text::bigint)
                  || int8send(b.to_xid::text::bigint) || int8send(b.event_count) || b.events_root || b.prev_hash)
$$;
CREATE TABLE items (id int PRIMARY KEY, tenant_id uuid, body text, n int);
SELECT tenantguard.protect('items') \gset
SELECT tenantguard.audit_table('items') \gset
-- batch 1 -> block 1
BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO items VALUES (1, :'acme', 'a1', 1), (2, :'acme', 'a2', 2), (3, :'acme', 'a3', 3);
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'globex') \gset
INSERT INTO items VALUES (4, :'globex', 'g4', 4), (5, :'globex', 'g5', 5);
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
UPDATE items SET body = 'a1-edited' WHERE id = 1;
SELECT tenantguard.audit_log('report.exported', 'reports/1', '{"rows": 3}') \gset
COMMIT;
SELECT tenantguard_audit.seal() \gset
-- batch 2 -> block 2
BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO items VALUES (6, :'acme', 'a6', 6), (7, :'acme', 'a7', 7);
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'globex') \gset
DELETE FROM items WHERE id = 4;
COMMIT;
SELECT tenantguard_audit.seal() \gset
-- batch 3, unsealed
BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO items VALUES (8, :'acme', 'a8', 8);
COMMIT;
SELECT count(*) FROM tenantguard_audit.blocks;
SQL
)
  if [ "$out" != "2" ]; then
    echo "fixture of $db failed: $out" >&2
    return 1
  fi
}

# verify DB [TENANT]: "ok|first_bad_event|problem"
verify() {
  local t=${2:-}
  if [ -n "$t" ]; then
    q "$1" -c "SELECT ok || '|' || coalesce(first_bad_event::text, '') || '|' || coalesce(problem, '') FROM tenantguard_audit.verify('$t')"
  else
    q "$1" -c "SELECT ok || '|' || coalesce(first_bad_event::text, '') || '|' || coalesce(problem, '') FROM tenantguard_audit.verify()"
  fi
}
# tamper DB SQL...: run as superuser with the append-only triggers off.
tamper() { local db=$1; shift; q "$db" -c "SET session_replication_role = replica" "$@"; }
ok_of() { printf '%s' "${1%%|*}"; }
bad_of() { local r=${1#*|}; printf '%s' "${r%%|*}"; }

# ---------------------------------------------------------------------------
# edit: every hashed column of one sealed event
# ---------------------------------------------------------------------------
if fresh edit; then
  DB=${PREFIX}_edit
  tg_check_eq "edit: the untouched fixture verifies" "$(verify "$DB")" "true||"
  # an insert event in the middle of block 1 (not its first event)
  X=$(q "$DB" -c "SELECT max(e.id) FROM tenantguard_audit.events e, tenantguard_audit.blocks b
                  WHERE b.id = 1 AND e.txid >= b.from_xid AND e.txid < b.to_xid AND e.action = 'insert'")
  FIRST1=$(q "$DB" -c "SELECT first_event FROM tenantguard_audit.blocks WHERE id = 1")
  tg_check_match "edit: the victim event is inside block 1, after its first event" "$((X > FIRST1))" '^1$'
  q "$DB" -c "CREATE TABLE tamper.orig AS SELECT * FROM tenantguard_audit.events WHERE id = $X" >/dev/null
  ACME=$(q "$DB" -c "SELECT tenantguard.tenant_id('acme')")
  GLOBEX=$(q "$DB" -c "SELECT tenantguard.tenant_id('globex')")

  # column|forged value (SQL expression)
  while IFS='|' read -r col expr; do
    [ -n "$col" ] || continue
    out=$(tamper "$DB" -c "UPDATE tenantguard_audit.events SET $col = $expr WHERE id = $X")
    changed=$(q "$DB" -c "SELECT count(*) FROM tenantguard_audit.events e, tamper.orig o
                          WHERE e.id = $X AND e.$col IS DISTINCT FROM o.$col")
    if [ "$changed" != "1" ]; then
      tg_fail "edit: $col of event $X could be changed by the superuser" "$out"
      continue
    fi
    r=$(verify "$DB")
    tg_check_eq "edit: changing $col of a sealed event: verify() not ok, first_bad_event = that event" \
      "$(ok_of "$r")|$(bad_of "$r")" "false|$X"
    tamper "$DB" -c "UPDATE tenantguard_audit.events e SET $col = o.$col FROM tamper.orig o WHERE e.id = $X" >/dev/null
    tg_check_eq "edit: $col put back: verify() ok again" "$(verify "$DB")" "true||"
  done <<EOF
occurred_at|occurred_at + interval '1 microsecond'
tenant_id|CASE WHEN tenant_id = '$ACME' THEN '$GLOBEX' ELSE '$ACME' END::uuid
category|'admin'
action|'select'
principal|'admin:somebody-else'
db_user|'intruder'
object|'public.elsewhere'
decision|'deny'
reason|'forged'
details|'{"forged": true}'
old_row|'{"body": "never was"}'
new_row|jsonb_set(new_row, '{body}', '"forged"')
client_addr|'10.1.2.3'
application_name|'forged-app'
event_hash|sha256('forged'::bytea)
reason|CASE WHEN reason IS NULL THEN '' END
principal|CASE WHEN principal IS NULL THEN '' END
old_row|CASE WHEN old_row IS NULL THEN '{}'::jsonb END
details|CASE WHEN details = '{}' THEN '{"": null}'::jsonb ELSE '{}' END
EOF

  tamper "$DB" -c "UPDATE tenantguard_audit.events SET new_row = jsonb_set(new_row, '{body}', '\"forged\"') WHERE id = $X" >/dev/null
  r=$(verify "$DB" "$GLOBEX")
  tg_check_eq "edit: verify(other tenant) also reports the tampered event (the whole ledger is checked)" \
    "$(ok_of "$r")|$(bad_of "$r")" "false|$X"
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET new_row = o.new_row FROM tamper.orig o WHERE e.id = $X" >/dev/null

  # a smarter forger recomputes the event hash with the documented formula
  tg_check_eq "edit: the SQL formula reproduces every stored event hash" \
    "$(q "$DB" -c "SELECT count(*) FROM tenantguard_audit.events e WHERE e.event_hash <> tamper.event_hash(e)")" "0"
  tamper "$DB" -c "UPDATE tenantguard_audit.events SET new_row = jsonb_set(new_row, '{body}', '\"forged\"') WHERE id = $X" \
               -c "UPDATE tenantguard_audit.events e SET event_hash = tamper.event_hash(e) WHERE id = $X" >/dev/null
  tg_check_eq "edit: the forged event carries a valid event hash" \
    "$(q "$DB" -c "SELECT count(*) FROM tenantguard_audit.events e WHERE e.event_hash <> tamper.event_hash(e)")" "0"
  r=$(verify "$DB")
  LAST1=$(q "$DB" -c "SELECT last_event FROM tenantguard_audit.blocks WHERE id = 1")
  bad=$(bad_of "$r")
  tg_check_eq "edit: an edit with a recomputed event hash: verify() not ok" "$(ok_of "$r")" "false"
  tg_check_match "edit: ... first_bad_event lies in the block that holds the edited event" \
    "$(( bad >= FIRST1 && bad <= LAST1 && bad > 0 ))" '^1$'
  tg_check_contains "edit: ... the problem names the block's events" "$r" "block 1"
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET new_row = o.new_row, event_hash = o.event_hash FROM tamper.orig o WHERE e.id = $X" >/dev/null
  tg_check_eq "edit: put back: ok again" "$(verify "$DB")" "true||"

  # txid moved out of the block
  tamper "$DB" -c "UPDATE tenantguard_audit.events SET txid = (SELECT to_xid FROM tenantguard_audit.blocks WHERE id = 2) WHERE id = $X" >/dev/null
  tg_check_eq "edit: moving a sealed event to another transaction id: verify() not ok" "$(ok_of "$(verify "$DB")")" "false"
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET txid = o.txid FROM tamper.orig o WHERE e.id = $X" >/dev/null
  tg_check_eq "edit: txid put back: ok again" "$(verify "$DB")" "true||"

  # tampering with an unsealed event (batch 3)
  U=$(q "$DB" -c "SELECT max(id) FROM tenantguard_audit.events")
  tamper "$DB" -c "UPDATE tenantguard_audit.events SET new_row = '{\"id\": 800}' WHERE id = $U" >/dev/null
  r=$(verify "$DB")
  tg_check_eq "edit: changing a not yet sealed event: verify() not ok, names it" "$(ok_of "$r")|$(bad_of "$r")" "false|$U"
  out=$(q "$DB" -v VERBOSITY=verbose -c "SELECT tenantguard_audit.seal()")
  tg_check_eq "edit: seal() refuses to seal an altered event (XX001)" "$(tg_sqlstate "$out")" "XX001"
  tg_check_contains "edit: ... and names it" "$out" "audit event $U"
  tg_check_eq "edit: ... and adds no block" "$(q "$DB" -c "SELECT count(*) FROM tenantguard_audit.blocks")" "2"
else
  tg_fail "edit: fixture"
fi

# ---------------------------------------------------------------------------
# delete: an event disappears from a sealed block
# ---------------------------------------------------------------------------
if fresh delete; then
  DB=${PREFIX}_delete
  X=$(q "$DB" -c "SELECT max(e.id) FROM tenantguard_audit.events e, tenantguard_audit.blocks b
                  WHERE b.id = 1 AND e.txid >= b.from_xid AND e.txid < b.to_xid")
  q "$DB" -c "CREATE TABLE tamper.orig AS SELECT * FROM tenantguard_audit.events WHERE id = $X" >/dev/null
  out=$(tamper "$DB" -c "DELETE FROM tenantguard_audit.events WHERE id = $X" \
                     -c "SELECT count(*) FROM tenantguard_audit.events WHERE id = $X")
  tg_check_eq "delete: the superuser deleted a sealed event behind the triggers" "$out" "0"
  r=$(verify "$DB")
  tg_check_eq "delete: verify() is not ok" "$(ok_of "$r")" "false"
  tg_check_contains "delete: ... and says events were deleted" "$r" "deleted"
  tamper "$DB" -c "INSERT INTO tenantguard_audit.events SELECT * FROM tamper.orig" >/dev/null
  tg_check_eq "delete: the event put back: ok again" "$(verify "$DB")" "true||"

  # the first event of block 2 deleted
  Y=$(q "$DB" -c "SELECT first_event FROM tenantguard_audit.blocks WHERE id = 2")
  tamper "$DB" -c "DELETE FROM tenantguard_audit.events WHERE id = $Y" >/dev/null
  tg_check_eq "delete: deleting the first event of block 2: not ok" "$(ok_of "$(verify "$DB")")" "false"
else
  tg_fail "delete: fixture"
fi

# ---------------------------------------------------------------------------
# forge: events inserted into a sealed range, or with a bad hash
# ---------------------------------------------------------------------------
if fresh forge; then
  DB=${PREFIX}_forge
  S=$(q "$DB" -c "SELECT min(e.id) FROM tenantguard_audit.events e, tenantguard_audit.blocks b
                  WHERE b.id = 1 AND e.txid >= b.from_xid AND e.txid < b.to_xid")
  # a forged event in block 1's range, with the hash the documented formula gives
  F=$(tamper "$DB" -c "INSERT INTO tenantguard_audit.events (occurred_at, tenant_id, category, action, principal, db_user,
                            object, decision, details, new_row, txid, event_hash)
                       SELECT occurred_at, tenant_id, 'data', 'insert', principal, db_user, 'public.items', 'allow',
                              '{}', '{\"id\": 99, \"body\": \"planted\"}', txid, '\\x00'
                         FROM tenantguard_audit.events WHERE id = $S
                       RETURNING id")
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET event_hash = tamper.event_hash(e) WHERE id = $F" >/dev/null
  tg_check_eq "forge: the planted event has a valid hash and a txid inside block 1" \
    "$(q "$DB" -c "SELECT e.event_hash = tamper.event_hash(e) AND e.txid >= b.from_xid AND e.txid < b.to_xid
                     FROM tenantguard_audit.events e, tenantguard_audit.blocks b WHERE e.id = $F AND b.id = 1")" "t"
  r=$(verify "$DB")
  tg_check_eq "forge: an event planted into a sealed block (valid hash): verify() not ok" "$(ok_of "$r")" "false"
  tg_check_contains "forge: ... because block 1 now holds more events than it sealed" "$r" "block 1"
  tamper "$DB" -c "DELETE FROM tenantguard_audit.events WHERE id = $F" >/dev/null
  tg_check_eq "forge: the planted event removed: ok again" "$(verify "$DB")" "true||"

  # the same without bothering about the hash
  F=$(tamper "$DB" -c "INSERT INTO tenantguard_audit.events (category, action, txid, event_hash)
                       SELECT 'app', 'planted', txid, sha256('x'::bytea) FROM tenantguard_audit.events WHERE id = $S
                       RETURNING id")
  r=$(verify "$DB")
  tg_check_eq "forge: a planted event with a wrong hash: verify() not ok" "$(ok_of "$r")" "false"
  tamper "$DB" -c "DELETE FROM tenantguard_audit.events WHERE id = $F" >/dev/null

  # an event with a wrong hash in the unsealed region (no superuser trick needed: a plain INSERT)
  F=$(q "$DB" -c "INSERT INTO tenantguard_audit.events (category, action, event_hash)
                  VALUES ('app', 'planted-unsealed', sha256('x'::bytea)) RETURNING id")
  r=$(verify "$DB")
  tg_check_eq "forge: an unsealed event with a wrong hash: verify() not ok, names it" "$(ok_of "$r")|$(bad_of "$r")" "false|$F"
  out=$(q "$DB" -v VERBOSITY=verbose -c "SELECT tenantguard_audit.seal()")
  tg_check_eq "forge: ... and seal() refuses to seal it (XX001)" "$(tg_sqlstate "$out")" "XX001"
else
  tg_fail "forge: fixture"
fi

# ---------------------------------------------------------------------------
# blocks: forged block fields, a missing block, a re-hashed chain, a new key
# ---------------------------------------------------------------------------
if fresh blocks; then
  DB=${PREFIX}_blocks
  q "$DB" -c "CREATE TABLE tamper.orig_blocks AS SELECT * FROM tenantguard_audit.blocks" >/dev/null
  restore_blocks() {
    tamper "$DB" -c "DELETE FROM tenantguard_audit.blocks" \
                 -c "INSERT INTO tenantguard_audit.blocks SELECT * FROM tamper.orig_blocks" >/dev/null
  }
  tg_check_eq "blocks: the untouched fixture verifies" "$(verify "$DB")" "true||"
  F1=$(q "$DB" -c "SELECT first_event FROM tenantguard_audit.blocks WHERE id = 1")

  tamper "$DB" -c "UPDATE tenantguard_audit.blocks SET block_hash = sha256('forged'::bytea) WHERE id = 1" >/dev/null
  r=$(verify "$DB")
  tg_check_eq "blocks: a forged block_hash: verify() not ok" "$(ok_of "$r")" "false"
  tg_check_eq "blocks: ... first_bad_event is the block's first event" "$(bad_of "$r")" "$F1"
  restore_blocks
  tg_check_eq "blocks: restored: ok" "$(verify "$DB")" "true||"

  tamper "$DB" -c "UPDATE tenantguard_audit.blocks SET signature = (SELECT signature FROM tamper.orig_blocks WHERE id = 2) WHERE id = 1" >/dev/null
  r=$(verify "$DB")
  tg_check_eq "blocks: block 1 carrying block 2's (valid) signature: not ok" "$(ok_of "$r")" "false"
  tg_check_contains "blocks: ... the signature is what is wrong" "$r" "signature of block 1"
  restore_blocks

  tamper "$DB" -c "UPDATE tenantguard_audit.blocks SET signature = set_byte(signature, 10, get_byte(signature, 10) # 1) WHERE id = 2" >/dev/null
  tg_check_eq "blocks: one bit of block 2's signature flipped: not ok" "$(ok_of "$(verify "$DB")")" "false"
  restore_blocks

  tamper "$DB" -c "UPDATE tenantguard_audit.blocks SET prev_hash = sha256('x'::bytea) WHERE id = 2" >/dev/null
  tg_check_eq "blocks: block 2 linked to another hash: not ok" "$(ok_of "$(verify "$DB")")" "false"
  restore_blocks

  tamper "$DB" -c "UPDATE tenantguard_audit.blocks SET event_count = event_count - 1 WHERE id = 1" >/dev/null
  tg_check_eq "blocks: block 1's event_count changed: not ok" "$(ok_of "$(verify "$DB")")" "false"
  restore_blocks

  tamper "$DB" -c "UPDATE tenantguard_audit.blocks SET to_xid = (to_xid::text::bigint - 1)::text::xid8 WHERE id = 1" >/dev/null
  tg_check_eq "blocks: block 1's range shortened: not ok" "$(ok_of "$(verify "$DB")")" "false"
  restore_blocks

  tamper "$DB" -c "DELETE FROM tenantguard_audit.blocks WHERE id = 1" >/dev/null
  r=$(verify "$DB")
  tg_check_eq "blocks: block 1 deleted: not ok" "$(ok_of "$r")" "false"
  tg_check_contains "blocks: ... block 1 is reported missing" "$r" "missing"
  restore_blocks
  tg_check_eq "blocks: restored again: ok" "$(verify "$DB")" "true||"

  # the full forgery without the signing key: edit an event, recompute its hash,
  # block 1's root and hash, block 2's link and hash
  X=$(q "$DB" -c "SELECT max(e.id) FROM tenantguard_audit.events e, tenantguard_audit.blocks b
                  WHERE b.id = 1 AND e.txid >= b.from_xid AND e.txid < b.to_xid AND e.action = 'insert'")
  q "$DB" -c "CREATE TABLE tamper.orig AS SELECT * FROM tenantguard_audit.events WHERE id = $X" >/dev/null
  tamper "$DB" \
    -c "UPDATE tenantguard_audit.events SET new_row = jsonb_set(new_row, '{body}', '\"rewritten history\"') WHERE id = $X" \
    -c "UPDATE tenantguard_audit.events e SET event_hash = tamper.event_hash(e) WHERE id = $X" \
    -c "UPDATE tenantguard_audit.blocks b SET events_root = tamper.events_root(b) WHERE id = 1" \
    -c "UPDATE tenantguard_audit.blocks b SET block_hash = tamper.block_hash(b) WHERE id = 1" \
    -c "UPDATE tenantguard_audit.blocks SET prev_hash = (SELECT block_hash FROM tenantguard_audit.blocks WHERE id = 1) WHERE id = 2" \
    -c "UPDATE tenantguard_audit.blocks b SET block_hash = tamper.block_hash(b) WHERE id = 2" >/dev/null
  consistent=$(q "$DB" -c "SELECT bool_and(b.events_root = tamper.events_root(b) AND b.block_hash = tamper.block_hash(b))
                               AND (SELECT prev_hash FROM tenantguard_audit.blocks WHERE id = 2) = (SELECT block_hash FROM tenantguard_audit.blocks WHERE id = 1)
                          FROM tenantguard_audit.blocks b")
  tg_check_eq "blocks: the rewritten chain is internally consistent (hashes, roots, links)" "$consistent" "t"
  r=$(verify "$DB")
  tg_check_eq "blocks: ... but without the signing key the signatures give it away: not ok" "$(ok_of "$r")" "false"
  tg_check_contains "blocks: ... signature of block 1 is not valid" "$r" "signature of block 1"
  q "$DB" -c "SELECT tenantguard_audit.digest()" >"$T/rewritten.digest"
  tg_check_eq "blocks: ... and a digest of the rewritten chain does not verify" \
    "$(q "$DB" -c "SELECT tenantguard_audit.verify_digest('$(cat "$T/rewritten.digest")')")" "f"
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET new_row = o.new_row, event_hash = o.event_hash FROM tamper.orig o WHERE e.id = $X" >/dev/null
  restore_blocks
  tg_check_eq "blocks: event and blocks restored: ok" "$(verify "$DB")" "true||"

  # a signing key that was not endorsed by the one before it
  tamper "$DB" -c "INSERT INTO tenantguard_audit.signing_keys (first_block, public_key) VALUES (2, sha256('attacker'::bytea))" >/dev/null
  r=$(verify "$DB")
  tg_check_eq "blocks: an unendorsed signing key added: verify() not ok" "$(ok_of "$r")" "false"
  tg_check_contains "blocks: ... the key is reported as not endorsed" "$r" "endorsed"
  out=$(q "$DB" -v VERBOSITY=verbose -c "SELECT tenantguard_audit.seal()")
  tg_check_eq "blocks: ... and seal() refuses to extend the ledger (55000)" "$(tg_sqlstate "$out")" "55000"
  tamper "$DB" -c "DELETE FROM tenantguard_audit.signing_keys WHERE first_block = 2" >/dev/null
  tg_check_eq "blocks: the key removed: ok" "$(verify "$DB")" "true||"
  tamper "$DB" -c "UPDATE tenantguard_audit.signing_keys SET public_key = sha256('attacker'::bytea)" >/dev/null
  tg_check_eq "blocks: the registered signing key replaced: not ok" "$(ok_of "$(verify "$DB")")" "false"
else
  tg_fail "blocks: fixture"
fi

# ---------------------------------------------------------------------------
# digest: history rewritten after a digest was taken
# ---------------------------------------------------------------------------
if fresh digest; then
  DB=${PREFIX}_digest
  D=$(q "$DB" -c "SELECT tenantguard_audit.digest()")
  tg_check_eq "digest: verify_digest(digest()) is true" "$(q "$DB" -c "SELECT tenantguard_audit.verify_digest('$D')")" "t"
  X=$(q "$DB" -c "SELECT last_event FROM tenantguard_audit.blocks WHERE id = 2")
  q "$DB" -c "CREATE TABLE tamper.orig AS SELECT * FROM tenantguard_audit.events WHERE id = $X" >/dev/null
  tamper "$DB" -c "UPDATE tenantguard_audit.events SET principal = 'admin:nobody' WHERE id = $X" >/dev/null
  tg_check_eq "digest: an event of the newest block edited: verify_digest(old digest) is false" \
    "$(q "$DB" -c "SELECT tenantguard_audit.verify_digest('$D')")" "f"
  r=$(verify "$DB")
  tg_check_eq "digest: ... and verify() is not ok, naming the event" "$(ok_of "$r")|$(bad_of "$r")" "false|$X"
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET principal = o.principal FROM tamper.orig o WHERE e.id = $X" >/dev/null
  tg_check_eq "digest: put back: verify_digest(old digest) is true again" \
    "$(q "$DB" -c "SELECT tenantguard_audit.verify_digest('$D')")" "t"

  # cutting off the newest block: verify() alone cannot know, the digest can
  tamper "$DB" -c "DELETE FROM tenantguard_audit.blocks WHERE id = 2" >/dev/null
  tg_check_eq "digest: the newest block deleted: verify() still says ok (its events look unsealed)" \
    "$(ok_of "$(verify "$DB")")" "true"
  tg_check_eq "digest: ... but verify_digest(old digest) is false" \
    "$(q "$DB" -c "SELECT tenantguard_audit.verify_digest('$D')")" "f"
  q "$DB" -c "SELECT tenantguard_audit.seal()" >/dev/null
  tg_check_eq "digest: ... also after the events were sealed again into a new block 2" \
    "$(q "$DB" -c "SELECT tenantguard_audit.verify_digest('$D')")" "f"
  tg_check_eq "digest: ... whose hash differs from the one in the old digest" \
    "$(q "$DB" -c "SELECT encode(block_hash, 'hex') <> '$D'::jsonb->>'block_hash' FROM tenantguard_audit.blocks WHERE id = 2")" "t"
else
  tg_fail "digest: fixture"
fi

# ---------------------------------------------------------------------------
# order: a block whose events' id order is not their txid order (seal() and
# verify() read a block's transaction id range and sort it by id), a big
# TOASTed details value
# ---------------------------------------------------------------------------
if fresh order; then
  DB=${PREFIX}_order
  # A takes its transaction id first and writes its event only after B has
  # committed its own: A's event has the lower txid and the higher id
  q "$DB" >"$T/order_a.out" <<'SQL' &
BEGIN;
SELECT pg_current_xact_id() \gset
DO $$ BEGIN
    FOR i IN 1..400 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM items WHERE id = 21);
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('acme')) \gset
INSERT INTO items VALUES (20, tenantguard.tenant_id('acme'), 'a20', 20);
COMMIT;
SQL
  apid=$!
  for ((i = 0; i < 200; i++)); do
    [ "$(q "$DB" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                      AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")" == "1" ] && break
    sleep 0.05
  done
  q "$DB" >/dev/null <<'SQL'
BEGIN;
SELECT tenantguard.set_tenant(tenantguard.tenant_id('globex')) \gset
INSERT INTO items VALUES (21, tenantguard.tenant_id('globex'), 'g21', 21);
COMMIT;
SQL
  wait "$apid"
  tg_check_eq "order: an event with a lower txid and a higher id than another one" \
    "$(q "$DB" -c "SELECT a.txid < b.txid AND a.id > b.id FROM tenantguard_audit.events a, tenantguard_audit.events b
                   WHERE a.action = 'insert' AND a.new_row->>'id' = '20' AND b.action = 'insert' AND b.new_row->>'id' = '21'")" "t"
  q "$DB" -c "SELECT tenantguard.audit_log('big.export', 'reports/big',
                jsonb_build_object('blob', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 4000) g)))" >/dev/null
  B=$(q "$DB" -c "SELECT id FROM tenantguard_audit.events WHERE action = 'big.export'")
  tg_check_eq "order: the big event's details are stored out of line (TOAST)" \
    "$(q "$DB" -c "SELECT octet_length(e.details::text) > 100000 AND pg_relation_size(c.reltoastrelid) >= 100000
                     FROM tenantguard_audit.events e, pg_class c
                    WHERE e.id = $B AND c.oid = 'tenantguard_audit.events'::regclass")" "t"
  sealed=$(q "$DB" -c "SELECT tenantguard_audit.seal()")
  tg_check_match "order: seal() seals them into block 3" "$sealed|$(q "$DB" -c "SELECT max(id) FROM tenantguard_audit.blocks")" '^[0-9]+\|3$'
  tg_check_eq "order: every block's root and hash are the documented formulas over its events in id order" \
    "$(q "$DB" -c "SELECT bool_and(b.events_root = tamper.events_root(b) AND b.block_hash = tamper.block_hash(b))
                     FROM tenantguard_audit.blocks b")" "t"
  tg_check_eq "order: verify() ok" "$(verify "$DB")" "true||"
  # a swap of two events' hashes keeps every hash in the block but not their order
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET event_hash = CASE WHEN e.new_row->>'id' = '20' THEN o.h21 ELSE o.h20 END
                     FROM (SELECT (array_agg(event_hash) FILTER (WHERE new_row->>'id' = '20'))[1] AS h20,
                                  (array_agg(event_hash) FILTER (WHERE new_row->>'id' = '21'))[1] AS h21
                             FROM tenantguard_audit.events WHERE action = 'insert') o
                    WHERE e.action = 'insert' AND e.new_row->>'id' IN ('20', '21')
                RETURNING e.id" >/dev/null
  tg_check_eq "order: the two events' hashes were swapped" \
    "$(q "$DB" -c "SELECT count(*) FROM tenantguard_audit.events e WHERE e.action = 'insert'
                     AND e.new_row->>'id' IN ('20', '21') AND e.event_hash <> tamper.event_hash(e)")" "2"
  tg_check_eq "order: two events' hashes swapped: verify() not ok" "$(ok_of "$(verify "$DB")")" "false"
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET event_hash = tamper.event_hash(e)
                    WHERE e.action = 'insert' AND e.new_row->>'id' IN ('20', '21')" >/dev/null
  tg_check_eq "order: put back: ok" "$(verify "$DB")" "true||"
  # one character deep inside the TOASTed value
  q "$DB" -c "CREATE TABLE tamper.orig AS SELECT * FROM tenantguard_audit.events WHERE id = $B" >/dev/null
  tamper "$DB" -c "UPDATE tenantguard_audit.events
                      SET details = jsonb_set(details, '{blob}', to_jsonb(overlay(details->>'blob' PLACING 'z' FROM 100000 FOR 1)))
                    WHERE id = $B" >/dev/null
  r=$(verify "$DB")
  tg_check_eq "order: one character changed deep inside a TOASTed details value: verify() not ok, names the event" \
    "$(ok_of "$r")|$(bad_of "$r")" "false|$B"
  tamper "$DB" -c "UPDATE tenantguard_audit.events e SET details = o.details FROM tamper.orig o WHERE e.id = $B" >/dev/null
  tg_check_eq "order: put back: ok" "$(verify "$DB")" "true||"
else
  tg_fail "order: fixture"
fi

# ---------------------------------------------------------------------------
# noindex: without the events' (txid) index seal() and verify() scan the
# table and still check everything
# ---------------------------------------------------------------------------
if fresh noindex; then
  DB=${PREFIX}_noindex
  out=$(q "$DB" -c "DROP INDEX tenantguard_audit.events_txid_idx")
  tg_check_eq "noindex: the superuser dropped the events' txid index" \
    "$(q "$DB" -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'tenantguard_audit' AND indexname = 'events_txid_idx'")" "0"
  tg_check_eq "noindex: verify() ok" "$(verify "$DB")" "true||"
  tg_check_eq "noindex: seal() seals the unsealed batch" "$(q "$DB" -c "SELECT tenantguard_audit.seal() > 0")" "t"
  tg_check_eq "noindex: every block's root and hash are the documented formulas" \
    "$(q "$DB" -c "SELECT count(*) FILTER (WHERE b.events_root = tamper.events_root(b) AND b.block_hash = tamper.block_hash(b))
                     FROM tenantguard_audit.blocks b")" "3"
  X=$(q "$DB" -c "SELECT max(e.id) FROM tenantguard_audit.events e, tenantguard_audit.blocks b
                  WHERE b.id = 2 AND e.txid >= b.from_xid AND e.txid < b.to_xid")
  q "$DB" -c "CREATE TABLE tamper.orig AS SELECT * FROM tenantguard_audit.events WHERE id = $X" >/dev/null
  tamper "$DB" -c "UPDATE tenantguard_audit.events SET object = 'public.elsewhere' WHERE id = $X" >/dev/null
  r=$(verify "$DB")
  tg_check_eq "noindex: an edited sealed event: verify() not ok, names it" "$(ok_of "$r")|$(bad_of "$r")" "false|$X"
  tamper "$DB" -c "DELETE FROM tenantguard_audit.events WHERE id = $X" >/dev/null
  tg_check_contains "noindex: the event deleted: verify() says events were deleted" "$(verify "$DB")" "deleted"
  tamper "$DB" -c "INSERT INTO tenantguard_audit.events SELECT * FROM tamper.orig" >/dev/null
  tg_check_eq "noindex: put back: ok" "$(verify "$DB")" "true||"
  q "$DB" -c "SELECT tenantguard.audit_log('after.drop')" >/dev/null
  U=$(q "$DB" -c "SELECT max(id) FROM tenantguard_audit.events")
  tamper "$DB" -c "UPDATE tenantguard_audit.events SET reason = '' WHERE id = $U" >/dev/null
  out=$(q "$DB" -v VERBOSITY=verbose -c "SELECT tenantguard_audit.seal()")
  tg_check_eq "noindex: seal() refuses an unsealed event whose NULL reason became '' (XX001)" "$(tg_sqlstate "$out")" "XX001"
  tg_check_contains "noindex: ... and names it" "$out" "audit event $U"
else
  tg_fail "noindex: fixture"
fi

# ---------------------------------------------------------------------------
# external: the digest verifies outside the database, with the documented key
# ---------------------------------------------------------------------------
if command -v openssl >/dev/null && command -v python3 >/dev/null; then
  DB=${PREFIX}_digest
  qp -c "SELECT pg_read_file(current_setting('tenantguard.master_key_file'))" >"$T/master.key"
  D=$(q "$DB" -c "SELECT tenantguard_audit.digest()")
  PK=$(q "$DB" -c "SELECT tenantguard_audit.public_key()")
  printf '%s' "$D" >"$T/digest.json"
  # the documented derivation: seed = BLAKE2b-256(key = master key, "tenantguard/audit-signing/v1")
  python3 - "$T/master.key" "$T" <<'PY'
import hashlib, sys, json, base64
mk = bytes.fromhex(open(sys.argv[1]).read().strip())
seed = hashlib.blake2b(b"tenantguard/audit-signing/v1", digest_size=32, key=mk).digest()
d = json.load(open(sys.argv[2] + "/digest.json"))
open(sys.argv[2] + "/seed.der", "wb").write(bytes.fromhex("302e020100300506032b657004220420") + seed)
open(sys.argv[2] + "/msg.bin", "wb").write(bytes.fromhex(d["block_hash"]))
open(sys.argv[2] + "/sig.bin", "wb").write(base64.b64decode(d["signature"].replace("\n", "")))
open(sys.argv[2] + "/pub.der", "wb").write(bytes.fromhex("302a300506032b6570032100") + base64.b64decode(d["public_key"]))
PY
  derived=$(openssl pkey -inform DER -in "$T/seed.der" -pubout -outform DER 2>/dev/null | tail -c 32 | base64)
  tg_check_eq "external: public_key() is the Ed25519 key derived from the master key file as documented" "$derived" "$PK"
  tg_check_eq "external: the digest carries that public key" "$(python3 -c "import json,sys; print(json.load(open('$T/digest.json'))['public_key'])")" "$PK"
  out=$(openssl pkeyutl -verify -pubin -inkey "$T/pub.der" -keyform DER -rawin -in "$T/msg.bin" -sigfile "$T/sig.bin" 2>&1)
  tg_check_contains "external: openssl verifies the digest's signature over its block hash" "$out" "Signature Verified Successfully"
  printf 'x' >>"$T/msg.bin"
  out=$(openssl pkeyutl -verify -pubin -inkey "$T/pub.der" -keyform DER -rawin -in "$T/msg.bin" -sigfile "$T/sig.bin" 2>&1)
  tg_check_lacks "external: ... and rejects it over another message" "$out" "Signature Verified Successfully"
else
  tg_fail "external: openssl and python3 are available"
fi

# ---------------------------------------------------------------------------
# refusals: recorded although the caller's transaction rolls back
# ---------------------------------------------------------------------------
if fresh refusals; then
  DB=${PREFIX}_refusals
  q "$DB" -c "SELECT tenantguard.suspend_tenant(tenantguard.create_tenant('frozen'))" >/dev/null
  FROZEN=$(q "$DB" -c "SELECT tenantguard.tenant_id('frozen')")
  MARK=$(q "$DB" -c "SELECT coalesce(max(id), 0) FROM tenantguard_audit.events")
  # wait_event DB CONDITION: seconds until an event matches (<= 10 s), or "timeout"
  wait_event() {
    local db=$1 cond=$2 i t0 n
    t0=$(date +%s.%N)
    for ((i = 0; i < 200; i++)); do
      n=$(q "$db" -c "SELECT count(*) FROM tenantguard_audit.events e WHERE $cond")
      if [ "$n" -gt 0 ] 2>/dev/null; then
        echo "$(date +%s.%N) $t0" | awk '{printf "%.2f", $1 - $2}'
        return 0
      fi
      sleep 0.05
    done
    echo timeout
  }
  out=$(psql -X -q -A -t -v VERBOSITY=verbose -d "$DB" 2>&1 <<SQL
BEGIN;
SELECT tenantguard.set_tenant('$FROZEN');
ROLLBACK;
SQL
)
  tg_check_eq "refusals: entering a suspended tenant inside a transaction is refused (42501)" "$(tg_sqlstate "$out")" "42501"
  secs=$(wait_event "$DB" "e.id > $MARK AND e.category = 'context' AND e.action = 'context.enter' AND e.decision = 'deny'
                          AND e.tenant_id = '$FROZEN' AND e.reason = 'tenant is suspended'")
  tg_check_match "refusals: ... and after ROLLBACK the deny event appears (${secs}s)" "$secs" '^[0-9]+\.[0-9]+$'
  echo "# refused context entry recorded after ${secs}s"

  out=$(psql -X -q -A -t -v VERBOSITY=verbose -d "$DB" 2>&1 <<SQL
BEGIN;
INSERT INTO items VALUES (100, '$FROZEN', 'in the rolled back transaction', 0);
ALTER TABLE items DISABLE ROW LEVEL SECURITY;
ROLLBACK;
SQL
)
  tg_check_eq "refusals: ALTER TABLE ... DISABLE ROW LEVEL SECURITY inside a transaction is refused (42501)" "$(tg_sqlstate "$out")" "42501"
  secs=$(wait_event "$DB" "e.id > $MARK AND e.category = 'ddl' AND e.decision = 'deny' AND e.object = 'public.items'
                          AND e.action = 'disable row level security'")
  tg_check_match "refusals: ... and after ROLLBACK the deny event appears (${secs}s)" "$secs" '^[0-9]+\.[0-9]+$'
  echo "# refused DDL recorded after ${secs}s"
  tg_check_eq "refusals: the rolled back INSERT left no data event" \
    "$(q "$DB" -c "SELECT count(*) FROM tenantguard_audit.events WHERE id > $MARK AND category = 'data'")" "0"
  tg_check_eq "refusals: the refusal events carry the refused session's user and application name" \
    "$(q "$DB" -c "SELECT count(*) || ':' || bool_and(db_user = 'postgres' AND application_name = 'psql') FROM tenantguard_audit.events WHERE id > $MARK AND decision = 'deny'")" "2:true"
  q "$DB" -c "SELECT tenantguard_audit.seal()" >/dev/null
  tg_check_eq "refusals: the refusals seal and verify like any other event" "$(verify "$DB")" "true||"
else
  tg_fail "refusals: fixture"
fi

# ---------------------------------------------------------------------------
# autoseal: tenantguard.audit_seal_interval
# ---------------------------------------------------------------------------
if fresh autoseal; then
  DB=${PREFIX}_autoseal
  out=$(q "$DB" -v VERBOSITY=verbose -c "SET tenantguard.audit_seal_interval = 1")
  tg_check_eq "autoseal: audit_seal_interval cannot be changed in a session (PGC_SIGHUP: 55P02)" "$(tg_sqlstate "$out")" "55P02"
  tg_check_eq "autoseal: the fixture left events unsealed" \
    "$(q "$DB" -c "SELECT count(*) > 0 FROM tenantguard_audit.events WHERE txid >= (SELECT max(to_xid) FROM tenantguard_audit.blocks)")" "t"
  if set_interval 1; then
    t0=$(date +%s.%N)
    sealed=timeout
    for ((i = 0; i < 100; i++)); do
      n=$(q "$DB" -c "SELECT count(*) FROM tenantguard_audit.events WHERE txid >= (SELECT max(to_xid) FROM tenantguard_audit.blocks)")
      if [ "$n" == "0" ]; then
        sealed=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.2f", $1 - $2}')
        break
      fi
      sleep 0.1
    done
    tg_check_match "autoseal: with audit_seal_interval = 1 the events are sealed without calling seal() (${sealed}s)" "$sealed" '^[0-9]+\.[0-9]+$'
    echo "# automatic seal after ${sealed}s"
    tg_check_eq "autoseal: ... into block 3" "$(q "$DB" -c "SELECT max(id) FROM tenantguard_audit.blocks")" "3"
    q "$DB" -c "SELECT tenantguard.audit_log('later')" >/dev/null
    sealed=timeout
    for ((i = 0; i < 100; i++)); do
      n=$(q "$DB" -c "SELECT count(*) FROM tenantguard_audit.events WHERE txid >= (SELECT max(to_xid) FROM tenantguard_audit.blocks)")
      [ "$n" == "0" ] && { sealed=ok; break; }
      sleep 0.1
    done
    tg_check_eq "autoseal: ... and a later event too" "$sealed" "ok"
    tg_check_eq "autoseal: the automatically sealed ledger verifies" "$(verify "$DB")" "true||"
    set_interval 0 || true
  else
    tg_fail "autoseal: audit_seal_interval can be set to 1 with ALTER SYSTEM and a reload"
  fi
else
  tg_fail "autoseal: fixture"
fi
