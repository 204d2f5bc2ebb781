#!/usr/bin/env bash
# Nightly parity (.github/workflows/nightly-parity.yml calls this; it runs the same on any machine with the
# project set up: `npm install && bash scripts/setup-python.sh`).
#
# For each fixture preset: make a random-weight model in the upstream format (pockettts fixture make), record
# goldens of a fixed set of texts, voices and parameters with upstream (pockettts golden dump / dump-voice),
# export it (pockettts model export) and run `pockettts parity --mode both` on the goldens, writing
# <out>/reports/parity-<set>.json, .xml (JUnit) and .html (a self-contained page to look at: plots per stage and
# step, the first divergence marked, expected and actual audio). Then the same parity run on ../shared/oracle
# (goldens recorded from upstream on its tiny checkpoint) and on the project's own golden/ when they exist; and,
# with PARITY_REAL=1 and the model hub reachable, on the real weights downloaded under the lock file.
#
# Usage: scripts/nightly-parity.sh [OUT_DIR]          (default out/nightly-parity)
# Environment:
#   PARITY_PRESETS="tiny tiny-v1"  fixture presets to make (empty: none)
#   PARITY_FIXTURE=DIR             use this upstream-format model folder instead of making fixtures
#   PARITY_GOLDEN=DIR              ... with these goldens instead of recording them
#   PARITY_ONNX=DIR                ... and this export instead of exporting it
#   PARITY_ORACLE=0 / PARITY_PROJECT=0   leave out ../shared/oracle / the project's golden/
#   PARITY_REAL=1                  also the real weights (HF_TOKEN for the gated repo with voice cloning)
#   PARITY_LOCK=FILE               lock file the real weights must match (default models/pockettts.lock.json)
# Exit code: 0 every set passed, 1 a parity failure, 2 a set could not be prepared (its report says why).
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/out/nightly-parity}" && cd "${1:-$ROOT/out/nightly-parity}" && pwd)"
WORK="$OUT/work"
REPORTS="$OUT/reports"
mkdir -p "$WORK" "$REPORTS"
PTT=(node "$ROOT/bin/run.js")
STATUS=0
SUMMARY="$REPORTS/summary.txt"
: > "$SUMMARY"

note() { echo "[nightly-parity] $*" | tee -a "$SUMMARY" >&2; }
worst() { if [ "$1" -gt "$STATUS" ]; then STATUS=$1; fi; }

# The fixed cases: name|text|seed|temperature|lsd decode steps|noise clamp ('-': none)|voice ('-': the model's)
CASES=(
  "hello|Hello world. This is a small test of the pocket speech model.|42|0.7|1|-|-"
  "short|Yes, of course.|5|0.7|1|-|-"
  "long|First sentence is short. Second one is a little bit longer than the first. Third sentence rounds out the paragraph with yet more words so that the whole text needs more than one chunk to be generated, which tests the greedy packing. Fourth!|7|0.7|1|-|-"
  "lsd4|Four decode steps with clamped noise.|11|0.5|4|1.5|-"
  "temp0|The quick brown fox jumps over the lazy dog.|0|0.0|1|-|-"
  "numbers|On 3 May 2024, Dr. Smith paid \$12.50; then, surprisingly, he left!|3|0.7|1|-|-"
  "prompt-voice|A voice taken from a spoken prompt.|9|0.7|1|-|voice_prompt.wav"
)

# record_goldens MODEL_DIR GOLDEN_DIR [VOICE_FILE] [PROMPT_WAV]
record_goldens() {
  local model="$1" golden="$2" voice="${3:-}" prompt="${4:-$1/voice_prompt.wav}"
  mkdir -p "$golden"
  local spec name text seed temp lsd clamp cvoice args
  for spec in "${CASES[@]}"; do
    IFS='|' read -r name text seed temp lsd clamp cvoice <<< "$spec"
    args=(golden dump --from "$model" --text "$text" --seed "$seed" --temperature "$temp" --lsd-decode-steps "$lsd" --out "$golden/$name" --force)
    if [ "$clamp" != "-" ]; then args+=(--noise-clamp "$clamp"); fi
    if [ "$cvoice" != "-" ]; then
      if [ ! -f "$model/$cvoice" ]; then note "  skip case $name: $model has no $cvoice"; continue; fi
      args+=(--voice "$model/$cvoice")
    elif [ -n "$voice" ]; then
      args+=(--voice "$voice")
    fi
    "${PTT[@]}" "${args[@]}" > "$golden/$name.log" 2>&1 || { note "  golden dump $name failed (see $golden/$name.log)"; return 2; }
  done
  if [ -f "$prompt" ]; then
    "${PTT[@]}" golden dump-voice --from "$model" --prompt "$prompt" --out "$golden/voice" --force > "$golden/voice.log" 2>&1 \
      || { note "  golden dump-voice failed (see $golden/voice.log)"; return 2; }
  fi
}

# run_set NAME MODEL_DIR GOLDEN_DIR ONNX_DIR: records goldens and exports when missing, then runs parity.
run_set() {
  local name="$1" model="$2" golden="$3" onnx="$4"
  note "set $name: model $model, goldens $golden, export $onnx"
  if [ ! -d "$golden" ]; then
    record_goldens "$model" "$golden" || { worst 2; return; }
  fi
  if [ ! -f "$onnx/manifest.json" ]; then
    "${PTT[@]}" model export --from "$model" --out "$onnx" --force > "$WORK/export-$name.log" 2>&1 \
      || { note "  model export failed (see $WORK/export-$name.log)"; worst 2; return; }
  fi
  "${PTT[@]}" parity --model "$onnx" --golden "$golden" --mode both --json --junit "$REPORTS/parity-$name.xml" \
    --html "$REPORTS/parity-$name.html" > "$REPORTS/parity-$name.json" 2> "$REPORTS/parity-$name.log"
  local code=$?
  note "  parity $name: exit $code: $(node -e 'try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.summary ?? r.error?.message) } catch { console.log("no report") }' "$REPORTS/parity-$name.json")"
  worst "$code"
}

if [ -n "${PARITY_FIXTURE:-}" ]; then
  run_set given "$PARITY_FIXTURE" "${PARITY_GOLDEN:-$WORK/given/golden}" "${PARITY_ONNX:-$WORK/given/onnx}"
else
  for preset in ${PARITY_PRESETS-tiny tiny-v1}; do
    fixture="$WORK/$preset/model"
    if ! "${PTT[@]}" fixture make --preset "$preset" --out "$fixture" --seed 0 --force > "$WORK/fixture-$preset.log" 2>&1; then
      note "set $preset: pockettts fixture make failed (see $WORK/fixture-$preset.log)"
      worst 2
      continue
    fi
    run_set "$preset" "$fixture" "$WORK/$preset/golden" "$WORK/$preset/onnx"
  done
fi

ORACLE="$ROOT/../shared/oracle/tiny"
if [ "${PARITY_ORACLE:-1}" != "0" ] && [ -d "$ORACLE/golden" ]; then
  run_set oracle "$ORACLE" "$ORACLE/golden" "$WORK/oracle/onnx"
fi
if [ "${PARITY_PROJECT:-1}" != "0" ] && [ -d "$ROOT/golden" ] && [ -d "$ROOT/fixtures/tiny" ]; then
  project_onnx="$ROOT/fixtures/tiny-onnx"
  [ -f "$project_onnx/manifest.json" ] || project_onnx="$WORK/project/onnx"
  run_set project "$ROOT/fixtures/tiny" "$ROOT/golden" "$project_onnx"
fi

if [ "${PARITY_REAL:-0}" = "1" ]; then
  endpoint="${POCKETTTS_HUB_ENDPOINT:-https://huggingface.co}"
  if ! node -e 'fetch(process.argv[1], {method: "HEAD", signal: AbortSignal.timeout(15000)}).then(() => process.exit(0), () => process.exit(1))' "$endpoint"; then
    note "set real: the model hub ($endpoint) is not reachable; real weights skipped"
  else
    models="$WORK/real/models"
    mkdir -p "$models"
    lock="${PARITY_LOCK:-$ROOT/models/pockettts.lock.json}"
    if [ -f "$lock" ]; then cp "$lock" "$models/pockettts.lock.json"; fi
    download=(model download --language english --voices alba --out "$models")
    if [ -z "${HF_TOKEN:-}" ]; then download+=(--allow-no-cloning); fi
    if "${PTT[@]}" "${download[@]}" > "$WORK/download-real.log" 2>&1; then
      cp "$models/pockettts.lock.json" "$REPORTS/real-weights.lock.json"
      prompt="$ROOT/fixtures/tiny/voice_prompt.wav"
      [ -f "$prompt" ] || prompt="$ORACLE/voice_prompt.wav"
      # voice cloning (the prompt cases) needs the gated weights: without a token only the predefined voice
      if [ -z "${HF_TOKEN:-}" ]; then prompt=/nonexistent; fi
      record_goldens "$models/english" "$WORK/real/golden" "$models/english/voices/alba.safetensors" "$prompt" \
        && run_set real "$models/english" "$WORK/real/golden" "$WORK/real/onnx" || worst 2
    else
      note "set real: pockettts model download failed (see $WORK/download-real.log)"
      worst 2
    fi
  fi
fi

note "done: exit $STATUS (reports in $REPORTS)"
exit "$STATUS"
