import {parseSafetensors, type SafetensorsTensor} from '../safetensors/index.js'
import type {CheckRecorder} from './check-recorder.js'

export interface CompareVoiceStatesParams {
  readonly recorder: CheckRecorder
  /** The golden voice state file's bytes and name. */
  readonly reference: {readonly bytes: Uint8Array; readonly name: string}
  readonly actual: {readonly bytes: Uint8Array; readonly name: string}
}

const KEY = /^transformer\.layers\.(\d+)\.self_attn\/(cache|offset|current_end)$/

/**
 * Compares two voice-state files (upstream's `export_model_state` layout) key by key: each layer's KV cache
 * within the KV tolerance, each offset exactly. A key present on one side only is a failure.
 */
export function compareVoiceStates(params: CompareVoiceStatesParams): void {
  const {recorder: rec} = params
  const ref = parseSafetensors({bytes: params.reference.bytes, source: params.reference.name}).tensors
  const act = parseSafetensors({bytes: params.actual.bytes, source: params.actual.name}).tensors
  const keys = [...new Set([...ref.keys(), ...act.keys()])].sort((a, b) => layerOf(a) - layerOf(b) || a.localeCompare(b))
  for (const key of keys) {
    const layer = layerOf(key)
    const location = Number.isFinite(layer) ? {layer} : {}
    const tensor = `${params.reference.name}:${key}`
    const e = ref.get(key)
    const a = act.get(key)
    if (e === undefined || a === undefined) {
      rec.exact({
        stage: 'voice',
        check: 'voice.offset',
        tensor,
        location,
        actual: a === undefined ? 'absent' : 'present',
        golden: e === undefined ? 'absent' : 'present',
      })
      continue
    }
    if (e.dtype === 'F32' && a.dtype === 'F32' && !key.endsWith('current_end')) {
      rec.compare({
        stage: 'voice',
        check: 'voice.kv',
        tensor,
        location,
        actual: a.data as Float32Array,
        golden: e.data as Float32Array,
        shape: e.shape,
        actualShape: a.shape,
      })
      continue
    }
    rec.exact({stage: 'voice', check: 'voice.offset', tensor, location, actual: valueOf(a), golden: valueOf(e)})
  }
}

function layerOf(key: string): number {
  const m = KEY.exec(key)
  return m === null ? Number.POSITIVE_INFINITY : Number(m[1])
}

/** Offsets are compared by value; a legacy `current_end` by its length (what upstream reads from it). */
function valueOf(t: SafetensorsTensor): number | string {
  if (t.dtype === 'I64') return Number((t.data as BigInt64Array)[0])
  if (t.dtype === 'F32') return t.shape[0] ?? 0
  return `${t.dtype}[${t.shape.join(', ')}]`
}
