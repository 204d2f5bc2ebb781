import {describe, expect, it} from 'vitest'
import {encodeSafetensors, parseSafetensors, type SafetensorsTensor} from '../../src/safetensors/index.js'
import {runPythonJson} from '../helpers/python.js'

// The reference library writes one tensor of each dtype; returns the file as base64.
const SAVE_PY = `
import base64, json, torch
from safetensors.torch import save
t = {
  'b_u8': torch.tensor([1, 2, 255], dtype=torch.uint8),
  'a_bool': torch.tensor([True, False, True]),
  'z_f32': torch.tensor([[1.5, -2.25], [3.0, float('inf')]], dtype=torch.float32),
  'f32_first': torch.tensor([0.1], dtype=torch.float32),
  'i64': torch.tensor([85, -3], dtype=torch.int64),
  'f64': torch.tensor([1e-300], dtype=torch.float64),
  'bf16': torch.tensor([1.0, -0.5], dtype=torch.bfloat16),
  'f16': torch.tensor([0.5, 65504.0], dtype=torch.float16),
  'i32': torch.tensor([-7], dtype=torch.int32),
  'i16': torch.tensor([-300], dtype=torch.int16),
  'i8': torch.tensor([-8], dtype=torch.int8),
  'empty': torch.zeros((2, 0), dtype=torch.float32),
}
print(json.dumps({'plain': base64.b64encode(save(t)).decode(), 'meta': base64.b64encode(save(t, metadata={'format': 'pt'})).decode()}))
`

function tensors(): Map<string, SafetensorsTensor> {
  return new Map<string, SafetensorsTensor>([
    ['b_u8', {dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 255)}],
    ['a_bool', {dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1)}],
    ['z_f32', {dtype: 'F32', shape: [2, 2], data: Float32Array.of(1.5, -2.25, 3, Infinity)}],
    ['f32_first', {dtype: 'F32', shape: [1], data: Float32Array.of(0.1)}],
    ['i64', {dtype: 'I64', shape: [2], data: BigInt64Array.of(85n, -3n)}],
    ['f64', {dtype: 'F64', shape: [1], data: Float64Array.of(1e-300)}],
    ['bf16', {dtype: 'BF16', shape: [2], data: Uint16Array.of(0x3f80, 0xbf00)}],
    ['f16', {dtype: 'F16', shape: [2], data: Uint16Array.of(0x3800, 0x7bff)}],
    ['i32', {dtype: 'I32', shape: [1], data: Int32Array.of(-7)}],
    ['i16', {dtype: 'I16', shape: [1], data: Int16Array.of(-300)}],
    ['i8', {dtype: 'I8', shape: [1], data: Int8Array.of(-8)}],
    ['empty', {dtype: 'F32', shape: [2, 0], data: new Float32Array(0)}],
  ])
}

describe('safetensors', () => {
  it('writes the same bytes as the reference library and reads its files back', async () => {
    const py = await runPythonJson<{plain: string; meta: string}>(SAVE_PY)
    const plain = Buffer.from(py.plain, 'base64')
    expect(Buffer.from(encodeSafetensors({tensors: tensors()})).equals(plain)).toBe(true)
    expect(Buffer.from(encodeSafetensors({tensors: tensors(), metadata: {format: 'pt'}})).equals(Buffer.from(py.meta, 'base64'))).toBe(true)

    const parsed = parseSafetensors({bytes: plain, source: 'python'})
    expect(parsed.metadata).toBeNull()
    for (const [name, expected] of tensors()) {
      const got = parsed.tensors.get(name)
      expect(got, name).toBeDefined()
      expect({dtype: got!.dtype, shape: got!.shape, data: Array.from(got!.data, String)}, name).toEqual({
        dtype: expected.dtype,
        shape: expected.shape,
        data: Array.from(expected.data, String),
      })
    }
    expect(parseSafetensors({bytes: Buffer.from(py.meta, 'base64'), source: 'python'}).metadata).toEqual({format: 'pt'})
  })

  it('rejects truncated files, gaps, size mismatches and unknown dtypes with SAFETENSORS_INVALID', () => {
    const good = encodeSafetensors({tensors: tensors()})
    const bad = (bytes: Uint8Array): unknown => {
      try {
        parseSafetensors({bytes, source: 'x.safetensors'})
        return undefined
      } catch (error) {
        return error
      }
    }
    const withHeader = (header: object, data: number): Uint8Array => {
      const json = Buffer.from(JSON.stringify(header))
      const out = Buffer.alloc(8 + json.length + data)
      out.writeBigUInt64LE(BigInt(json.length), 0)
      json.copy(out, 8)
      return out
    }
    for (const bytes of [
      good.subarray(0, good.length - 1),
      good.subarray(0, 5),
      withHeader({a: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}, b: {dtype: 'F32', shape: [1], data_offsets: [12, 16]}}, 16),
      withHeader({a: {dtype: 'F32', shape: [3], data_offsets: [0, 8]}}, 8),
      withHeader({a: {dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8]}}, 8),
      withHeader({a: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}}, 12),
    ]) {
      expect(bad(bytes)).toMatchObject({code: 'SAFETENSORS_INVALID'})
    }
  })
})
