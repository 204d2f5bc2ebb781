import {resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {DEFAULT_BENCH_TEXT} from '../src/bench/bench-text.js'
import type {BenchReport} from '../src/bench/bench-report.js'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {knobFlag, knobFlagWithDefault} from '../src/cli/number-flags.js'
import {readTextInput} from '../src/cli/read-text-input.js'
import {embeddedModelDir} from '../src/config/index.js'
import {UsageError} from '../src/errors/index.js'
import {upstreamFlag} from '../src/cli/upstream-flag.js'
import {writeFileAtomic} from '../src/fs/write-file-atomic.js'

export default class Bench extends PocketTtsCommand {
  static override summary =
    "Measure synthesis speed: real-time factor, time to first audio, per-stage times, peak memory, and the machine's limit."
  static override description =
    'Loads an exported model, runs the generation loop (as synth does: Mimi on a worker thread beside the ' +
    'FlowLM steps) --warmup times unmeasured and --runs times measured, and reports per run and as ' +
    'min/median/max: real-time factor, time to first audio (voice already loaded), milliseconds per frame ' +
    'of the text prefill, the FlowLM step, the flow head and the Mimi decode, and the peak RSS. It counts ' +
    "the arithmetic and weight traffic per frame from the manifest's dimensions and measures the " +
    "machine's memory bandwidth and matmul rate with onnxruntime, and says how close to that limit the " +
    "engine runs. --against python times upstream pocket_tts's own loop on the same model, text, voice " +
    'and frame count in the same invocation; --baseline compares with a stored report and exits 1 beyond ' +
    '--max-regression. --frames N fixes the frame count (EOS ignored) so random-weight models are ' +
    'comparable.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --model models/bench/full-onnx --frames 92',
    '<%= config.bin %> <%= command.id %> --model models/bench/full-onnx --frames 92 --against python --runs 3 --json > bench.json',
    '<%= config.bin %> <%= command.id %> --model models/bench/full-onnx --frames 92 --baseline bench.json --max-regression 15',
  ]
  static override flags = {
    model: Flags.string({description: 'Exported model folder. Default: the embedded fixture model.'}),
    text: Flags.string({description: `Text of every run (default: "${DEFAULT_BENCH_TEXT}").`, exclusive: ['corpus']}),
    corpus: Flags.string({description: 'UTF-8 text file synthesised as one text (split into chunks as upstream does).'}),
    voice: Flags.string({description: 'Voice name of the model, a voice .safetensors file, or a .wav prompt. Default: as synth.'}),
    runs: knobFlagWithDefault('benchRuns', {description: 'Measured runs.', default: 3}),
    warmup: knobFlagWithDefault('benchWarmup', {description: 'Unmeasured runs first.', default: 1}),
    threads: knobFlag('threads', {
      description:
        'onnxruntime intra-op threads of the FlowLM sessions (default: the physical cores; 1 for a FlowLM step small enough for the caches, beside the Mimi worker).',
    }),
    frames: knobFlag('benchFrames', {description: 'Exactly N frames per chunk, EOS ignored (makes random-weight models comparable).'}),
    seed: knobFlagWithDefault('seed', {description: 'Noise seed of every run.', default: 42}),
    against: Flags.string({description: 'Also time upstream pocket_tts (Python) in the same invocation.', options: ['python']}),
    'upstream-model': Flags.string({
      description: "Upstream-format folder the export was made from (default: the manifest's source folder beside the export).",
    }),
    upstream: upstreamFlag('bench', {
      what: 'With --against python, the upstream pocket-tts release to time',
      defaultText: 'the release the export records, else the one the upstream folder records, else the newest pinned release',
    }),
    'upstream-quantize': Flags.boolean({
      description: 'Time upstream with its --quantize (int8) mode (default: when the export is int8).',
      allowNo: true,
    }),
    baseline: Flags.string({description: 'A report written by `bench --json` (or --out) to compare medians with.'}),
    'max-regression': knobFlagWithDefault('maxRegression', {
      description: 'With --baseline: exit 1 when a median is worse by more than this many percent.',
      default: 10,
    }),
    probe: Flags.boolean({
      description:
        "Measure the machine's bandwidth and matmul rate (a few seconds, ~1 GB transient memory), and time the Mimi decoder alone against its own bound.",
      default: true,
      allowNo: true,
    }),
    'mimi-worker': Flags.boolean({
      description: "Decode Mimi on a worker thread beside the FlowLM steps (synth's fast path).",
      default: true,
      allowNo: true,
    }),
    'step-graph': Flags.boolean({
      description:
        "Run AR steps through the export's combined FlowLM-and-head graph when it has one (flow_lm_main_flow, one-step heads), as synth does.",
      default: true,
      allowNo: true,
    }),
    python: Flags.string({
      description: 'Python interpreter with the tooling, for --against python (else POCKETTTS_PYTHON, .venv, python3).',
    }),
    out: Flags.string({description: 'Also write the JSON report to this file.'}),
  }

  async run(): Promise<BenchReport> {
    const {flags} = await this.parse(Bench)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{ProgressReporter}, {renderBenchReport}, {runBench}] = await Promise.all([
      import('../src/cli/progress-reporter.js'),
      import('../src/bench/render-bench-report.js'),
      import('../src/bench/run-bench.js'),
    ])
    const {config, origins} = await this.loadConfig({
      model: flags.model,
      threads: flags.threads,
      python: flags.python,
      config: flags.config,
    })
    const maxRegression = flags['max-regression']
    if (flags.upstream !== undefined && flags.against !== 'python') {
      throw new UsageError({
        code: 'USAGE',
        message: '--upstream only applies with --against python.',
        hint: 'Add --against python, or drop --upstream.',
      })
    }
    if (flags['upstream-model'] !== undefined && flags.against !== 'python') {
      throw new UsageError({
        code: 'USAGE',
        message: '--upstream-model only applies with --against python.',
        hint: 'Add --against python, or drop --upstream-model.',
      })
    }
    const text =
      flags.corpus === undefined && flags.text === undefined
        ? DEFAULT_BENCH_TEXT
        : await readTextInput({
            ...(flags.corpus === undefined ? {} : {file: flags.corpus}),
            ...(flags.text === undefined ? {} : {text: flags.text}),
            maxChars: 100_000,
          })
    const modelDir = config.model ?? embeddedModelDir()
    if (config.model === undefined) this.logToStderr(`Using the embedded fixture model (${modelDir}). Pass --model for a real export.`)
    const progress = new ProgressReporter()
    let report: BenchReport
    try {
      report = await runBench({
        model: modelDir,
        text,
        ...(flags.voice === undefined ? {} : {voice: flags.voice}),
        runs: flags.runs,
        warmup: flags.warmup,
        ...(config.threads === undefined ? {} : {threads: config.threads}),
        frames: flags.frames ?? null,
        seed: flags.seed,
        mimiWorker: flags['mimi-worker'],
        stepWithHead: flags['step-graph'],
        probe: flags.probe,
        againstPython: flags.against === 'python',
        ...(flags.upstream === undefined ? {} : {upstream: flags.upstream}),
        ...(flags['upstream-model'] === undefined ? {} : {upstreamModel: flags['upstream-model']}),
        ...(flags['upstream-quantize'] === undefined ? {} : {upstreamQuantize: flags['upstream-quantize']}),
        ...(flags.baseline === undefined ? {} : {baseline: flags.baseline}),
        maxRegressionPct: maxRegression,
        ...(config.python === undefined ? {} : {python: config.python, pythonOrigin: origins.python}),
        pythonTimeoutMs: config.pythonTimeout * 1000,
        signal: this.signal,
        onProgress: (event) =>
          progress.update({
            stage: event.phase,
            message: event.message,
            ...(event.done === undefined ? {} : {done: event.done}),
            ...(event.total === undefined ? {} : {total: event.total}),
          }),
      })
    } finally {
      progress.stop()
    }
    if (flags.out !== undefined)
      await writeFileAtomic({path: resolve(flags.out), data: new TextEncoder().encode(`${JSON.stringify(report, null, 1)}\n`)})
    this.log(renderBenchReport(report))
    if (report.baseline?.passed === false) process.exitCode = 1
    return report
  }
}
