#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster with tenantguard preloaded.
# Source it, then: tg_cluster_start [extra postgresql.conf lines...]; ...; tg_cluster_stop
# Exports PGHOST, PGPORT, PGUSER, PGDATABASE for the clients, and
# TG_MASTER_KEY_FILE (the cluster's generated master key file).

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# Run a command as the cluster's OS user (postgres when we are root).
tg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

tg_free_port() {
  local p
  for p in $(seq 54320 54399); do
    if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ]; then
      echo "$p"; return 0
    fi
  done
  return 1
}

tg_cluster_start() {
  TG_CLUSTER_DIR=$(mktemp -d /tmp/tenantguard-cluster-XXXXXX)
  chmod 755 "$TG_CLUSTER_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$TG_CLUSTER_DIR"
  export PGPORT=$(tg_free_port)
  export PGHOST=$TG_CLUSTER_DIR
  export PGUSER=postgres
  export PGDATABASE=postgres
  tg_as_owner "$PGBIN/initdb" -D "$TG_CLUSTER_DIR/data" -U postgres -A trust \
    --no-sync -E UTF8 --locale=C >"$TG_CLUSTER_DIR/initdb.log" 2>&1 || {
      cat "$TG_CLUSTER_DIR/initdb.log" >&2; return 1; }
  # a fresh master key for this cluster only: 64 hex characters, mode 0600
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$TG_CLUSTER_DIR/master.key"
  echo >>"$TG_CLUSTER_DIR/master.key"
  chmod 600 "$TG_CLUSTER_DIR/master.key"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$TG_CLUSTER_DIR/master.key"
  export TG_MASTER_KEY_FILE=$TG_CLUSTER_DIR/master.key
  {
    echo "shared_preload_libraries = 'tenantguard'"
    echo "tenantguard.master_key_file = '$TG_CLUSTER_DIR/master.key'"
    echo "port = $PGPORT"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$TG_CLUSTER_DIR'"
    echo "fsync = off"
    echo "max_connections = 60"
    echo "lc_messages = 'C'"
    for line in "$@"; do echo "$line"; done
  } >>"$TG_CLUSTER_DIR/data/postgresql.conf"
  tg_as_owner "$PGBIN/pg_ctl" -D "$TG_CLUSTER_DIR/data" -l "$TG_CLUSTER_DIR/server.log" \
    -w -t 60 start >/dev/null || { cat "$TG_CLUSTER_DIR/server.log" >&2; return 1; }
}

tg_cluster_stop() {
  [ -n "${TG_CLUSTER_DIR:-}" ] || return 0
  tg_as_owner "$PGBIN/pg_ctl" -D "$TG_CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ -z "${TG_KEEP_CLUSTER:-}" ]; then
    rm -rf "$TG_CLUSTER_DIR"
  else
    echo "cluster kept in $TG_CLUSTER_DIR" >&2
  fi
  TG_CLUSTER_DIR=
}
