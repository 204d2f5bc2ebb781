#!/usr/bin/env bash
# Benchmark the 4.x families at their real dimensions with random weights, against upstream pocket-tts 4.0.1
# timed in the same invocation: english_2026-10 (full size, LSD head), english_18m, english_7m and english_2m
# (one-step heads, grouped-query attention, the small Mimi decoder). For each family: makes the fixture
# (`fixture make --preset full-4-<family>`), exports it (`model export --upstream 4.0.1`; the one-step families
# get the combined step graph flow_lm_main_flow), then runs `bench --against python --upstream 4.0.1` and writes
# its JSON report. The families of INT8_FAMILIES (default: english, the full size) are also exported with --int8
# and benched against upstream's --quantize mode. With AB_ROUNDS=N (default 2) it then times the one-step families with and without the combined
# step graph, alternating N rounds (`bench --no-probe --step-graph` / `--no-step-graph`), and prints the medians.
#
#   bash scripts/bench-small.sh            # or: npm run bench:small
#   FAMILIES="7m 2m" INT8_FAMILIES="" FRAMES=92 RUNS=3 WARMUP=1 AB_ROUNDS=2 BENCH_DIR=models/bench FORCE=1 bash scripts/bench-small.sh
#
# Not a unit test: it takes several minutes (the full-size family most of them) and ~2 GB of disk, and its figures
# only mean something on a quiet machine (the load average is printed and recorded in each report).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-models/bench}
FAMILIES=${FAMILIES:-english 18m 7m 2m}
FRAMES=${FRAMES:-92}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
AB_ROUNDS=${AB_ROUNDS:-2}
INT8_FAMILIES=${INT8_FAMILIES-english}
FORCE=${FORCE:-}
CLI=(./bin/run.js) # the launcher as npx runs it (its shebang sets the malloc tunables)

[ -x .venv/bin/python ] && [ -x .venv-4.0.1/bin/python ] || bash scripts/setup-python.sh
[ -f dist/commands/bench.js ] || npm run build
mkdir -p "$DIR"

for family in $FAMILIES; do
  src="$DIR/full-4-$family"; out="$DIR/full-4-$family-onnx"
  if [ -n "$FORCE" ] || [ ! -f "$src/config.yaml" ]; then
    echo "== fixture: preset full-4-$family (random weights, real dimensions) -> $src"
    "${CLI[@]}" fixture make --preset "full-4-$family" --out "$src" --force
  fi
  if [ -n "$FORCE" ] || [ ! -f "$out/manifest.json" ]; then
    echo "== export (fp32, upstream 4.0.1) -> $out"
    "${CLI[@]}" model export --from "$src" --out "$out" --upstream 4.0.1 --force
  fi
  if [[ " $INT8_FAMILIES " == *" $family "* ]] && { [ -n "$FORCE" ] || [ ! -f "$out-int8/manifest.json" ]; }; then
    echo "== export (int8, upstream 4.0.1) -> $out-int8"
    "${CLI[@]}" model export --from "$src" --out "$out-int8" --upstream 4.0.1 --int8 --force
  fi
done

for family in $FAMILIES; do
  echo
  echo "== bench full-4-$family against upstream 4.0.1, load before: $(uptime)"
  "${CLI[@]}" bench --model "$DIR/full-4-$family-onnx" --frames "$FRAMES" --runs "$RUNS" --warmup "$WARMUP" --against python \
    --upstream 4.0.1 --upstream-model "$DIR/full-4-$family" --out "$DIR/report-4-$family.json"
  if [[ " $INT8_FAMILIES " == *" $family "* ]]; then
    echo
    echo "== bench full-4-$family int8 against upstream 4.0.1 --quantize, load before: $(uptime)"
    "${CLI[@]}" bench --model "$DIR/full-4-$family-onnx-int8" --frames "$FRAMES" --runs "$RUNS" --warmup "$WARMUP" --against python \
      --upstream 4.0.1 --upstream-model "$DIR/full-4-$family" --out "$DIR/report-4-$family-int8.json"
  fi
done

if [ "$AB_ROUNDS" -gt 0 ]; then
  reports=()
  for family in $FAMILIES; do
    out="$DIR/full-4-$family-onnx"
    grep -q '"flow_lm_main_flow"' "$out/manifest.json" || continue # LSD heads have no combined step graph
    for round in $(seq 1 "$AB_ROUNDS"); do
      for variant in step-graph no-step-graph; do
        [ $((round % 2)) -eq 0 ] && variant=$([ "$variant" = step-graph ] && echo no-step-graph || echo step-graph) # alternate the order
        report="$DIR/ab-4-$family-$variant-$round.json"
        echo "== A/B full-4-$family round $round: --$variant, load before: $(uptime)"
        "${CLI[@]}" bench --model "$out" --frames "$FRAMES" --runs "$RUNS" --warmup "$WARMUP" --no-probe "--$variant" --out "$report" >/dev/null
        reports+=("$report")
      done
    done
  done
  if [ "${#reports[@]}" -gt 0 ]; then
    echo
    echo "A/B of the combined step graph (medians of each run's medians):"
    node scripts/ab-summary.mjs "${reports[@]}"
  fi
fi
echo
echo "Reports: $DIR/report-4-*.json"
