import type {BenchSummary, MimiAloneBound, PerformanceBound, StageCalls} from './bench-report.js'
import type {ModelCost, StageCost} from './model-cost.js'
import type {MachineProbe} from './probe-machine.js'
import type {MimiAloneTimes} from './run-mimi-alone.js'

export interface PerformanceBoundParams {
  readonly cost: ModelCost
  readonly probe: Pick<MachineProbe, 'bandwidthGBs' | 'matmulGflops' | 'callOverheadMs' | 'streams'>
  readonly summary: BenchSummary
  /** Audio per frame, ms (1920 samples at 24 kHz = 80). */
  readonly frameMs: number
  /** Mimi runs beside the FlowLM step (worker) rather than after it. */
  readonly overlapped: boolean
  /** @default one call per stage and frame */
  readonly calls?: StageCalls
}

type Limits = Pick<MachineProbe, 'bandwidthGBs' | 'matmulGflops' | 'callOverheadMs' | 'streams'>

/**
 * The bandwidth at which one call reads `bytesPerCall` of weights: the stream probe of the nearest size (by
 * ratio) when the probe measured the model's sizes, else the large probe's; never below the large probe's (a
 * smaller weight can only gain from the caches: a slower reading is another process's load).
 */
export function bandwidthFor(bytesPerCall: number, probe: Pick<MachineProbe, 'bandwidthGBs' | 'streams'>): number {
  let best: {gbs: number; distance: number} | null = null
  for (const stream of probe.streams ?? []) {
    const distance = Math.abs(Math.log((stream.weightMb * 1e6) / Math.max(1, bytesPerCall)))
    if (best === null || distance < best.distance) best = {gbs: stream.bandwidthGBs, distance}
  }
  // a stream probe more than twice off in size says nothing about this one: the large probe is the fallback
  return best !== null && best.distance <= Math.log(2) ? Math.max(best.gbs, probe.bandwidthGBs) : probe.bandwidthGBs
}

/**
 * A stage cannot beat reading its weights once at the bandwidth measured for that size, nor its arithmetic at
 * the measured rate, plus the fixed cost of each of its graph calls.
 */
export function stageBoundMs(stage: StageCost, probe: Limits, calls = 1): number {
  const overhead = probe.callOverheadMs?.median ?? 0
  const bytesPerCall = calls > 0 ? stage.weightBytes / calls : stage.weightBytes
  const work = Math.max(stage.weightBytes / (bandwidthFor(bytesPerCall, probe) * 1e9), stage.flops / (probe.matmulGflops * 1e9)) * 1000
  return calls * overhead + work
}

/** The machine's limit for this model and how close the measured medians come to it. */
export function performanceBound(params: PerformanceBoundParams): PerformanceBound {
  const {cost, probe, summary} = params
  const calls = params.calls ?? {flowLm: 1, flowHead: 1, mimi: 1}
  const flowLmMs = stageBoundMs(cost.flowLmStep, probe, calls.flowLm)
  const flowHeadMs = stageBoundMs(cost.flowHead, probe, calls.flowHead)
  const mimiMs = cost.mimi === null ? null : stageBoundMs(cost.mimi, probe, calls.mimi)
  const generator = flowLmMs + flowHeadMs
  const frameMs = params.overlapped ? Math.max(generator, mimiMs ?? 0) : generator + (mimiMs ?? 0)
  const measuredFlowLm = summary.msPerFrame.flowLm.median
  const overhead = probe.callOverheadMs?.median ?? 0
  return {
    flowLmMs,
    flowHeadMs,
    mimiMs,
    frameMs,
    overlapped: params.overlapped,
    maxSpeed: params.frameMs / frameMs,
    efficiency: frameMs / summary.msPerFrame.wall.median,
    flowLmGBs: cost.flowLmStep.weightBytes / (measuredFlowLm / 1000) / 1e9,
    flowLmEfficiency: flowLmMs / measuredFlowLm,
    calls,
    callOverheadMs: overhead,
    callsMsPerFrame: overhead * (calls.flowLm + calls.flowHead + (cost.mimi === null ? 0 : calls.mimi)),
    flowLmBandwidthGBs: bandwidthFor(cost.flowLmStep.weightBytes / Math.max(1, calls.flowLm), probe),
  }
}

/**
 * The Mimi decoder's own bound per frame and its share of it, measured alone: its FLOPs at the in-cache matmul
 * rate measured on the same threads between its runs. Null without a Mimi cost.
 */
export function mimiAloneBound(params: {readonly cost: ModelCost; readonly measured: MimiAloneTimes}): MimiAloneBound | null {
  const {cost, measured} = params
  if (cost.mimi === null) return null
  const boundMs = (cost.mimi.flops / (measured.matmulGflops.median * 1e9)) * 1000
  return {...measured, flopsPerFrame: cost.mimi.flops, boundMs, share: boundMs / measured.msPerFrame.median}
}
