import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {UsageError} from '../errors/index.js'
import {findPython, runPythonJob, type PythonProgressEvent} from '../python/index.js'
import type {UpstreamRun} from './bench-report.js'
import type {UpstreamRelease} from '../upstream/index.js'

export interface RunUpstreamBenchParams {
  /** The upstream-format model folder the export was made from (config.yaml + weights + tokenizer). */
  readonly model: string
  /** Voice .safetensors state or .wav prompt (the same file the engine uses). */
  readonly voice: string
  readonly text: string
  /** Exactly this many frames per chunk, EOS ignored (null: upstream's stopping rule). */
  readonly frames: number | null
  readonly runs: number
  readonly warmup: number
  /** upstream's `--quantize` (torch dynamic int8 of the FlowLM attention and FFN). @default false */
  readonly quantize?: boolean
  /** The upstream release to time (its venv is the default interpreter; the job checks it). */
  readonly upstream: UpstreamRelease
  readonly python?: string
  readonly pythonOrigin?: string
  /** Kill the upstream Python job after this many ms (the `pythonTimeout` setting, in ms). */
  readonly pythonTimeoutMs?: number
  readonly signal?: AbortSignal
  readonly onProgress?: (event: PythonProgressEvent) => void
}

export interface UpstreamBenchResult {
  readonly runs: readonly UpstreamRun[]
  readonly peakRssMb: number
  readonly quantize: boolean
  readonly quantizeBackend: string | null
  readonly torchThreads: number
  readonly fixedFrames: number | null
  readonly versions: Readonly<Record<string, string>>
}

/** Times upstream pocket_tts's own generation loop in a Python child (scripts/pockettts_tools/bench_upstream.py). */
export async function runUpstreamBench(params: RunUpstreamBenchParams): Promise<UpstreamBenchResult> {
  const model = resolve(params.model)
  if (!existsSync(join(model, 'config.yaml'))) {
    throw new UsageError({
      code: 'UPSTREAM_MODEL_NOT_FOUND',
      message: `${model} is not an upstream-format model folder (no config.yaml).`,
      hint: 'Pass --upstream-model with the folder the export was made from (pockettts model export --from DIR).',
    })
  }
  const python = findPython({
    ...(params.python === undefined ? {} : {configured: params.python}),
    ...(params.pythonOrigin === undefined ? {} : {origin: params.pythonOrigin}),
    release: params.upstream,
  })
  const args = [
    '--model',
    model,
    '--voice',
    resolve(params.voice),
    '--text',
    params.text,
    '--runs',
    String(params.runs),
    '--warmup',
    String(params.warmup),
    ...(params.frames === null ? [] : ['--frames', String(params.frames)]),
    ...(params.quantize === true ? ['--quantize'] : []),
    '--upstream',
    params.upstream,
  ]
  const job = await runPythonJob<UpstreamBenchResult>({
    python: python.path,
    module: 'pockettts_tools.bench_upstream',
    args,
    ...(params.pythonTimeoutMs === undefined ? {} : {pythonTimeoutMs: params.pythonTimeoutMs}),
    ...(params.signal === undefined ? {} : {signal: params.signal}),
    ...(params.onProgress === undefined ? {} : {onProgress: params.onProgress}),
  })
  return job.data
}
