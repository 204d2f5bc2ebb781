import type {GoldenChunk} from '../golden/index.js'
import type {CheckRecorder} from './check-recorder.js'
import type {CheckName} from './default-tolerances.js'
import {asFloats, asInts, row} from './golden-cases.js'
import type {TensorSource} from '../golden/index.js'
import type {ParityStage} from './parity-stages.js'

export interface CompareSynthesisRunsParams {
  /** The golden. */
  readonly reference: TensorSource
  /** The run checked against it. */
  readonly actual: TensorSource
  readonly recorder: CheckRecorder
  /**
   * free: what a free-running engine can be held to (chunk texts and tokens, the noise replay, EOS step,
   * step and frame counts, per-frame and whole audio); against: every tensor both runs have.
   */
  readonly scope: 'free' | 'against'
  /** Samples per frame. @default 1920 */
  readonly frameSize?: number
}

const END = Number.MAX_SAFE_INTEGER

/** Compares two complete runs of one synthesis case, chunk by chunk and step by step. */
export async function compareSynthesisRuns(params: CompareSynthesisRunsParams): Promise<void> {
  const {reference: ref, actual: act, recorder: rec, scope} = params
  const all = scope === 'against'
  const frameSize = params.frameSize ?? 1920
  const refChunks = ref.manifest.chunks ?? []
  const actChunks = act.manifest.chunks ?? []
  rec.exact({
    stage: 'text',
    check: 'text.chunks',
    tensor: 'chunks.length',
    location: {},
    actual: actChunks.length,
    golden: refChunks.length,
  })

  const both = (name: string, stage: ParityStage): boolean => {
    if (!rec.wants(stage)) return false
    if (ref.has(name) && act.has(name)) return true
    if (ref.has(name) || act.has(name)) rec.skip({stage, tensor: name, reason: `only in ${ref.has(name) ? ref.dir : act.dir}`})
    return false
  }
  const load = async (source: TensorSource, name: string): Promise<{data: Float32Array; shape: readonly number[]}> => {
    const t = await source.tensor(name)
    return {data: asFloats(t), shape: t.shape}
  }
  /** Compares rows 0..min(rows)-1 of a per-step or per-frame tensor. */
  const rows = async (
    name: string,
    stage: ParityStage,
    check: CheckName,
    c: number,
    axis: 'step' | 'frame',
    split?: number,
  ): Promise<void> => {
    if (!both(name, stage)) return
    const a = await load(act, name)
    const e = await load(ref, name)
    const n = Math.min(a.shape[0] ?? 0, e.shape[0] ?? 0)
    for (let k = 0; k < n; k += 1) {
      const ar = row(a.data, a.shape, k)
      const er = row(e.data, e.shape, k)
      const shape = e.shape.slice(1)
      const location = axis === 'step' ? {chunk: c, step: k} : {chunk: c, frame: k}
      if (split === undefined) {
        rec.compare({stage, check, tensor: name, location, actual: ar, golden: er, shape, actualShape: a.shape.slice(1)})
        continue
      }
      for (let l = 0; l < split; l += 1) {
        const size = er.length / split
        rec.compare({
          stage,
          check,
          tensor: name,
          location: {...location, layer: l},
          actual: ar.subarray(l * size, (l + 1) * size),
          golden: er.subarray(l * size, (l + 1) * size),
          shape: shape.slice(1),
          actualShape: a.shape.slice(2),
        })
      }
    }
  }

  for (let c = 0; c < Math.min(refChunks.length, actChunks.length); c += 1) {
    const r = refChunks[c] as GoldenChunk
    const a = actChunks[c] as GoldenChunk
    const location = {chunk: c}
    const text = {stage: 'text', check: 'text.chunks'} as const
    rec.exact({...text, tensor: `chunks[${c}].text`, location, actual: a.text, golden: r.text})
    if (all) {
      rec.exact({...text, tensor: `chunks[${c}].n_tokens`, location, actual: a.n_tokens, golden: r.n_tokens})
      rec.exact({...text, tensor: `chunks[${c}].max_gen_len`, location, actual: a.max_gen_len, golden: r.max_gen_len})
      rec.exact({...text, tensor: `chunks[${c}].frames_after_eos`, location, actual: a.frames_after_eos, golden: r.frames_after_eos})
    }
    const tokens = `chunk${c}.tokens`
    if (both(tokens, 'text'))
      rec.exact({
        stage: 'text',
        check: 'tokens',
        tensor: tokens,
        location,
        actual: asInts(await act.tensor(tokens)),
        golden: asInts(await ref.tensor(tokens)),
      })
    if (all) {
      for (const [name, stage, check] of [
        [`chunk${c}.text_embeddings`, 'text', 'text_embeddings'],
        [`chunk${c}.prefill_kv`, 'text-prefill', 'prefill_kv'],
        [`chunk${c}.prefill_noise`, 'latent', 'noise'],
      ] as const) {
        if (!both(name, stage)) continue
        const x = await load(act, name)
        const y = await load(ref, name)
        rec.compare({stage, check, tensor: name, location, actual: x.data, golden: y.data, shape: y.shape, actualShape: x.shape})
      }
      const layers = ref.has(`chunk${c}.layer_out`) ? ((await ref.tensor(`chunk${c}.layer_out`)).shape[1] ?? 1) : 1
      await rows(`chunk${c}.layer_out`, 'flowlm-layers', 'layer_out', c, 'step', layers)
      await rows(`chunk${c}.hidden`, 'flowlm-layers', 'hidden', c, 'step')
      await rows(`chunk${c}.eos_logit`, 'eos', 'eos_logit', c, 'step')
      await rows(`chunk${c}.latent`, 'latent', 'latent', c, 'step')
      await rows(`chunk${c}.mimi_input`, 'mimi', 'mimi_input', c, 'frame')
    }
    await rows(`chunk${c}.noise`, 'latent', 'noise', c, 'step')
    // Counts are placed where they diverge: the earlier of the two steps or frames.
    const at = (x: number | null, y: number | null): number => Math.min(x ?? END - 1, y ?? END - 1)
    const eos = {stage: 'eos', check: 'eos_step'} as const
    const stepAt = (x: number | null, y: number | null): {chunk: number; step?: number} => (x === y ? location : {chunk: c, step: at(x, y)})
    rec.exact({
      ...eos,
      tensor: `chunks[${c}].eos_step`,
      location: stepAt(a.eos_step, r.eos_step),
      time: at(a.eos_step, r.eos_step),
      actual: a.eos_step,
      golden: r.eos_step,
    })
    rec.exact({
      ...eos,
      tensor: `chunks[${c}].steps`,
      location: stepAt(a.steps, r.steps),
      time: at(a.steps, r.steps),
      actual: a.steps,
      golden: r.steps,
    })
    rec.exact({
      ...eos,
      tensor: `chunks[${c}].frames`,
      location: a.frames === r.frames ? location : {chunk: c, frame: at(a.frames, r.frames)},
      time: at(a.frames, r.frames),
      actual: a.frames,
      golden: r.frames,
    })

    const audio = `chunk${c}.audio`
    if (!both(audio, 'audio')) continue
    const x = await load(act, audio)
    const y = await load(ref, audio)
    const frames = Math.min(x.data.length, y.data.length) / frameSize
    for (let f = 0; f < frames; f += 1) {
      const golden = y.data.subarray(f * frameSize, (f + 1) * frameSize)
      rec.compare({
        stage: 'audio',
        check: 'frame_audio',
        tensor: audio,
        location: {chunk: c, frame: f},
        actual: x.data.subarray(f * frameSize, (f + 1) * frameSize),
        golden,
        shape: [frameSize],
      })
    }
    rec.compare({
      stage: 'audio',
      check: 'audio',
      tensor: audio,
      location,
      time: END,
      actual: x.data,
      golden: y.data,
      shape: y.shape,
      actualShape: x.shape,
    })
  }
  if (both('audio', 'audio')) {
    const x = await load(act, 'audio')
    const y = await load(ref, 'audio')
    rec.compare({
      stage: 'audio',
      check: 'audio',
      tensor: 'audio',
      location: {whole: true},
      actual: x.data,
      golden: y.data,
      shape: y.shape,
      actualShape: x.shape,
    })
  }
}
