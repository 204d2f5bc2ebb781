import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {loadEngineModel} from '../engine/engine-model.js'
import {mimiCallFrames} from '../engine/mimi-grouping.js'
import {modelGenerationDefaults, type GenerationParams} from '../engine/generation-params.js'
import {SeededNormalNoise} from '../engine/noise/index.js'
import {resolveVoice} from '../engine/resolve-voice.js'
import {ConfigError, UsageError} from '../errors/index.js'
import {readManifest} from '../model/read-manifest.js'
import type {ExportManifest} from '../model/manifest-types.js'
import type {PythonProgressEvent} from '../python/index.js'
import {
  BENCH_FORMAT,
  MIMI_GRAPHS_PER_DECODE,
  type BenchReport,
  type BenchRun,
  type BenchSummary,
  type StageCalls,
  type UpstreamComparison,
} from './bench-report.js'
import {compareBaseline} from './compare-baseline.js'
import {machineInfo} from './machine-info.js'
import {modelCost} from './model-cost.js'
import {mimiAloneBound, performanceBound} from './performance-bound.js'
import {defaultThreads} from '../onnx/create-sessions.js'
import {probeMachine} from './probe-machine.js'
import {runEngineBench} from './run-engine-bench.js'
import {runMimiAlone} from './run-mimi-alone.js'
import {recordedUpstream, selectUpstream} from '../upstream/index.js'
import {summarize} from './summarize.js'

export {DEFAULT_BENCH_TEXT} from './bench-text.js'

export type BenchPhase = 'load' | 'engine' | 'upstream' | 'probe' | 'mimi'

export interface BenchProgress {
  readonly phase: BenchPhase
  readonly message: string
  readonly done?: number
  readonly total?: number
}

export interface RunBenchParams {
  /** Exported model folder. */
  readonly model: string
  /** The text of every run. */
  readonly text: string
  /** Voice name of the model, .safetensors state or .wav prompt. @default the model's default voice */
  readonly voice?: string
  /** Measured runs. @default 3 */
  readonly runs?: number
  /** Unmeasured runs first (session warm-up). @default 1 */
  readonly warmup?: number
  /** onnxruntime intra-op threads of the FlowLM sessions. @default the engine's (loadEngineModel's `threads`) */
  readonly threads?: number
  /** Frames per chunk with EOS ignored (random-weight models); null = upstream's stopping rule. @default null */
  readonly frames?: number | null
  /** @default 42 */
  readonly seed?: number
  /** Generation parameters other than the frame count. @default upstream's */
  readonly params?: Partial<GenerationParams>
  /** Mimi on a worker thread, overlapped with the next FlowLM step (synth's fast path). @default true */
  readonly mimiWorker?: boolean
  /** AR steps through the export's combined step graph when it has one (flow_lm_main_flow, as synth). @default true */
  readonly stepWithHead?: boolean
  /**
   * Measure the machine's bandwidth and matmul rate for the performance bound, and time the Mimi decoder alone
   * against its own bound. @default true
   */
  readonly probe?: boolean
  /** Also time upstream pocket_tts on the same model, text, voice and frame count. */
  readonly againstPython?: boolean
  /** The upstream-format folder the export came from. @default the manifest's source folder beside the export */
  readonly upstreamModel?: string
  /**
   * The upstream release to time with againstPython. @default the one the export records (exporter.pocket_tts),
   * else the one the upstream folder records, else the newest that bench supports
   */
  readonly upstream?: string
  /** Time upstream with `quantize=True`. @default true when the export is int8 */
  readonly upstreamQuantize?: boolean
  /** A stored report to compare with. */
  readonly baseline?: string
  /** @default 10 */
  readonly maxRegressionPct?: number
  readonly python?: string
  readonly pythonOrigin?: string
  readonly pythonTimeoutMs?: number
  readonly signal?: AbortSignal
  readonly onProgress?: (event: BenchProgress) => void
}

/**
 * `pockettts bench`: loads the export, times `runs` generations of the text after `warmup` ones with per-stage
 * taps, records the peak RSS, computes the model's cost per frame, measures the machine's limits, optionally
 * times upstream Python in the same invocation and compares with a stored baseline.
 */
export async function runBench(params: RunBenchParams): Promise<BenchReport> {
  const dir = resolve(params.model)
  const runs = params.runs ?? 3
  const warmup = params.warmup ?? 1
  const frames = params.frames ?? null
  const seed = params.seed ?? 42
  const useWorker = params.mimiWorker ?? true
  const progress = params.onProgress ?? (() => undefined)
  if (params.text.trim() === '')
    throw new UsageError({code: 'TEXT_EMPTY', message: 'The benchmark text is empty.', hint: 'Pass --text or --corpus with some words.'})
  const baseline = params.baseline === undefined ? undefined : await readBaseline(params.baseline)
  const machine = machineInfo()
  const {manifest} = await readManifest({dir})
  const upstreamModel = params.againstPython === true ? findUpstreamModel(dir, manifest, params.upstreamModel) : undefined
  const upstreamRelease =
    upstreamModel === undefined
      ? undefined
      : selectUpstream('bench', params.upstream ?? recordedUpstream(dir) ?? recordedUpstream(upstreamModel))

  progress({phase: 'load', message: `loading ${dir}`})
  const model = await loadEngineModel({
    dir,
    ...(params.threads === undefined ? {} : {threads: params.threads}),
    mimiWorker: useWorker,
    stepWithHead: params.stepWithHead ?? true,
  })
  const stepWithHead = model.stepWithHead !== undefined
  const threads = model.threads.main
  // the Mimi decoder as the engine runs it: its thread count and grouping (the first frame alone, then groups)
  const mimiThreads = model.threads.mimi ?? threads
  const mimiMaxFrames = model.mimiWorker?.maxFrames ?? 1
  let measured: BenchRun[]
  let voiceLabel: string
  let voicePath: string
  const gen: GenerationParams = {...modelGenerationDefaults(model.facts), ...params.params, fixedFrames: frames}
  try {
    const voice = await resolveVoice({
      model,
      ...(params.voice === undefined ? {} : {voice: params.voice}),
      noise: new SeededNormalNoise({seed, temperature: gen.temperature}),
    })
    voiceLabel = voice.label
    voicePath = voice.kind === 'name' ? (model.voices[voice.label.replace(/^name:/, '')] ?? voice.label) : voice.label
    measured = await runEngineBench({
      model,
      voice,
      text: params.text,
      params: gen,
      seed,
      runs,
      warmup,
      ...(params.signal === undefined ? {} : {signal: params.signal}),
      onRun: (info) =>
        progress({
          phase: 'engine',
          done: info.index + 1,
          total: info.total,
          message: `${info.measured ? 'run' : 'warm-up'}: ${info.run.speed.toFixed(2)}x real time, first audio ${info.run.timeToFirstAudioMs.toFixed(0)} ms`,
        }),
    })
  } finally {
    await model.release()
  }
  const peakRssMb = (process.resourceUsage().maxRSS * 1024) / 1e6
  const summary = summarizeRuns(measured)
  const first = measured[0]
  const voicePositions = positionsOf(manifest, voicePath)
  const cost = modelCost({
    manifest,
    meanPosition:
      voicePositions + (first?.tokens ?? 0) / Math.max(1, first?.chunks ?? 1) + (first?.steps ?? 0) / Math.max(1, first?.chunks ?? 1) / 2,
    tokens: Math.round((first?.tokens ?? 0) / Math.max(1, first?.chunks ?? 1)),
    lsdDecodeSteps: gen.lsdDecodeSteps,
  })

  let upstream: UpstreamComparison | null = null
  if (upstreamModel !== undefined && upstreamRelease !== undefined) {
    const quantize = params.upstreamQuantize ?? isInt8(manifest)
    // loaded only here: the Python job runner (execa) is not needed by a bench without --against python
    const {runUpstreamBench} = await import('./run-upstream-bench.js')
    const result = await runUpstreamBench({
      model: upstreamModel,
      voice: voicePath,
      text: params.text,
      frames,
      runs,
      warmup,
      quantize,
      upstream: upstreamRelease,
      ...(params.python === undefined ? {} : {python: params.python}),
      ...(params.pythonOrigin === undefined ? {} : {pythonOrigin: params.pythonOrigin}),
      ...(params.pythonTimeoutMs === undefined ? {} : {pythonTimeoutMs: params.pythonTimeoutMs}),
      ...(params.signal === undefined ? {} : {signal: params.signal}),
      onProgress: (event: PythonProgressEvent) =>
        progress({
          phase: 'upstream',
          message: event.message ?? event.stage,
          ...(event.done === undefined ? {} : {done: event.done}),
          ...(event.total === undefined ? {} : {total: event.total}),
        }),
    })
    const upstreamSummary = {
      realTimeFactor: summarize(result.runs.map((r) => r.realTimeFactor ?? Number.NaN)),
      speed: summarize(result.runs.map((r) => r.speed ?? Number.NaN)),
      timeToFirstAudioMs: summarize(result.runs.map((r) => r.timeToFirstAudioMs ?? Number.NaN)),
    }
    upstream = {
      model: upstreamModel,
      upstream: upstreamRelease,
      quantize: result.quantize,
      quantizeBackend: result.quantizeBackend,
      torchThreads: result.torchThreads,
      versions: result.versions,
      runs: result.runs,
      summary: upstreamSummary,
      peakRssMb: result.peakRssMb,
      speedRatio: summary.speed.median / upstreamSummary.speed.median,
      timeToFirstAudioRatio: upstreamSummary.timeToFirstAudioMs.median / summary.timeToFirstAudioMs.median,
    }
  }

  let probe = null
  let bound = null
  let mimiAlone = null
  if (params.probe ?? true) {
    const int8Stages = quantizedStages(manifest)
    const mimiFrames = first?.frames ?? 0
    let mimiCalls = mimiFrames // decode calls of one run: one per frame unless grouped
    if (mimiFrames > 0) {
      progress({phase: 'mimi', message: `timing the Mimi decoder alone (${mimiFrames} frames, ${mimiThreads} thread(s))`})
      const graphFile = (name: string): string => manifest.graphs[name]?.file ?? `${name}.onnx`
      const measuredMimi = await runMimiAlone({
        dir,
        files: {latent_to_mimi: graphFile('latent_to_mimi'), mimi_decoder: graphFile('mimi_decoder')},
        states: model.mimiStates,
        dims: model.dims,
        threads: mimiThreads,
        frames: mimiFrames,
        callFrames: (call) => mimiCallFrames(call, mimiMaxFrames, model.dims.mimiInputDim),
        runs,
        seed,
        int8: int8Stages.mimi,
      })
      mimiAlone = mimiAloneBound({cost, measured: measuredMimi})
      mimiCalls = measuredMimi.calls.length
    }
    // the machine's limit: all physical cores streaming / multiplying, whatever the engine's own split; weight
    // streaming also at the sizes of the per-frame graphs (small ones read from the caches) and the cost of a call
    const probeThreads = defaultThreads()
    progress({phase: 'probe', message: `measuring memory bandwidth, matmul rate and call overhead (${probeThreads} thread(s))`})
    const graphSize = (name: string): number => manifest.graphs[name]?.size ?? 0
    probe = await probeMachine({
      threads: probeThreads,
      streamBytes: [graphSize('flow_lm_main'), graphSize('flow_lm_flow'), graphSize('mimi_decoder')],
      int8: Object.values(int8Stages).some(Boolean),
    })
    bound = performanceBound({
      cost,
      probe,
      summary,
      frameMs: (1000 * model.dims.frameSize) / model.dims.sampleRate,
      overlapped: useWorker,
      int8: int8Stages,
      calls: stageCalls({
        headCalls: stepWithHead ? 0 : cost.flowHead.weightBytes / Math.max(1, graphSize('flow_lm_flow')),
        mimiCalls,
        frames: mimiFrames,
      }),
    })
  }

  const report: BenchReport = {
    format: BENCH_FORMAT,
    createdAt: new Date().toISOString(),
    machine,
    model: {
      dir,
      generation: manifest.generation,
      int8: isInt8(manifest),
      graphBytes: Object.fromEntries(Object.entries(manifest.graphs).map(([name, g]) => [name, g.size])),
    },
    settings: {
      text: params.text,
      voice: voiceLabel,
      frames,
      runs,
      warmup,
      threads,
      mimiWorker: useWorker,
      stepWithHead,
      seed,
      temperature: gen.temperature,
      lsdDecodeSteps: gen.lsdDecodeSteps,
    },
    runs: measured,
    summary,
    peakRssMb,
    cost,
    probe,
    bound,
    mimiAlone,
    upstream,
    baseline: null,
  }
  return baseline === undefined
    ? report
    : {
        ...report,
        baseline: compareBaseline({
          current: report,
          baseline: baseline.report,
          file: baseline.file,
          maxRegressionPct: params.maxRegressionPct ?? 10,
        }),
      }
}

/** min/median/max of every per-run metric. */
export function summarizeRuns(runs: readonly BenchRun[]): BenchSummary {
  const stat = (pick: (r: BenchRun) => number) => summarize(runs.map(pick))
  return {
    realTimeFactor: stat((r) => r.realTimeFactor),
    speed: stat((r) => r.speed),
    timeToFirstAudioMs: stat((r) => r.timeToFirstAudioMs),
    msPerFrame: {
      wall: stat((r) => r.msPerFrame.wall),
      text: stat((r) => r.msPerFrame.text),
      flowLm: stat((r) => r.msPerFrame.flowLm),
      flowHead: stat((r) => r.msPerFrame.flowHead),
      mimi: stat((r) => r.msPerFrame.mimi),
    },
  }
}

/** Graph calls per frame as the engine makes them: one FlowLM call, the head's calls, two Mimi graphs per decode call. */
export function stageCalls(params: {readonly headCalls: number; readonly mimiCalls: number; readonly frames: number}): StageCalls {
  const perFrame = params.frames > 0 ? params.mimiCalls / params.frames : 1
  return {flowLm: 1, flowHead: params.headCalls, mimi: MIMI_GRAPHS_PER_DECODE * perFrame}
}

/** Whether the export's FlowLM graphs carry int8 weights (`model export --int8`). */
export function isInt8(manifest: Pick<ExportManifest, 'quantization'>): boolean {
  return manifest.quantization !== undefined && manifest.quantization !== null
}

/** Which stages' graphs `model export --int8` quantised (the manifest's quantization record). */
export function quantizedStages(manifest: Pick<ExportManifest, 'quantization'>): Record<keyof StageCalls, boolean> {
  const graphs = manifest.quantization?.graphs ?? {}
  return {flowLm: 'flow_lm_main' in graphs, flowHead: 'flow_lm_flow' in graphs, mimi: 'mimi_decoder' in graphs}
}

function positionsOf(manifest: ExportManifest, voicePath: string): number {
  const entry = manifest.voices.find((v) => basename(v.path) === basename(voicePath))
  return entry?.positions ?? manifest.capacities.max_prompt_positions
}

function findUpstreamModel(dir: string, manifest: ExportManifest, given: string | undefined): string {
  if (given !== undefined) return resolve(given)
  const guess = join(dirname(dir), manifest.source.folder)
  if (existsSync(join(guess, 'config.yaml'))) return guess
  throw new UsageError({
    code: 'UPSTREAM_MODEL_REQUIRED',
    message: `--against python needs the upstream-format folder the export was made from (looked for ${guess}).`,
    hint: 'Pass --upstream-model DIR (the folder given to `pockettts model export --from`).',
  })
}

async function readBaseline(file: string): Promise<{file: string; report: BenchReport}> {
  const path = resolve(file)
  let report: unknown
  try {
    report = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    throw new ConfigError({
      code: 'BASELINE_UNREADABLE',
      message: `The baseline ${path} could not be read as JSON: ${(error as Error).message}`,
      hint: 'Pass a file written by `pockettts bench --json`.',
      cause: error,
    })
  }
  const r = report as Partial<BenchReport> | null
  if (r === null || typeof r !== 'object' || r.format !== BENCH_FORMAT || typeof r.summary?.speed?.median !== 'number') {
    throw new ConfigError({
      code: 'BASELINE_INVALID',
      message: `${path} is not a ${BENCH_FORMAT} report.`,
      hint: 'Pass a file written by `pockettts bench --json > FILE`.',
    })
  }
  return {file: path, report: r as BenchReport}
}
