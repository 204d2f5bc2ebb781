#!/usr/bin/env bash
# Installs the Debian packages the tests need (a real redis-server for the batch queue tests), when missing.
# Idempotent: with everything installed it only checks (dpkg) and exits. As root it runs apt-get (through sudo
# when that needs no password); otherwise it prints the command to run and exits 3.
set -euo pipefail

# One package per line: what the tests start or run.
PACKAGES=(
  redis-server # test/batch/batch-queue.test.ts starts its own redis-server on 127.0.0.1
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: installed (${PACKAGES[*]})"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system packages (${missing[*]}) and no apt-get here; install them with the system's package manager." >&2
  exit 3
fi
# root runs apt-get itself; another user through sudo when it needs no password (CI runners), else is told how
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "error: missing system packages: ${missing[*]}. Install them: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 3
  fi
fi
echo "system packages: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
