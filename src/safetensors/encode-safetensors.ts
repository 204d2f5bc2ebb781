import {DTYPE_BYTES, elementCount, SAFETENSORS_DTYPES, type SafetensorsTensor} from './safetensors-types.js'

export interface EncodeSafetensorsParams {
  readonly tensors: ReadonlyMap<string, SafetensorsTensor> | Readonly<Record<string, SafetensorsTensor>>
  readonly metadata?: Readonly<Record<string, string>> | null
}

/**
 * Serialises tensors the way the reference `safetensors` library does (so the bytes equal
 * `safetensors.torch.save_file`'s): tensors ordered by dtype (largest alignment first) then name, compact
 * JSON header, `__metadata__` first when given, header padded with spaces to a multiple of 8 bytes.
 * (Python writes a metadata map in hash order; with one key or none the output is byte-identical.)
 */
export function encodeSafetensors(params: EncodeSafetensorsParams): Uint8Array {
  const source = params.tensors
  const list: [string, SafetensorsTensor][] = isMap(source) ? [...source.entries()] : Object.entries(source)
  const rank = (t: SafetensorsTensor): number => SAFETENSORS_DTYPES.indexOf(t.dtype)
  list.sort(([an, a], [bn, b]) => rank(b) - rank(a) || Buffer.compare(Buffer.from(an), Buffer.from(bn)))

  const header: Record<string, unknown> = {}
  if (params.metadata != null) header['__metadata__'] = params.metadata
  let offset = 0
  for (const [name, tensor] of list) {
    if (name === '__metadata__') throw new TypeError('"__metadata__" cannot be a tensor name')
    const size = elementCount(tensor.shape) * DTYPE_BYTES[tensor.dtype]
    if (tensor.data.byteLength !== size)
      throw new TypeError(`tensor ${name}: ${tensor.data.byteLength} bytes of data for shape [${tensor.shape.join(', ')}] ${tensor.dtype}`)
    header[name] = {dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + size]}
    offset += size
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8')
  const padding = (8 - (json.length % 8)) % 8
  if (padding > 0) json = Buffer.concat([json, Buffer.alloc(padding, 0x20)])

  const out = new Uint8Array(8 + json.length + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(json, 8)
  let cursor = 8 + json.length
  for (const [, tensor] of list) {
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), cursor)
    cursor += tensor.data.byteLength
  }
  return out
}

function isMap(value: EncodeSafetensorsParams['tensors']): value is ReadonlyMap<string, SafetensorsTensor> {
  return value instanceof Map
}
