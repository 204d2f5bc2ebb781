import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {ModelError} from '../errors/index.js'
import {resolveConfinedPaths} from '../fs/confined-path.js'
import {GRAPH_NAMES, MANIFEST_FILE, MANIFEST_FORMAT, type ExportManifest, type GraphEntry} from './manifest-types.js'
import {withFactDefaults} from './fact-defaults.js'
import {contractProblems} from './validate-manifest.js'

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
  // a 2.1.0 export written before the 4.x facts existed gets them (fact-defaults.ts)
  const top = asRecord(withFactDefaults(raw))
  if (top === undefined) throw invalid(path, 'not a JSON object')
  if (top['format'] !== MANIFEST_FORMAT) {
    throw new ModelError({
      code: 'MANIFEST_FORMAT',
      message: `${path} has format ${JSON.stringify(top['format'])}, this pockettts reads ${MANIFEST_FORMAT}.`,
      hint: 'Export the model again with this version of pockettts.',
      details: {path},
    })
  }
  if (
    top['golden'] === undefined &&
    Object.values(asRecord(top['graphs']) ?? {}).some((g) => asRecord(asRecord(g)?.['check'])?.['cases'] !== undefined)
  ) {
    throw new ModelError({
      code: 'MANIFEST_FORMAT',
      message: `${path} comes from an older exporter: its check sets are in checks/, this pockettts reads them from the embedded golden (golden/).`,
      hint: 'Export the model again with this version of pockettts.',
      details: {path},
    })
  }
  // every file name first: a manifest is untrusted input (it arrives in bundles)
  resolveConfinedPaths(params.dir, namedFiles(top))
  // the shape of everything: contracts/manifest.schema.json (generated from manifest-types.ts, also checked by the exporter)
  const problems = contractProblems('manifest', top)
  if (problems.top.length > 0) throw invalid(path, problems.top.slice(0, 8).join('; '))
  const graphs = asRecord(top['graphs']) ?? {}
  const graphProblems: Record<string, string[]> = {}
  for (const name of GRAPH_NAMES) {
    if (!(name in graphs)) graphProblems[name] = ['the manifest has no entry for this graph']
  }
  for (const [name, entry] of Object.entries(graphs)) {
    const found = problems.graphs[name] ?? crossReferenceProblems(entry as GraphEntry)
    if (found.length > 0) graphProblems[name] = [...found]
  }
  if ((params.strict ?? true) && Object.keys(graphProblems).length > 0) {
    const list = Object.entries(graphProblems).map(([g, p]) => `${g}: ${p.join(', ')}`)
    throw invalid(path, list.join('; '))
  }
  return {manifest: top as unknown as ExportManifest, graphProblems}
}

/**
 * Every path the manifest gives for this folder: `files[].path`, `graphs.*.file`, `golden.path`, `tokenizer.path`,
 * `voices[].path` (`source` names files of the source folder, never opened here).
 */
function namedFiles(top: Record<string, unknown>): Array<{path: unknown; namedBy: string}> {
  const named: Array<{path: unknown; namedBy: string}> = []
  const files = Array.isArray(top['files']) ? (top['files'] as unknown[]) : []
  files.forEach((f, i) => named.push({path: asRecord(f)?.['path'], namedBy: `${MANIFEST_FILE} files[${i}].path`}))
  for (const [name, entry] of Object.entries(asRecord(top['graphs']) ?? {})) {
    const g = asRecord(entry)
    if (g === undefined) continue
    if (g['file'] !== undefined) named.push({path: g['file'], namedBy: `${MANIFEST_FILE} graphs.${name}.file`})
  }
  const golden = asRecord(top['golden'])
  if (golden?.['path'] !== undefined) named.push({path: golden['path'], namedBy: `${MANIFEST_FILE} golden.path`})
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

/** What the schema cannot say about a well-formed graph entry: its state links name its own tensors. */
function crossReferenceProblems(entry: GraphEntry): string[] {
  const inNames = new Set(entry.inputs.map((t) => t.name))
  const outNames = new Set(entry.outputs.map((t) => t.name))
  const problems: string[] = []
  for (const link of entry.state) {
    if (!inNames.has(link.input) || !outNames.has(link.output)) {
      problems.push(`state link ${JSON.stringify(link)} does not name an input and an output of the graph`)
    }
  }
  if (entry.check.tolerance['default'] === undefined) problems.push('no default tolerance')
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
