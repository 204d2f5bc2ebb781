import type {BenchSummary, MimiAloneBound, PerformanceBound} from './bench-report.js'
import type {ModelCost, StageCost} from './model-cost.js'
import type {MachineProbe} from './probe-machine.js'
import type {MimiAloneTimes} from './run-mimi-alone.js'

export interface PerformanceBoundParams {
  readonly cost: ModelCost
  readonly probe: Pick<MachineProbe, 'bandwidthGBs' | 'matmulGflops'>
  readonly summary: BenchSummary
  /** Audio per frame, ms (1920 samples at 24 kHz = 80). */
  readonly frameMs: number
  /** Mimi runs beside the FlowLM step (worker) rather than after it. */
  readonly overlapped: boolean
}

/** A stage cannot beat reading its weights once at the measured bandwidth, nor its arithmetic at the measured rate. */
export function stageBoundMs(stage: StageCost, probe: Pick<MachineProbe, 'bandwidthGBs' | 'matmulGflops'>): number {
  return Math.max(stage.weightBytes / (probe.bandwidthGBs * 1e9), stage.flops / (probe.matmulGflops * 1e9)) * 1000
}

/** The machine's limit for this model and how close the measured medians come to it. */
export function performanceBound(params: PerformanceBoundParams): PerformanceBound {
  const {cost, probe, summary} = params
  const flowLmMs = stageBoundMs(cost.flowLmStep, probe)
  const flowHeadMs = stageBoundMs(cost.flowHead, probe)
  const mimiMs = cost.mimi === null ? null : stageBoundMs(cost.mimi, probe)
  const generator = flowLmMs + flowHeadMs
  const frameMs = params.overlapped ? Math.max(generator, mimiMs ?? 0) : generator + (mimiMs ?? 0)
  const measuredFlowLm = summary.msPerFrame.flowLm.median
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
