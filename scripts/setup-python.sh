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
# torch first, and a CPU build of it: a bare torch==2.13.0 from the default index is a CUDA build of several GB.
# 1. If pip, as this machine configures it, resolves torch==2.13.0 to a CPU build (a local "+cpu" wheel), take it.
# 2. Else take it from PyTorch's CPU-only index (POCKETTTS_TORCH_INDEX overrides the address).
# 3. Else stop with what to do; POCKETTTS_TORCH_ANY_BUILD=1 accepts whatever build pip picks.
torch_spec="torch==2.13.0"
if "$venv/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
  echo "python tooling: torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') already installed"
else
  resolved="$("$venv/bin/python" -m pip install --disable-pip-version-check --dry-run --no-deps --quiet --report - "$torch_spec" 2>/dev/null \
    | "$venv/bin/python" -c 'import json, sys; r = json.load(sys.stdin); print(r["install"][0]["metadata"]["version"] if r.get("install") else "")' 2>/dev/null || true)"
  cpu_index="${POCKETTTS_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
  if [[ "$resolved" == *+cpu ]]; then
    echo "python tooling: installing torch $resolved (CPU build offered by this machine's pip configuration) and scripts/requirements.txt"
    pip_install "$torch_spec" -r "$req"
    req_done=1
  elif [ "${POCKETTTS_TORCH_ANY_BUILD:-}" = "1" ]; then
    echo "python tooling: installing $torch_spec as pip resolves it (${resolved:-unknown build}; POCKETTTS_TORCH_ANY_BUILD=1)"
    pip_install "$torch_spec"
  elif pip_install --index-url "$cpu_index" "$torch_spec"; then
    echo "python tooling: installed torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') from PyTorch's CPU-only index ($cpu_index)"
  else
    echo "error: no CPU build of $torch_spec could be installed: pip's own index offers '${resolved:-nothing}' and $cpu_index was not reachable." >&2
    echo "Fix: set POCKETTTS_TORCH_INDEX to a reachable index with CPU wheels of torch, or POCKETTTS_TORCH_ANY_BUILD=1 to accept pip's default build (a CUDA build is several GB)." >&2
    exit 3
  fi
fi
if [ -z "${req_done:-}" ]; then
  echo "python tooling: installing scripts/requirements.txt"
  pip_install -r "$req"
fi
echo "$want" > "$stamp"
echo "python tooling: ready ($("$venv/bin/python" -c 'import pocket_tts, torch; print("pocket_tts", __import__("importlib.metadata").metadata.version("pocket-tts"), "torch", torch.__version__)'))"
