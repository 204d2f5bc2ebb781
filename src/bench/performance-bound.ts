import {
  MIMI_GRAPHS_PER_DECODE,
  type BenchSummary,
  type MimiAloneBound,
  type PerformanceBound,
  type StageCalls,
  type TrafficBound,
  type WorkBound,
} from './bench-report.js'
import type {ModelCost, StageCost} from './model-cost.js'
import type {MachineProbe} from './probe-machine.js'
import type {MimiAloneTimes} from './run-mimi-alone.js'

export interface PerformanceBoundParams {
  readonly cost: ModelCost
  readonly probe: Pick<MachineProbe, 'bandwidthGBs' | 'matmulGflops' | 'callOverheadMs' | 'streams'> &
    Partial<Pick<MachineProbe, 'threads' | 'perCore' | 'int8MatmulGflops'>>
  /** Stages whose matmuls run on int8 weights (`model export --int8`): their arithmetic at the probe's int8 rate. */
  readonly int8?: Partial<Readonly<Record<keyof StageCalls, boolean>>>
  readonly summary: BenchSummary
  /** Audio per frame, ms (1920 samples at 24 kHz = 80). */
  readonly frameMs: number
  /** Mimi runs beside the FlowLM step (worker) rather than after it. */
  readonly overlapped: boolean
  /** @default one call per stage and frame */
  readonly calls?: StageCalls
}

type Limits = Pick<MachineProbe, 'bandwidthGBs' | 'matmulGflops' | 'callOverheadMs' | 'streams' | 'int8MatmulGflops'>

/** The limits of a stage with int8 weights: the int8 matmul rate where the probe measured it (else fp32's, higher bound). */
function int8Limits(limits: Limits): Limits {
  return {...limits, matmulGflops: Math.max(limits.matmulGflops, limits.int8MatmulGflops ?? 0)}
}

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
 * the measured rate, plus the fixed cost of each of its graph calls. `reuseBytes`: the weights read from one frame's
 * call of the stage to the next frame's (a frame's, all graphs'): its own stay in the caches only if those fit too,
 * so the stream probe is read at the larger of the two sizes. Calls beyond the first in a frame (the flow head's K
 * evaluations) follow the stage's own previous call: their reads at the rate of one call's size.
 */
export function stageBoundMs(stage: StageCost, probe: Limits, calls = 1, reuseBytes = 0): number {
  const overhead = probe.callOverheadMs?.median ?? 0
  const bytesPerCall = calls > 0 ? stage.weightBytes / calls : stage.weightBytes
  const afterFrame = Math.min(stage.weightBytes, bytesPerCall) // one call's, or all of them when there is at most one
  const afterItself = stage.weightBytes - afterFrame
  const readS =
    afterFrame / (bandwidthFor(Math.max(bytesPerCall, reuseBytes), probe) * 1e9) + afterItself / (bandwidthFor(bytesPerCall, probe) * 1e9)
  const work = Math.max(readS, stage.flops / (probe.matmulGflops * 1e9)) * 1000
  return calls * overhead + work
}

/** The probe's one-core limits: the probe itself on one thread, its `perCore` rates on more, else unknown. */
function perCoreLimits(probe: PerformanceBoundParams['probe']): Limits | undefined {
  if (probe.threads === 1) return probe
  return probe.perCore === undefined ? undefined : {...probe.perCore, callOverheadMs: probe.callOverheadMs}
}

/**
 * A stage's least time per frame with the whole machine: on all its threads, or on one when the one-core probe
 * measured more (a load spike during the all-core probe; the stage can always run on one thread).
 */
export function bestStageMs(stage: StageCost, probe: Limits, perCore: Limits | undefined, calls = 1, reuseBytes = 0): number {
  const all = stageBoundMs(stage, probe, calls, reuseBytes)
  return perCore === undefined ? all : Math.min(all, stageBoundMs(stage, perCore, calls, reuseBytes))
}

/**
 * The core-milliseconds a stage needs at least: on one core at the one-core rates, or on all `cores` at the
 * machine's (whichever costs fewer core-ms; a weight stream rarely scales with threads).
 */
export function stageCoreMs(stage: StageCost, probe: Limits, perCore: Limits, cores: number, calls = 1, reuseBytes = 0): number {
  return Math.min(stageBoundMs(stage, perCore, calls, reuseBytes), cores * stageBoundMs(stage, probe, calls, reuseBytes))
}

/**
 * The machine's limit for this model and how close the measured medians come to it: the slowest of the stages'
 * critical path (FlowLM + flow head, with Mimi beside or after it, each stage with the whole machine), the work of
 * all stages spread over the cores (known when the probe measured one core, or ran on one thread), and the
 * weights of a frame through the memory system the cores share.
 */
export function performanceBound(params: PerformanceBoundParams): PerformanceBound {
  const {cost, probe, summary} = params
  const calls = params.calls ?? {flowLm: 1, flowHead: 1, mimi: 1}
  const perCoreProbe = perCoreLimits(probe)
  // a stage's limits from a probe's: at the int8 rate for a stage with int8 weights
  const at = (base: Limits, stage: keyof StageCalls): Limits => (params.int8?.[stage] === true ? int8Limits(base) : base)
  // every graph's weights are read again one frame later, after all the others': the frame's bytes
  const frameBytes = frameWeightBytes(cost, calls)
  const best = (stage: keyof StageCalls, c: StageCost, n: number): number =>
    bestStageMs(c, at(probe, stage), perCoreProbe === undefined ? undefined : at(perCoreProbe, stage), n, frameBytes)
  const mimi = mimiPerFrame(cost, calls)
  const flowLmMs = best('flowLm', cost.flowLmStep, calls.flowLm)
  const flowHeadMs = best('flowHead', cost.flowHead, calls.flowHead)
  const mimiMs = mimi === null ? null : best('mimi', mimi, calls.mimi)
  const generator = flowLmMs + flowHeadMs
  const stagesMs = params.overlapped ? Math.max(generator, mimiMs ?? 0) : generator + (mimiMs ?? 0)
  const cores = probe.threads
  const work =
    cores === undefined || perCoreProbe === undefined
      ? null
      : workBound(
          cores,
          (stage, c, n) => stageCoreMs(c, at(probe, stage), at(perCoreProbe, stage), cores, n, frameBytes),
          {...cost, mimi},
          calls,
        )
  // the probe's rates are the all-core ones when it says on how many threads it ran (all the cores: run-bench)
  const traffic = probe.threads === undefined ? null : trafficBound(frameBytes, probe)
  const frameMs = Math.max(stagesMs, work?.ms ?? 0, traffic?.ms ?? 0)
  const measuredFlowLm = summary.msPerFrame.flowLm.median
  const overhead = probe.callOverheadMs?.median ?? 0
  // the size the FlowLM bound read its stream probe at (one call's weights, or the frame's when larger)
  const flowLmReadBytes = Math.max(cost.flowLmStep.weightBytes / Math.max(1, calls.flowLm), frameBytes)
  return {
    flowLmMs,
    flowHeadMs,
    mimiMs,
    stagesMs,
    ...(work === null ? {} : {work}),
    ...(traffic === null ? {} : {traffic}),
    frameMs,
    overlapped: params.overlapped,
    maxSpeed: params.frameMs / frameMs,
    efficiency: frameMs / summary.msPerFrame.wall.median,
    flowLmGBs: cost.flowLmStep.weightBytes / (measuredFlowLm / 1000) / 1e9,
    flowLmEfficiency: flowLmMs / measuredFlowLm,
    calls,
    callOverheadMs: overhead,
    callsMsPerFrame: overhead * (calls.flowLm + calls.flowHead + (cost.mimi === null ? 0 : calls.mimi)),
    flowLmBandwidthGBs: Math.max(
      bandwidthFor(flowLmReadBytes, probe),
      perCoreProbe === undefined ? 0 : bandwidthFor(flowLmReadBytes, perCoreProbe),
    ),
  }
}

/**
 * The weight bytes a frame reads from memory: the FlowLM step's, the flow head's once (its K evaluations follow one
 * another; a head inside the step graph, with no call of its own, still reads its weights every frame), the Mimi
 * graphs' once per decode call.
 */
export function frameWeightBytes(cost: ModelCost, calls: StageCalls): number {
  const head = cost.flowHead.weightBytes / Math.max(1, calls.flowHead)
  return cost.flowLmStep.weightBytes + head + (mimiPerFrame(cost, calls)?.weightBytes ?? 0)
}

/** Mimi's cost per frame: its arithmetic per frame, its graphs' weights per decode call over the frames of a call. */
function mimiPerFrame(cost: ModelCost, calls: StageCalls): StageCost | null {
  if (cost.mimi === null) return null
  return {flops: cost.mimi.flops, weightBytes: (cost.mimi.weightBytes * calls.mimi) / MIMI_GRAPHS_PER_DECODE}
}

/**
 * A frame's weights through the shared memory system, at the all-core probe's rate for that many bytes. The work
 * bound cannot see this: it spreads one core's streams over the cores, as if two cores read twice as fast as one
 * (measured on 2 cores: 31-41 GB/s together against 23 on one).
 */
export function trafficBound(bytesPerFrame: number, probe: Pick<MachineProbe, 'bandwidthGBs' | 'streams'>): TrafficBound {
  return {bytesPerFrame, ms: (bytesPerFrame / (bandwidthFor(bytesPerFrame, probe) * 1e9)) * 1000}
}

/** Each stage's least core-ms (`coreMs`) and their sum spread over the cores. */
function workBound(
  cores: number,
  coreMs: (stage: keyof StageCalls, cost: StageCost, calls: number) => number,
  cost: ModelCost,
  calls: StageCalls,
): WorkBound {
  const flowLmCoreMs = coreMs('flowLm', cost.flowLmStep, calls.flowLm)
  const flowHeadCoreMs = coreMs('flowHead', cost.flowHead, calls.flowHead)
  const mimiCoreMs = cost.mimi === null ? 0 : coreMs('mimi', cost.mimi, calls.mimi)
  return {cores, flowLmCoreMs, flowHeadCoreMs, mimiCoreMs, ms: (flowLmCoreMs + flowHeadCoreMs + mimiCoreMs) / cores}
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
