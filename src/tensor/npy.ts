import {readFile} from 'node:fs/promises'
import {parse, type DType} from 'npyjs'

export type TensorDtype = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'

/** A tensor in row-major order: the dtype names are onnxruntime's, so an ORT tensor has the same fields (`dims` = shape). */
export interface NpyTensor {
  readonly dtype: TensorDtype
  readonly shape: readonly number[]
  /** Float32Array (float32, and float16 widened), Float64Array, BigInt64Array, Int32Array, …, Uint8Array (bool). */
  readonly data: Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array
}

const DTYPES: Partial<Record<DType, TensorDtype>> = {
  f4: 'float32',
  f8: 'float64',
  f2: 'float16',
  i8: 'int64',
  i4: 'int32',
  i2: 'int16',
  i1: 'int8',
  u1: 'uint8',
  b1: 'bool',
}

/** Parses `.npy` bytes (little-endian, C order) with npyjs; throws an Error saying what is wrong with `source`. */
export function parseNpy(bytes: Uint8Array, source: string): NpyTensor {
  let array: ReturnType<typeof parse>
  try {
    array = parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
  } catch (error) {
    throw new Error(`${source} is not a .npy file (${(error as Error).message})`, {cause: error})
  }
  if (array.fortranOrder) throw new Error(`${source} is in Fortran order`)
  const dtype = DTYPES[array.dtype]
  if (dtype === undefined) throw new Error(`${source} holds dtype ${array.dtype}, which pockettts does not read`)
  const count = array.shape.reduce((a, b) => a * b, 1)
  const data = array.data as NpyTensor['data']
  if (data.length !== count) throw new Error(`${source}: ${data.length} values for shape [${array.shape.join(', ')}]`)
  return {dtype, shape: array.shape, data}
}

/** Reads and parses one `.npy` file. */
export async function readNpy(path: string): Promise<NpyTensor> {
  return parseNpy(await readFile(path), path)
}
