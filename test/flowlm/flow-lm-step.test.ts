import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import * as ort from 'onnxruntime-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {PocketTtsError} from '../../src/errors/index.js'
import {flowLmStateTable, type FlowLmStateTable} from '../../src/flowlm/flow-lm-state.js'
import {flowLmStep} from '../../src/flowlm/flow-lm-step.js'
import {KvCache} from '../../src/flowlm/kv-cache.js'
import type {ExportManifest, GraphEntry} from '../../src/model/manifest-types.js'

const dir = join(packageRoot(), 'fixtures', 'tiny-onnx')
let manifest: ExportManifest
let session: ort.InferenceSession
let table: FlowLmStateTable
const layout = {layers: 2, heads: 4, headDim: 16}

beforeAll(async () => {
  manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
  session = await ort.InferenceSession.create(join(dir, 'flow_lm_main.onnx'))
  table = flowLmStateTable(manifest.graphs['flow_lm_main'] as GraphEntry, layout)
})
afterAll(async () => session.release())

describe("flowLmStep: a call within the graph's positions runs, one past them is refused before it runs", () => {
  it('runs the fused-attention graph up to max_positions and refuses the next position with FLOW_POSITIONS_EXCEEDED', async () => {
    const {d_model: dModel, latent_dim: latentDim} = manifest.model
    const kv = new KvCache(layout, 8)
    const small = {...table, maxPositions: 5}
    const step = (conditioningRows: number) =>
      flowLmStep({session, kv, state: small, dModel, latentDim, conditioning: new Float32Array(conditioningRows * dModel).fill(0.1)})
    await step(5) // positions 0..4: exactly the limit
    expect(kv.offset).toBe(5)
    const error = await step(1).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(PocketTtsError)
    expect((error as PocketTtsError).code).toBe('FLOW_POSITIONS_EXCEEDED')
    expect((error as PocketTtsError).message).toMatch(/position 6.*covers 5/)
    expect(kv.offset).toBe(5) // nothing ran
  })

  it('runs a first prefill (an empty cache) on min_past_rows stand-in rows, which the mask drops: noise in them changes nothing', async () => {
    const {d_model: dModel, latent_dim: latentDim} = manifest.model
    expect(table.minPastRows).toBe(1)
    const conditioning = Float32Array.from({length: 3 * dModel}, (_, i) => Math.sin(i))
    const kv = new KvCache(layout, 8)
    const result = await flowLmStep({session, kv, state: table, dModel, latentDim, conditioning})
    expect(kv.offset).toBe(3)
    const noise = (n: number) =>
      new ort.Tensor(
        'float32',
        Float32Array.from({length: n}, (_, i) => 10 * Math.cos(7 * i)),
        [1, 1, 4, 16],
      )
    const direct = await session.run({
      conditioning: new ort.Tensor('float32', conditioning, [1, 3, dModel]),
      latents: new ort.Tensor('float32', new Float32Array(0), [1, 0, latentDim]),
      offset: new ort.Tensor('int64', BigInt64Array.from([0n]), [1]),
      ...Object.fromEntries(table.kvInputs.map((link) => [link.input, noise(64)])),
    })
    const hidden = direct['hidden']?.data as Float32Array
    expect(Math.max(...result.hidden.map((x, i) => Math.abs(x - (hidden[i] ?? Number.NaN))))).toBeLessThan(1e-5)
    expect(Math.max(...result.hidden.map(Math.abs))).toBeGreaterThan(0)
  })

  it("the shipped graph's own limit is its RoPE table: onnxruntime refuses a position past it", async () => {
    const {d_model: dModel, latent_dim: latentDim} = manifest.model
    const limit = table.maxPositions as number
    const kv = new KvCache(layout, limit + 1)
    kv.append(new Float32Array(limit * kv.rowSize))
    const {maxPositions: _limit, ...unchecked} = table
    const run = flowLmStep({session, kv, state: unchecked, dModel, latentDim, conditioning: new Float32Array(dModel)})
    await expect(run).rejects.toThrow(/RotaryEmbedding|cos\/sin cache/)
  })
})
