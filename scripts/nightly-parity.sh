#!/usr/bin/env bash
# Nightly parity (.github/workflows/nightly-parity.yml calls this; it runs the same on any machine with the
# project set up: `npm install && bash scripts/setup-python.sh`).
#
# A matrix of each supported upstream release x its fixtures: for each fixture preset (2.1.0 layouts: tiny,
# tiny-v1; 4.0.1 families: tiny-4-drift, tiny-4-point, tiny-4-lsd, each made, recorded and exported by the
# release it belongs to): make a random-weight model in the upstream format (pockettts fixture make), record
# goldens of a fixed set of texts, voices and parameters with upstream (pockettts golden dump / dump-voice),
# export it (pockettts model export) and run `pockettts parity --mode both` on the goldens, writing
# <out>/reports/parity-<set>.json, .xml (JUnit) and .html (a self-contained page to look at: plots per stage and
# step, the first divergence marked, expected and actual audio), then `pockettts synth` on the export (its frames,
# EOS steps and real-time factor in the summary). The full-size 4.x presets (full-4-english, full-4-7m, full-4-2m:
# random weights at the real dimensions of english_2026-10, english_7m_2026-10, english_2m_2026-10) run the same
# way in a leg of their own: too slow for the unit suite (about 1-2 min to make and export each on 2 cores). Then the same parity run on ../shared/oracle
# (goldens recorded from upstream on its tiny checkpoint), on each ../shared/oracle4 family (upstream 4.0.1's
# goldens, a subset of the stages) and on the project's own golden/ when they exist; and, with PARITY_REAL=1 and
# the model hub reachable, on the real weights downloaded under the lock file.
# Release drift (PARITY_CROSS, default on): the 2.1.0 export of the tiny fixture (or of ../shared/oracle/tiny)
# against a golden that upstream 4.0.1 records on the same weights, `parity --cross-release`: the report names
# the first stage where the releases differ (reports/parity-cross-release.*); that is what nightly parity exists
# to catch when upstream changes its numerics again. It fails the job only when it cannot run.
#
# Usage: scripts/nightly-parity.sh [OUT_DIR]          (default out/nightly-parity)
# Environment:
#   PARITY_PRESETS="tiny tiny-v1 tiny-4-drift tiny-4-point tiny-4-lsd"  fixture presets to make (empty: none;
#                                  also full-4-english full-4-7m full-4-2m, the full-size 4.x leg)
#   PARITY_FIXTURE=DIR             use this upstream-format model folder instead of making fixtures
#   PARITY_GOLDEN=DIR              ... with these goldens instead of recording them
#   PARITY_ONNX=DIR                ... and this export instead of exporting it
#   PARITY_RELEASE=4.0.1           ... the upstream release of that folder (default 2.1.0)
#   PARITY_ORACLE=0 / PARITY_ORACLE4=0 / PARITY_PROJECT=0   leave out ../shared/oracle / ../shared/oracle4 / golden/
#   PARITY_CROSS=0                 leave out the release-drift run
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

SYNTH_TEXT="Hello world. This is a small test of the pocket speech model."

# The upstream release of a fixture preset: the 4.x families are 4.0.1's, the others 2.1.0's.
release_of() { case "$1" in *-4-*) echo 4.0.1 ;; *) echo 2.1.0 ;; esac; }

# record_goldens MODEL_DIR GOLDEN_DIR [VOICE_FILE] [PROMPT_WAV] [RELEASE]
record_goldens() {
  local model="$1" golden="$2" voice="${3:-}" prompt="${4:-$1/voice_prompt.wav}" release="${5:-2.1.0}"
  mkdir -p "$golden"
  local spec name text seed temp lsd clamp cvoice args
  for spec in "${CASES[@]}"; do
    IFS='|' read -r name text seed temp lsd clamp cvoice <<< "$spec"
    args=(golden dump --upstream "$release" --from "$model" --text "$text" --seed "$seed" --temperature "$temp" --lsd-decode-steps "$lsd"
      --out "$golden/$name" --force)
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
    "${PTT[@]}" golden dump-voice --upstream "$release" --from "$model" --prompt "$prompt" --out "$golden/voice" --force > "$golden/voice.log" 2>&1 \
      || { note "  golden dump-voice failed (see $golden/voice.log)"; return 2; }
  fi
}

# run_set NAME MODEL_DIR GOLDEN_DIR ONNX_DIR [RELEASE]: records goldens and exports when missing (with that upstream
# release, default 2.1.0), then runs parity.
run_set() {
  local name="$1" model="$2" golden="$3" onnx="$4" release="${5:-2.1.0}"
  note "set $name (upstream $release): model $model, goldens $golden, export $onnx"
  if [ ! -d "$golden" ]; then
    record_goldens "$model" "$golden" "" "$model/voice_prompt.wav" "$release" || { worst 2; return; }
  fi
  if [ ! -f "$onnx/manifest.json" ]; then
    "${PTT[@]}" model export --upstream "$release" --from "$model" --out "$onnx" --force > "$WORK/export-$name.log" 2>&1 \
      || { note "  model export failed (see $WORK/export-$name.log)"; worst 2; return; }
  fi
  "${PTT[@]}" parity --model "$onnx" --golden "$golden" --mode both --json --junit "$REPORTS/parity-$name.xml" \
    --html "$REPORTS/parity-$name.html" > "$REPORTS/parity-$name.json" 2> "$REPORTS/parity-$name.log"
  local code=$?
  note "  parity $name: exit $code: $(node -e 'try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.summary ?? r.error?.message) } catch { console.log("no report") }' "$REPORTS/parity-$name.json")"
  worst "$code"
  # and `synth` as a user runs it, with the export's own defaults (its release's loop, temperature, EOS threshold)
  if "${PTT[@]}" synth "$SYNTH_TEXT" --model "$onnx" --seed 1 --out "$WORK/synth-$name.wav" --json > "$WORK/synth-$name.json" 2> "$WORK/synth-$name.log"; then
    note "  synth $name: $(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.frames} frames, ${r.audioSeconds} s of audio, EOS steps ${JSON.stringify(r.eosSteps)}, RTF ${r.realTimeFactor.toFixed(3)}`)' "$WORK/synth-$name.json")"
  else
    note "  synth $name failed (see $WORK/synth-$name.log)"
    worst 2
  fi
}

if [ -n "${PARITY_FIXTURE:-}" ]; then
  run_set given "$PARITY_FIXTURE" "${PARITY_GOLDEN:-$WORK/given/golden}" "${PARITY_ONNX:-$WORK/given/onnx}" "${PARITY_RELEASE:-2.1.0}"
else
  for preset in ${PARITY_PRESETS-tiny tiny-v1 tiny-4-drift tiny-4-point tiny-4-lsd}; do
    fixture="$WORK/$preset/model"
    release="$(release_of "$preset")"
    if ! "${PTT[@]}" fixture make --preset "$preset" --upstream "$release" --out "$fixture" --seed 0 --force > "$WORK/fixture-$preset.log" 2>&1; then
      note "set $preset: pockettts fixture make failed (see $WORK/fixture-$preset.log)"
      worst 2
      continue
    fi
    run_set "$preset" "$fixture" "$WORK/$preset/golden" "$WORK/$preset/onnx" "$release"
  done
fi

# cross_release MODEL_DIR ONNX_2_1_0: a 4.0.1 golden of the same weights, checked against the 2.1.0 export.
cross_release() {
  local model="$1" onnx="$2" golden="$WORK/cross/golden-4.0.1/hello"
  note "set cross-release: the 2.1.0 export $onnx against upstream 4.0.1 on the same weights"
  local voice=()
  if [ -f "$model/voice.safetensors" ]; then voice=(--voice "$model/voice.safetensors"); fi
  "${PTT[@]}" golden dump --upstream 4.0.1 --from "$model" "${voice[@]}" --text "Hello world. This is a small test of the pocket speech model." \
    --seed 42 --temperature 0.7 --eos-threshold -4 --out "$golden" --force > "$WORK/cross-golden.log" 2>&1 \
    || { note "  golden dump --upstream 4.0.1 failed (see $WORK/cross-golden.log)"; worst 2; return; }
  "${PTT[@]}" parity --model "$onnx" --golden "$golden" --mode both --cross-release --json --junit "$REPORTS/parity-cross-release.xml" \
    --html "$REPORTS/parity-cross-release.html" > "$REPORTS/parity-cross-release.json" 2> "$REPORTS/parity-cross-release.log"
  local code=$?
  note "  release drift: $(node -e 'try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.summary ?? r.error?.message) } catch { console.log("no report") }' "$REPORTS/parity-cross-release.json")"
  # a divergence is the finding (exit 1), not a failure of the job; anything else that is not 0 is
  if [ "$code" -ne 0 ] && [ "$code" -ne 1 ]; then worst 2; fi
}

ORACLE="$ROOT/../shared/oracle/tiny"
if [ "${PARITY_ORACLE:-1}" != "0" ] && [ -d "$ORACLE/golden" ]; then
  run_set oracle "$ORACLE" "$ORACLE/golden" "$WORK/oracle/onnx"
fi
ORACLE4="$ROOT/../shared/oracle4"
if [ "${PARITY_ORACLE4:-1}" != "0" ] && [ -f "$ORACLE4/README.md" ]; then
  for family in t4-drift t4-point t4-lsd; do
    [ -d "$ORACLE4/$family/golden" ] || continue
    # a copy whose symlinks (stored as small files naming their target where git could not link) hold the files
    copy="$WORK/oracle4/$family/model"
    rm -rf "$copy" && mkdir -p "$(dirname "$copy")" && cp -R "$ORACLE4/$family" "$copy" && chmod -R u+w "$copy"
    for f in "$copy"/*; do
      if [ -f "$f" ] && [ "$(wc -c < "$f")" -lt 256 ]; then
        target="$ORACLE4/$family/$(head -c 255 "$f" | tr -d '\n')"
        if [ -f "$target" ] && ! cmp -s "$target" "$f"; then cp "$target" "$f"; fi
      fi
    done
    run_set "oracle4-$family" "$copy" "$ORACLE4/$family/golden" "$WORK/oracle4/$family/onnx" 4.0.1
  done
fi
if [ "${PARITY_CROSS:-1}" != "0" ]; then
  if [ -f "$WORK/tiny/onnx/manifest.json" ]; then cross_release "$WORK/tiny/model" "$WORK/tiny/onnx"
  elif [ -f "$WORK/oracle/onnx/manifest.json" ]; then cross_release "$ORACLE" "$WORK/oracle/onnx"
  elif [ -n "${PARITY_FIXTURE:-}" ] && [ -f "${PARITY_ONNX:-$WORK/given/onnx}/manifest.json" ]; then
    cross_release "$PARITY_FIXTURE" "${PARITY_ONNX:-$WORK/given/onnx}"
  else note "set cross-release: no 2.1.0 export was made in this run; skipped"
  fi
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
    download=(model download --upstream 2.1.0 --language english --voices alba --out "$models")
    if [ -z "${HF_TOKEN:-}" ]; then download+=(--allow-no-cloning); fi
    if "${PTT[@]}" "${download[@]}" > "$WORK/download-real.log" 2>&1; then
      cp "$models/pockettts.lock.json" "$REPORTS/real-weights.lock.json"
      prompt="$ROOT/fixtures/tiny/voice_prompt.wav"
      [ -f "$prompt" ] || prompt="$ORACLE/voice_prompt.wav"
      # voice cloning (the prompt cases) needs the gated weights: without a token only the predefined voice
      if [ -z "${HF_TOKEN:-}" ]; then prompt=/nonexistent; fi
      record_goldens "$models/english" "$WORK/real/golden" "$models/english/voices/alba.safetensors" "$prompt" 2.1.0 \
        && run_set real "$models/english" "$WORK/real/golden" "$WORK/real/onnx" || worst 2
    else
      note "set real: pockettts model download failed (see $WORK/download-real.log)"
      worst 2
    fi
  fi
fi

note "done: exit $STATUS (reports in $REPORTS)"
exit "$STATUS"
