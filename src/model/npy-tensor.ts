import {readFile} from 'node:fs/promises'
import {parse} from 'npyjs'
import {Tensor} from 'onnxruntime-node'
import type {TensorDtype} from './manifest-types.js'

export interface NpyTensor {
  readonly dtype: TensorDtype
  readonly shape: readonly number[]
  readonly data: Float32Array | BigInt64Array | Uint8Array
}

const DTYPES: Readonly<Record<string, TensorDtype>> = {f4: 'float32', i8: 'int64', b1: 'bool'}

/** Reads a `.npy` file (little-endian, C order) of float32, int64 or bool; anything else is an error. */
export async function readNpy(path: string): Promise<NpyTensor> {
  const bytes = await readFile(path)
  const array = parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
  const dtype = DTYPES[array.dtype]
  if (dtype === undefined) throw new Error(`${path}: dtype ${array.dtype} is not float32, int64 or bool`)
  if (array.fortranOrder) throw new Error(`${path}: Fortran order is not supported`)
  const count = array.shape.reduce((a, b) => a * b, 1)
  const data = array.data as Float32Array | BigInt64Array | Uint8Array
  if (data.length !== count) throw new Error(`${path}: ${data.length} values for shape [${array.shape.join(', ')}]`)
  return {dtype, shape: array.shape, data}
}

/** An onnxruntime tensor over the same memory. */
export function toOrtTensor(tensor: NpyTensor): Tensor {
  const dims = [...tensor.shape]
  if (tensor.data instanceof BigInt64Array) return new Tensor('int64', tensor.data, dims)
  if (tensor.data instanceof Uint8Array) return new Tensor('bool', tensor.data, dims)
  return new Tensor('float32', tensor.data, dims)
}
