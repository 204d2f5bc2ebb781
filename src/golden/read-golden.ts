import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {UsageError} from '../errors/index.js'
import {parseNpy, type NpyTensor} from '../tensor/npy.js'
import {GOLDEN_FORMAT, type GoldenManifest, type GoldenTensor} from './golden-types.js'

export interface ReadGoldenParams {
  /** A golden case folder (`manifest.json` + one `.npy` per tensor). */
  readonly dir: string
}

/** What a reader needs of a golden case: a folder (`GoldenCase`) or a run held in memory (parity's `MemoryGolden`). */
export interface TensorSource {
  /** The folder, or a label for an in-memory run. */
  readonly dir: string
  readonly manifest: GoldenManifest
  /** Tensor names listed by the manifest, in manifest order. */
  readonly names: readonly string[]
  has(name: string): boolean
  /** Loads one tensor; GOLDEN_TENSOR_MISSING names it when the case does not have it. */
  tensor(name: string): Promise<GoldenTensor>
}

export interface GoldenCase extends TensorSource {
  /** Throws GOLDEN_TENSOR_MISSING naming every one of `names` the case lacks. */
  requireTensors(names: readonly string[]): void
  /** Tensors the caller does not know (readers ignore them; parity reports them as skipped). */
  unknownTensors(known: readonly (string | RegExp)[]): string[]
}

/** Opens a `pockettts-golden/1` case: validates the manifest; tensors are read on demand with npyjs. */
export async function readGolden(params: ReadGoldenParams): Promise<GoldenCase> {
  const dir = resolve(params.dir)
  const manifestPath = join(dir, 'manifest.json')
  const invalid = (why: string, cause?: unknown): UsageError =>
    new UsageError({
      code: 'GOLDEN_INVALID',
      message: `${dir} is not a ${GOLDEN_FORMAT} case: ${why}.`,
      hint: 'Record the goldens again with `pockettts golden` (or use ../shared/oracle/tiny/golden/<case>).',
      details: {dir},
      cause,
    })
  if (!existsSync(manifestPath)) {
    throw new UsageError({code: 'GOLDEN_NOT_FOUND', message: `${dir} has no manifest.json.`, hint: 'Pass a golden case folder (it holds manifest.json and .npy files).', details: {dir}})
  }
  let manifest: GoldenManifest
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as GoldenManifest
  } catch (error) {
    throw invalid('manifest.json is not JSON', error)
  }
  if (manifest.format !== GOLDEN_FORMAT) throw invalid(`manifest format is ${JSON.stringify(manifest.format)}`)
  if (typeof manifest.tensors !== 'object' || manifest.tensors === null) throw invalid('manifest has no tensors table')
  for (const [name, entry] of Object.entries(manifest.tensors)) {
    if (typeof entry?.file !== 'string' || !Array.isArray(entry.shape) || typeof entry.dtype !== 'string') throw invalid(`tensor ${name} has no file, dtype and shape`)
  }
  const names = Object.keys(manifest.tensors)
  const missing = (list: readonly string[]): UsageError =>
    new UsageError({
      code: 'GOLDEN_TENSOR_MISSING',
      message: `${dir} lacks the tensor${list.length > 1 ? 's' : ''} ${list.join(', ')}.`,
      hint: 'Record the case again with a golden writer that stores these tensors.',
      details: {dir, missing: list},
    })

  return {
    dir,
    manifest,
    names,
    has: (name) => name in manifest.tensors,
    requireTensors(list) {
      const absent = list.filter((n) => !(n in manifest.tensors) || !existsSync(join(dir, manifest.tensors[n]!.file)))
      if (absent.length > 0) throw missing(absent)
    },
    unknownTensors: (known) => names.filter((n) => !known.some((k) => (typeof k === 'string' ? k === n : k.test(n)))),
    async tensor(name) {
      const entry = manifest.tensors[name]
      if (entry === undefined) throw missing([name])
      const bytes = await readFile(join(dir, entry.file)).catch((error: unknown) => {
        throw invalid(`${entry.file} (tensor ${name}) cannot be read`, error)
      })
      let npy: NpyTensor
      try {
        npy = parseNpy(bytes, entry.file)
      } catch (error) {
        throw invalid((error as Error).message, error)
      }
      const dtype = npy.dtype
      if (dtype !== entry.dtype) throw invalid(`${entry.file} holds ${dtype}, the manifest says ${entry.dtype}`)
      if (npy.shape.length !== entry.shape.length || npy.shape.some((d, i) => d !== entry.shape[i])) {
        throw invalid(`${entry.file} has shape [${npy.shape.join(', ')}], the manifest says [${entry.shape.join(', ')}]`)
      }
      return {name, dtype, shape: npy.shape, data: npy.data}
    },
  }
}
