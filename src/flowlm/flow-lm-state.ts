import {ModelError} from '../errors/index.js'
import type {GraphEntry, StateLink, TensorContract} from '../model/manifest-types.js'
import type {KvInputLink, KvLayout} from './kv-cache.js'

/** How `flow_lm_main`'s state chains from one call to the next, as its manifest state table says. */
export interface FlowLmStateTable {
  /** The stacked output whose rows the cache appends, time-major `[new_len, layers, 2, heads, head_dim]` (`new_kv`). */
  readonly kvOutput: string
  /** The `append` links, one per layer and k|v: each input is the valid prefix `[1, offset, heads, head_dim]` of its buffer. */
  readonly kvInputs: readonly KvInputLink[]
  /** The `replace` link of the position count: `input` takes the positions so far, `output` returns them after the call. */
  readonly offset: {readonly input: string; readonly output: string}
  /**
   * Positions the graph can be called at (`capacities.max_positions`: the length of its RoPE table, an export with
   * fused attention); a call past it is refused before it runs. Absent: no limit.
   */
  readonly maxPositions?: number
  /**
   * Past rows the graph must be given (`capacities.min_past_rows`, exports since the attention without an `If`): a
   * shorter past is fed behind zero rows before position 0, which the graph's mask drops. 0 when absent.
   */
  readonly minPastRows: number
}

const HINT = 'Export the model again with this version of pockettts (pockettts model export).'

/**
 * Reads `flow_lm_main`'s state table (manifest `graphs.flow_lm_main.state`) into the cache wiring the engine
 * runs: every link must be one this runtime chains, and together they must cover each layer's K and V exactly
 * once. Exports whose table does not (the single time-major `past_kv` of early development exports) are refused
 * at load, with the link at fault named.
 */
export function flowLmStateTable(
  graph: Pick<GraphEntry, 'inputs' | 'outputs' | 'state'> & {readonly capacities?: GraphEntry['capacities']},
  layout: KvLayout,
): FlowLmStateTable {
  const {layers, heads, headDim} = layout
  const inputs = new Map(graph.inputs.map((t) => [t.name, t]))
  const outputs = new Map(graph.outputs.map((t) => [t.name, t]))
  const kvInputs: KvInputLink[] = []
  const offsets: {input: string; output: string}[] = []
  const seen = new Set<string>()
  let kvOutput: string | undefined
  for (const link of graph.state) {
    const input = inputs.get(link.input)
    const output = outputs.get(link.output)
    if (input === undefined || output === undefined) throw unsupported(link, 'names no input or no output of the graph')
    if (link.kind === 'replace') {
      if (link.init !== 'zeros' || !isPositionCount(input) || !isPositionCount(output)) {
        throw unsupported(link, 'a replace link must chain an int64 [1] position count starting at zeros')
      }
      offsets.push({input: link.input, output: link.output})
      continue
    }
    const index = link.index
    if (index === undefined || index.length !== 2) {
      throw unsupported(
        link,
        'an append link needs an index [layer, k|v] into a stacked output (a single time-major past_kv is no longer read)',
      )
    }
    const [layer, kv] = index as [number, number]
    if (link.init !== 'empty' || link.axis !== 1) throw unsupported(link, 'an append link must start empty and grow along axis 1')
    if (!Number.isInteger(layer) || layer < 0 || layer >= layers || (kv !== 0 && kv !== 1)) {
      throw unsupported(link, `index ${JSON.stringify(index)} is not [layer < ${layers}, 0|1]`)
    }
    if (input.dtype !== 'float32' || output.dtype !== 'float32') throw unsupported(link, 'an append link must chain float32 tensors')
    if (!hasShape(input, [1, null, heads, headDim]))
      throw unsupported(link, `input shape ${JSON.stringify(input.shape)} is not [1, past_len, ${heads}, ${headDim}]`)
    if (!hasShape(output, [null, layers, 2, heads, headDim])) {
      throw unsupported(link, `output shape ${JSON.stringify(output.shape)} is not [new_len, ${layers}, 2, ${heads}, ${headDim}]`)
    }
    if (kvOutput !== undefined && kvOutput !== link.output)
      throw unsupported(link, `appends from ${link.output}, another link from ${kvOutput}`)
    kvOutput = link.output
    const key = `${layer}/${kv}`
    if (seen.has(key)) throw unsupported(link, `index ${JSON.stringify(index)} is fed twice`)
    seen.add(key)
    kvInputs.push({input: link.input, layer, kv})
  }
  if (kvOutput === undefined || kvInputs.length !== 2 * layers) {
    throw tableError(`has append links for ${kvInputs.length} of the ${2 * layers} past K/V inputs (${layers} layers, k and v)`)
  }
  const [offset, ...extra] = offsets
  if (offset === undefined || extra.length > 0) throw tableError(`has ${offsets.length} position-count (replace) links instead of one`)
  const maxPositions = graph.capacities?.['max_positions']
  const minPastRows = graph.capacities?.['min_past_rows'] ?? 0
  if (!Number.isInteger(minPastRows) || minPastRows < 0 || minPastRows > 16) {
    throw tableError(`has capacities.min_past_rows ${minPastRows}; this runtime feeds 0 to 16 stand-in rows`)
  }
  return {kvOutput, kvInputs, offset, minPastRows, ...(maxPositions === undefined ? {} : {maxPositions})}
}

function isPositionCount(t: TensorContract): boolean {
  return t.dtype === 'int64' && hasShape(t, [1])
}

/** Whether `t` has this shape (`null`: a symbolic or any size). */
function hasShape(t: TensorContract, shape: readonly (number | null)[]): boolean {
  return t.shape.length === shape.length && shape.every((d, i) => d === null || t.shape[i] === d)
}

function unsupported(link: StateLink, why: string): ModelError {
  return tableError(`is not one this runtime chains: link ${link.input} <- ${link.output}: ${why}`)
}

function tableError(what: string): ModelError {
  return new ModelError({
    code: 'STATE_TABLE_UNSUPPORTED',
    message: `flow_lm_main's state table (manifest graphs.flow_lm_main.state) ${what}.`,
    hint: HINT,
  })
}
