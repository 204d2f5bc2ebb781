import type {GoldenManifest} from '../golden/index.js'
import type {CheckResult, ComparedWaveform, RunMode} from './check-recorder.js'
import {traceRunChecks, type TraceRunChecks} from './trace-series.js'
import {digestWaveform, type TraceWaveform} from './trace-waveform.js'

/** One chunk of a synthesis case, as the golden records it. */
export interface TraceChunkFacts {
  readonly text: string
  readonly nTokens: number | null
  readonly eosStep: number | null
  readonly steps: number | null
  readonly frames: number | null
}

/** What the report shows of a case: its settings and chunks (from the golden's manifest). */
export interface TraceCaseFacts {
  /** Label and value, in display order (text, seed, temperature, decode steps, …). */
  readonly settings: readonly (readonly [string, string])[]
  readonly chunks: readonly TraceChunkFacts[]
}

/** One run (case and mode) as the HTML report draws it. */
export interface TraceRun extends TraceRunChecks {
  readonly mode: RunMode
  /** The waveforms this run produced (the whole audio; per chunk when the whole audio was not compared). */
  readonly actual: readonly TraceWaveform[]
}

export interface TraceCase {
  readonly name: string
  readonly kind: 'synthesis' | 'voice'
  readonly dir: string
  readonly facts: TraceCaseFacts
  /** The golden's waveforms (once per case: every mode compares with the same golden). */
  readonly expected: readonly TraceWaveform[]
  readonly runs: readonly TraceRun[]
}

export interface ParityTraceOptions {
  /** Longest audio embedded per player, in seconds. @default 60 */
  readonly maxAudioSeconds?: number
  /** Points kept per plotted series. @default 1500 */
  readonly maxPoints?: number
}

/** Waveforms kept per run when only chunks are compared (a case with many chunks shows the first ones). */
const MAX_CHUNK_WAVEFORMS = 8

interface OpenCase {
  readonly name: string
  readonly kind: 'synthesis' | 'voice'
  readonly dir: string
  readonly facts: TraceCaseFacts
  readonly expected: TraceWaveform[]
  readonly runs: TraceRun[]
  /** Waveforms of the run under way. */
  pending: TraceWaveform[]
}

/**
 * What `pockettts parity --html` draws, collected while parity runs: per run the checks by step and frame (not
 * the tensors), and both sides of the compared audio reduced to an envelope and a bounded WAV as soon as they
 * are compared, so a long run keeps little.
 */
export class ParityTrace {
  private readonly list: OpenCase[] = []

  constructor(private readonly options: ParityTraceOptions = {}) {}

  get cases(): readonly TraceCase[] {
    return this.list.map(({pending: _pending, ...c}) => c)
  }

  /** Starts a case (its runs follow). */
  openCase(p: {
    readonly name: string
    readonly kind: 'synthesis' | 'voice'
    readonly dir: string
    readonly manifest: GoldenManifest
  }): void {
    this.list.push({name: p.name, kind: p.kind, dir: p.dir, facts: caseFacts(p.manifest), expected: [], runs: [], pending: []})
  }

  /** The sink for a CheckRecorder's `onWaveform` in the current case's run. */
  waveformSink(sampleRate: number): (w: ComparedWaveform) => void {
    return (w) => {
      const c = this.current()
      const whole = w.location.whole === true || w.check === 'voice.audio'
      const digest = (samples: ArrayLike<number>): TraceWaveform =>
        digestWaveform({
          tensor: w.tensor,
          samples,
          sampleRate,
          ...(this.options.maxAudioSeconds === undefined ? {} : {maxSeconds: this.options.maxAudioSeconds}),
        })
      const isChunk = (x: TraceWaveform): boolean => /^chunk\d+\./.test(x.tensor)
      if (whole) {
        c.pending = [digest(w.actual)]
        if (!c.expected.some((e) => e.tensor === w.tensor)) {
          const kept = c.expected.filter((e) => !isChunk(e))
          c.expected.splice(0, c.expected.length, ...kept, digest(w.golden))
        }
        return
      }
      // a chunk's audio: kept until the whole audio of the case is compared
      if (c.pending.some((x) => !isChunk(x) || x.tensor === w.tensor) || c.pending.length >= MAX_CHUNK_WAVEFORMS) return
      c.pending.push(digest(w.actual))
      if (c.expected.every((e) => isChunk(e) && e.tensor !== w.tensor)) c.expected.push(digest(w.golden))
    }
  }

  /** Ends a run of the current case with the checks its recorder holds. */
  addRun(mode: RunMode, results: readonly CheckResult[]): void {
    const c = this.current()
    const checks = traceRunChecks({results, ...(this.options.maxPoints === undefined ? {} : {maxPoints: this.options.maxPoints})})
    c.runs.push({mode, ...checks, actual: c.pending})
    c.pending = []
  }

  private current(): OpenCase {
    const c = this.list[this.list.length - 1]
    if (c === undefined) throw new Error('ParityTrace: openCase first')
    return c
  }
}

/** The settings and chunks of a golden case. */
export function caseFacts(manifest: GoldenManifest): TraceCaseFacts {
  const settings: [string, string][] = []
  const show = (value: unknown): string =>
    value === undefined ? '' : value === null ? 'none' : typeof value === 'string' ? value : JSON.stringify(value)
  const c = manifest.case
  if (manifest.kind === 'voice') {
    settings.push(['kind', 'voice (prompt → Mimi encoder → voice state)'])
    for (const key of ['prompt', 'truncate_seconds', 'voice_state'])
      if (manifest[key] !== undefined) settings.push([key.replace(/_/g, ' '), show(manifest[key])])
  }
  if (c !== undefined) {
    settings.push(['text', c.text])
    const labels: readonly (readonly [string, string])[] = [
      ['seed', 'seed'],
      ['temperature', 'temperature'],
      ['lsd_decode_steps', 'LSD decode steps'],
      ['noise_clamp', 'noise clamp'],
      ['eos_threshold', 'EOS threshold'],
      ['frames_after_eos', 'frames after EOS'],
      ['max_tokens', 'max tokens per chunk'],
      ['voice', 'voice'],
    ]
    for (const [key, label] of labels) if (c[key] !== undefined) settings.push([label, show(c[key])])
  }
  const chunks = (manifest.chunks ?? []).map((ch): TraceChunkFacts => ({
    text: ch.text,
    nTokens: ch.n_tokens ?? null,
    eosStep: ch.eos_step ?? null,
    steps: ch.steps ?? null,
    frames: ch.frames ?? null,
  }))
  if (chunks.length > 0) {
    settings.push(['chunks', String(chunks.length)])
    settings.push(['EOS steps', chunks.map((ch) => (ch.eosStep === null ? 'none' : String(ch.eosStep))).join(', ')])
    settings.push(['AR steps', chunks.map((ch) => String(ch.steps ?? '?')).join(', ')])
    settings.push(['frames', chunks.map((ch) => String(ch.frames ?? '?')).join(', ')])
  }
  const source = manifest.source
  if (source !== undefined && Object.keys(source).length > 0)
    settings.push([
      'recorded by',
      Object.entries(source)
        .map(([k, v]) => `${k} ${show(v)}`)
        .join(', '),
    ])
  return {settings, chunks}
}
