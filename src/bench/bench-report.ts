import type {MachineProbe} from './probe-machine.js'
import type {ModelCost} from './model-cost.js'
import type {MimiAloneTimes} from './run-mimi-alone.js'
import type {Stat} from './summarize.js'

export const BENCH_FORMAT = 'pockettts-bench/1'

/** Milliseconds per generated frame, by stage (wall = elapsed / frames). */
export interface StageTimes<T> {
  readonly wall: T
  /** Text embedding + text prefill, spread over the frames. */
  readonly text: T
  readonly flowLm: T
  readonly flowHead: T
  /** Decode time of a frame (on the worker when it overlaps the next step). */
  readonly mimi: T
}

/** One measured generation of the text (the voice is loaded before the clock starts). */
export interface BenchRun {
  readonly frames: number
  readonly steps: number
  readonly chunks: number
  readonly tokens: number
  readonly audioSeconds: number
  readonly elapsedMs: number
  /** elapsed / audio duration (< 1 is faster than real time). */
  readonly realTimeFactor: number
  /** audio duration / elapsed ("× real time"). */
  readonly speed: number
  /** From the call to the first decoded frame. */
  readonly timeToFirstAudioMs: number
  readonly msPerFrame: StageTimes<number>
}

export interface BenchSummary {
  readonly realTimeFactor: Stat
  readonly speed: Stat
  readonly timeToFirstAudioMs: Stat
  readonly msPerFrame: StageTimes<Stat>
}

/** Graph calls per frame of each stage, as the engine makes them. */
export interface StageCalls {
  /** flow_lm_main (or the combined step graph): 1. */
  readonly flowLm: number
  /** flow_lm_flow: K for LSD, 1 for a one-step head, 0 when the combined step graph runs it inside the FlowLM call. */
  readonly flowHead: number
  /** latent_to_mimi + mimi_decoder calls per frame (MIMI_GRAPHS_PER_DECODE per decode call, over the frames of the call). */
  readonly mimi: number
}

/** The graphs of one Mimi decode call (latent_to_mimi, mimi_decoder): each read once per call. */
export const MIMI_GRAPHS_PER_DECODE = 2

/**
 * The cores' shared work per frame: each stage's least core-milliseconds (on one core at the one-thread rates, or
 * on all cores at the machine's), summed and spread over the cores. Two stages side by side on a 2-core machine
 * cannot both have both cores.
 */
export interface WorkBound {
  readonly cores: number
  readonly flowLmCoreMs: number
  readonly flowHeadCoreMs: number
  readonly mimiCoreMs: number
  /** (flowLmCoreMs + flowHeadCoreMs + mimiCoreMs) / cores. */
  readonly ms: number
}

/**
 * The weights a frame reads, at the rate the all-core probe reached for each graph's size: the cores share one
 * memory system, so two cores streaming together reach the all-core rate, not twice one core's.
 */
export interface TrafficBound {
  /** Weight bytes read per frame: the FlowLM step's, the flow head's once, the Mimi graphs' once per decode call. */
  readonly bytesPerFrame: number
  /** bytesPerFrame at the all-core rate the probe measured for that many bytes, ms. */
  readonly ms: number
}

/** How close the engine runs to what the machine allows (from the probe and the model's cost). */
export interface PerformanceBound {
  /** Lower bounds on each stage's time per frame: max(weight bytes / bandwidth, FLOPs / matmul rate). */
  readonly flowLmMs: number
  readonly flowHeadMs: number
  readonly mimiMs: number | null
  /**
   * The critical path per frame, each stage with the whole machine: FlowLM + flow head, with Mimi beside it on
   * another core (max) or after it (sum). Absent in older reports (their frameMs is this).
   */
  readonly stagesMs?: number
  /** The stages' work shared by the cores (absent when the probe measured no single core, and in older reports). */
  readonly work?: WorkBound
  /** The weights of a frame through the memory system the cores share (absent when the probe did not record its threads, and in older reports). */
  readonly traffic?: TrafficBound
  /** The bound per frame: the largest of stagesMs, work.ms and traffic.ms. */
  readonly frameMs: number
  readonly overlapped: boolean
  /** frame duration / frameMs: the fastest "× real time" this machine allows this model. */
  readonly maxSpeed: number
  /** bound frameMs / measured median wall ms per frame (1 = at the machine's limit). */
  readonly efficiency: number
  /** FlowLM weight bytes / measured median FlowLM step time. */
  readonly flowLmGBs: number
  /** bound flowLmMs / measured median FlowLM step time. */
  readonly flowLmEfficiency: number
  /** Graph calls per frame the bound counts (absent in reports written before they were counted). */
  readonly calls?: StageCalls
  /** The probe's median cost of one session.run, ms. */
  readonly callOverheadMs?: number
  /** Call overhead per frame: callOverheadMs × all the calls of a frame (FlowLM, head and Mimi, overlapped or not). */
  readonly callsMsPerFrame?: number
  /** The bandwidth the FlowLM bound reads its weights at (the stream probe at its size, else the large probe's). */
  readonly flowLmBandwidthGBs?: number
}

/** The Mimi decoder measured on its own against its arithmetic at the matmul rate of its own thread count. */
export interface MimiAloneBound extends MimiAloneTimes {
  /** latent_to_mimi + mimi_decoder FLOPs per frame (the model cost's Mimi stage). */
  readonly flopsPerFrame: number
  /** FLOPs / the median matmul rate measured between the runs, per frame. */
  readonly boundMs: number
  /** boundMs / median measured ms per frame (1 = at the machine's limit). */
  readonly share: number
}

export interface UpstreamRun {
  readonly elapsedMs: number
  readonly timeToFirstAudioMs: number | null
  readonly frames: number
  readonly audioSeconds: number
  readonly realTimeFactor: number | null
  readonly speed: number | null
}

/** `--against python`: upstream pocket_tts timed in the same invocation. */
export interface UpstreamComparison {
  readonly model: string
  /** The upstream pocket-tts release timed (absent in reports written before it was recorded). */
  readonly upstream?: string
  readonly quantize: boolean
  readonly quantizeBackend: string | null
  readonly torchThreads: number
  readonly versions: Readonly<Record<string, string>>
  readonly runs: readonly UpstreamRun[]
  readonly summary: {readonly realTimeFactor: Stat; readonly speed: Stat; readonly timeToFirstAudioMs: Stat}
  readonly peakRssMb: number
  /** Our median speed / upstream's median speed (> 1: we are faster). */
  readonly speedRatio: number
  /** Upstream's median time to first audio / ours (> 1: we start sooner). */
  readonly timeToFirstAudioRatio: number
}

export interface BaselineComparison {
  readonly metric: string
  readonly baseline: number
  readonly current: number
  /** (current − baseline) / baseline × 100, signed so that > 0 is worse. */
  readonly regressionPct: number
  readonly regressed: boolean
}

export interface BaselineResult {
  readonly file: string
  readonly maxRegressionPct: number
  readonly comparisons: readonly BaselineComparison[]
  readonly passed: boolean
}

export interface MachineInfo {
  readonly cpu: string
  readonly cores: number
  readonly memoryGb: number
  readonly platform: string
  readonly node: string
  readonly onnxruntime: string
  /** 1, 5 and 15 minute load averages when the bench started (others' work on the machine skews timings). */
  readonly loadAverage: readonly number[]
  /**
   * glibc malloc settings from the environment (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `GLIBC_TUNABLES`;
   * the `pockettts` launcher sets them so freed model-load buffers go back to the system and the weights sit on
   * transparent huge pages), null when unset.
   */
  readonly malloc: string | null
  /** Node's flags (command line, then NODE_OPTIONS): the launcher caps V8's young generation, which the peak RSS shows. */
  readonly nodeFlags: readonly string[]
}

/** `pockettts bench --json`, also the `--baseline` file format. */
export interface BenchReport {
  readonly format: typeof BENCH_FORMAT
  readonly createdAt: string
  readonly machine: MachineInfo
  readonly model: {
    readonly dir: string
    readonly generation: string
    readonly int8: boolean
    readonly graphBytes: Readonly<Record<string, number>>
  }
  readonly settings: {
    readonly text: string
    readonly voice: string
    /** Frames per chunk with EOS ignored; null = upstream's stopping rule. */
    readonly frames: number | null
    readonly runs: number
    readonly warmup: number
    readonly threads: number
    readonly mimiWorker: boolean
    /** AR steps ran through the combined step graph (flow_lm_main_flow: the head inside the FlowLM call); absent in older reports. */
    readonly stepWithHead?: boolean
    readonly seed: number
    readonly temperature: number
    readonly lsdDecodeSteps: number
  }
  readonly runs: readonly BenchRun[]
  readonly summary: BenchSummary
  /** Peak resident memory of this process (model load included), MB (10⁶ bytes), taken before the machine probe. */
  readonly peakRssMb: number
  readonly cost: ModelCost
  readonly probe: MachineProbe | null
  readonly bound: PerformanceBound | null
  /** The Mimi decoder timed alone and its own bound (with the probe). */
  readonly mimiAlone: MimiAloneBound | null
  readonly upstream: UpstreamComparison | null
  readonly baseline: BaselineResult | null
}
