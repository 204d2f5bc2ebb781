import {existsSync, readdirSync, statSync} from 'node:fs'
import {basename, dirname, isAbsolute, join, relative, resolve} from 'node:path'
import {UsageError} from '../errors/index.js'
import {readGolden, type GoldenCase, type GoldenTensor} from '../golden/index.js'
import {isUpstreamRelease, type UpstreamRelease} from '../upstream/index.js'

/** One golden case to check. */
export interface ParityCase {
  /** The case folder's name (`hello`), made unique when two folders share it. */
  readonly name: string
  readonly golden: GoldenCase
  readonly kind: 'synthesis' | 'voice'
}

/**
 * Tensors of a synthesis case that parity compares or feeds (FORMAT.md, plus `chunk{c}.prefill_kv` from --dump);
 * an export's golden also holds its graphs' recorded calls (`calls.<graph>.<call>.<tensor>`), which `model verify` replays.
 */
export const SYNTHESIS_TENSORS: readonly RegExp[] = [
  /^audio$/,
  /^calls\.\w+\.\w+\.[\w.]+$/,
  /^chunk\d+\.(tokens|text_embeddings|prefill_noise|prefill_kv|step_input|layer_out|hidden|eos_logit|noise|latent|mimi_input|audio)$/,
]
export const VOICE_TENSORS: readonly RegExp[] = [/^(audio|mimi_latent|conditioning)$/]

export interface OpenGoldenCasesParams {
  /** Case folders (with manifest.json), or folders holding case folders. */
  readonly dirs: readonly string[]
}

/** Opens every case named by `dirs` (a folder of cases expands to its cases, sorted by name). */
export async function openGoldenCases(params: OpenGoldenCasesParams): Promise<ParityCase[]> {
  const folders: string[] = []
  for (const dir of params.dirs) {
    const path = resolve(dir)
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new UsageError({
        code: 'GOLDEN_NOT_FOUND',
        message: `The golden folder ${dir} does not exist.`,
        hint: 'Pass a golden case folder (manifest.json + .npy files) or a folder of such cases.',
        details: {dir},
      })
    }
    if (existsSync(join(path, 'manifest.json'))) {
      folders.push(path)
      continue
    }
    const cases = readdirSync(path, {withFileTypes: true})
      .filter((e) => e.isDirectory() && existsSync(join(path, e.name, 'manifest.json')))
      .map((e) => join(path, e.name))
      .sort()
    if (cases.length === 0) {
      throw new UsageError({
        code: 'GOLDEN_NOT_FOUND',
        message: `${dir} is neither a golden case (no manifest.json) nor a folder of cases.`,
        hint: 'Pass e.g. ../shared/oracle/tiny/golden or ../shared/oracle/tiny/golden/hello.',
        details: {dir},
      })
    }
    folders.push(...cases)
  }
  const out: ParityCase[] = []
  const seen = new Set<string>()
  for (const folder of folders) {
    if (seen.has(folder)) continue
    seen.add(folder)
    const golden = await readGolden({dir: folder})
    if (golden.manifest.kind !== 'voice' && (typeof golden.manifest.case?.text !== 'string' || !Array.isArray(golden.manifest.chunks))) {
      throw new UsageError({
        code: 'GOLDEN_INVALID',
        message: `${folder}: a synthesis golden needs case.text and chunks in its manifest.json.`,
        hint: 'Record the case again with `pockettts golden dump` (or pass a voice case, kind "voice").',
        details: {dir: folder},
      })
    }
    const clash = out.some((c) => c.name === basename(folder))
    out.push({
      name: clash ? relative(process.cwd(), folder) || folder : basename(folder),
      golden,
      kind: golden.manifest.kind === 'voice' ? 'voice' : 'synthesis',
    })
  }
  return out
}

/**
 * Parity compares like with like: a golden recorded by one upstream release (source.upstream, or source.version)
 * is refused against an export made from another (GOLDEN_UPSTREAM_MISMATCH). Cases that name no pinned release
 * (older dumps) are let through.
 */
export function assertSameUpstream(
  cases: readonly ParityCase[],
  model: {readonly dir: string; readonly upstream: UpstreamRelease | undefined},
): void {
  if (model.upstream === undefined) return
  for (const c of cases) {
    const recorded = c.golden.manifest.source['upstream'] ?? c.golden.manifest.source['version']
    if (typeof recorded !== 'string' || !isUpstreamRelease(recorded) || recorded === model.upstream) continue
    throw new UsageError({
      code: 'GOLDEN_UPSTREAM_MISMATCH',
      message: `The golden ${c.golden.dir} was recorded by upstream pocket-tts ${recorded}, but ${model.dir} was exported from ${model.upstream}.`,
      hint:
        `Check it against an export of ${recorded}, record the golden again with \`pockettts ` +
        `golden dump --upstream ${model.upstream}\`, or pass --cross-release for a release-drift ` +
        `report.`,
      details: {golden: c.golden.dir, golden_upstream: recorded, model: model.dir, model_upstream: model.upstream},
    })
  }
}

/** The per-chunk tensors of a complete synthesis golden (FORMAT.md), in data-flow order. */
export const GOLDEN_CHUNK_TENSORS = [
  'tokens',
  'text_embeddings',
  'prefill_noise',
  'step_input',
  'layer_out',
  'hidden',
  'eos_logit',
  'noise',
  'latent',
  'mimi_input',
  'audio',
] as const

/**
 * The tensors of a complete golden this case lacks (`chunk*.hidden`: absent from at least one chunk): upstream
 * 4.x goldens hold a subset of the stages, and parity says what it could not compare.
 */
export function absentTensors(c: ParityCase): string[] {
  if (c.kind === 'voice') return ['audio', 'mimi_latent', 'conditioning'].filter((t) => !c.golden.has(t))
  const chunks = c.golden.manifest.chunks ?? []
  const absent: string[] = GOLDEN_CHUNK_TENSORS.filter((t) => chunks.some((_, i) => !c.golden.has(`chunk${i}.${t}`))).map(
    (t) => `chunk*.${t}`,
  )
  return c.golden.has('audio') ? absent : [...absent, 'audio']
}

/** True when a golden was recorded by upstream 4.x (its layouts differ: Mimi input before the quantizer, [B, T, C] latents). */
export function isV4Golden(golden: Pick<GoldenCase, 'manifest'>): boolean {
  const recorded = golden.manifest.source['upstream'] ?? golden.manifest.source['version']
  return typeof recorded === 'string' && isUpstreamRelease(recorded) && recorded !== '2.1.0'
}

/** Tensors of a case that parity does not know (listed as skipped). */
export function unknownTensors(c: ParityCase): string[] {
  return c.golden.unknownTensors(c.kind === 'voice' ? VOICE_TENSORS : SYNTHESIS_TENSORS)
}

export interface ResolveCaseFileParams {
  readonly golden: GoldenCase
  /** A path from the manifest (`case.voice`, `prompt`, `voice_state`). */
  readonly name: string
  /** The exported model folder, tried last. */
  readonly modelDir?: string
  /** Try the case folder before the model folder (files a golden writer puts beside the tensors). */
  readonly caseFirst?: boolean
}

/**
 * Finds a file a golden manifest names. FORMAT.md makes such paths relative to the model folder (the parent
 * of `golden/`); the project's goldens also name that folder as `model` (relative to the case), and dumps keep
 * their side files in the case folder. Tried in order: absolute path, `model`-relative, the case folder's
 * grandparent, the case folder (first with `caseFirst`), the exported model folder.
 */
export function resolveCaseFile(params: ResolveCaseFileParams): {readonly path: string | undefined; readonly tried: readonly string[]} {
  const {golden, name} = params
  if (isAbsolute(name)) return {path: existsSync(name) ? name : undefined, tried: [name]}
  const model = typeof golden.manifest['model'] === 'string' ? resolve(golden.dir, golden.manifest['model']) : undefined
  const inModel = [...(model === undefined ? [] : [join(model, name)]), join(dirname(dirname(golden.dir)), name)]
  const inCase = [join(golden.dir, name)]
  const candidates = [
    ...(params.caseFirst === true ? [...inCase, ...inModel] : [...inModel, ...inCase]),
    ...(params.modelDir === undefined ? [] : [join(params.modelDir, name)]),
  ]
  return {path: candidates.find((p) => existsSync(p) && statSync(p).isFile()), tried: candidates}
}

/** A golden tensor as float32 (golden float tensors are float32; others are converted). */
export function asFloats(tensor: GoldenTensor): Float32Array {
  if (tensor.data instanceof Float32Array) return tensor.data
  if (tensor.data instanceof BigInt64Array) return Float32Array.from(tensor.data, Number)
  return Float32Array.from(tensor.data as ArrayLike<number>)
}

/** A golden tensor as plain numbers (token ids, offsets). */
export function asInts(tensor: GoldenTensor): number[] {
  if (tensor.data instanceof BigInt64Array) return Array.from(tensor.data, Number)
  return Array.from(tensor.data as ArrayLike<number>)
}

/** Row `index` of a `[rows, ...rest]` tensor (a view). */
export function row(data: Float32Array, shape: readonly number[], index: number): Float32Array {
  const size = shape.slice(1).reduce((a, b) => a * b, 1)
  return data.subarray(index * size, (index + 1) * size)
}
