import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {AUDIO_FORMATS, type AudioFormat} from '../audio/index.js'
import type {GenerationParams} from '../engine/generation-params.js'
import {UsageError} from '../errors/index.js'
import {confinedPathProblem} from '../fs/confined-path.js'
import {checkKnob, type KnobName} from '../limits/knob-ranges.js'
import {outputFileName, type BatchItem} from './batch-item.js'

/** The settings of items whose line does not set them (the command's flags). */
export interface CorpusDefaults {
  readonly voice?: string
  /** Undefined: each item's seed is derived from its id (stable across runs). */
  readonly seed?: number
  readonly params: GenerationParams
  readonly format: AudioFormat
  readonly trailingSilence: number
  /** Longest text accepted per item. */
  readonly maxTextChars: number
}

export interface ReadCorpusParams {
  readonly path: string
  readonly defaults: CorpusDefaults
}

/** One problem of one corpus line. */
export interface CorpusProblem {
  readonly line: number
  readonly code: string
  readonly message: string
}

/** Numeric fields of a corpus line and the knob that bounds each. */
const NUMERIC_FIELDS = {
  seed: 'seed',
  temperature: 'temperature',
  lsdDecodeSteps: 'lsdDecodeSteps',
  noiseClamp: 'noiseClamp',
  eosThreshold: 'eosThreshold',
  framesAfterEos: 'framesAfterEos',
  maxTokens: 'maxTokens',
  trailingSilence: 'trailingSilence',
} as const satisfies Record<string, KnobName>

type NumericField = keyof typeof NUMERIC_FIELDS

/** Every field a corpus line may carry. */
export const CORPUS_FIELDS = ['id', 'text', 'voice', 'format', ...(Object.keys(NUMERIC_FIELDS) as NumericField[])] as const

/** Item ids become file names: letters, digits, `.`, `_`, `-`; starting with a letter or digit; at most 128. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Why an id cannot name an output file, or undefined when it can. */
export function unsafeIdProblem(id: string): string | undefined {
  if (!SAFE_ID.test(id)) return 'ids name the output files: use 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit'
  if (id.endsWith('.')) return 'an id may not end with "."'
  return confinedPathProblem(id)
}

/** The seed of an item without one: the first 32 bits of sha256 of its id, so a rerun draws the same noise. */
export function seedFromId(id: string): number {
  return createHash('sha256').update(`pockettts-batch:${id}`).digest().readUInt32BE(0)
}

/**
 * Reads a JSONL corpus (one JSON object per line; blank lines ignored) and checks every line before any work:
 * valid JSON, `id` and `text` present, known fields only, numbers in their knob's range, ids usable as file
 * names and unique (case-insensitively, for case-insensitive file systems). Every problem is collected; the
 * UsageError thrown carries the first one's code, names its line and lists the others in `details.problems`.
 */
export async function readCorpus(params: ReadCorpusParams): Promise<BatchItem[]> {
  let content: string
  try {
    content = await readFile(params.path, 'utf8')
  } catch (error) {
    throw new UsageError({
      code: 'CORPUS_NOT_FOUND',
      message: `Cannot read the corpus ${params.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
      hint: 'Pass a JSONL file: one {"id": ..., "text": ...} object per line.',
      cause: error,
    })
  }
  const problems: CorpusProblem[] = []
  const items: BatchItem[] = []
  const seen = new Map<string, number>()
  const lines = content.split(/\r?\n/)
  lines.forEach((raw, index) => {
    const line = index + 1
    if (raw.trim() === '') return
    const item = parseLine(raw, line, params.defaults, problems)
    if (item === undefined) return
    const key = item.id.toLowerCase()
    const first = seen.get(key)
    if (first !== undefined) {
      problems.push({line, code: 'CORPUS_DUPLICATE_ID', message: `id "${item.id}" is already used on line ${first}`})
      return
    }
    seen.set(key, line)
    items.push(item)
  })
  if (problems.length > 0) throw corpusError(params.path, problems)
  if (items.length === 0) {
    throw new UsageError({
      code: 'CORPUS_EMPTY',
      message: `The corpus ${params.path} has no item.`,
      hint: 'Write one {"id": ..., "text": ...} object per line.',
    })
  }
  return items
}

function parseLine(raw: string, line: number, defaults: CorpusDefaults, problems: CorpusProblem[]): BatchItem | undefined {
  const problem = (code: string, message: string): undefined => {
    problems.push({line, code, message})
    return undefined
  }
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (error) {
    return problem('CORPUS_INVALID_JSON', `not valid JSON (${(error as Error).message})`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return problem('CORPUS_INVALID_JSON', 'expected a JSON object {"id": ..., "text": ...}')
  const fields = value as Record<string, unknown>
  const unknown = Object.keys(fields).filter((k) => !(CORPUS_FIELDS as readonly string[]).includes(k))
  if (unknown.length > 0)
    return problem(
      'CORPUS_UNKNOWN_FIELD',
      `unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${CORPUS_FIELDS.join(', ')}`,
    )
  const {id, text, voice, format} = fields
  if (id === undefined) return problem('CORPUS_MISSING_FIELD', 'no "id"')
  if (typeof id !== 'string') return problem('CORPUS_INVALID_FIELD', `"id" must be a string, got ${JSON.stringify(id)}`)
  const idProblem = unsafeIdProblem(id)
  if (idProblem !== undefined) return problem('CORPUS_UNSAFE_ID', `id ${JSON.stringify(id)} is not a safe file name: ${idProblem}`)
  if (text === undefined) return problem('CORPUS_MISSING_FIELD', `no "text" (id "${id}")`)
  if (typeof text !== 'string' || text.trim() === '')
    return problem('CORPUS_INVALID_FIELD', `"text" of id "${id}" must be a non-blank string`)
  if (text.length > defaults.maxTextChars)
    return problem(
      'CORPUS_INVALID_FIELD',
      `"text" of id "${id}" has ${text.length} characters, over --max-text-chars ${defaults.maxTextChars}`,
    )
  if (voice !== undefined && (typeof voice !== 'string' || voice === ''))
    return problem('CORPUS_INVALID_FIELD', `"voice" of id "${id}" must be a non-empty string`)
  if (format !== undefined && !(AUDIO_FORMATS as readonly unknown[]).includes(format))
    return problem(
      'CORPUS_INVALID_FIELD',
      `"format" of id "${id}" must be one of ${AUDIO_FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
    )
  const numbers: Partial<Record<NumericField, number>> = {}
  for (const [field, knob] of Object.entries(NUMERIC_FIELDS) as [NumericField, KnobName][]) {
    if (fields[field] === undefined) continue
    const check = checkKnob(knob, fields[field])
    if (!check.ok) return problem('CORPUS_INVALID_FIELD', `"${field}" of id "${id}": ${check.reason}`)
    numbers[field] = check.value
  }
  const chosenFormat = (format as AudioFormat | undefined) ?? defaults.format
  const chosenVoice = (voice as string | undefined) ?? defaults.voice
  return {
    id,
    text,
    line,
    file: outputFileName(id, chosenFormat),
    ...(chosenVoice === undefined ? {} : {voice: chosenVoice}),
    seed: numbers.seed ?? defaults.seed ?? seedFromId(id),
    params: {
      temperature: numbers.temperature ?? defaults.params.temperature,
      lsdDecodeSteps: numbers.lsdDecodeSteps ?? defaults.params.lsdDecodeSteps,
      noiseClamp: numbers.noiseClamp ?? defaults.params.noiseClamp,
      eosThreshold: numbers.eosThreshold ?? defaults.params.eosThreshold,
      framesAfterEos: numbers.framesAfterEos ?? defaults.params.framesAfterEos,
      maxTokens: numbers.maxTokens ?? defaults.params.maxTokens,
    },
    format: chosenFormat,
    trailingSilence: numbers.trailingSilence ?? defaults.trailingSilence,
  }
}

function corpusError(path: string, problems: readonly CorpusProblem[]): UsageError {
  const [first] = problems
  const more =
    problems.length > 1
      ? ` (and ${problems.length - 1} more problem(s): lines ${problems
          .slice(1, 11)
          .map((p) => p.line)
          .join(', ')}${problems.length > 11 ? ', …' : ''})`
      : ''
  return new UsageError({
    code: first?.code ?? 'CORPUS_INVALID',
    message: `${path} line ${first?.line}: ${first?.message}${more}.`,
    hint: 'Fix the corpus: one JSON object per line with a unique safe "id" and a "text"; nothing was synthesised or written.',
    details: {corpus: path, problems: problems.slice(0, 100)},
  })
}
