/**
 * A one-node ONNX model `y = x · W` (opset 17) with W an fp32 initializer, or with `int8` onnxruntime's
 * DynamicQuantizeMatMul (com.microsoft: x quantised per call, W int8 with one scale, as `model export --int8`'s
 * Mimi decoder runs its matmuls), encoded by hand (protobuf wire format): the machine probe's workload, built
 * without a protobuf library.
 */
export interface MatMulModelParams {
  /** Rows of x. */
  readonly m: number
  /** Columns of x = rows of W. */
  readonly k: number
  /** Columns of W. */
  readonly n: number
  /** Every byte of W's data (0x3c gives the float 0.0115, a normal number: no denormal slow paths). @default 0x3c, int8 3 */
  readonly fillByte?: number
  /** W as int8 with an fp32 scale, the product as DynamicQuantizeMatMul. @default false */
  readonly int8?: boolean
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

/** TensorProto header of an initializer whose raw_data (`bytes` long) follows it in place. */
function tensorHead(name: string, dims: readonly number[], dataType: number, bytes: number): Part {
  return concat([...dims.map((d) => intField(1, d)), intField(2, dataType), stringField(8, name), key(9, 2), varint(bytes)])
}

const FLOAT = 1
const INT8 = 3

/** The serialized ModelProto. */
export function encodeMatMulModel(params: MatMulModelParams): Uint8Array {
  const {m, k, n} = params
  const int8 = params.int8 ?? false
  const node = int8
    ? concat([
        ...['x', 'W', 'W_scale'].map((name) => stringField(1, name)),
        stringField(2, 'y'),
        stringField(4, 'DynamicQuantizeMatMul'),
        stringField(7, 'com.microsoft'),
      ])
    : concat([stringField(1, 'x'), stringField(1, 'W'), stringField(2, 'y'), stringField(4, 'MatMul')])
  // TensorProto W: dims, data_type, name, then raw_data written in place below
  const weightBytes = k * n * (int8 ? 1 : 4)
  const weightHead = tensorHead('W', [k, n], int8 ? INT8 : FLOAT, weightBytes)
  const initializerLength = weightHead.length + weightBytes
  // int8: W's scale, a float scalar (1/64) after W
  const scale = int8 ? bytesField(5, concat([tensorHead('W_scale', [], FLOAT, 4), Uint8Array.of(0, 0, 0x80, 0x3c)])) : new Uint8Array(0)
  const graphHead = concat([bytesField(1, node), stringField(2, 'matmul_probe')])
  const graphTail = concat([scale, bytesField(11, valueInfo('x', [m, k])), bytesField(12, valueInfo('y', [m, n]))])
  const initializerPrefix = concat([key(5, 2), varint(initializerLength)])
  const graphLength = graphHead.length + initializerPrefix.length + initializerLength + graphTail.length
  const modelHead = concat([
    intField(1, 8),
    bytesField(8, concat([stringField(1, ''), intField(2, 17)])),
    ...(int8 ? [bytesField(8, concat([stringField(1, 'com.microsoft'), intField(2, 1)]))] : []),
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
  out.fill(params.fillByte ?? (int8 ? 3 : 0x3c), offset, offset + weightBytes)
  out.set(graphTail, offset + weightBytes)
  return out
}
