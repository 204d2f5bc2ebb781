import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, rename, rm} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {CancelledError, PythonJobError} from '../errors/index.js'
import {checkDiskSpace, checkOut, checkSource} from './export-preflight.js'
import {findPython, runPythonJob, type PythonProgressEvent} from '../python/index.js'
import {recordedUpstream, selectUpstream} from '../upstream/index.js'
import type {Quantization} from './manifest-types.js'
import {contractProblems} from './validate-manifest.js'

export interface ExportModelParams {
  /** The upstream release to export with (contracts/upstreams.json lists those `model export` supports). @default the release the source folder records (fixture.json), else the contract's default for `model export` (2.1.0) */
  readonly upstream?: string
  /** Model folder in the upstream format: config.yaml, the checkpoint and the tokenizer it names. */
  readonly from: string
  /** Folder to create with the graphs, manifest.json, the embedded golden, tokenizer and voices. */
  readonly out: string
  /** Replace `out` when it exists. @default false */
  readonly force?: boolean
  /** Python interpreter with the tooling (else the project .venv, then python3). */
  readonly python?: string
  /** Where `python` came from, for messages. @default "--python" */
  readonly pythonOrigin?: string
  /** Cap on the export-time reference run's AR steps (default: a full upstream run of the reference text). */
  readonly maxSteps?: number
  /** int8 weights for the FlowLM's, flow head's and (at >= 40 dB audio SNR) Mimi decoder's matmuls, parity recorded in the manifest. @default false */
  readonly int8?: boolean
  /** Also the serving graphs with a batch axis (a second copy of the FlowLM weights), for `serve --batching`. @default false */
  readonly batched?: boolean
  /** Kill the Python job after this many ms. */
  readonly pythonTimeoutMs?: number
  /** Abort: the job is killed and nothing is left behind. */
  readonly signal?: AbortSignal
  readonly onProgress?: (event: PythonProgressEvent) => void
  /** Each stderr line of the Python job (warnings, tracebacks), as it arrives. */
  readonly onStderr?: (line: string) => void
}

/** What the exporter reports (also the `--json` output of `pockettts model export`). */
export interface ExportModelResult {
  readonly out: string
  readonly generation: 'v1' | 'v2'
  readonly graphs: Readonly<
    Record<
      string,
      {readonly file: string; readonly size: number; readonly calls: number; readonly max_abs: Readonly<Record<string, number>>}
    >
  >
  readonly chain: Readonly<Record<string, unknown>> & {readonly passed: boolean; readonly max_abs: Readonly<Record<string, number>>}
  readonly voices: readonly string[]
  readonly skipped: readonly string[]
  /** With `int8`: the manifest's quantization record. */
  readonly quantization?: Quantization
}

/**
 * Exports an upstream-format model folder to ONNX with upstream's own modules (scripts/pockettts_tools/export_onnx.py),
 * checked against upstream at export time. Writes into a hidden temporary folder beside `out` and renames it at
 * the end, so a failure or a cancel never leaves a half-written model.
 */
export async function exportModel(params: ExportModelParams): Promise<ExportModelResult> {
  const upstream = selectUpstream('model export', params.upstream ?? recordedUpstream(params.from))
  const from = resolve(params.from)
  const out = resolve(params.out)
  await checkSource(from)
  await checkOut({from, out, force: params.force ?? false})
  await checkDiskSpace({from, out})
  // the job itself reports missing modules (PYTHON_MODULE_MISSING) before its first slow import
  const python = findPython({
    ...(params.python === undefined ? {} : {configured: params.python}),
    ...(params.pythonOrigin === undefined ? {} : {origin: params.pythonOrigin}),
    release: upstream,
  })

  const parent = dirname(out)
  await mkdir(parent, {recursive: true})
  const temp = join(parent, `.${basename(out)}.partial-${randomBytes(4).toString('hex')}`)
  let result: ExportModelResult
  try {
    const job = await runPythonJob<ExportModelResult>({
      python: python.path,
      module: 'pockettts_tools.export_onnx',
      args: [
        '--from',
        from,
        '--out',
        temp,
        ...(params.maxSteps === undefined ? [] : ['--max-steps', String(params.maxSteps)]),
        ...(params.int8 === true ? ['--int8'] : []),
        ...(params.batched === true ? ['--batched'] : []),
      ],
      ...(params.pythonTimeoutMs === undefined ? {} : {pythonTimeoutMs: params.pythonTimeoutMs}),
      ...(params.signal === undefined ? {} : {signal: params.signal}),
      ...(params.onProgress === undefined ? {} : {onProgress: params.onProgress}),
      ...(params.onStderr === undefined ? {} : {onStderr: params.onStderr}),
    })
    result = job.data
    const problems = contractProblems('export-result', result).top
    if (problems.length > 0) {
      throw new PythonJobError({
        code: 'CONTRACT_VIOLATION',
        message: `The export job's result breaks contracts/export-result.schema.json: ${problems.slice(0, 5).join('; ')}.`,
        hint: 'The Python tooling and this pockettts disagree: run `npm run setup:python`, and report it if it persists.',
      })
    }
    params.signal?.throwIfAborted()
    await promote(temp, out)
  } catch (error) {
    await rm(temp, {recursive: true, force: true})
    // Ctrl-C reaches the Python child too; it may exit before the abort is seen: report a cancel either way
    if (params.signal?.aborted === true && !(error instanceof CancelledError)) {
      throw new CancelledError({code: 'CANCELLED', message: 'The export was cancelled; nothing was written.', cause: error})
    }
    throw error
  }
  return {...result, out}
}

/** Moves the finished export into place; an existing `out` (with --force) is replaced only once the new one is complete. */
async function promote(temp: string, out: string): Promise<void> {
  if (!existsSync(out)) {
    await rename(temp, out)
    return
  }
  const old = join(dirname(out), `.${basename(out)}.old-${randomBytes(4).toString('hex')}`)
  await rename(out, old)
  try {
    await rename(temp, out)
  } catch (error) {
    await rename(old, out)
    throw error
  }
  await rm(old, {recursive: true, force: true})
}
