/** Element types pockettts reads and writes, in the safetensors `Dtype` order (increasing alignment). */
export const SAFETENSORS_DTYPES = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'] as const
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number]

export const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
}

/** The typed array holding each dtype's elements (F16/BF16: raw 16-bit patterns; BOOL: 0/1 bytes). */
export interface SafetensorsArrays {
  BOOL: Uint8Array
  U8: Uint8Array
  I8: Int8Array
  I16: Int16Array
  U16: Uint16Array
  F16: Uint16Array
  BF16: Uint16Array
  I32: Int32Array
  U32: Uint32Array
  F32: Float32Array
  F64: Float64Array
  I64: BigInt64Array
  U64: BigUint64Array
}

export type SafetensorsTensorOf<D extends SafetensorsDtype> = {
  readonly dtype: D
  readonly shape: readonly number[]
  readonly data: SafetensorsArrays[D]
}

/** One tensor of a safetensors file: dtype, shape (row-major) and its elements. */
export type SafetensorsTensor = {[D in SafetensorsDtype]: SafetensorsTensorOf<D>}[SafetensorsDtype]

export interface SafetensorsFile {
  /** Tensors by name, in file order. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>
  /** The optional `__metadata__` string map. */
  readonly metadata: Readonly<Record<string, string>> | null
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(value)
}
