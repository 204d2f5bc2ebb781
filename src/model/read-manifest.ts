import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {ModelError} from '../errors/index.js'
import {resolveConfinedPaths} from '../fs/confined-path.js'
import {
  GRAPH_NAMES,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  type ExportManifest,
  type GraphEntry,
  type TensorContract,
} from './manifest-types.js'

export interface ReadManifestParams {
  /** The exported model folder. */
  readonly dir: string
  /**
   * Throw on any problem, also inside one graph's entry (what a runtime wants).
   * @default true
   */
  readonly strict?: boolean
}

export interface ReadManifestResult {
  readonly manifest: ExportManifest
  /** Graph name -> what is wrong with its entry (only when not strict; empty when all is well). */
  readonly graphProblems: Readonly<Record<string, readonly string[]>>
}

const HINT = 'Export the model again (pockettts model export), or restore manifest.json from the export.'

/** Reads and validates `manifest.json`; the whole file must be sound, and each graph entry is checked on its own. */
export async function readManifest(params: ReadManifestParams): Promise<ReadManifestResult> {
  const path = join(params.dir, MANIFEST_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ModelError({
      code: 'MANIFEST_MISSING',
      message: `No readable ${MANIFEST_FILE} in ${params.dir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}).`,
      hint: 'Pass a folder written by `pockettts model export`.',
      details: {path},
      cause: error,
    })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw invalid(path, `not valid JSON: ${(error as Error).message}`)
  }
  const top = asRecord(raw)
  if (top === undefined) throw invalid(path, 'not a JSON object')
  if (top['format'] !== MANIFEST_FORMAT) {
    throw new ModelError({
      code: 'MANIFEST_FORMAT',
      message: `${path} has format ${JSON.stringify(top['format'])}, this pockettts reads ${MANIFEST_FORMAT}.`,
      hint: 'Export the model again with this version of pockettts.',
      details: {path},
    })
  }
  const topProblems = [
    ...expectRecord(top, 'model'),
    ...expectRecord(top, 'capacities'),
    ...expectRecord(top, 'graphs'),
    ...expectRecord(top, 'tokenizer'),
    ...expectRecord(top, 'source'),
    ...expectArray(top, 'files'),
    ...expectArray(top, 'voices'),
    ...filesProblems(top['files']),
  ]
  if (topProblems.length > 0) throw invalid(path, topProblems.join('; '))
  resolveConfinedPaths(params.dir, namedFiles(top))
  const graphs = asRecord(top['graphs']) ?? {}
  const graphProblems: Record<string, string[]> = {}
  for (const name of GRAPH_NAMES) {
    if (!(name in graphs)) graphProblems[name] = ['the manifest has no entry for this graph']
  }
  for (const [name, entry] of Object.entries(graphs)) {
    const problems = graphEntryProblems(entry)
    if (problems.length > 0) graphProblems[name] = problems
  }
  if ((params.strict ?? true) && Object.keys(graphProblems).length > 0) {
    const list = Object.entries(graphProblems).map(([g, p]) => `${g}: ${p.join(', ')}`)
    throw invalid(path, list.join('; '))
  }
  return {manifest: top as unknown as ExportManifest, graphProblems}
}

/**
 * Every file name the manifest gives for this folder: `files[].path`, `graphs.*.file`, the check cases' inputs and
 * outputs, `tokenizer.path`, `voices[].path` (`source` names files of the source folder, never opened here).
 */
function namedFiles(top: Record<string, unknown>): Array<{path: unknown; namedBy: string}> {
  const named: Array<{path: unknown; namedBy: string}> = []
  const files = Array.isArray(top['files']) ? (top['files'] as unknown[]) : []
  files.forEach((f, i) => named.push({path: asRecord(f)?.['path'], namedBy: `${MANIFEST_FILE} files[${i}].path`}))
  for (const [name, entry] of Object.entries(asRecord(top['graphs']) ?? {})) {
    const g = asRecord(entry)
    if (g === undefined) continue
    if (g['file'] !== undefined) named.push({path: g['file'], namedBy: `${MANIFEST_FILE} graphs.${name}.file`})
    const cases = asRecord(g['check'])?.['cases']
    for (const c of Array.isArray(cases) ? (cases as unknown[]) : []) {
      const r = asRecord(c)
      for (const side of ['inputs', 'outputs'] as const) {
        for (const [tensor, file] of Object.entries(asRecord(r?.[side]) ?? {})) {
          named.push({path: file, namedBy: `${MANIFEST_FILE} graphs.${name}.check ${String(r?.['name'])} ${side}.${tensor}`})
        }
      }
    }
  }
  const tokenizer = asRecord(top['tokenizer'])
  if (tokenizer?.['path'] !== undefined) named.push({path: tokenizer['path'], namedBy: `${MANIFEST_FILE} tokenizer.path`})
  const voices = Array.isArray(top['voices']) ? (top['voices'] as unknown[]) : []
  voices.forEach((v, i) => named.push({path: asRecord(v)?.['path'], namedBy: `${MANIFEST_FILE} voices[${i}].path`}))
  return named
}

function invalid(path: string, what: string): ModelError {
  return new ModelError({code: 'MANIFEST_INVALID', message: `${path} is invalid: ${what}.`, hint: HINT, details: {path}})
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

function expectRecord(parent: Record<string, unknown>, key: string): string[] {
  return asRecord(parent[key]) === undefined ? [`${key} must be an object`] : []
}

function expectArray(parent: Record<string, unknown>, key: string): string[] {
  return Array.isArray(parent[key]) ? [] : [`${key} must be an array`]
}

const SHA256 = /^[0-9a-f]{64}$/

function filesProblems(files: unknown): string[] {
  if (!Array.isArray(files)) return []
  const bad = files.filter((f) => {
    const r = asRecord(f)
    return r === undefined || typeof r['path'] !== 'string' || !SHA256.test(String(r['sha256'])) || !Number.isInteger(r['size'])
  })
  return bad.length === 0 ? [] : [`${bad.length} entries of files lack path, sha256 or size`]
}

function tensorProblems(where: string, value: unknown): string[] {
  const t = asRecord(value)
  if (t === undefined || typeof t['name'] !== 'string') return [`${where}: not a tensor entry with a name`]
  const name = `${where} ${t['name']}`
  const problems: string[] = []
  if (!['float32', 'int64', 'bool'].includes(String(t['dtype']))) problems.push(`${name}: dtype ${JSON.stringify(t['dtype'])} unknown`)
  const shape = t['shape']
  const dimOk = (d: unknown): boolean => (typeof d === 'number' && Number.isInteger(d) && d >= 0) || (typeof d === 'string' && d !== '')
  if (!Array.isArray(shape) || !shape.every(dimOk)) problems.push(`${name}: shape must list sizes or dimension names`)
  return problems
}

/** What is wrong with one graph entry (empty when it is sound). */
export function graphEntryProblems(value: unknown): string[] {
  const g = asRecord(value)
  if (g === undefined) return ['not an object']
  const problems: string[] = []
  if (typeof g['file'] !== 'string' || g['file'] === '') problems.push('no file')
  if (!SHA256.test(String(g['sha256']))) problems.push('no sha256')
  if (!Number.isInteger(g['size'])) problems.push('no size')
  const inputs = Array.isArray(g['inputs']) ? g['inputs'] : undefined
  const outputs = Array.isArray(g['outputs']) ? g['outputs'] : undefined
  if (inputs === undefined) problems.push('no inputs')
  if (outputs === undefined) problems.push('no outputs')
  for (const t of inputs ?? []) problems.push(...tensorProblems('input', t))
  for (const t of outputs ?? []) problems.push(...tensorProblems('output', t))
  if (problems.length > 0) return problems
  const inNames = new Set((inputs as TensorContract[]).map((t) => t.name))
  const outNames = new Set((outputs as TensorContract[]).map((t) => t.name))
  const state = Array.isArray(g['state']) ? (g['state'] as unknown[]) : undefined
  if (state === undefined) problems.push('no state table')
  for (const link of state ?? []) {
    const l = asRecord(link)
    if (l === undefined || !inNames.has(String(l['input'])) || !outNames.has(String(l['output']))) {
      problems.push(`state link ${JSON.stringify(link)} does not name an input and an output of the graph`)
    } else if (!['replace', 'append'].includes(String(l['kind'])) || !['zeros', 'ones', 'empty'].includes(String(l['init']))) {
      problems.push(`state link ${String(l['input'])}: unknown kind or init`)
    }
  }
  const check = asRecord(g['check'])
  const tolerance = asRecord(check?.['tolerance'])
  const defaultTolerance = asRecord(tolerance?.['default'])
  if (defaultTolerance === undefined || typeof defaultTolerance['atol'] !== 'number' || typeof defaultTolerance['rtol'] !== 'number') {
    problems.push('no default tolerance')
  }
  const cases = Array.isArray(check?.['cases']) ? (check?.['cases'] as unknown[]) : undefined
  if (cases === undefined) problems.push('no check cases')
  for (const c of cases ?? []) {
    const r = asRecord(c)
    const caseInputs = asRecord(r?.['inputs'])
    const caseOutputs = asRecord(r?.['outputs'])
    if (r === undefined || typeof r['name'] !== 'string' || caseInputs === undefined || caseOutputs === undefined) {
      problems.push('a check case lacks name, inputs or outputs')
      continue
    }
    for (const n of Object.keys(caseInputs)) if (!inNames.has(n)) problems.push(`check ${r['name']} feeds unknown input ${n}`)
    for (const n of Object.keys(caseOutputs)) if (!outNames.has(n)) problems.push(`check ${r['name']} expects unknown output ${n}`)
  }
  return problems
}

/** A graph entry known to be sound (after readManifest). */
export function graphEntry(manifest: ExportManifest, name: string): GraphEntry {
  const entry = manifest.graphs[name]
  if (entry === undefined) {
    throw new ModelError({code: 'MANIFEST_NO_GRAPH', message: `The manifest has no graph ${name}.`, hint: HINT})
  }
  return entry
}
