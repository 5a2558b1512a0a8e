#!/usr/bin/env bash
# citus: tenantguard on a Citus coordinator and two workers (docs/citus.md).
#
# Builds Citus when it is missing (../shared/vendor/citus/build.sh, about 2.5
# minutes; it installs into the system PostgreSQL, and the suite copies the
# installed files into a private PostgreSQL tree when PGBIN points at one),
# starts three throwaway clusters with shared_preload_libraries =
# 'citus,tenantguard' and citus.propagate_set_commands = 'local', all with
# the SAME master key file (sealed values are written on one node and read on
# another), and shows:
#   - CREATE EXTENSION tenantguard on the coordinator reaches the workers;
#     protect() works before and after create_distributed_table(), on
#     partitioned distributed tables and on reference tables, and
#     unprotect() undoes it on every shard; the DDL guard refuses on the
#     coordinator before Citus propagates anything;
#   - a fan-out query under a context that Citus forwards with SET LOCAL
#     (today: SET LOCAL ROLE to a role bound on every node) returns only that
#     tenant's rows from every shard, and inserts land in that tenant;
#   - without a context, and under set_tenant() on the coordinator (a
#     function call, which Citus does not forward), the workers fail closed
#     with 42501 "no tenant context is set", never an empty result;
#   - a one-tenant query is routed to one shard by the context alone
#     (tenantguard.citus_routing), and cached plans follow a context change;
#   - sealed values written through the coordinator are revealed on the
#     workers when every node has the same master key and data keys.
# Signed context tokens: the same key imported on every node, SET LOCAL of a
# token forwarded by Citus, routing by the token's tenant, and a jti token
# over several connections to one worker (one use per coordinator backend).
#
# Run by make test-citus (run-all.sh skips it; .ci/run runs both). Needs root
# the first time (Citus is built and installed); ~30 s after that.
set -u
cd "$(dirname "$0")/../.."
TG_SUITE=citus
source test/suites/lib/checks.sh

started=$(date +%s)
T=
NODES=(coord w1 w2)
SHARDS=8

cleanup() {
  local n
  if [ -n "$T" ]; then
    for n in "${NODES[@]}"; do
      [ -d "$T/$n/data" ] && tg_as_postgres "$PGBIN/pg_ctl" -D "$T/$n/data" -m fast -w stop >/dev/null 2>&1
    done
    if [ -z "${TG_KEEP_CLUSTER:-}" ]; then rm -rf "$T"; else echo "# clusters kept in $T" >&2; fi
  fi
  echo "# citus suite took $(( $(date +%s) - started ))s"
}
trap 'cleanup; tg_suite_finish; exit $((TG_FAILED > 0 ? 1 : 0))' EXIT

# --- Citus: installed, or built from the vendored source --------------------
citus_vendor() {
  local d common
  for d in "${CITUS_VENDOR:-}" ../shared/vendor/citus; do
    [ -n "$d" ] && [ -f "$d/build.sh" ] && { echo "$d"; return 0; }
  done
  # a git worktree: ../shared beside the main checkout
  common=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || return 1
  d=$(dirname "$common")/../shared/vendor/citus
  [ -f "$d/build.sh" ] && { echo "$d"; return 0; }
  return 1
}

SHAREDIR=$("$PGBIN/pg_config" --sharedir)
PKGLIBDIR=$("$PGBIN/pg_config" --pkglibdir)
SYS_PGBIN=/usr/lib/postgresql/15/bin
if [ ! -f "$SHAREDIR/extension/citus.control" ] || [ ! -f "$PKGLIBDIR/citus.so" ]; then
  if [ ! -f /usr/share/postgresql/15/extension/citus.control ]; then
    vendor=$(citus_vendor) || { tg_fail "Citus source found (../shared/vendor/citus/build.sh; or set CITUS_VENDOR)"; exit 1; }
    [ "$(id -u)" -eq 0 ] || { tg_fail "Citus is installed (build it as root: $vendor/build.sh)"; exit 1; }
    echo "# building Citus from $vendor (about 2.5 minutes)"
    build_started=$(date +%s)
    if ! out=$(bash "$vendor/build.sh" 2>&1); then
      tg_fail "build Citus" "$out"; exit 1
    fi
    echo "# $out (build took $(( $(date +%s) - build_started ))s)"
  fi
  if [ "$SHAREDIR" != /usr/share/postgresql/15 ]; then
    # a private PostgreSQL tree (tgtest.sh): the same files, the same relative paths
    sys_lib=$("$SYS_PGBIN/pg_config" --pkglibdir)
    (cd "$sys_lib" && cp -a citus*.so citus_decoders "$PKGLIBDIR"/ 2>/dev/null;
     [ -d bitcode ] && mkdir -p "$PKGLIBDIR/bitcode" && cp -a bitcode/citus* "$PKGLIBDIR/bitcode/" 2>/dev/null)
    cp -a /usr/share/postgresql/15/extension/citus* "$SHAREDIR/extension/"
  fi
fi
if [ -f "$SHAREDIR/extension/citus.control" ] && [ -f "$PKGLIBDIR/citus.so" ]; then
  tg_pass "Citus is installed ($(sed -n "s/^default_version = '\(.*\)'/\1/p" "$SHAREDIR/extension/citus.control"))"
else
  tg_fail "Citus is installed in $SHAREDIR"; exit 1
fi

# --- three nodes -------------------------------------------------------------
T=$(mktemp -d /tmp/tenantguard-citus-XXXXXX)
chmod 755 "$T"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T"
# one master key for every node (see docs/citus.md, "Master key")
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$T/master.key"
echo >>"$T/master.key"
chmod 600 "$T/master.key"
[ "$(id -u)" -eq 0 ] && chown postgres: "$T/master.key"

declare -A PORT
start_node() {
  local n=$1 p
  p=$(tg_random_free_port 57000 57999) || return 1
  while printf '%s\n' "${PORT[@]:-}" | grep -qx "$p"; do p=$(tg_random_free_port 57000 57999) || return 1; done
  PORT[$n]=$p
  mkdir -p "$T/$n"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$T/$n"
  tg_as_postgres "$PGBIN/initdb" -D "$T/$n/data" -U postgres -A trust --no-sync -E UTF8 --locale=C \
    >"$T/$n/initdb.log" 2>&1 || { cat "$T/$n/initdb.log"; return 1; }
  cat >>"$T/$n/data/postgresql.conf" <<CONF
shared_preload_libraries = 'citus,tenantguard'
citus.propagate_set_commands = 'local'
citus.shard_count = $SHARDS
tenantguard.master_key_file = '$T/master.key'
port = $p
listen_addresses = '127.0.0.1'
unix_socket_directories = '$T/$n'
fsync = off
max_connections = 100
max_worker_processes = 16
lc_messages = 'C'
CONF
  tg_as_postgres "$PGBIN/pg_ctl" -D "$T/$n/data" -l "$T/$n/server.log" -w -t 60 start >/dev/null ||
    { tail -n 20 "$T/$n/server.log"; return 1; }
}
for n in "${NODES[@]}"; do
  start_node "$n" >"$T/start-$n.log" 2>&1 || { tg_fail "start node $n" "$(cat "$T/start-$n.log")"; exit 1; }
done
unset PGHOST PGPORT PGUSER PGDATABASE PGOPTIONS

# on NODE USER [SQL]: run SQL (else stdin) on a node as USER. Always through
# psql's stdin, which sends each statement by itself: Citus forwards a SET
# LOCAL by its query string, and a multi-statement string ("BEGIN; SET LOCAL
# ...; SELECT ...") would be forwarded whole (see docs/citus.md).
on() {
  local n=$1 u=$2
  shift 2
  if [ $# -gt 0 ]; then
    tg_psql -h "$T/$n" -p "${PORT[$n]}" -U "$u" -d postgres <<<"$*"
  else
    tg_psql -h "$T/$n" -p "${PORT[$n]}" -U "$u" -d postgres
  fi
}
# on_workers USER SQL: the same on both workers, outputs joined by "|"
on_workers() {
  printf '%s|%s' "$(on w1 "$1" "$2")" "$(on w2 "$1" "$2")"
}

out=$(for n in "${NODES[@]}"; do on "$n" postgres "CREATE EXTENSION citus" || exit 1; done 2>&1 &&
  on coord postgres <<SQL
SELECT citus_set_coordinator_host('127.0.0.1', ${PORT[coord]});
SELECT citus_add_node('127.0.0.1', ${PORT[w1]});
SELECT citus_add_node('127.0.0.1', ${PORT[w2]});
SQL
) || { tg_fail "set up the Citus cluster" "$out"; exit 1; }

# --- CREATE EXTENSION tenantguard, catalogue on every node -------------------
out=$(on coord postgres "CREATE EXTENSION tenantguard")
tg_check_eq "CREATE EXTENSION tenantguard on the coordinator (workers registered)" "$out" ""
tg_check_eq "the extension reaches both workers" \
  "$(on_workers postgres "SELECT extversion FROM pg_extension WHERE extname = 'tenantguard'")" "0.1.0|0.1.0"

setup=$(on coord postgres <<'SQL'
CREATE ROLE app LOGIN;                  -- the application's login
GRANT tenantguard_app, tenantguard_admin TO app;
CREATE ROLE acme_app LOGIN;             -- bound to acme on every node
CREATE ROLE bolt_app LOGIN;             -- bound to bolt on every node
GRANT tenantguard_app TO acme_app, bolt_app;
GRANT acme_app, bolt_app TO app;        -- app may SET LOCAL ROLE to either
CREATE ROLE owner_role LOGIN;           -- owns a table, not superuser
SELECT 'A=' || tenantguard.create_tenant('acme');
SELECT 'B=' || tenantguard.create_tenant('bolt');
SQL
)
A=$(printf '%s\n' "$setup" | sed -n 's/^A=//p')
B=$(printf '%s\n' "$setup" | sed -n 's/^B=//p')
if [ -z "$A" ] || [ -z "$B" ]; then tg_fail "create roles and tenants" "$setup"; exit 1; fi
tg_check_eq "CREATE ROLE propagates to the workers" \
  "$(on_workers postgres "SELECT count(*) FROM pg_roles WHERE rolname IN ('app', 'acme_app', 'bolt_app', 'owner_role')")" "4|4"

# tenantguard's catalogue is per node: tenants, bindings and data keys are
# copied to the workers (docs/citus.md, "Tenants, bindings and keys on every node")
sync=$(on coord postgres <<SQL
SELECT tenantguard.bind_role('acme_app', '$A');
SELECT tenantguard.bind_role('bolt_app', '$B');
SELECT bool_and(success) FROM run_command_on_workers(
  (SELECT 'INSERT INTO tenantguard.tenants (id, slug, name, status, created_at) VALUES '
          || string_agg(format('(%L, %L, %L, %L, %L)', id, slug, name, status, created_at), ', ')
     FROM tenantguard.tenants));
SELECT bool_and(success) FROM run_command_on_workers(\$\$SELECT tenantguard.bind_role('acme_app', '$A')\$\$);
SELECT bool_and(success) FROM run_command_on_workers(\$\$SELECT tenantguard.bind_role('bolt_app', '$B')\$\$);
SQL
)
tg_check_eq "tenants and role bindings copied to the workers" "$(printf '%s\n' "$sync" | grep -c '^t$')" "3"
tg_check_eq "a bound role has its context on every node" \
  "$(on coord acme_app "SELECT tenant_slug FROM tenantguard.whoami()")|$(on_workers acme_app "SELECT tenant_slug FROM tenantguard.whoami()")" \
  "acme|acme|acme"

# --- protect(): both orders, partitions, reference tables ---------------------
out=$(on coord postgres <<'SQL'
CREATE TABLE docs (id bigint, tenant_id uuid, body text, PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('docs');
SELECT create_distributed_table('docs', 'tenant_id');
SQL
)
tg_check_lacks "protect() then create_distributed_table()" "$out" "ERROR"

out=$(on coord postgres <<'SQL'
CREATE TABLE notes (id bigint, tenant_id uuid, body text);
SELECT create_distributed_table('notes', 'tenant_id', colocate_with => 'docs');
SELECT tenantguard.protect('notes');
SQL
)
tg_check_lacks "create_distributed_table() then protect() (the distribution column's default)" "$out" "ERROR"

# every shard placement and every worker's shell table: policy, forced RLS, NOT NULL, default
SHARD_STATE="SET citus.override_table_visibility = off;
SELECT count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity AND a.attnotnull
                          AND pg_get_expr(d.adbin, d.adrelid) = 'tenantguard.current_tenant()'
                          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenantguard_isolation'))
       || '/' || count(*)
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE c.relkind IN ('r', 'p') AND c.relname ~"
half=$((SHARDS / 2))
for t in docs notes; do
  tg_check_eq "$t: every shard on the workers and each shell table is protected" \
    "$(on_workers postgres "$SHARD_STATE '^${t}(_[0-9]+)?\$'")" \
    "$((half + 1))/$((half + 1))|$((half + 1))/$((half + 1))"
done

out=$(on coord postgres <<'SQL'
CREATE TABLE events (id bigint, tenant_id uuid, at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT create_distributed_table('events', 'tenant_id', colocate_with => 'docs');
SELECT tenantguard.protect('events');
CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
SQL
)
tg_check_lacks "partitioned distributed table: protect() after distribution, then a new partition" "$out" "ERROR"
tg_check_eq "every partition shard, old and new, is protected" \
  "$(on_workers postgres "$SHARD_STATE '^events_20(25|26|27)_[0-9]+\$'")" \
  "$((3 * half))/$((3 * half))|$((3 * half))/$((3 * half))"

out=$(on coord postgres <<'SQL'
CREATE TABLE plans (id int, tenant_id uuid, name text);
SELECT create_reference_table('plans');
SELECT tenantguard.protect('plans');
CREATE TABLE labels (id int, tenant_id uuid, name text);
SELECT tenantguard.protect('labels');
SELECT create_reference_table('labels');
SQL
)
tg_check_lacks "reference tables: protect() before and after create_reference_table()" "$out" "ERROR"
tg_check_eq "the reference tables' placements on the workers are protected" \
  "$(on_workers postgres "$SHARD_STATE '^(plans|labels)(_[0-9]+)?\$'")" "4/4|4/4"

out=$(on coord postgres "SELECT tenantguard.unprotect('notes')")
tg_check_lacks "unprotect() of a distributed table" "$out" "ERROR"
tg_check_eq "unprotect() removes the default, NOT NULL and policy on every shard" \
  "$(on_workers postgres "SET citus.override_table_visibility = off;
     SELECT count(*) FILTER (WHERE a.attnotnull OR d.adbin IS NOT NULL OR c.relrowsecurity) FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      WHERE c.relname ~ '^notes(_[0-9]+)?\$'")" "0|0"
out=$(on coord postgres "SELECT tenantguard.protect('notes')")
tg_check_lacks "protect() again after unprotect()" "$out" "ERROR"
out=$(on coord postgres "BEGIN; SET LOCAL lock_timeout = '1s'; SELECT tenantguard.unprotect('notes');
  SELECT tenantguard.protect('notes'); ROLLBACK;")
tg_check_eq "protect() after other DDL on the distributed table in its transaction fails (55000)" \
  "$(tg_sqlstate "$out")" "55000"
tg_check_contains "... with a hint" "$out" "in a transaction that has not changed the table yet"
out=$(on coord postgres "SELECT tenantguard.protect('notes')")
tg_check_lacks "protect() again repairs the workers after the rolled-back unprotect()" "$out" "ERROR"
tg_check_eq "notes: every shard and shell is protected again" \
  "$(on_workers postgres "$SHARD_STATE '^notes(_[0-9]+)?\$'")" "$((half + 1))/$((half + 1))|$((half + 1))/$((half + 1))"

out=$(on coord postgres <<'SQL'
CREATE TABLE owned (id bigint, tenant_id uuid);
ALTER TABLE owned OWNER TO owner_role;
SELECT create_distributed_table('owned', 'tenant_id', colocate_with => 'docs');
SQL
)
out=$(on coord owner_role "SELECT tenantguard.protect('owned')")
tg_check_lacks "the table's owner (not superuser) protects a distributed table" "$out" "ERROR"

on coord postgres >/dev/null <<'SQL'
GRANT SELECT, INSERT, UPDATE, DELETE ON docs, notes, events, plans, labels TO acme_app, bolt_app, app;
CREATE TABLE plain (id int, k int);     -- an unprotected distributed table
SELECT create_distributed_table('plain', 'k');
INSERT INTO plain SELECT g, g FROM generate_series(1, 40) g;
GRANT SELECT ON plain TO app, acme_app, bolt_app;
SQL

# --- the DDL guard on a distributed table -------------------------------------
out=$(on coord owner_role "ALTER TABLE owned NO FORCE ROW LEVEL SECURITY")
tg_check_eq "DDL guard: the owner cannot stop forcing RLS on a distributed table (42501)" "$(tg_sqlstate "$out")" "42501"
out=$(on coord postgres "ALTER TABLE docs ALTER COLUMN tenant_id DROP DEFAULT")
tg_check_eq "DDL guard refuses before Citus: dropping the tenant column's default (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_eq "the refused DDL reached no shard" \
  "$(on_workers postgres "$SHARD_STATE '^owned_[0-9]+\$'")" "$half/$half|$half/$half"
out=$(on coord postgres "CREATE INDEX docs_body_idx ON docs (body)")
tg_check_eq "DDL Citus propagates to the shards still works (CREATE INDEX)" "$out" ""

# --- a context that Citus forwards: SET LOCAL ROLE to a bound role -------------
vals() { local s="" i; for ((i = $1; i <= $2; i++)); do s="$s${s:+, }($i, '$3$i')"; done; echo "$s"; }
out=$(on coord acme_app "INSERT INTO docs (id, body) VALUES $(vals 1 20 a)" &&
      on coord bolt_app "INSERT INTO docs (id, body) VALUES $(vals 1 30 b)")
tg_check_eq "bound roles insert without naming the tenant" "$out" ""
tg_check_eq "the rows landed in their tenants" \
  "$(on coord postgres "SELECT string_agg(t.slug || ':' || n, ',' ORDER BY t.slug) FROM
     (SELECT tenant_id, count(*) AS n FROM docs GROUP BY 1) x JOIN tenantguard.tenants t ON t.id = x.tenant_id")" "acme:20,bolt:30"
node_of() {  # the port of the worker that holds the tenant's shard of docs
  on coord postgres "SELECT nodeport FROM citus_shards WHERE table_name = 'docs'::regclass
                       AND shardid = get_shard_id_for_distribution_column('docs', '$1')"
}
tg_check_match "each tenant's rows live on a worker" "$(node_of "$A") $(node_of "$B")" \
  "^(${PORT[w1]}|${PORT[w2]}) (${PORT[w1]}|${PORT[w2]})$"

FANOUT="SET LOCAL tenantguard.citus_routing = off;"
out=$(on coord app "BEGIN; SET LOCAL ROLE acme_app; $FANOUT
  EXPLAIN (COSTS OFF) SELECT tenant_id, count(*) FROM docs GROUP BY 1; COMMIT;")
tg_check_contains "fan-out: the query goes to every shard" "$out" "Task Count: $SHARDS"
out=$(on coord app "BEGIN; SET LOCAL ROLE acme_app; $FANOUT
  SELECT string_agg(DISTINCT tenant_id::text, ',') || ' ' || count(*) FROM docs; COMMIT;")
tg_check_contains "fan-out under SET LOCAL ROLE: only acme's rows, from every shard" "$out" "$A 20"
out=$(on coord app "BEGIN; SELECT count(*) FROM plain; SET LOCAL ROLE bolt_app; $FANOUT
  SELECT string_agg(DISTINCT tenant_id::text, ',') || ' ' || count(*) FROM docs; COMMIT;")
tg_check_contains "SET LOCAL ROLE forwarded over connections the transaction already had" "$out" "$B 30"
out=$(on coord app "BEGIN; SET LOCAL ROLE acme_app; INSERT INTO docs (id, body) VALUES (100, 'via app');
  INSERT INTO notes (id, body) VALUES (100, 'note'); COMMIT;")
tg_check_lacks "insert under SET LOCAL ROLE" "$out" "ERROR"
tg_check_eq "the inserts landed in acme, on acme's shard" \
  "$(on coord postgres "SELECT string_agg(tenant_id::text, ',') FROM (SELECT tenant_id FROM docs WHERE id = 100
                         UNION ALL SELECT tenant_id FROM notes WHERE id = 100) x")" "$A,$A"
out=$(on coord app "BEGIN; SET LOCAL ROLE acme_app; INSERT INTO docs (id, tenant_id, body) VALUES (101, '$B', 'x'); COMMIT;")
tg_check_eq "an insert into another tenant is refused on the worker (42501)" "$(tg_sqlstate "$out")" "42501"
out=$(on coord app "BEGIN; SET LOCAL ROLE acme_app; UPDATE docs SET body = body || '!' WHERE tenant_id = '$B'; COMMIT;")
tg_check_eq "an update aimed at another tenant changes nothing" \
  "$out$(on coord postgres "SELECT count(*) FROM docs WHERE body LIKE '%!'")" "0"
out=$(on coord app "BEGIN; SET LOCAL ROLE acme_app; INSERT INTO plans (id, name) VALUES (1, 'gold'); INSERT INTO labels (id, name) VALUES (1, 'red'); COMMIT;" &&
      on coord bolt_app "SELECT count(*) FROM plans")
tg_check_eq "reference tables: writes under a context reach every node, reads see their tenant" "$out" "0"
tg_check_eq "reference table read on a worker (MX) under a bound role" "$(on w1 acme_app "SELECT count(*) FROM plans")" "1"

# --- fail closed on the workers ------------------------------------------------
out=$(on coord app "SELECT count(*) FROM docs")
tg_check_eq "no context: the coordinator refuses (42501)" "$(tg_sqlstate "$out")" "42501"
out=$(on w1 app "SELECT count(*) FROM docs")
tg_check_eq "no context: a query on a worker's shell table (MX) fails closed (42501)" "$(tg_sqlstate "$out")" "42501"
shard=$(on w1 postgres "SET citus.override_table_visibility = off; SELECT relname FROM pg_class WHERE relname ~ '^docs_[0-9]+\$' LIMIT 1" | tail -n 1)
on w1 postgres "GRANT SELECT ON $shard TO app" >/dev/null
out=$(on w1 app "SELECT count(*) FROM $shard")
tg_check_eq "no context: a query on a shard fails closed (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_contains "the shard's error names the Citus cause" "$out" "shard or shell of a protected distributed table"

SETT="SELECT tenantguard.set_tenant('$A');"
out=$(on coord app "BEGIN; $SETT $FANOUT SELECT count(*) FROM docs; COMMIT;")
tg_check_eq "set_tenant() on the coordinator (not forwarded): the fan-out fails closed (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_contains "... with the clear message, not an empty result" "$out" "no tenant context is set"
tg_check_contains "... relayed from a worker" "$out" "while executing command on 127.0.0.1"
out=$(on coord app "BEGIN; $SETT SELECT count(*) FROM docs WHERE tenant_id = '$A'; COMMIT;")
tg_check_eq "set_tenant(): a query routed to one shard fails closed too (42501)" "$(tg_sqlstate "$out")" "42501"
out=$(on coord app "BEGIN; $SETT INSERT INTO docs (id, body) VALUES (200, 'x'); COMMIT;")
tg_check_eq "set_tenant(): an insert fails closed on the worker (42501)" "$(tg_sqlstate "$out")" "42501"
tg_check_contains "... with the clear message" "$out" "no tenant context is set"
out=$(on coord app "BEGIN; $SETT SELECT count(*) FROM plain; COMMIT;")
tg_check_contains "unprotected distributed tables are unaffected" "$out" "40"
out=$(on coord postgres "SELECT count(*) FROM docs")
tg_check_contains "the superuser (not subject to RLS) still reads every shard" "$out" "51"
refusals() {
  on_workers postgres "SELECT count(*) > 0 FROM tenantguard_audit.events
                        WHERE action = 'access' AND decision = 'deny' AND reason = 'no tenant context is set'"
}

# --- Citus' own operations: a shard moved to the other worker ------------------
on coord postgres "GRANT CREATE ON SCHEMA public TO owner_role" >/dev/null   # owned's shard moves along
shard=$(on coord postgres "SELECT get_shard_id_for_distribution_column('docs', '$A')")
from=$(node_of "$A")
to=$([ "$from" = "${PORT[w1]}" ] && echo "${PORT[w2]}" || echo "${PORT[w1]}")
out=$(on coord postgres "SELECT citus_move_shard_placement($shard, '127.0.0.1', $from, '127.0.0.1', $to,
                                                           shard_transfer_mode => 'block_writes')")
tg_check_eq "a shard group of protected tables moves to the other worker" "$out$(node_of "$A")" "$to"
tg_check_eq "the moved shard is protected on its new node" \
  "$(on coord postgres "SELECT success || ':' || result FROM run_command_on_placements('docs',
     \$\$SELECT relrowsecurity AND relforcerowsecurity AND EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = '%1\$s'::regclass
                                                               AND polname = 'tenantguard_isolation')
         FROM pg_class WHERE oid = '%1\$s'::regclass\$\$) WHERE shardid = $shard")" "true:t"
tg_check_eq "after the move: the tenant's rows, and no other's" \
  "$(on coord acme_app "SELECT count(*) || ' ' || count(*) FILTER (WHERE tenant_id <> '$A') FROM docs")" "21 0"
out=$(on coord app "BEGIN; $SETT SELECT count(*) FROM docs WHERE tenant_id = '$A'; COMMIT;")
tg_check_eq "after the move: the new node fails closed without a context (42501)" "$(tg_sqlstate "$out")" "42501"

# --- one tenant, one shard: routing by the context ----------------------------
out=$(on coord acme_app "EXPLAIN (COSTS OFF) SELECT * FROM docs WHERE id = 5")
tg_check_contains "routing: a query under a context goes to one shard" "$out" "Task Count: 1"
out=$(on coord acme_app "SET tenantguard.citus_routing = off; EXPLAIN (COSTS OFF) SELECT * FROM docs WHERE id = 5")
tg_check_contains "routing off: the same query fans out (Citus #7415)" "$out" "Task Count: $SHARDS"
out=$(on coord acme_app "EXPLAIN (COSTS OFF) SELECT d.id FROM docs d JOIN notes n USING (tenant_id, id)")
tg_check_contains "routing: a join of co-located tables goes to one shard" "$out" "Task Count: 1"
out=$(on coord acme_app "EXPLAIN (COSTS OFF) UPDATE docs SET body = 'x' WHERE id = 1")
tg_check_contains "routing: an update goes to one shard" "$out" "Task Count: 1"
tg_check_eq "routing: the routed query returns the tenant's row" \
  "$(on coord acme_app "SELECT body FROM docs WHERE id = 5")|$(on coord bolt_app "SELECT body FROM docs WHERE id = 25")" "a5|b25"

# cached plans follow the context: a prepared statement and a PL/pgSQL function
on coord postgres >/dev/null <<SQL
CREATE FUNCTION doc_count() RETURNS bigint LANGUAGE plpgsql AS \$\$ BEGIN RETURN (SELECT count(*) FROM docs); END \$\$;
CREATE TABLE local_items (id int, tenant_id uuid);   -- not distributed
SELECT tenantguard.protect('local_items');
INSERT INTO local_items SELECT g, CASE WHEN g <= 3 THEN '$A'::uuid ELSE '$B'::uuid END FROM generate_series(1, 10) g;
GRANT SELECT ON local_items TO app;
CREATE FUNCTION local_count() RETURNS bigint LANGUAGE plpgsql AS \$\$ BEGIN RETURN (SELECT count(*) FROM local_items); END \$\$;
SQL
out=$(on coord app <<SQL
PREPARE p AS SELECT count(*) FROM docs;
BEGIN; SET LOCAL ROLE acme_app; EXECUTE p; EXECUTE p; EXECUTE p; EXECUTE p; EXECUTE p; EXECUTE p; SELECT doc_count(); COMMIT;
BEGIN; SET LOCAL ROLE bolt_app; EXECUTE p; SELECT doc_count(); COMMIT;
SQL
)
tg_check_eq "a cached routed plan follows SET LOCAL ROLE to another tenant" \
  "$(printf '%s\n' "$out" | grep -E '^[0-9]+$' | tr '\n' ' ')" "21 21 21 21 21 21 21 30 30 "
out=$(on coord app <<SQL
PREPARE q AS SELECT count(*) FROM local_items;
BEGIN; SELECT tenantguard.set_tenant('$A'); EXECUTE q; EXECUTE q; EXECUTE q; EXECUTE q; EXECUTE q; EXECUTE q; SELECT local_count(); COMMIT;
BEGIN; SELECT tenantguard.set_tenant('$B'); EXECUTE q; SELECT local_count(); COMMIT;
BEGIN; SELECT tenantguard.set_tenant('$A'); EXECUTE q; SELECT local_count(); COMMIT;
SQL
)
tg_check_eq "cached plans with the tenant constant are replanned when the context changes" \
  "$(printf '%s\n' "$out" | grep -E '^[0-9]+$' | tr '\n' ' ')" "3 3 3 3 3 3 3 7 7 3 3 "

# --- sealed values across nodes (same master key, same data keys) ------------
out=$(on coord postgres <<'SQL'
CREATE TABLE creds (id int, tenant_id uuid, s tenantguard.secret);
SELECT create_distributed_table('creds', 'tenant_id', colocate_with => 'docs');
SELECT tenantguard.protect('creds');
GRANT SELECT, INSERT ON creds TO acme_app, bolt_app;
SELECT tenantguard.rotate_data_key();
SELECT bool_and(success) FROM run_command_on_workers(
  (SELECT 'INSERT INTO tenantguard.data_keys (version, purpose, wrapped, master_key_id, created_at) VALUES '
          || string_agg(format('(%s, %L, %L, %L, %L)', version, purpose, wrapped, master_key_id, created_at), ', ')
     FROM tenantguard.data_keys));
SQL
)
tg_check_eq "data keys copied to the workers" "$(printf '%s\n' "$out" | tail -n 1)" "t"
out=$(on coord acme_app "INSERT INTO creds (id, s) VALUES (1, tenantguard.seal('acme-secret'))" &&
      on coord acme_app "SELECT tenantguard.reveal(s) FROM creds")
tg_check_eq "sealed on the coordinator, revealed on a worker" "$out" "acme-secret"
out=$(on coord bolt_app "SELECT count(*) FROM creds")
tg_check_eq "another tenant does not see the sealed row" "$out" "0"

# the workers' ledgers write queued refusals asynchronously: checked last
for _ in $(seq 1 300); do [ "$(refusals)" = "t|t" ] && break; sleep 0.1; done
tg_check_eq "each worker recorded the refusals in its own audit ledger" "$(refusals)" "t|t"

# --- signed context tokens ---------------------------------------------------
# b64url TEXT
b64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
# hs256_token KID SECRET_B64URL PAYLOAD_JSON: a compact JWT signed with HS256
hs256_token() {
  python3 - "$1" "$2" "$3" <<'PY'
import base64, hashlib, hmac, json, sys
kid, secret, payload = sys.argv[1], sys.argv[2], sys.argv[3]
enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
head = enc(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode())
body = enc(payload.encode())
sig = enc(hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest())
print(head + "." + body + "." + sig)
PY
}

token_checks() {
  local secret tok jti_tok now out
  secret=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')
  out=""
  for n in "${NODES[@]}"; do
    out="$out$(on "$n" postgres "SELECT tenantguard.import_signing_key('citus-test', 'HS256', '$secret')" | grep -i error)"
  done
  tg_check_eq "token: the same HS256 key imported on every node" "$out" ""
  tok=$(on coord postgres "SELECT tenantguard.mint_token('$A', 'alice', 'viewer', '5 minutes', 'citus-test')")
  tg_check_match "token: mint_token() on the coordinator" "$tok" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
  tg_check_eq "token: each node verifies the same token" \
    "$(for n in "${NODES[@]}"; do on "$n" app "BEGIN; SET LOCAL tenantguard.context = '$tok'; SELECT tenant_slug FROM tenantguard.whoami(); COMMIT;" | grep -v -E '^(BEGIN|SET|COMMIT)$'; done | tr '\n' ' ')" \
    "acme acme acme "
  out=$(on coord app "BEGIN; SET LOCAL tenantguard.context = '$tok'; $FANOUT
    SELECT string_agg(DISTINCT tenant_id::text, ',') || ' ' || count(*) FROM docs; COMMIT;")
  tg_check_contains "token: a fan-out under SET LOCAL tenantguard.context returns only the tenant's rows" "$out" "$A 21"
  out=$(on coord app "BEGIN; SET LOCAL tenantguard.context = '$tok'; INSERT INTO notes (id, body) VALUES (300, 'by token'); COMMIT;")
  tg_check_lacks "token: insert under the token context" "$out" "ERROR"
  tg_check_eq "token: the insert landed in the token's tenant" \
    "$(on coord postgres "SELECT tenant_id FROM notes WHERE id = 300")" "$A"
  out=$(on coord app "BEGIN; SET LOCAL tenantguard.context = '$tok'; EXPLAIN (COSTS OFF) SELECT * FROM docs WHERE id = 5; COMMIT;")
  tg_check_contains "token: routed to one shard by the token's tenant" "$out" "Task Count: 1"
  now=$(date +%s)
  jti_tok=$(hs256_token citus-test "$secret" \
    "{\"tid\":\"$A\",\"sub\":\"bob\",\"role\":\"viewer\",\"iat\":$now,\"exp\":$((now + 300)),\"jti\":\"citus-$now-$RANDOM\"}")
  out=$(on coord app "BEGIN; SET LOCAL tenantguard.context = '$jti_tok'; $FANOUT
    SET LOCAL citus.force_max_query_parallelization = on;
    SELECT count(*) FROM docs; SELECT count(*) FROM notes; COMMIT;")
  tg_check_lacks "token with jti forwarded over several connections to each worker: no replay error" "$out" "ERROR"
  tg_check_contains "token with jti: the fan-out over one connection per shard sees the tenant's rows" "$out" "21"
  out=$(on coord app "BEGIN; SET LOCAL tenantguard.context = '$jti_tok'; SELECT count(*) FROM docs; COMMIT;")
  tg_check_eq "token with jti: a replay in a new transaction is refused (28000)" "$(tg_sqlstate "$out")" "28000"
}

token_checks
