import type {NoiseSource} from '../../src/engine/noise/noise-source.js'
import {PocketTtsError} from '../../src/errors/index.js'
import type {GoldenCase} from '../../src/golden/index.js'

export interface ReplayNoiseParams {
  /** The recorded draws in order, each one `next()` call. */
  readonly rows: readonly Float32Array[]
  /** Names the tape in errors (e.g. the golden folder). */
  readonly label?: string
}

export interface ReplayNoiseFromGoldenParams {
  readonly golden: GoldenCase
  /** Chunks whose draws to replay, in order. @default every chunk of the manifest */
  readonly chunks?: readonly number[]
}

/**
 * Test helper (the runtime and parity never use it; parity replays per chunk with ChunkTapeNoise).
 * Replays recorded noise verbatim (already scaled by upstream), so a runtime reproduces upstream's sampling
 * exactly. Fails when a draw does not have the recorded size or when the tape runs out (the run has drifted
 * from the recording, e.g. EOS fired later).
 */
export class ReplayNoise implements NoiseSource {
  private readonly rows: readonly Float32Array[]
  private readonly label: string
  private index = 0

  constructor(params: ReplayNoiseParams) {
    this.rows = params.rows
    this.label = params.label ?? 'the noise tape'
  }

  /**
   * The tape of a golden synthesis case: per chunk `chunk{c}.prefill_noise` (the text prefill's draw), then
   * the rows of `chunk{c}.noise` (one per AR step), as upstream drew them.
   */
  static async fromGolden(params: ReplayNoiseFromGoldenParams): Promise<ReplayNoise> {
    const {golden} = params
    const chunks = params.chunks ?? (golden.manifest.chunks ?? []).map((_, i) => i)
    golden.requireTensors(chunks.flatMap((c) => [`chunk${c}.prefill_noise`, `chunk${c}.noise`]))
    const rows: Float32Array[] = []
    for (const c of chunks) {
      const prefill = await golden.tensor(`chunk${c}.prefill_noise`)
      const steps = await golden.tensor(`chunk${c}.noise`)
      if (!(prefill.data instanceof Float32Array) || !(steps.data instanceof Float32Array) || steps.shape.length !== 2) {
        throw new PocketTtsError({
          code: 'NOISE_TAPE_INVALID',
          message: `${golden.dir}: chunk ${c}'s noise is not float32 [32] and [S, 32].`,
        })
      }
      rows.push(prefill.data)
      const width = steps.shape[1]!
      for (let s = 0; s < steps.shape[0]!; s += 1) rows.push(steps.data.subarray(s * width, (s + 1) * width))
    }
    return new ReplayNoise({rows, label: golden.dir})
  }

  /** Draws replayed so far. */
  get position(): number {
    return this.index
  }

  /** Draws left on the tape. */
  get remaining(): number {
    return this.rows.length - this.index
  }

  next(count: number): Float32Array {
    const row = this.rows[this.index]
    if (row === undefined) {
      throw new PocketTtsError({
        code: 'NOISE_TAPE_EXHAUSTED',
        message: `${this.label} has ${this.rows.length} recorded draws; draw ${this.index + 1} was requested.`,
        hint: 'The run drew more noise than upstream did: it diverged from the recording (compare EOS steps).',
        details: {draws: this.rows.length},
      })
    }
    if (row.length !== count) {
      throw new PocketTtsError({
        code: 'NOISE_TAPE_MISMATCH',
        message: `${this.label}: draw ${this.index + 1} has ${row.length} values, ${count} were requested.`,
        hint: 'Replay a tape recorded with the same model (latent dim).',
        details: {draw: this.index, recorded: row.length, requested: count},
      })
    }
    this.index += 1
    return Float32Array.from(row)
  }
}
