/**
 * A one-node ONNX model `y = x · W` (opset 17) with W an fp32 initializer, encoded by hand (protobuf wire
 * format): the machine probe's workload, built without a protobuf library.
 */
export interface MatMulModelParams {
  /** Rows of x. */
  readonly m: number
  /** Columns of x = rows of W. */
  readonly k: number
  /** Columns of W. */
  readonly n: number
  /** Every byte of W's data (0x3c gives the float 0.0115, a normal number: no denormal slow paths). @default 0x3c */
  readonly fillByte?: number
}

type Part = Uint8Array

function varint(value: number): Part {
  const bytes: number[] = []
  let v = value
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  bytes.push(v)
  return Uint8Array.from(bytes)
}

function concat(parts: readonly Part[]): Part {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

const key = (field: number, wire: 0 | 2): Part => varint(field * 8 + wire)
const intField = (field: number, value: number): Part => concat([key(field, 0), varint(value)])
const bytesField = (field: number, data: Part): Part => concat([key(field, 2), varint(data.length), data])
const stringField = (field: number, text: string): Part => bytesField(field, new TextEncoder().encode(text))

/** ValueInfoProto of a float tensor with fixed dims. */
function valueInfo(name: string, dims: readonly number[]): Part {
  const shape = concat(dims.map((d) => bytesField(1, intField(1, d)))) // TensorShapeProto.dim { dim_value }
  const tensorType = concat([intField(1, 1), bytesField(2, shape)]) // elem_type FLOAT, shape
  return concat([stringField(1, name), bytesField(2, bytesField(1, tensorType))]) // name, type { tensor_type }
}

/** The serialized ModelProto. */
export function encodeMatMulModel(params: MatMulModelParams): Uint8Array {
  const {m, k, n} = params
  const node = concat([stringField(1, 'x'), stringField(1, 'W'), stringField(2, 'y'), stringField(4, 'MatMul')])
  // TensorProto W: dims, data_type FLOAT, name, then raw_data written in place below
  const weightBytes = k * n * 4
  const weightHead = concat([intField(1, k), intField(1, n), intField(2, 1), stringField(8, 'W'), key(9, 2), varint(weightBytes)])
  const initializerLength = weightHead.length + weightBytes
  const graphHead = concat([bytesField(1, node), stringField(2, 'matmul_probe')])
  const graphTail = concat([bytesField(11, valueInfo('x', [m, k])), bytesField(12, valueInfo('y', [m, n]))])
  const initializerPrefix = concat([key(5, 2), varint(initializerLength)])
  const graphLength = graphHead.length + initializerPrefix.length + initializerLength + graphTail.length
  const modelHead = concat([
    intField(1, 8),
    bytesField(8, concat([stringField(1, ''), intField(2, 17)])),
    stringField(2, 'pockettts-bench'),
    key(7, 2),
    varint(graphLength),
  ])
  const out = new Uint8Array(modelHead.length + graphLength)
  let offset = 0
  for (const part of [modelHead, graphHead, initializerPrefix, weightHead]) {
    out.set(part, offset)
    offset += part.length
  }
  out.fill(params.fillByte ?? 0x3c, offset, offset + weightBytes)
  out.set(graphTail, offset + weightBytes)
  return out
}
