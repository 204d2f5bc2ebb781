import {existsSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {InferenceSession} from 'onnxruntime-node'
import {isPocketTtsError, UnsafePathError, UsageError} from '../errors/index.js'
import {readGolden, type GoldenCase} from '../golden/index.js'
import {checkContract} from './check-contract.js'
import {GRAPH_NAMES, type ExportManifest, type GraphEntry} from './manifest-types.js'
import {readManifest} from './read-manifest.js'
import {firstLine, runCallSet} from './run-call-set.js'
import {replayGolden} from './replay-golden.js'
import {verifyFiles, type FileVerdict} from './verify-files.js'
import {loadLockFile, verifyLock} from './verify-lock.js'

export type Verdict = 'pass' | 'fail' | 'skip'

export interface VerifyRow {
  /** A graph name, `golden`, a file path, `manifest`, `unlisted files` or `lock`. */
  readonly name: string
  readonly kind: 'graph' | 'golden' | 'file' | 'manifest' | 'lock'
  readonly hash: Verdict
  readonly contract: Verdict
  readonly numerics: Verdict
  readonly ok: boolean
  readonly detail: string
  /** Graph rows: output name -> largest |actual - expected| over the recorded calls. */
  readonly maxAbs?: Readonly<Record<string, number>>
  /** The golden row when the replay fails: the first stage that diverged (parity's stage name). */
  readonly stage?: string
}

export interface VerifyReport {
  readonly dir: string
  readonly ok: boolean
  readonly rows: readonly VerifyRow[]
  readonly generation?: string
  readonly exporter?: Readonly<Record<string, unknown>>
}

export interface VerifyModelParams {
  /** The exported model folder. */
  readonly dir: string
  /** The download lock file (`pockettts.lock.json`): the export's source checkpoint, tokenizer (and config) must match it. */
  readonly lockFile?: string
  /** onnxruntime intra-op threads. @default 1 */
  readonly threads?: number
  readonly signal?: AbortSignal
  readonly onProgress?: (update: {
    readonly stage: string
    readonly message?: string
    readonly done?: number
    readonly total?: number
  }) => void
}

/**
 * Checks an exported model folder against its manifest: every file's sha256 (and the lock file's when given),
 * each graph's inputs/outputs (names, dtypes, shapes) as loaded by onnxruntime-node, each graph's recorded calls
 * from the embedded golden within the recorded tolerance, and the golden's whole synthesis replayed through the
 * parity machinery (teacher-forced and free-running). A broken graph is reported on its row; the others still run.
 */
export async function verifyModel(params: VerifyModelParams): Promise<VerifyReport> {
  const dir = resolve(params.dir)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError({
      code: 'MODEL_DIR_NOT_FOUND',
      message: `No model folder at ${dir}.`,
      hint: 'Pass a folder written by `pockettts model export`.',
    })
  }
  const lock = params.lockFile === undefined ? undefined : await loadLockFile(params.lockFile)
  let manifest: ExportManifest
  let graphProblems: Readonly<Record<string, readonly string[]>>
  try {
    ;({manifest, graphProblems} = await readManifest({dir, strict: false}))
  } catch (error) {
    if (!isPocketTtsError(error) || error instanceof UnsafePathError) throw error
    const row: VerifyRow = {
      name: 'manifest',
      kind: 'manifest',
      hash: 'fail',
      contract: 'skip',
      numerics: 'skip',
      ok: false,
      detail: error.message,
    }
    return {dir, ok: false, rows: [row]}
  }

  params.onProgress?.({stage: 'hash', message: `${manifest.files.length} files`})
  const {verdicts, unlisted} = await verifyFiles({
    dir,
    files: manifest.files,
    ...(params.signal === undefined ? {} : {signal: params.signal}),
  })
  const rows: VerifyRow[] = []
  const covered = new Set<string>()
  const listedSha256 = new Map(manifest.files.map((f) => [f.path, f.sha256]))
  const goldenDir = manifest.golden.path
  let golden: GoldenCase | undefined
  let goldenProblem: string | undefined
  try {
    golden = await readGolden({dir: join(dir, goldenDir)})
  } catch (error) {
    if (!isPocketTtsError(error)) throw error
    goldenProblem = error.message
  }
  const names = [
    ...GRAPH_NAMES.filter((n) => n in manifest.graphs || n in graphProblems),
    ...Object.keys(manifest.graphs).filter((n) => !(GRAPH_NAMES as readonly string[]).includes(n)),
  ]
  let done = 0
  for (const name of names) {
    params.signal?.throwIfAborted()
    params.onProgress?.({stage: 'graphs', message: name, done, total: names.length})
    done += 1
    rows.push(
      await verifyGraph({
        dir,
        name,
        entry: manifest.graphs[name],
        problems: graphProblems[name] ?? [],
        verdicts,
        covered,
        listedSha256,
        threads: params.threads ?? 1,
        signal: params.signal,
        golden,
        goldenProblem,
      }),
    )
  }
  params.signal?.throwIfAborted()
  params.onProgress?.({stage: 'golden', message: `replaying ${manifest.golden.path}`})
  rows.push(
    await verifyGolden({
      dir,
      manifest,
      golden,
      goldenProblem,
      verdicts,
      covered,
      brokenGraphs: rows.filter((r) => r.kind === 'graph' && !r.ok).map((r) => r.name),
      threads: params.threads ?? 1,
      signal: params.signal,
    }),
  )
  const sideFiles = [manifest.tokenizer.path, ...manifest.voices.map((v) => v.path)]
  for (const path of sideFiles) {
    covered.add(path)
    const verdict = verdicts.get(path) ?? {path, problem: 'missing' as const, detail: `${path} is not in the manifest's file list`}
    rows.push(fileRow(path, [verdict]))
  }
  const rest = [...verdicts.values()].filter((v) => !covered.has(v.path))
  if (rest.length > 0) rows.push({...fileRow('other files', rest), detail: describeFiles(rest) || `${rest.length} files`})
  if (unlisted.length > 0) {
    rows.push({
      name: 'unlisted files',
      kind: 'file',
      hash: 'fail',
      contract: 'skip',
      numerics: 'skip',
      ok: false,
      detail: `not in the manifest: ${unlisted.slice(0, 5).join(', ')}${unlisted.length > 5 ? ` and ${unlisted.length - 5} more` : ''}`,
    })
  }
  if (lock !== undefined) {
    const result = verifyLock({manifest, lock})
    rows.push({
      name: 'lock',
      kind: 'lock',
      hash: result.passed ? 'pass' : 'fail',
      contract: 'skip',
      numerics: 'skip',
      ok: result.passed,
      detail: result.details.join('; '),
    })
  }
  return {dir, ok: rows.every((r) => r.ok), rows, generation: manifest.generation, exporter: manifest.exporter}
}

interface VerifyGoldenParams {
  readonly dir: string
  readonly manifest: ExportManifest
  readonly golden: GoldenCase | undefined
  readonly goldenProblem: string | undefined
  readonly verdicts: ReadonlyMap<string, FileVerdict>
  readonly covered: Set<string>
  /** Graph rows that failed: the replay would only repeat their failure, so it is skipped. */
  readonly brokenGraphs: readonly string[]
  readonly threads: number
  readonly signal: AbortSignal | undefined
}

/** The embedded golden's row: its files' hashes, then its synthesis replayed through parity (when the graphs pass). */
async function verifyGolden(p: VerifyGoldenParams): Promise<VerifyRow> {
  const path = p.manifest.golden.path
  const files = [...p.verdicts.values()].filter((v) => v.path.startsWith(`${path}/`))
  for (const v of files) p.covered.add(v.path)
  const hash: Verdict = files.length > 0 && files.every((v) => v.problem === undefined) ? 'pass' : 'fail'
  const hashDetail = files.length === 0 ? `no file of ${path} is in the manifest's file list` : describeFiles(files)
  const row = (numerics: Verdict, detail: string, stage?: string): VerifyRow => ({
    name: 'golden',
    kind: 'golden',
    hash,
    contract: 'skip',
    numerics,
    ok: hash === 'pass' && numerics !== 'fail',
    detail: [hashDetail, detail].filter((d) => d !== '').join('; '),
    ...(stage === undefined ? {} : {stage}),
  })
  if (p.golden === undefined) return row('fail', p.goldenProblem ?? `cannot read ${path}`)
  if (!p.manifest.golden.replayable) return row('skip', `not replayed: ${p.manifest.golden.reason ?? 'the export says so'}`)
  if (p.brokenGraphs.length > 0) return row('skip', `not replayed: ${p.brokenGraphs.join(', ')} failed above`)
  const replay = await replayGolden({
    modelDir: p.dir,
    goldenDir: p.golden.dir,
    threads: p.threads,
    ...(p.signal === undefined ? {} : {signal: p.signal}),
  })
  return row(replay.ok ? 'pass' : 'fail', replay.detail, replay.stage)
}

interface VerifyGraphParams {
  readonly dir: string
  readonly name: string
  readonly entry: GraphEntry | undefined
  readonly problems: readonly string[]
  readonly verdicts: ReadonlyMap<string, FileVerdict>
  readonly covered: Set<string>
  readonly listedSha256: ReadonlyMap<string, string>
  readonly threads: number
  readonly signal: AbortSignal | undefined
  readonly golden: GoldenCase | undefined
  readonly goldenProblem: string | undefined
}

async function verifyGraph(p: VerifyGraphParams): Promise<VerifyRow> {
  const row = (hash: Verdict, contract: Verdict, numerics: Verdict, detail: string, maxAbs?: Record<string, number>): VerifyRow => ({
    name: p.name,
    kind: 'graph',
    hash,
    contract,
    numerics,
    ok: hash !== 'fail' && contract !== 'fail' && numerics !== 'fail',
    detail,
    ...(maxAbs === undefined ? {} : {maxAbs}),
  })
  if (p.entry === undefined || p.problems.length > 0) {
    const file = typeof p.entry?.file === 'string' ? p.entry.file : undefined
    if (file !== undefined) p.covered.add(file)
    const hash = file === undefined ? 'skip' : p.verdicts.get(file)?.problem === undefined && p.verdicts.has(file) ? 'pass' : 'fail'
    return row(hash, 'fail', 'skip', `manifest entry: ${p.problems.slice(0, 3).join('; ')}`)
  }
  const entry = p.entry
  const files = [entry.file]
  for (const f of files) p.covered.add(f)
  const fileVerdicts = files.map(
    (f) => p.verdicts.get(f) ?? {path: f, problem: 'missing' as const, detail: `${f} is not in the manifest's file list`},
  )
  const graphVerdict = fileVerdicts[0]!
  const hashProblems = fileVerdicts.filter((v) => v.problem !== undefined)
  const details: string[] = hashProblems.length === 0 ? [] : [describeFiles(hashProblems)]
  const listedSha = p.listedSha256.get(entry.file)
  if (listedSha !== undefined && listedSha !== entry.sha256) details.push(`the graph entry's sha256 differs from the file list's`)
  const hash: Verdict = details.length === 0 ? 'pass' : 'fail'
  if (graphVerdict.problem === 'missing') return row('fail', 'skip', 'skip', details.join('; '))

  let session: InferenceSession
  try {
    session = await InferenceSession.create(join(p.dir, entry.file), {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: p.threads,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
    })
  } catch (error) {
    details.push(`cannot load ${entry.file}: ${firstLine(error)}`)
    return row(hash, 'fail', 'skip', details.join('; '))
  }
  try {
    const contractProblems = checkContract(session, entry)
    const contract: Verdict = contractProblems.length === 0 ? 'pass' : 'fail'
    if (contractProblems.length > 0) details.push(contractProblems.slice(0, 3).join('; '))
    if (p.golden === undefined) {
      details.push(`no recorded calls: ${p.goldenProblem ?? 'the golden cannot be read'}`)
      return row(hash, contract, 'fail', details.join('; '))
    }
    const calls = p.golden.manifest.calls?.[p.name] ?? []
    const numerics = await runCallSet({golden: p.golden, calls, session, entry, ...(p.signal === undefined ? {} : {signal: p.signal})})
    if (!numerics.passed) details.push(numerics.failures.slice(0, 3).join('; '))
    if (details.length === 0) {
      const worst = Math.max(0, ...Object.values(numerics.maxAbs))
      details.push(`${numerics.calls} recorded ${numerics.calls === 1 ? 'call' : 'calls'}, max abs ${worst.toExponential(1)}`)
    }
    return row(hash, contract, numerics.passed ? 'pass' : 'fail', details.join('; '), {...numerics.maxAbs})
  } finally {
    await session.release()
  }
}

function fileRow(name: string, verdicts: readonly FileVerdict[]): VerifyRow {
  const bad = verdicts.filter((v) => v.problem !== undefined)
  return {
    name,
    kind: 'file',
    hash: bad.length === 0 ? 'pass' : 'fail',
    contract: 'skip',
    numerics: 'skip',
    ok: bad.length === 0,
    detail: describeFiles(bad),
  }
}

function describeFiles(verdicts: readonly FileVerdict[]): string {
  const bad = verdicts.filter((v) => v.problem !== undefined)
  const text = bad
    .slice(0, 3)
    .map((v) => v.detail ?? v.path)
    .join('; ')
  return bad.length > 3 ? `${text} and ${bad.length - 3} more` : text
}
