import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {loadEngineModel, type EngineModel} from '../engine/engine-model.js'
import {UsageError} from '../errors/index.js'
import {CheckRecorder, type RunMode} from './check-recorder.js'
import {compareSynthesisRuns} from './compare-synthesis-runs.js'
import {CHECK_NAMES, DRIFT_FLOOR, type CheckName, type ToleranceTable} from './default-tolerances.js'
import {absentTensors, assertSameUpstream, openGoldenCases, unknownTensors, type ParityCase} from './golden-cases.js'
import {findNumericsChange, recordedUpstream, type NumericsChange} from '../upstream/index.js'
import {loadCaseVoice} from './load-case-voice.js'
import {describeTolerance, loadTolerances} from './load-tolerances.js'
import type {MemoryGolden} from './memory-golden.js'
import {
  aggregateStages,
  firstDivergence,
  firstDrift,
  MODE_LABEL,
  type CrossRelease,
  type ParityCaseReport,
  type ParityModeOption,
  type ParityReport,
  type ParityRun,
} from './parity-report.js'
import {engineRuntime, type ParityRuntime} from './parity-runtime.js'
import {PARITY_COMPONENTS, stagesOf, type ParityComponent} from './parity-stages.js'
import type {ParityTrace} from './parity-trace.js'
import {summarizeRun} from './summarize-run.js'
import {compareVoiceRuns, goldenVoiceState} from './voice-parity.js'
import {writeGoldenDump} from './write-golden-dump.js'

/** How far a parity run is (stage `parity`, the case and mode being run), for a progress display. */
export interface ParityProgress {
  readonly stage: string
  readonly message?: string
  readonly done?: number
  readonly total?: number
}

export interface RunParityParams {
  /** The exported model folder (needed unless `against` is given). */
  readonly model?: string
  /** Golden case folders, or folders of cases. */
  readonly goldens: readonly string[]
  /** Compare `goldens` with these dumps instead of running the engine (paired by case name). */
  readonly against?: readonly string[]
  /** @default 'teacher' */
  readonly mode?: ParityModeOption
  /** @default every component */
  readonly components?: readonly ParityComponent[]
  /** The tolerance table (see loadTolerances). @default the defaults */
  readonly tolerances?: ToleranceTable
  /** Write this runtime's free-running tensors here, one golden case per case. */
  readonly dump?: string
  readonly threads?: number
  /** Keep every check in the report (per-step rows). */
  readonly details?: boolean
  readonly signal?: AbortSignal
  readonly onProgress?: (update: ParityProgress) => void
  /** The runtime under test (see ParityRuntime). @default engineRuntime, this package's engine */
  readonly runtime?: ParityRuntime
  /** Collects what the HTML report draws (per-step checks, compared audio) as the runs go. */
  readonly trace?: ParityTrace
  /**
   * Allow goldens of another upstream release than the export's (refused otherwise, GOLDEN_UPSTREAM_MISMATCH): a
   * release-drift report, whose first divergence is the first stage where the releases differ. @default false
   */
  readonly crossRelease?: boolean
}

/**
 * Stage-by-stage parity of this runtime with goldens (or of two dumps): teacher-forced first (every block fed
 * the golden's inputs), then free-running (the engine alone, noise replayed); the first divergence in
 * data-flow order is named.
 */
export async function runParity(params: RunParityParams): Promise<ParityReport> {
  const start = performance.now()
  const components = params.components ?? PARITY_COMPONENTS
  const selected = stagesOf(components)
  const tolerances = params.tolerances ?? (await loadTolerances({}))
  const against = params.against !== undefined && params.against.length > 0
  if (against && params.dump !== undefined) {
    throw new UsageError({
      code: 'USAGE',
      message: "--dump writes this runtime's tensors; with --against no runtime runs.",
      hint: 'Drop --dump, or drop --against and pass --model.',
    })
  }
  if (against && params.model !== undefined) {
    throw new UsageError({
      code: 'USAGE',
      message: '--against compares two dumps; no model runs, so --model would be ignored.',
      hint: 'Drop --model, or drop --against to check the model against the goldens.',
    })
  }
  if (!against && params.model === undefined) {
    throw new UsageError({
      code: 'PARITY_MODEL_REQUIRED',
      message: 'No model to check.',
      hint: 'Pass --model ONNX_DIR (an export of `pockettts model export`), or compare two dumps with --against DIR.',
    })
  }
  const cases = await openGoldenCases({dirs: params.goldens})
  const partners = against ? pairCases(cases, await openGoldenCases({dirs: params.against ?? []})) : undefined
  const modes: RunMode[] = against
    ? ['against']
    : params.mode === 'free'
      ? ['free']
      : params.mode === 'both'
        ? ['teacher', 'free']
        : ['teacher']

  let model: EngineModel | undefined
  let cross: CrossRelease | null = null
  if (!against) {
    const dir = resolve(params.model ?? '')
    if (!existsSync(join(dir, 'manifest.json'))) {
      throw new UsageError({
        code: 'PARITY_MODEL_NOT_FOUND',
        message: `${params.model} is not an exported model folder (no manifest.json).`,
        hint: 'Export one with `pockettts model export --from MODEL_DIR --out ONNX_DIR`.',
        details: {model: params.model},
      })
    }
    const upstream = recordedUpstream(dir)
    if (params.crossRelease === true) cross = crossReleases(cases, upstream)
    else assertSameUpstream(cases, {dir, upstream})
    model = await loadEngineModel({dir, ...(params.threads === undefined ? {} : {threads: params.threads})})
  }
  const reports: ParityCaseReport[] = []
  const dumped: string[] = []
  const {trace} = params
  const sampleRate = model?.dims.sampleRate ?? DEFAULT_SAMPLE_RATE
  try {
    for (const [index, c] of cases.entries()) {
      const runs: ParityRun[] = []
      trace?.openCase({name: c.name, kind: c.kind, dir: c.golden.dir, manifest: c.golden.manifest})
      const runOne = async (mode: RunMode, body: (rec: CheckRecorder) => Promise<void>): Promise<void> => {
        params.onProgress?.({stage: 'parity', message: `${c.name} (${MODE_LABEL[mode]})`, done: index, total: cases.length})
        const t0 = performance.now()
        const rec = new CheckRecorder({
          mode,
          tolerances,
          stages: selected,
          ...(trace === undefined ? {} : {onWaveform: trace.waveformSink(sampleRate)}),
        })
        await body(rec)
        trace?.addRun(mode, rec.results)
        runs.push({
          ...summarizeRun({
            mode,
            results: rec.results,
            skipped: rec.skipped,
            selected,
            ...(params.details === true ? {details: true} : {}),
            ...(cross === null ? {} : {driftFloor: DRIFT_FLOOR.floor}),
          }),
          durationMs: performance.now() - t0,
        })
      }
      const partner = partners?.get(c)
      if (partner !== undefined) {
        await runOne('against', (rec) => compareCases(c, partner, rec))
      } else if (model !== undefined) {
        const m = model
        const runtime = params.runtime ?? engineRuntime
        // the free run is timed with its comparison; with --dump alone it runs untimed, for the dump
        let free: MemoryGolden | undefined
        const runFree = async (): Promise<MemoryGolden> => {
          if (c.kind === 'voice') return runtime.freeVoice({model: m, golden: c.golden})
          const voice = await loadCaseVoice({model: m, golden: c.golden})
          return runtime.freeSynthesis({model: m, golden: c.golden, voice: voice.kv, voiceFile: voice.file, ...signal(params)})
        }
        if (c.kind === 'voice') {
          if (modes.includes('teacher')) await runOne('teacher', (rec) => runtime.teacherVoice({model: m, golden: c.golden, recorder: rec}))
          if (modes.includes('free') && selected.has('voice')) {
            await runOne('free', async (rec) => {
              const actual = await runFree()
              free = actual
              await compareVoiceRuns({
                reference: c.golden,
                actual,
                recorder: rec,
                referenceState: () => goldenVoiceState(c.golden, m.dir),
                actualState: () => goldenVoiceState(actual),
              })
            })
          }
        } else {
          if (modes.includes('teacher')) {
            const voice = await loadCaseVoice({model: m, golden: c.golden})
            await runOne('teacher', (rec) =>
              runtime.teacherSynthesis({model: m, golden: c.golden, voice: voice.kv, recorder: rec, ...signal(params)}),
            )
          }
          if (modes.includes('free')) {
            await runOne('free', async (rec) => {
              const actual = await runFree()
              free = actual
              await compareSynthesisRuns({reference: c.golden, actual, recorder: rec, scope: 'free', frameSize: m.dims.frameSize})
            })
          }
        }
        if (params.dump !== undefined) dumped.push(await dump(params.dump, c, free ?? (await runFree())))
      }
      reports.push({
        name: c.name,
        dir: c.golden.dir,
        against: partner?.golden.dir ?? null,
        kind: c.kind,
        ok: runs.every((r) => r.ok),
        unknownTensors: [
          ...unknownTensors(c),
          ...(partner === undefined ? [] : unknownTensors(partner).map((t) => `${t} (in ${partner.golden.dir})`)),
        ],
        absentTensors: absentTensors(c),
        runs,
      })
    }
  } finally {
    await model?.release()
  }
  params.onProgress?.({stage: 'parity', message: 'done', done: cases.length, total: cases.length})

  const checks = reports.reduce((n, r) => n + r.runs.reduce((m, run) => m + run.checks, 0), 0)
  if (checks === 0) {
    throw new UsageError({
      code: 'PARITY_NOTHING_COMPARED',
      message: `Nothing was compared: the selected components (${components.join(', ')}) have no checks in these goldens.`,
      hint: 'Select components the goldens hold (e.g. --component voice needs a voice case), or pass other goldens.',
    })
  }
  const failed = reports.reduce((n, r) => n + r.runs.reduce((m, run) => m + run.failed, 0), 0)
  const first = firstDivergence(reports)
  const drift = cross === null ? null : firstDrift(reports, DRIFT_FLOOR.floor)
  const cause =
    cross === null || drift === null
      ? null
      : findNumericsChange({releases: [cross.model, ...cross.goldens], stage: drift.stage, check: drift.check})
  const runCount = reports.reduce((n, r) => n + r.runs.length, 0)
  const stages = aggregateStages(reports)
  const absentStages = stages.filter((s) => s.checks === 0 && selected.has(s.stage) && !isVoiceOnly(s.stage, reports)).map((s) => s.stage)
  const plain =
    first === null
      ? `No divergence: ${reports.length} case(s), ${runCount} run(s), ${checks} checks within tolerance.`
      : first.line + (failed > 1 ? ` (${failed} failing checks in ${reports.filter((r) => !r.ok).length} case(s))` : '')
  const summary =
    cross === null
      ? plain
      : `Release drift (${cross.model ?? 'unknown'} export vs ${cross.goldens.join(', ')} golden): ${
          first === null
            ? 'none, the releases agree within tolerance'
            : `the releases first differ at ${plain.replace(/^First divergence: /, '')}`
        }; ${drift === null ? `no difference above ${DRIFT_FLOOR.floor.toExponential()}` : `${drift.line}; ${driftCauseLine(cause)}`}`
  return {
    ok: first === null,
    summary,
    firstDivergence: first,
    firstDrift: drift,
    driftCause: cause,
    model: model?.dir ?? null,
    crossRelease: cross,
    mode: against ? 'against' : (params.mode ?? 'teacher'),
    components: [...components],
    tolerances: Object.fromEntries(CHECK_NAMES.map((n) => [n, describeTolerance(tolerances[n])])) as Record<CheckName, string>,
    stages,
    absentStages,
    cases: reports,
    checks,
    failed,
    dump: params.dump === undefined ? null : {dir: resolve(params.dump), cases: dumped},
    durationMs: performance.now() - start,
  }
}

/** What the release-drift summary says of the first drift's cause. */
function driftCauseLine(cause: NumericsChange | null): string {
  return cause === null
    ? 'no known change of upstream numerics starts there (contracts/upstreams.json numericsChanges): a new one to look for'
    : `it is where upstream ${cause.release}'s known change starts: ${cause.change}`
}

/** The releases of a --cross-release run: the export's and the goldens' (each once). */
function crossReleases(cases: readonly ParityCase[], model: string | undefined): CrossRelease {
  const goldens = cases.map((c) => c.golden.manifest.source['upstream'] ?? c.golden.manifest.source['version'])
  return {model: model ?? null, goldens: [...new Set(goldens.map((g) => (typeof g === 'string' ? g : 'unknown')))]}
}

/** The voice stage is only ever compared on voice cases: without one it is not "absent" from the goldens. */
function isVoiceOnly(stage: string, reports: readonly ParityCaseReport[]): boolean {
  return stage === 'voice' && reports.every((r) => r.kind !== 'voice')
}

/** Pocket TTS's sample rate, for dumps compared without a model (--against). */
const DEFAULT_SAMPLE_RATE = 24000

function signal(params: RunParityParams): {signal?: AbortSignal} {
  return params.signal === undefined ? {} : {signal: params.signal}
}

async function dump(root: string, c: ParityCase, golden: MemoryGolden): Promise<string> {
  const dir = join(resolve(root), c.name.replace(/[\\/]+/g, '_'))
  await writeGoldenDump({dir, golden})
  return dir
}

async function compareCases(c: ParityCase, partner: ParityCase, rec: CheckRecorder): Promise<void> {
  if (c.kind !== partner.kind) {
    rec.exact({
      stage: c.kind === 'voice' ? 'voice' : 'text',
      check: 'text.chunks',
      tensor: 'manifest.kind',
      location: {},
      actual: partner.kind,
      golden: c.kind,
    })
    return
  }
  if (c.kind === 'voice') {
    await compareVoiceRuns({
      reference: c.golden,
      actual: partner.golden,
      recorder: rec,
      referenceState: () => goldenVoiceState(c.golden),
      actualState: () => goldenVoiceState(partner.golden),
    })
    return
  }
  await compareSynthesisRuns({reference: c.golden, actual: partner.golden, recorder: rec, scope: 'against'})
}

/** Pairs golden cases with --against cases by name (one of each: paired whatever the names). */
function pairCases(cases: readonly ParityCase[], others: readonly ParityCase[]): Map<ParityCase, ParityCase> {
  const pairs = new Map<ParityCase, ParityCase>()
  if (cases.length === 1 && others.length === 1) {
    pairs.set(cases[0]!, others[0]!)
    return pairs
  }
  for (const c of cases) {
    const other = others.find((o) => o.name === c.name)
    if (other === undefined) {
      throw new UsageError({
        code: 'PARITY_CASE_UNPAIRED',
        message: `The golden case ${c.name} has no case of the same name under --against (${others.map((o) => o.name).join(', ') || 'none'}).`,
        hint: 'Pass folders of cases with the same names to --golden and --against (e.g. two --dump folders).',
        details: {case: c.name},
      })
    }
    pairs.set(c, other)
  }
  return pairs
}
