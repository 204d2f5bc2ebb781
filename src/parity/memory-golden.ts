import {UsageError} from '../errors/index.js'
import type {GoldenDtype, GoldenManifest, GoldenTensor, TensorSource} from '../golden/index.js'

/** A side file of a dump (voice state, voice prompt): copied from `source` or written from `bytes`. */
export interface SideFile {
  readonly source?: string
  readonly bytes?: Uint8Array
}

/**
 * A golden case held in memory: what this runtime computed, in the `pockettts-golden/1` layout, ready to be
 * compared (as a TensorSource) or written by `writeGoldenDump`.
 */
export class MemoryGolden implements TensorSource {
  private readonly tensors = new Map<string, GoldenTensor>()
  /** Side files by name (relative to the case folder). */
  readonly files = new Map<string, SideFile>()

  constructor(
    readonly dir: string,
    /** The manifest without its `tensors` table (filled from the tensors set here). */
    private readonly head: Omit<GoldenManifest, 'tensors'>,
  ) {}

  get manifest(): GoldenManifest {
    const tensors = Object.fromEntries(
      [...this.tensors.values()].map((t) => [t.name, {file: `${t.name}.npy`, dtype: t.dtype, shape: t.shape}]),
    )
    return {...this.head, tensors} as GoldenManifest
  }

  get names(): string[] {
    return [...this.tensors.keys()]
  }

  has(name: string): boolean {
    return this.tensors.has(name)
  }

  async tensor(name: string): Promise<GoldenTensor> {
    const t = this.tensors.get(name)
    if (t === undefined)
      throw new UsageError({
        code: 'GOLDEN_TENSOR_MISSING',
        message: `${this.dir} lacks the tensor ${name}.`,
        details: {dir: this.dir, missing: [name]},
      })
    return t
  }

  /** Adds a tensor (its data is kept, not copied). */
  set(name: string, dtype: GoldenDtype, shape: readonly number[], data: GoldenTensor['data']): void {
    const size = shape.reduce((a, b) => a * b, 1)
    if (data.length !== size) throw new Error(`${name}: ${data.length} values for shape [${shape.join(', ')}]`)
    this.tensors.set(name, {name, dtype, shape: [...shape], data})
  }

  /** Concatenates equal-length rows into one `[rows, ...rowShape]` float32 tensor. */
  setRows(name: string, rows: readonly Float32Array[], rowShape: readonly number[]): void {
    const size = rowShape.reduce((a, b) => a * b, 1)
    const data = new Float32Array(rows.length * size)
    rows.forEach((r, i) => data.set(r, i * size))
    this.set(name, 'float32', [rows.length, ...rowShape], data)
  }
}
