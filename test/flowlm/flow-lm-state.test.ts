import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {PocketTtsError} from '../../src/errors/index.js'
import {flowLmStateTable} from '../../src/flowlm/flow-lm-state.js'
import type {ExportManifest, GraphEntry, StateLink, TensorContract} from '../../src/model/manifest-types.js'

type Graph = Pick<GraphEntry, 'inputs' | 'outputs' | 'state'>

const layout = {layers: 2, heads: 4, headDim: 16}

/** The embedded fixture export's flow_lm_main entry (2 layers, 4 heads of 16). */
let shipped: Graph
beforeAll(async () => {
  const manifest = JSON.parse(await readFile(join(packageRoot(), 'fixtures', 'tiny-onnx', 'manifest.json'), 'utf8')) as ExportManifest
  shipped = manifest.graphs['flow_lm_main'] as GraphEntry
})

function refused(graph: Graph, dims = layout): PocketTtsError {
  try {
    flowLmStateTable(graph, dims)
  } catch (error) {
    if (error instanceof PocketTtsError) return error
    throw error
  }
  throw new Error('the state table was accepted')
}

/** `graph` with its past inputs renamed (inputs and links alike). */
function renamed(graph: Graph, rename: (name: string) => string): Graph {
  const past = (name: string): boolean => name.startsWith('past_')
  return {
    ...graph,
    inputs: graph.inputs.map((t) => (past(t.name) ? {...t, name: rename(t.name)} : t)),
    state: graph.state.map((l) => (past(l.input) ? {...l, input: rename(l.input)} : l)),
  }
}

describe("flowLmStateTable: the FlowLM cache wiring comes from the manifest's state table", () => {
  it('reads the shipped export: one append link per layer and k|v from new_kv[:, layer, k|v], and offset <- new_offset', () => {
    expect(flowLmStateTable(shipped, layout)).toEqual({
      kvOutput: 'new_kv',
      kvInputs: [
        {input: 'past_k.0', layer: 0, kv: 0},
        {input: 'past_v.0', layer: 0, kv: 1},
        {input: 'past_k.1', layer: 1, kv: 0},
        {input: 'past_v.1', layer: 1, kv: 1},
      ],
      offset: {input: 'offset', output: 'new_offset'},
      maxPositions: 5280,
      minPastRows: 1,
    })
  })

  it("follows the links, not the names: inputs named otherwise, and past_k.1 linked to layer 0's keys, are wired as linked", () => {
    const swapped = renamed(shipped, (n) => `cache/${n}`)
    const table = flowLmStateTable(
      {
        ...swapped,
        state: swapped.state.map((l): StateLink =>
          l.input === 'cache/past_k.0' ? {...l, index: [1, 0]} : l.input === 'cache/past_k.1' ? {...l, index: [0, 0]} : l,
        ),
      },
      layout,
    )
    expect(table.kvInputs).toContainEqual({input: 'cache/past_k.0', layer: 1, kv: 0})
    expect(table.kvInputs).toContainEqual({input: 'cache/past_k.1', layer: 0, kv: 0})
  })

  it('refuses the single time-major past_kv of early exports, naming the link', () => {
    const pastKv: TensorContract = {name: 'past_kv', dtype: 'float32', shape: ['past_len', 2, 2, 4, 16], description: ''}
    const single: Graph = {
      inputs: [...shipped.inputs.filter((t) => !t.name.startsWith('past_')), pastKv],
      outputs: shipped.outputs,
      state: [
        {input: 'past_kv', output: 'new_kv', kind: 'append', init: 'empty', axis: 0},
        {input: 'offset', output: 'new_offset', kind: 'replace', init: 'zeros'},
      ],
    }
    const error = refused(single)
    expect(error.code).toBe('STATE_TABLE_UNSUPPORTED')
    expect(error.message).toMatch(/link past_kv <- new_kv: an append link needs an index \[layer, k\|v\]/)
    expect(error.hint).toMatch(/pockettts model export/)
  })

  it("refuses a table that leaves a layer's K or V unlinked, links one twice, or points outside the model", () => {
    const withoutV1 = {...shipped, state: shipped.state.filter((l) => l.input !== 'past_v.1')}
    expect(refused(withoutV1).message).toMatch(/append links for 3 of the 4 past K\/V inputs/)
    const twice = {...shipped, state: shipped.state.map((l): StateLink => (l.input === 'past_v.1' ? {...l, index: [0, 1]} : l))}
    expect(refused(twice).message).toMatch(/past_v\.1 <- new_kv: index \[0,1\] is fed twice/)
    const outside = {...shipped, state: shipped.state.map((l): StateLink => (l.input === 'past_v.1' ? {...l, index: [2, 1]} : l))}
    expect(refused(outside).message).toMatch(/index \[2,1\] is not \[layer < 2, 0\|1\]/)
    // the model's own dimensions are checked against the linked tensors
    expect(refused(shipped, {...layout, heads: 8}).message).toMatch(/input shape \[1,"past_len",4,16\] is not \[1, past_len, 8, 16\]/)
  })

  it('refuses a table without exactly one int64 position count', () => {
    expect(refused({...shipped, state: shipped.state.filter((l) => l.kind !== 'replace')}).message).toMatch(
      /0 position-count \(replace\) links instead of one/,
    )
  })

  it("reads the positions the graph can be called at (capacities.max_positions, its RoPE table's length); older exports have none", () => {
    const fused = shipped as GraphEntry
    expect(fused.rewrites).toContain('fused_attention')
    expect(flowLmStateTable(fused, layout).maxPositions).toBe(fused.capacities['max_positions'])
    expect(flowLmStateTable(fused, layout).maxPositions).toBeGreaterThan(fused.capacities['past_kv_rows'] ?? Infinity)
    expect(flowLmStateTable({...fused, capacities: {past_kv_rows: 660}}, layout).maxPositions).toBeUndefined()
  })

  it('reads the past rows the graph needs (capacities.min_past_rows: the attention without an If); 0 for older exports, a bad value refused', () => {
    const fused = shipped as GraphEntry
    expect(flowLmStateTable(fused, layout).minPastRows).toBe(1)
    expect(flowLmStateTable({...fused, capacities: {past_kv_rows: 660}}, layout).minPastRows).toBe(0)
    for (const bad of [-1, 0.5, 1e9]) {
      expect(refused({...fused, capacities: {...fused.capacities, min_past_rows: bad}}).message).toMatch(/capacities\.min_past_rows/)
    }
  })
})
