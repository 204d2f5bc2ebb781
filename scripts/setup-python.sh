#!/usr/bin/env bash
# Creates .venv/ with the pinned Python tooling (upstream pocket-tts 2.1.0 and the export stack).
# Idempotent: a stamp records what was installed; a second run with nothing changed takes a second.
# POCKETTTS_BASE_PYTHON picks the interpreter that creates the venv (default: python3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/scripts/requirements.txt"
base="${POCKETTTS_BASE_PYTHON:-python3}"
stamp="$venv/.pockettts-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && "$venv/bin/python" -c "import torch, pocket_tts, onnx, onnxruntime" 2>/dev/null; then
  echo "python tooling: .venv is up to date"
  exit 0
fi

if ! command -v "$base" >/dev/null 2>&1; then
  echo "error: no $base on PATH. Install Python 3.10-3.13 (e.g. apt-get install python3 python3-venv) or set POCKETTTS_BASE_PYTHON." >&2
  exit 3
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "python tooling: creating .venv with $base"
  "$base" -m venv "$venv" || { echo "error: '$base -m venv' failed; install the venv module (apt-get install python3-venv)." >&2; exit 3; }
fi
# pip warns about every find-links/index location of the machine's pip config that does not exist ("WARNING:
# Location '...' is ignored"), once per package; those lines are dropped, everything else is kept.
pip_install() {
  "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "$@" 2>&1 \
    | { grep -v -E "^WARNING: Location '[^']*' is ignored" || true; }
}
echo "python tooling: installing torch==2.13.0 (CPU build) first"
pip_install "torch==2.13.0"
echo "python tooling: installing scripts/requirements.txt"
pip_install -r "$req"
echo "$want" > "$stamp"
echo "python tooling: ready ($("$venv/bin/python" -c 'import pocket_tts, torch; print("pocket_tts", __import__("importlib.metadata").metadata.version("pocket-tts"), "torch", torch.__version__)'))"
