import {availableParallelism} from 'node:os'

/** How a knob's value is written: whole numbers only, or any decimal number. */
export type KnobKind = 'integer' | 'number'

/** The allowed values of one numeric setting, wherever it arrives from (flag, config file, environment, HTTP). */
export interface KnobRange {
  /** Where the value arrives: flags (commands), config keys, environment variables, HTTP fields, server options. */
  readonly where: string
  readonly kind: KnobKind
  readonly min: number
  /** When true, `min` itself is not allowed (e.g. a timeout of 0 s). */
  readonly exclusiveMin?: boolean
  /** Largest allowed value; `logical-cores` is the machine's logical core count (`os.availableParallelism()`). */
  readonly max: number | 'logical-cores'
  /** Unit, for messages and the docs table. */
  readonly unit?: string
  /** Why these bounds (the docs table prints it). */
  readonly why: string
}

/** 2^32 - 1: seeds are 32-bit. */
export const MAX_SEED = 2 ** 32 - 1

/**
 * The single source of truth of every numeric knob's range: the CLI flags (`src/cli/number-flags.ts`), the
 * config schema (`src/config/config-schema.ts`), the server options and the HTTP fields read these entries.
 * docs/limits-and-deployment.md prints the same table (a test keeps the two equal).
 */
export const KNOBS = {
  threads: {
    where: '`--threads` (synth, batch, serve, bench, parity); config `threads`; `POCKETTTS_THREADS`',
    kind: 'integer',
    min: 1,
    max: 'logical-cores',
    why: 'onnxruntime intra-op threads; more threads than logical cores only add contention and memory.',
  },
  temperature: {
    where: '`--temperature` (synth, batch, serve, golden dump); batch corpus `temperature`; HTTP `temperature` (/tts, /v1/audio/speech)',
    kind: 'number',
    min: 0,
    max: 5,
    why: 'Noise variance (upstream default 0.7); the noise std is its square root, far beyond 1 the audio is noise.',
  },
  lsdDecodeSteps: {
    where: '`--lsd-decode-steps` (synth, batch, serve, golden dump); batch corpus `lsdDecodeSteps`',
    kind: 'integer',
    min: 1,
    max: 64,
    why: 'Flow-head runs per latent (upstream default 1); each step costs one more flow-head run per frame.',
  },
  noiseClamp: {
    where: '`--noise-clamp` (synth, batch, golden dump); batch corpus `noiseClamp`',
    kind: 'number',
    min: 0,
    exclusiveMin: true,
    max: 100,
    why: 'Bound of the truncated-normal noise; beyond a few std it changes nothing.',
  },
  eosThreshold: {
    where: '`--eos-threshold` (synth, batch, serve, golden dump); batch corpus `eosThreshold`',
    kind: 'number',
    min: -1e9,
    max: 1e9,
    why: 'Raw EOS logit threshold (upstream default -4); far beyond the logits (e.g. 1e9) EOS never fires and each chunk runs to max_gen_len.',
  },
  framesAfterEos: {
    where: '`--frames-after-eos` (synth, batch, text, golden dump); batch corpus `framesAfterEos`',
    kind: 'integer',
    min: 0,
    max: 100,
    unit: 'frames',
    why: 'Frames kept after EOS (upstream guesses 3 or 5); 100 frames = 8 s.',
  },
  maxTokens: {
    where: '`--max-tokens` (synth, batch, text, golden dump); batch corpus `maxTokens`; server `generation.maxTokens`',
    kind: 'integer',
    min: 1,
    max: 500,
    unit: 'tokens',
    why: 'Tokens per text chunk (upstream default 50). max_gen_len = ceil((tokens/3 + 2) * 12.5): 2109 frames (169 s) per chunk at 500.',
  },
  seed: {
    where: '`--seed` (synth, batch, bench, golden dump, fixture make); batch corpus `seed`; HTTP `seed`',
    kind: 'integer',
    min: 0,
    max: MAX_SEED,
    why: 'Noise seed; seeds are 32-bit.',
  },
  maxTextChars: {
    where: '`synth --max-text-chars`, `batch --max-text-chars` (per corpus text)',
    kind: 'integer',
    min: 1,
    max: 1_000_000,
    unit: 'characters',
    why: 'Texts `synth` accepts (default 20000); 1 M characters is hours of audio.',
  },
  trailingSilence: {
    where: '`synth --trailing-silence`, `batch --trailing-silence`',
    kind: 'number',
    min: 0,
    max: 60,
    unit: 's',
    why: 'Silence appended to a file (upstream CLI: 0.2 s).',
  },
  pythonTimeout: {
    where: 'config `pythonTimeout`; `POCKETTTS_PYTHON_TIMEOUT`',
    kind: 'number',
    min: 0,
    exclusiveMin: true,
    max: 86_400,
    unit: 's',
    why: 'A Python job (export, goldens) may run this long (default 3600 s); at most a day.',
  },
  port: {where: '`serve --port`', kind: 'integer', min: 0, max: 65_535, why: 'TCP port; 0 picks a free one.'},
  workers: {
    where: '`serve --workers`; `createServer({workers})`',
    kind: 'integer',
    min: 1,
    max: 64,
    why: 'Generations at once (default 1); they share one model and the CPU, so more than the cores only slows each one.',
  },
  queue: {
    where: '`serve --queue`; `createServer({queue})`',
    kind: 'integer',
    min: 0,
    max: 1024,
    why: 'Requests waiting for a generation (default 16); beyond it 429 with Retry-After.',
  },
  requestTimeout: {
    where: '`serve --request-timeout`; `createServer({requestTimeoutMs})` / 1000',
    kind: 'number',
    min: 0,
    exclusiveMin: true,
    max: 3600,
    unit: 's',
    why: 'Time a request may take, queueing included (default 120 s).',
  },
  shutdownTimeout: {
    where: '`serve --shutdown-timeout`',
    kind: 'number',
    min: 0,
    max: 3600,
    unit: 's',
    why: 'Drain time on SIGINT/SIGTERM before in-flight requests are cancelled (default 30 s).',
  },
  serverTextChars: {
    where: '`serve --max-text-chars`; `createServer({maxTextChars})`',
    kind: 'integer',
    min: 1,
    max: 100_000,
    unit: 'characters',
    why: "Text per request (default 4096, OpenAI's limit).",
  },
  maxUploadMb: {
    where: '`serve --max-upload-mb`; `createServer({maxUploadBytes})` / 2^20',
    kind: 'number',
    min: 0,
    exclusiveMin: true,
    max: 256,
    unit: 'MiB',
    why: 'Largest voice_wav upload (default 16 MiB; 30 s of 48 kHz stereo float is 11 MiB).',
  },
  voiceCache: {
    where: '`serve --voice-cache`; `createServer({voiceCacheEntries})`',
    kind: 'integer',
    min: 0,
    max: 256,
    unit: 'entries',
    why: 'Voice states kept in memory (default 16); a full-size state is a few MB.',
  },
  concurrency: {where: '`model download --concurrency`', kind: 'integer', min: 1, max: 16, why: 'Files downloaded at once (default 4).'},
  retries: {
    where: '`model download --retries`',
    kind: 'integer',
    min: 0,
    max: 20,
    why: 'Retries of a failed request (default 4), with backoff.',
  },
  jobs: {
    where: '`batch --jobs`',
    kind: 'integer',
    min: 1,
    max: 'logical-cores',
    why: 'Worker processes of a batch, each loading the model once; more processes than logical cores only add contention and memory.',
  },
  queueAttempts: {
    where: '`batch --queue … --attempts`',
    kind: 'integer',
    min: 1,
    max: 100,
    why: 'Tries of a queued item before it is recorded as failed (default 3); a worker that dies does not use one up.',
  },
  queueBackoff: {
    where: '`batch --queue … --backoff`',
    kind: 'number',
    min: 0,
    max: 3600,
    unit: 's',
    why: 'Wait before the first retry of a queued item (default 5 s), doubled at each next retry.',
  },
  lockDuration: {
    where: '`worker --lock-duration`',
    kind: 'number',
    min: 1,
    max: 3600,
    unit: 's',
    why: "How long a worker's hold on a job lasts without renewal (default 30 s, renewed every half); a dead worker's job is taken over after it.",
  },
  stalledInterval: {
    where: '`worker --stalled-interval`',
    kind: 'number',
    min: 1,
    max: 3600,
    unit: 's',
    why: 'How often a worker looks for jobs whose holder stopped renewing (default 15 s).',
  },
  benchRuns: {where: '`bench --runs`', kind: 'integer', min: 1, max: 1000, why: 'Measured benchmark runs (default 3).'},
  benchWarmup: {where: '`bench --warmup`', kind: 'integer', min: 0, max: 100, why: 'Unmeasured benchmark runs (default 1).'},
  benchFrames: {
    where: '`bench --frames`',
    kind: 'integer',
    min: 1,
    max: 10_000,
    unit: 'frames',
    why: 'Fixed frames per chunk in benchmarks; 10000 frames = 800 s.',
  },
  maxRegression: {
    where: '`bench --max-regression`',
    kind: 'number',
    min: 0,
    max: 1_000_000,
    unit: '%',
    why: 'Allowed slowdown against a benchmark baseline (default 10 %).',
  },
} as const satisfies Record<string, KnobRange>

export type KnobName = keyof typeof KNOBS
export const knobNames = Object.keys(KNOBS) as KnobName[]

/** The largest allowed value of a knob on this machine. */
export function knobMax(name: KnobName): number {
  const max: KnobRange['max'] = KNOBS[name].max
  return max === 'logical-cores' ? availableParallelism() : max
}

/** The allowed range in words: `a whole number from 1 to 500`, `a number > 0 and <= 3600 (s)`. */
export function describeKnobRange(name: KnobName): string {
  const knob: KnobRange = KNOBS[name]
  const what = knob.kind === 'integer' ? 'a whole number' : 'a number'
  const max = knobMax(name)
  const cores = knob.max === 'logical-cores' ? ' (the logical cores of this machine)' : ''
  const unit = knob.unit === undefined ? '' : ` ${knob.unit}`
  return knob.exclusiveMin === true
    ? `${what} > ${knob.min} and <= ${max}${unit}${cores}`
    : `${what} from ${knob.min} to ${max}${unit}${cores}`
}

export type KnobCheck = {readonly ok: true; readonly value: number} | {readonly ok: false; readonly reason: string}

const INTEGER_TEXT = /^[+-]?\d+$/
const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/**
 * Checks one value of a knob. Text (flags, environment, form fields) must be plain decimal: no hex (`0x10`),
 * no `Infinity`, no blanks. Numbers (JSON, YAML) must be finite. The reason names the value and the range.
 */
export function checkKnob(name: KnobName, raw: unknown): KnobCheck {
  const knob: KnobRange = KNOBS[name]
  const expected = describeKnobRange(name)
  const fail = (): KnobCheck => ({ok: false, reason: `expected ${expected}, got ${JSON.stringify(raw) ?? String(raw)}`})
  let value: number
  if (typeof raw === 'string') {
    const text = raw.trim()
    if (!(knob.kind === 'integer' ? INTEGER_TEXT : DECIMAL_TEXT).test(text)) return fail()
    value = Number(text)
  } else if (typeof raw === 'number') {
    value = raw
  } else {
    return fail()
  }
  if (!Number.isFinite(value)) return fail()
  if (knob.kind === 'integer' && !Number.isSafeInteger(value)) return fail()
  if (knob.exclusiveMin === true ? value <= knob.min : value < knob.min) return fail()
  if (value > knobMax(name)) return fail()
  return {ok: true, value: Object.is(value, -0) ? 0 : value}
}

/** The range as the docs table prints it, machine-independent: `whole number, 1 to logical cores`. */
export function knobRangeCell(name: KnobName): string {
  const knob: KnobRange = KNOBS[name]
  const max = knob.max === 'logical-cores' ? 'logical cores' : String(knob.max)
  const min = knob.exclusiveMin === true ? `> ${knob.min}` : String(knob.min)
  return `${knob.kind === 'integer' ? 'whole number' : 'number'}, ${min} to ${max}${knob.unit === undefined ? '' : ` ${knob.unit}`}`
}

/** The docs table (docs/limits-and-deployment.md prints exactly these rows; `node scripts/print-knob-table.mjs` writes them). */
export function knobTableMarkdown(): string {
  const rows = knobNames.map((name) => `| \`${name}\` | ${KNOBS[name].where} | ${knobRangeCell(name)} | ${KNOBS[name].why} |`)
  return ['| Knob | Where it is set | Allowed | Why |', '| --- | --- | --- | --- |', ...rows].join('\n')
}
