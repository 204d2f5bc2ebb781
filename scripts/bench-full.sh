#!/usr/bin/env bash
# Benchmark on the `full` fixture: the real English dimensions with random weights (~100 M parameters), made
# here through upstream's own constructors and never committed. Makes the fixture, exports it twice (fp32 and
# --int8), then runs `pockettts bench --against python` on each export (upstream pocket_tts timed in the same
# invocation; against its --quantize mode for the int8 export) and writes the JSON reports.
#
#   bash scripts/bench-full.sh            # or: npm run bench:full
#   FRAMES=92 RUNS=3 WARMUP=1 BENCH_DIR=models/bench FORCE=1 bash scripts/bench-full.sh
#
# Not a unit test: it takes several minutes and ~3 GB of disk, and its figures only mean something on a quiet
# machine (the load average is printed and recorded in each report).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-models/bench}
FRAMES=${FRAMES:-92}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
PYTHON=${POCKETTTS_PYTHON:-.venv/bin/python}
FORCE=${FORCE:-}
CLI=(./bin/run.js) # the launcher as npx runs it (its shebang sets the malloc tunables)

[ -x "$PYTHON" ] || bash scripts/setup-python.sh
[ -f dist/commands/bench.js ] || npm run build
mkdir -p "$DIR"

if [ -n "$FORCE" ] || [ ! -f "$DIR/full/config.yaml" ]; then
  echo "== fixture: preset full (random weights, real English dimensions) -> $DIR/full"
  PYTHONPATH=scripts "$PYTHON" -m pockettts_tools.make_fixture --preset full --out "$DIR/full" --force | grep -v '"event": "progress"' || true
  [ -f "$DIR/full/config.yaml" ] || { echo "fixture failed" >&2; exit 1; }
fi
for variant in fp32 int8; do
  out="$DIR/full-onnx"; extra=()
  if [ "$variant" = int8 ]; then out="$DIR/full-onnx-int8"; extra=(--int8); fi
  if [ -n "$FORCE" ] || [ ! -f "$out/manifest.json" ]; then
    echo "== export ($variant) -> $out"
    "${CLI[@]}" model export --from "$DIR/full" --out "$out" --force "${extra[@]}"
  fi
done

for variant in fp32 int8; do
  out="$DIR/full-onnx"; [ "$variant" = int8 ] && out="$DIR/full-onnx-int8"
  echo
  echo "== bench ($variant), load before: $(uptime)"
  "${CLI[@]}" bench --model "$out" --frames "$FRAMES" --runs "$RUNS" --warmup "$WARMUP" --against python \
    --upstream-model "$DIR/full" --out "$DIR/report-$variant.json"
done
echo
echo "Reports: $DIR/report-fp32.json $DIR/report-int8.json"
