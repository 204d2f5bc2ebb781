#!/usr/bin/env bash
# Installs the Debian packages the tests need when they are missing (chromium: the browser tests of the serve
# page, the parity report and AAC decoding; redis-server: the batch queue tests). As root it runs apt-get (another
# user through sudo when that needs no password, as on CI runners); otherwise it prints the command to run.
# Idempotent: with everything installed it only checks. Exit 0 when every package is there (or was installed),
# 0 with a message when some are missing and this user cannot install them (the tests that need them say so and
# fail under CI=true), 1 when apt-get failed.
set -euo pipefail

# Debian packages the test suite needs: chromium (test/server/web-page-browser, test/parity/parity-html-browser, AAC
# decoding) and redis-server (test/batch/batch-queue starts its own on 127.0.0.1).
PACKAGES=(chromium redis-server)
# POCKETTTS_SYSTEM_PACKAGES (space-separated) replaces the list: the script's own tests use it.
if [ -n "${POCKETTTS_SYSTEM_PACKAGES:-}" ]; then
  read -r -a PACKAGES <<<"$POCKETTTS_SYSTEM_PACKAGES"
fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: installed (${PACKAGES[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages: missing ${missing[*]}, and this is not a Debian-like system (no apt-get): install them with" \
    "your package manager (the browser tests need a chromium; set CHROMIUM=/path/to/chromium)." >&2
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "system packages: missing ${missing[*]}; install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
fi

echo "system packages: installing ${missing[*]} with apt-get"
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
if ! "${apt[@]}" update -qq || ! "${apt[@]}" install -y -qq "${missing[@]}" >/dev/null; then
  echo "error: apt-get could not install ${missing[*]}; run 'apt-get update && apt-get install -y ${missing[*]}' and read its message." >&2
  exit 1
fi
echo "system packages: installed ${missing[*]}"
