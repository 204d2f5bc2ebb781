#!/usr/bin/env bash
# Creates one virtualenv per pinned upstream release of contracts/upstreams.json: the base one (.venv: upstream
# pocket-tts 2.1.0 and the project's Python tooling of scripts/requirements.txt) and, layered on it, one per other
# release (e.g. .venv-4.0.1), which installs only that release's pins and reads torch and the rest from the base.
# Idempotent: a stamp per venv records what was installed; a second run with nothing changed takes a second or two.
# POCKETTTS_BASE_PYTHON picks the interpreter that creates the venvs (default: python3).
# POCKETTTS_UPSTREAMS=2.1.0 (a comma-separated list) limits the layered venvs made; the base one is always made.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/scripts/requirements.txt"
contract="$root/contracts/upstreams.json"
base="${POCKETTTS_BASE_PYTHON:-python3}"

if ! command -v "$base" >/dev/null 2>&1; then
  echo "error: no $base on PATH. Install Python 3.10-3.13 (e.g. apt-get install python3 python3-venv) or set POCKETTTS_BASE_PYTHON." >&2
  exit 3
fi
# contract_field EXPR: one value of contracts/upstreams.json, `c` being the parsed document (one line per list item).
contract_field() {
  "$base" -c 'import json, sys
c = json.load(open(sys.argv[1], encoding="utf-8"))
v = eval(sys.argv[2], {"c": c})
print("\n".join(v) if isinstance(v, list) else v)' "$contract" "$1"
}
torch_spec="torch==$(contract_field 'c["torch"]')"
base_release="$(contract_field '[r for r, e in c["releases"].items() if e["base"]][0]')"
venv="$root/$(contract_field "c['releases']['$base_release']['venv']")"
mapfile -t base_pins < <(contract_field "c['releases']['$base_release']['pip']")
stamp="$venv/.pockettts-requirements.sha256"
want="$( (cat "$req"; echo "$torch_spec"; printf '%s\n' "${base_pins[@]}") | sha256sum | cut -d' ' -f1)"

# pip warns about every find-links/index location of the machine's pip config that does not exist ("WARNING:
# Location '...' is ignored"), once per package; those lines are dropped, everything else is kept.
pip_install() {
  local python="$1"
  shift
  "$python" -m pip install --disable-pip-version-check --quiet "$@" 2>&1 \
    | { grep -v -E "^WARNING: Location '[^']*' is ignored|^ERROR: pip's dependency resolver does not currently take into account|^pocket-tts [0-9.]+ requires " || true; }
  return "${PIPESTATUS[0]}"
}
# The installed pocket-tts of an interpreter, or nothing.
pocket_tts_version() {
  "$1" -c 'import importlib.metadata as m; print(m.version("pocket-tts"))' 2>/dev/null || true
}

make_base_venv() {
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
     && "$venv/bin/python" -c "import torch, pocket_tts, onnx, onnxruntime" 2>/dev/null; then
    echo "python tooling: ${venv#"$root/"} (pocket-tts $base_release) is up to date"
    return 0
  fi
  if [ ! -x "$venv/bin/python" ]; then
    echo "python tooling: creating ${venv#"$root/"} with $base"
    "$base" -m venv "$venv" || { echo "error: '$base -m venv' failed; install the venv module (apt-get install python3-venv)." >&2; exit 3; }
  fi
  # torch first, and a CPU build of it: a bare torch==2.13.0 from the default index is a CUDA build of several GB.
  # 1. If pip, as this machine configures it, resolves torch==2.13.0 to a CPU build (a local "+cpu" wheel), take it.
  # 2. Else take it from PyTorch's CPU-only index (POCKETTTS_TORCH_INDEX overrides the address).
  # 3. Else stop with what to do; POCKETTTS_TORCH_ANY_BUILD=1 accepts whatever build pip picks.
  local req_done=""
  if "$venv/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '${torch_spec#torch==}' else 1)" 2>/dev/null; then
    echo "python tooling: torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') already installed"
  else
    local resolved cpu_index
    resolved="$("$venv/bin/python" -m pip install --disable-pip-version-check --dry-run --no-deps --quiet --report - "$torch_spec" 2>/dev/null \
      | "$venv/bin/python" -c 'import json, sys; r = json.load(sys.stdin); print(r["install"][0]["metadata"]["version"] if r.get("install") else "")' 2>/dev/null || true)"
    cpu_index="${POCKETTTS_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
    if [[ "$resolved" == *+cpu ]]; then
      echo "python tooling: installing torch $resolved (CPU build offered by this machine's pip configuration), scripts/requirements.txt and ${base_pins[*]}"
      pip_install "$venv/bin/python" "$torch_spec" -r "$req" "${base_pins[@]}"
      req_done=1
    elif [ "${POCKETTTS_TORCH_ANY_BUILD:-}" = "1" ]; then
      echo "python tooling: installing $torch_spec as pip resolves it (${resolved:-unknown build}; POCKETTTS_TORCH_ANY_BUILD=1)"
      pip_install "$venv/bin/python" "$torch_spec"
    elif pip_install "$venv/bin/python" --index-url "$cpu_index" "$torch_spec"; then
      echo "python tooling: installed torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') from PyTorch's CPU-only index ($cpu_index)"
    else
      echo "error: no CPU build of $torch_spec could be installed: pip's own index offers '${resolved:-nothing}' and $cpu_index was not reachable." >&2
      echo "Fix: set POCKETTTS_TORCH_INDEX to a reachable index with CPU wheels of torch, or POCKETTTS_TORCH_ANY_BUILD=1 to accept pip's default build (a CUDA build is several GB)." >&2
      exit 3
    fi
  fi
  if [ -z "$req_done" ]; then
    echo "python tooling: installing scripts/requirements.txt and ${base_pins[*]}"
    pip_install "$venv/bin/python" -r "$req" "$torch_spec" "${base_pins[@]}"
  fi
  echo "$want" > "$stamp"
  echo "python tooling: ${venv#"$root/"} ready (pocket-tts $(pocket_tts_version "$venv/bin/python"), torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
}

# A release's venv layered on the base one: its own site-packages first, then the base's (a .pth file), so it holds
# only its pins (and what they add); torch, numpy, onnx and the rest are the base's.
make_layered_venv() {
  local release="$1" lvenv lstamp lwant base_site own_site
  lvenv="$root/$(contract_field "c['releases']['$release']['venv']")"
  local -a pins
  mapfile -t pins < <(contract_field "c['releases']['$release']['pip']")
  lstamp="$lvenv/.pockettts-requirements.sha256"
  lwant="$( (echo "$want"; printf '%s\n' "${pins[@]}") | sha256sum | cut -d' ' -f1)"
  if [ -x "$lvenv/bin/python" ] && [ -f "$lstamp" ] && [ "$(cat "$lstamp")" = "$lwant" ] && [ "$(pocket_tts_version "$lvenv/bin/python")" = "$release" ]; then
    echo "python tooling: ${lvenv#"$root/"} (pocket-tts $release) is up to date"
    return 0
  fi
  if [ ! -x "$lvenv/bin/python" ]; then
    echo "python tooling: creating ${lvenv#"$root/"} (pocket-tts $release) on ${venv#"$root/"}"
    "$venv/bin/python" -m venv --without-pip "$lvenv" 2>/dev/null || "$base" -m venv --without-pip "$lvenv"
  fi
  base_site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  own_site="$("$lvenv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$base_site" > "$own_site/_pockettts_base_venv.pth"
  echo "python tooling: installing ${pins[*]} into ${lvenv#"$root/"}"
  # pip is the base's (reached through the .pth); it installs into this venv's own site-packages, which come first.
  pip_install "$lvenv/bin/python" "$torch_spec" "${pins[@]}"
  local got
  got="$(pocket_tts_version "$lvenv/bin/python")"
  if [ "$got" != "$release" ]; then
    echo "error: ${lvenv#"$root/"} imports pocket-tts ${got:-nothing}, not $release; remove ${lvenv#"$root/"} and run this again." >&2
    exit 3
  fi
  echo "$lwant" > "$lstamp"
  echo "python tooling: ${lvenv#"$root/"} ready (pocket-tts $got, torch $("$lvenv/bin/python" -c 'import torch; print(torch.__version__)'))"
}

make_base_venv
mapfile -t layered < <(contract_field '[r for r, e in c["releases"].items() if not e["base"]]')
only="${POCKETTTS_UPSTREAMS:-}"
for release in "${layered[@]}"; do
  if [ -n "$only" ] && [[ ",$only," != *",$release,"* ]]; then
    echo "python tooling: skipping pocket-tts $release (not in POCKETTTS_UPSTREAMS=$only)"
    continue
  fi
  make_layered_venv "$release"
done
