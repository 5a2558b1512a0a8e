#!/usr/bin/env bash
# Helpers for the shell-level suites in test/suites/*.sh (sourced, not run).
#
#   TG_SUITE=name; source test/suites/lib/checks.sh
#   tg_check_eq "what" "$got" "$want"; tg_check_contains "what" "$text" "needle"
#   trap 'cleanup; tg_suite_finish' EXIT
#
# tg_suite_finish prints the one line run-all.sh reads:  name: N passed, M failed

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
TG_SUITE=${TG_SUITE:-suite}
TG_PASSED=0
TG_FAILED=0
TG_FAILED_NAMES=()

tg_pass() {
  TG_PASSED=$((TG_PASSED + 1))
  echo "ok - $1"
}

# tg_fail WHAT [DETAIL]
tg_fail() {
  TG_FAILED=$((TG_FAILED + 1))
  TG_FAILED_NAMES+=("$1")
  echo "not ok - $1"
  if [ -n "${2:-}" ]; then
    printf '%s\n' "$2" | head -n 25 | sed 's/^/    # /'
  fi
}

# tg_check_eq WHAT GOT WANT
tg_check_eq() {
  if [ "$2" == "$3" ]; then
    tg_pass "$1"
  else
    tg_fail "$1" "expected: $3
got:      $2"
  fi
}

# tg_check_ne WHAT GOT NOT_WANTED
tg_check_ne() {
  if [ "$2" != "$3" ]; then
    tg_pass "$1"
  else
    tg_fail "$1" "got the value that must not appear: $2"
  fi
}

# tg_check_contains WHAT TEXT NEEDLE  (fixed string)
tg_check_contains() {
  if printf '%s' "$2" | grep -qF -- "$3"; then
    tg_pass "$1"
  else
    tg_fail "$1" "expected to contain: $3
got: $2"
  fi
}

# tg_check_lacks WHAT TEXT NEEDLE  (fixed string)
tg_check_lacks() {
  if printf '%s' "$2" | grep -qF -- "$3"; then
    tg_fail "$1" "must not contain: $3
got: $2"
  else
    tg_pass "$1"
  fi
}

# tg_check_match WHAT TEXT ERE
tg_check_match() {
  if printf '%s' "$2" | grep -qE -- "$3"; then
    tg_pass "$1"
  else
    tg_fail "$1" "expected to match: $3
got: $2"
  fi
}

# The failed checks are listed again right before the result line, because
# run-all.sh shows only the tail of a suite's output.
tg_suite_finish() {
  local f
  if [ "${#TG_FAILED_NAMES[@]}" -gt 0 ]; then
    echo "# failed checks:"
    for f in "${TG_FAILED_NAMES[@]}"; do echo "#   $f"; done
  fi
  echo "$TG_SUITE: $TG_PASSED passed, $TG_FAILED failed"
}

# Run a command as the cluster's OS user (postgres when we are root).
tg_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A TCP port on 127.0.0.1 nobody listens on, from a random start in [lo, hi].
tg_random_free_port() {
  local lo=${1:-55000} hi=${2:-55999} n p i
  n=$((hi - lo + 1))
  p=$((lo + RANDOM % n))
  for ((i = 0; i < n; i++)); do
    if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ]; then
      echo "$p"
      return 0
    fi
    p=$((p + 1))
    [ "$p" -gt "$hi" ] && p=$lo
  done
  return 1
}

# tg_psql [psql args...]: unaligned, tuples only, verbose errors (SQLSTATE
# visible), stop on the first error; stdout and stderr together.
tg_psql() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$@" 2>&1
}

# tg_wait_for DB SQL [SECONDS]: poll (default at most 10 s) until SQL, run as
# the superuser in DB, returns t (events the ledger worker writes later).
tg_wait_for() {
  local i n=$(( ${3:-10} * 10 ))
  for ((i = 0; i < n; i++)); do
    [ "$(tg_psql -d "$1" -c "$2")" = "t" ] && return 0
    sleep 0.1
  done
  return 1
}

# tg_drop_database_and_roles DB [ROLE...]: remove what a suite created (quietly).
tg_drop_database_and_roles() {
  local db=$1 r
  shift
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  for r in "$@"; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1; done
}

# The SQLSTATE of the first error in psql's verbose output, or "none".
tg_sqlstate() {
  local s
  s=$(printf '%s\n' "$1" | sed -nE 's/.*(ERROR|FATAL): +([0-9A-Z]{5}): .*/\2/p' | head -n 1)
  echo "${s:-none}"
}
