import {readFile} from 'node:fs/promises'
import {parse as parseYaml} from 'yaml'
import {ConfigError, UsageError} from '../errors/index.js'
import {CHECK_NAMES, DEFAULT_TOLERANCES, isCheckName, type CheckName, type Tolerance, type ToleranceTable} from './default-tolerances.js'

export interface LoadTolerancesParams {
  /** A JSON or YAML file: `{<check>: {atol?, rtol?, minSnrDb?, minCosine?}}`; absent = the defaults. */
  readonly file?: string
}

const FIELDS = ['atol', 'rtol', 'minSnrDb', 'minCosine'] as const
const NULLABLE = new Set<string>(['atol', 'minSnrDb', 'minCosine'])

/** The default tolerance table with the overrides of `file` applied (unknown checks or fields are errors). */
export async function loadTolerances(params: LoadTolerancesParams): Promise<ToleranceTable> {
  const table = Object.fromEntries(CHECK_NAMES.map((name) => [name, toTolerance(DEFAULT_TOLERANCES[name])])) as Record<CheckName, Tolerance>
  if (params.file === undefined) return table
  const file = params.file
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new UsageError({
      code: 'TOLERANCES_NOT_FOUND',
      message: `Cannot read the tolerance file ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`,
      hint: 'Pass an existing JSON or YAML file to --tolerances.',
      details: {file},
    })
  })
  const bad = (why: string): ConfigError =>
    new ConfigError({
      code: 'TOLERANCES_INVALID',
      message: `${file}: ${why}.`,
      hint: `Write {"<check>": {"atol": 1e-4, "rtol": 1e-3}}; checks: ${CHECK_NAMES.join(', ')}; fields: ${FIELDS.join(', ')}.`,
      details: {file},
    })
  let raw: unknown
  try {
    raw = parseYaml(text) // YAML is a superset of JSON
  } catch (error) {
    throw bad(`not JSON or YAML (${(error as Error).message.split('\n')[0]})`)
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('the top level must be a mapping of check names')
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!isCheckName(name)) throw bad(`unknown check "${name}"`)
    const base = table[name]
    if (base.exact === true) throw bad(`"${name}" is compared exactly (integers, strings, counts); it has no tolerance`)
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw bad(`"${name}" must map to {atol, rtol, minSnrDb, minCosine}`)
    const next: Record<string, number | null> = {atol: base.atol, rtol: base.rtol, minSnrDb: base.minSnrDb, minCosine: base.minCosine}
    for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
      if (!(FIELDS as readonly string[]).includes(field)) throw bad(`"${name}.${field}" is not a tolerance field`)
      if (v === null && NULLABLE.has(field)) next[field] = null
      else if (typeof v === 'number' && Number.isFinite(v) && (v >= 0 || field === 'minSnrDb')) next[field] = v
      else
        throw bad(
          `"${name}.${field}" must be a number${field === 'minSnrDb' ? '' : ' >= 0'}${NULLABLE.has(field) ? ' or null' : ''} (got ${JSON.stringify(v)})`,
        )
    }
    const tolerance = next as unknown as Tolerance
    if (tolerance.atol === null && tolerance.minSnrDb === null && tolerance.minCosine === null)
      throw bad(`"${name}" would check nothing: set atol, minSnrDb or minCosine`)
    table[name] = tolerance
  }
  return table
}

function toTolerance(entry: Tolerance): Tolerance {
  return {
    ...(entry.exact === true ? {exact: true} : {}),
    atol: entry.atol,
    rtol: entry.rtol,
    minSnrDb: entry.minSnrDb,
    minCosine: entry.minCosine,
  }
}

/** A tolerance in words: `atol 1e-4, rtol 1e-3` (|actual − golden| ≤ atol + rtol·|golden|), `bit-exact`, `exact`. */
export function describeTolerance(t: Tolerance): string {
  if (t.exact === true) return 'exact'
  const parts: string[] = []
  if (t.atol !== null)
    parts.push(
      t.atol === 0 && t.rtol === 0
        ? 'bit-exact'
        : t.rtol === 0
          ? `atol ${formatNumber(t.atol)}`
          : `atol ${formatNumber(t.atol)}, rtol ${formatNumber(t.rtol)}`,
    )
  if (t.minSnrDb !== null) parts.push(`SNR >= ${t.minSnrDb} dB`)
  if (t.minCosine !== null) parts.push(`cosine >= ${t.minCosine}`)
  return parts.join(', ')
}

function formatNumber(n: number): string {
  return n !== 0 && Math.abs(n) < 1e-2 ? n.toExponential() : String(n)
}
