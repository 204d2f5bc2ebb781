import {ModelError} from '../errors/index.js'
import {
  DTYPE_BYTES,
  elementCount,
  isSafetensorsDtype,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsTensor,
} from './safetensors-types.js'

export interface ParseSafetensorsParams {
  readonly bytes: Uint8Array
  /** Named in errors (a path). */
  readonly source: string
}

/** Largest header the reference implementation accepts. */
const MAX_HEADER_BYTES = 100_000_000

/**
 * Parses a safetensors buffer: 8-byte little-endian header length, a JSON header of
 * `{name: {dtype, shape, data_offsets}}` (plus optional `__metadata__`), then the raw little-endian data.
 * Checks what the reference reader checks: known dtypes, offsets that match the shapes, tile the data
 * without gaps or overlaps and end at the end of the buffer. Elements are copied into aligned typed arrays.
 */
export function parseSafetensors(params: ParseSafetensorsParams): SafetensorsFile {
  const {bytes, source} = params
  const fail = (why: string, cause?: unknown): ModelError =>
    new ModelError({
      code: 'SAFETENSORS_INVALID',
      message: `${source} is not a valid safetensors file: ${why}.`,
      hint: 'Check that the file is complete and really is a .safetensors file.',
      details: {source, reason: why},
      cause,
    })
  if (bytes.length < 8) throw fail('it is shorter than 8 bytes')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = Number(view.getBigUint64(0, true))
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length)
    throw fail(`its header length ${headerLength} does not fit the file`)
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(bytes.subarray(8, 8 + headerLength)))
  } catch (error) {
    throw fail('its header is not UTF-8 JSON', error)
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('its header is not a JSON object')

  const dataStart = 8 + headerLength
  const dataLength = bytes.length - dataStart
  let metadata: Record<string, string> | null = null
  const entries: {name: string; dtype: SafetensorsDtype; shape: number[]; start: number; end: number}[] = []
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Object.values(value).some((v) => typeof v !== 'string'))
        throw fail('__metadata__ is not a string map')
      metadata = value as Record<string, string>
      continue
    }
    const info = value as {dtype?: unknown; shape?: unknown; data_offsets?: unknown}
    if (!isSafetensorsDtype(info.dtype)) throw fail(`tensor ${name} has an unsupported dtype ${JSON.stringify(info.dtype)}`)
    const shape = info.shape
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw fail(`tensor ${name} has an invalid shape`)
    const offsets = info.data_offsets
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0))
      throw fail(`tensor ${name} has invalid data_offsets`)
    const [start, end] = offsets as [number, number]
    if (end - start !== elementCount(shape as number[]) * DTYPE_BYTES[info.dtype])
      throw fail(`tensor ${name}: data_offsets do not match dtype ${info.dtype} and shape [${shape.join(', ')}]`)
    entries.push({name, dtype: info.dtype, shape: shape as number[], start, end})
  }
  const sorted = [...entries].sort((a, b) => a.start - b.start || a.end - b.end)
  let cursor = 0
  for (const e of sorted) {
    if (e.start !== cursor) throw fail(`tensor ${e.name} does not start where the previous one ends (gap or overlap at byte ${cursor})`)
    cursor = e.end
  }
  if (cursor !== dataLength) throw fail(`the tensors cover ${cursor} bytes but the data section has ${dataLength}`)

  const tensors = new Map<string, SafetensorsTensor>()
  for (const e of entries) {
    // A copy (Buffer#slice would be a view into a shared pool), so the typed array is aligned and owned.
    const raw = new Uint8Array(bytes.subarray(dataStart + e.start, dataStart + e.end)).buffer
    tensors.set(e.name, {dtype: e.dtype, shape: e.shape, data: typedArray(e.dtype, raw)} as SafetensorsTensor)
  }
  return {tensors, metadata}
}

function typedArray(dtype: SafetensorsDtype, buffer: ArrayBuffer): SafetensorsTensor['data'] {
  switch (dtype) {
    case 'BOOL':
    case 'U8':
      return new Uint8Array(buffer)
    case 'I8':
      return new Int8Array(buffer)
    case 'I16':
      return new Int16Array(buffer)
    case 'U16':
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer)
    case 'I32':
      return new Int32Array(buffer)
    case 'U32':
      return new Uint32Array(buffer)
    case 'F32':
      return new Float32Array(buffer)
    case 'F64':
      return new Float64Array(buffer)
    case 'I64':
      return new BigInt64Array(buffer)
    case 'U64':
      return new BigUint64Array(buffer)
  }
}
