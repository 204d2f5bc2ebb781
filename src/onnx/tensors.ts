import * as ort from 'onnxruntime-node'
import type {NpyTensor} from '../tensor/npy.js'

/** A float32 tensor over `data` (no copy). */
export function f32(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims)
}

/** An int64 tensor of one value per element. */
export function i64(values: readonly number[], dims: readonly number[] = [values.length]): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  )
}

/** A zero-filled tensor of the given dtype (bool tensors may be filled with true). */
export function filled(dtype: 'float32' | 'int64' | 'bool', dims: readonly number[], value: 0 | 1 = 0): ort.Tensor {
  const size = dims.reduce((a, b) => a * b, 1)
  if (dtype === 'float32') return new ort.Tensor('float32', new Float32Array(size).fill(value), dims)
  if (dtype === 'int64') return new ort.Tensor('int64', new BigInt64Array(size).fill(BigInt(value)), dims)
  return new ort.Tensor('bool', new Uint8Array(size).fill(value), dims)
}

/** The float data of a tensor (a view, not a copy). */
export function floats(tensor: ort.Tensor | undefined, name = 'tensor'): Float32Array {
  if (tensor === undefined || tensor.type !== 'float32') throw new Error(`${name}: expected a float32 tensor`)
  return tensor.data as Float32Array
}

/** The first value of an int64 tensor as a number. */
export function int(tensor: ort.Tensor | undefined, name = 'tensor'): number {
  if (tensor === undefined || tensor.type !== 'int64') throw new Error(`${name}: expected an int64 tensor`)
  return Number((tensor.data as BigInt64Array)[0])
}

/** An onnxruntime tensor over the memory of a `.npy` tensor (float32, int64 or bool; no copy). */
export function fromNpy(tensor: NpyTensor): ort.Tensor {
  const dims = [...tensor.shape]
  if (tensor.dtype === 'float32') return new ort.Tensor('float32', tensor.data as Float32Array, dims)
  if (tensor.dtype === 'int64') return new ort.Tensor('int64', tensor.data as BigInt64Array, dims)
  if (tensor.dtype === 'bool') return new ort.Tensor('bool', tensor.data as Uint8Array, dims)
  throw new Error(`a ${tensor.dtype} tensor cannot feed a pockettts graph (float32, int64 or bool)`)
}
