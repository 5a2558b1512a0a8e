#!/usr/bin/env bash
# Installs the Debian packages tenantguard needs to build, test and demo.
# Idempotent: does nothing when everything is present. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential
  postgresql-15
  postgresql-contrib
  postgresql-server-dev-15
  libsodium-dev
  libssl-dev
  postgresql-15-pgtap
  libtap-parser-sourcehandler-pgtap-perl
  pgbouncer
  postgresql-15-pgaudit
  openssl
  python3
  python3-jwt
  python3-cryptography
  python3-passlib
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "tenantguard: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package may start a default cluster; tenantguard uses its own.
