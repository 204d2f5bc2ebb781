import {UsageError} from '../errors/index.js'
import {encodeSafetensors, writeFileAtomic, type SafetensorsTensor} from '../safetensors/index.js'
import {voiceLayerKey, type KvVoiceState} from './voice-state.js'

export interface WriteVoiceStateParams {
  /** Destination `.safetensors` (written atomically). */
  readonly path: string
  readonly state: Pick<KvVoiceState, 'layers' | 'offset' | 'heads' | 'headDim'>
  /** Also write each layer's `…/pad` int64 `[1]` (0: no padded slots), as upstream 4.x does. @default false */
  readonly padKeys?: boolean
}

/**
 * Writes a KV voice state exactly as upstream's `export_model_state` does, so upstream loads it: per layer
 * `transformer.layers.{i}.self_attn/cache` float32 `[2, 1, offset, heads, head_dim]` and `…/offset` int64
 * `[1]` (4.x: and `…/pad` int64 `[1]`, zero). `heads` is the cache's KV heads. Caches longer than `offset` are cut to the filled positions (upstream's own exports are exactly
 * that long).
 */
export async function writeVoiceState(params: WriteVoiceStateParams): Promise<void> {
  await writeFileAtomic({path: params.path, data: encodeVoiceState(params.state, params.padKeys ?? false)})
}

/** The bytes `writeVoiceState` writes. */
export function encodeVoiceState(state: WriteVoiceStateParams['state'], padKeys = false): Uint8Array {
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
    if (padKeys) tensors.set(`${voiceLayerKey(i)}/pad`, {dtype: 'I64', shape: [1], data: BigInt64Array.of(0n)})
  })
  return encodeSafetensors({tensors})
}
