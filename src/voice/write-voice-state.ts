import {UsageError} from '../errors/index.js'
import {encodeSafetensors, writeFileAtomic, type SafetensorsTensor} from '../safetensors/index.js'
import {voiceLayerKey, type KvVoiceState} from './voice-state.js'

export interface WriteVoiceStateParams {
  /** Destination `.safetensors` (written atomically). */
  readonly path: string
  readonly state: Pick<KvVoiceState, 'layers' | 'offset' | 'heads' | 'headDim'>
}

/**
 * Writes a KV voice state exactly as upstream's `export_model_state` does, so upstream loads it: per layer
 * `transformer.layers.{i}.self_attn/cache` float32 `[2, 1, offset, heads, head_dim]` and `…/offset` int64
 * `[1]`. Caches longer than `offset` are cut to the filled positions (upstream's own exports are exactly
 * that long).
 */
export async function writeVoiceState(params: WriteVoiceStateParams): Promise<void> {
  await writeFileAtomic({path: params.path, data: encodeVoiceState(params.state)})
}

/** The bytes `writeVoiceState` writes. */
export function encodeVoiceState(state: WriteVoiceStateParams['state']): Uint8Array {
  const {offset, heads, headDim} = state
  const perPosition = heads * headDim
  const tensors = new Map<string, SafetensorsTensor>()
  state.layers.forEach((layer, i) => {
    if (layer.cache.length !== 2 * layer.length * perPosition || offset > layer.length) {
      throw new UsageError({
        code: 'VOICE_STATE_INVALID',
        message: `Layer ${i}: a cache of ${layer.cache.length} values does not hold ${offset} of ${layer.length} positions × ${heads} heads × ${headDim}.`,
      })
    }
    const cache = new Float32Array(2 * offset * perPosition)
    for (let kv = 0; kv < 2; kv += 1) {
      cache.set(
        layer.cache.subarray(kv * layer.length * perPosition, (kv * layer.length + offset) * perPosition),
        kv * offset * perPosition,
      )
    }
    tensors.set(`${voiceLayerKey(i)}/cache`, {dtype: 'F32', shape: [2, 1, offset, heads, headDim], data: cache})
    tensors.set(`${voiceLayerKey(i)}/offset`, {dtype: 'I64', shape: [1], data: BigInt64Array.of(BigInt(offset))})
  })
  return encodeSafetensors({tensors})
}
