import * as ort from 'onnxruntime-node'
import {describe, expect, it} from 'vitest'
import {
  BENCH_FORMAT,
  compareBaseline,
  bandwidthFor,
  encodeMatMulModel,
  flowLmWidths,
  frameWeightBytes,
  mimiDecoderMacs,
  mimiAloneBound,
  modelCost,
  performanceBound,
  probeMachine,
  quantizedStages,
  stageBoundMs,
  stageCalls,
  streamSideFor,
  renderBenchReport,
  summarize,
  summarizeRuns,
  type BenchReport,
  type BenchRun,
  type BenchSummary,
  type ModelCostParams,
} from '../../src/bench/index.js'

/** The real English dimensions (upstream config/english.yaml), as the manifest records them. */
const fullModel = {
  generation: 'v2',
  d_model: 1024,
  num_layers: 6,
  num_heads: 16,
  head_dim: 64,
  latent_dim: 32,
  flow_dim: 512,
  flow_depth: 6,
  mimi_dim: 512,
  mimi_input_dim: 512,
  mimi_num_layers: 2,
  mimi_num_heads: 8,
  mimi_head_dim: 64,
  mimi_context: 250,
  mimi_steps_per_latent: 16,
  num_kv_heads: 16,
  hidden_dim: 1024,
  sampler: {type: 'lsd', decode_steps: 1},
  config: {
    mimi: {
      seanet: {
        dimension: 512,
        channels: 1,
        n_filters: 64,
        n_residual_layers: 1,
        ratios: [6, 5, 4],
        kernel_size: 7,
        residual_kernel_size: 3,
        last_kernel_size: 3,
        dilation_base: 2,
        pad_mode: 'constant',
        compress: 2,
      },
      transformer: {d_model: 512, num_heads: 8, num_layers: 2, layer_scale: 0.01, context: 250, dim_feedforward: 2048},
    },
  },
} as const
const graphs = {
  flow_lm_main: {size: 302_000_000},
  flow_lm_flow: {size: 39_000_000},
  latent_to_mimi: {size: 66_000},
  mimi_decoder: {size: 41_000_000},
}
/** A manifest fragment: only the fields the cost model reads. */
const manifest = {model: fullModel, graphs} as unknown as ModelCostParams['manifest']

/** english_7m_2026-10's dimensions (upstream 4.0.1's config): grouped-query attention, narrow FFN, z_dim, drifting head, small Mimi decoder. */
const model7m = {
  ...fullModel,
  d_model: 224,
  num_layers: 8,
  num_heads: 8,
  head_dim: 64,
  num_kv_heads: 2,
  hidden_dim: 64,
  flow_dim: 192,
  flow_depth: 4,
  mimi_input_dim: 128,
  mimi_num_layers: 12,
  mimi_num_heads: 4,
  mimi_head_dim: 32,
  mimi_context: 50,
  sampler: {type: 'drifting', decode_steps: 1},
  config: {
    flow_lm: {
      transformer: {d_model: 224, hidden_scale: 1, num_heads: 8, num_layers: 8, attn_dim: 512, num_kv_heads: 2, dim_feedforward: null},
    },
    mimi: {
      ...fullModel.config.mimi,
      decoder_seanet: {...fullModel.config.mimi.seanet, dimension: 128, n_filters: 32, kernel_size: 3},
      decoder_transformer: {d_model: 128, num_heads: 4, num_layers: 12, layer_scale: 0.01, context: 50, dim_feedforward: 384},
    },
  },
} as const
const graphs7m = {
  flow_lm_main: {size: 12_930_214},
  flow_lm_flow: {size: 3_398_214},
  latent_to_mimi: {size: 17_372},
  mimi_decoder: {size: 11_362_224},
}
const manifest7m = {model: model7m, graphs: graphs7m} as unknown as ModelCostParams['manifest']

function stat(median: number): ReturnType<typeof summarize> {
  return {min: median, median, max: median, mean: median, n: 1}
}

function summaryWith(values: {speed: number; ttfa: number; flowLm: number; flowHead: number; mimi: number; wall: number}): BenchSummary {
  return {
    realTimeFactor: stat(1 / values.speed),
    speed: stat(values.speed),
    timeToFirstAudioMs: stat(values.ttfa),
    msPerFrame: {
      wall: stat(values.wall),
      text: stat(1),
      flowLm: stat(values.flowLm),
      flowHead: stat(values.flowHead),
      mimi: stat(values.mimi),
    },
  }
}

describe('bench arithmetic', () => {
  it('summarizes min / median / max / mean, ignoring non-finite values', () => {
    expect(summarize([3, 1, 2])).toEqual({min: 1, median: 2, max: 3, mean: 2, n: 3})
    expect(summarize([4, 1, 3, 2])).toMatchObject({median: 2.5, n: 4})
    expect(summarize([5, Number.NaN, Number.POSITIVE_INFINITY])).toMatchObject({min: 5, median: 5, max: 5, n: 1})
    expect(summarize([]).n).toBe(0)
    expect(Number.isNaN(summarize([]).median)).toBe(true)
  })

  it('aggregates each per-run metric of the runs', () => {
    const run = (speed: number, ttfa: number): BenchRun => ({
      frames: 10,
      steps: 10,
      chunks: 1,
      tokens: 16,
      audioSeconds: 0.8,
      elapsedMs: 800 / speed,
      realTimeFactor: 1 / speed,
      speed,
      timeToFirstAudioMs: ttfa,
      msPerFrame: {wall: 80 / speed, text: 2, flowLm: 15, flowHead: 2, mimi: speed},
    })
    const s = summarizeRuns([run(4, 50), run(2, 70), run(3, 60)])
    expect(s.speed).toMatchObject({min: 2, median: 3, max: 4})
    expect(s.timeToFirstAudioMs).toMatchObject({min: 50, median: 60, max: 70})
    expect(s.msPerFrame.wall.median).toBeCloseTo(80 / 3)
    expect(s.msPerFrame.mimi.max).toBe(4)
  })

  it('counts the FLOPs of a frame from the dimensions of the real English model', () => {
    const cost = modelCost({manifest, meanPosition: 0, tokens: 16})
    expect(cost.flowLmMatmulParams).toBe(6 * 12 * 1024 * 1024) // 75.5 M weights every step streams
    expect(cost.flowLmStep.flops).toBe(2 * (75_497_472 + 32 * 1024 + 1024))
    expect(cost.flowHead.flops).toBe(2 * 9_732_096) // ~9.7 M flow-net weights, one evaluation
    expect(mimiDecoderMacs(manifest.model)).toBe(270_737_408) // transformer 108.9 M + SEANet 161.8 M + projections
    expect(cost.mimi?.flops).toBe(2 * 270_737_408)
    expect(cost.perFrame.flops).toBe(cost.flowLmStep.flops + cost.flowHead.flops + 2 * 270_737_408)
    expect(cost.flowLmStep.weightBytes).toBe(302_000_000)
    expect(cost.mimi?.weightBytes).toBe(41_066_000)
  })

  it('adds attention over the attended positions and K flow-head evaluations', () => {
    const at0 = modelCost({manifest, meanPosition: 0, tokens: 16})
    const at100 = modelCost({manifest, meanPosition: 100, tokens: 16, lsdDecodeSteps: 4})
    expect(at100.flowLmStep.flops - at0.flowLmStep.flops).toBe(2 * 6 * 2 * 100 * 1024) // Q·K and the V sum, 1024 wide
    expect(at100.flowHead.flops).toBe(4 * at0.flowHead.flops)
    expect(at100.flowHead.weightBytes).toBe(4 * 39_000_000)
    expect(at0.textPrefill.flops).toBeGreaterThan(16 * at0.flowLmMatmulParams * 2)
  })

  it('counts a 4.x small family: grouped-query attention, its FFN width, the z projection, a one-step head, the small Mimi decoder', () => {
    expect(flowLmWidths(model7m as unknown as ModelCostParams['manifest']['model'])).toEqual({
      attention: 512,
      keyValue: 128,
      feedForward: 224,
    })
    const at0 = modelCost({manifest: manifest7m, meanPosition: 0, tokens: 16, lsdDecodeSteps: 4})
    // per layer: Q/K/V 224·(512 + 2·128) + out 512·224 + FFN 2·224·224 = 387 072; + input_linear, z_proj 224·64, out_eos 64
    expect(at0.flowLmMatmulParams).toBe(8 * 387_072)
    expect(at0.flowLmStep.flops).toBe(2 * (8 * 387_072 + 32 * 224 + 224 * 64 + 64))
    // drifting: one evaluation whatever the decode steps, no time embedders; cond 64·192, input 32·192, 4 blocks, final
    expect(at0.flowHead.flops).toBe(2 * (64 * 192 + 32 * 192 + 4 * 5 * 192 * 192 + 2 * 192 * 192 + 192 * 32))
    expect(at0.flowHead.weightBytes).toBe(3_398_214)
    // decoder transformer 12 × 16 steps × (4·128² + 2·128·384 + 2·50·128) + SEANet from 128 channels, 32 filters, kernel 3
    expect(mimiDecoderMacs(model7m as unknown as ModelCostParams['manifest']['model'])).toBe(68_710_400)
    const at100 = modelCost({manifest: manifest7m, meanPosition: 100, tokens: 16})
    expect(at100.flowLmStep.flops - at0.flowLmStep.flops).toBe(2 * 8 * 2 * 100 * 512) // attention is attn_dim wide, not d_model
  })

  it('leaves Mimi uncounted (null) when the manifest lacks its config', () => {
    const bare = {...manifest.model, config: {}}
    expect(mimiDecoderMacs(bare)).toBeNull()
    const cost = modelCost({manifest: {model: bare, graphs} as unknown as ModelCostParams['manifest'], meanPosition: 0, tokens: 4})
    expect(cost.mimi).toBeNull()
    expect(cost.perFrame.flops).toBe(cost.flowLmStep.flops + cost.flowHead.flops)
  })

  it('bounds each stage by bandwidth or arithmetic, overlapping Mimi only with the worker', () => {
    const cost = modelCost({manifest, meanPosition: 0, tokens: 16})
    const probe = {bandwidthGBs: 20, matmulGflops: 100}
    const summary = summaryWith({speed: 4, ttfa: 50, flowLm: 20, flowHead: 3, mimi: 12, wall: 20})
    const overlapped = performanceBound({cost, probe, summary, frameMs: 80, overlapped: true})
    expect(overlapped.flowLmMs).toBeCloseTo((302_000_000 / 20e9) * 1000) // 15.1 ms: weights over bandwidth
    expect(overlapped.mimiMs).toBeCloseTo(((2 * 270_737_408) / 100e9) * 1000) // 5.4 ms: arithmetic over matmul rate
    expect(overlapped.frameMs).toBeCloseTo(overlapped.flowLmMs + overlapped.flowHeadMs)
    expect(overlapped.maxSpeed).toBeCloseTo(80 / overlapped.frameMs)
    expect(overlapped.efficiency).toBeCloseTo(overlapped.frameMs / 20)
    expect(overlapped.flowLmGBs).toBeCloseTo(302_000_000 / 0.02 / 1e9)
    const serial = performanceBound({cost, probe, summary, frameMs: 80, overlapped: false})
    expect(serial.frameMs).toBeCloseTo(overlapped.frameMs + (overlapped.mimiMs ?? 0))
  })

  it('adds the cost of each graph call to a stage and reads small weights at the bandwidth measured at their size', () => {
    const stage = {flops: 1e6, weightBytes: 12e6}
    const probe = {
      bandwidthGBs: 10,
      matmulGflops: 100,
      callOverheadMs: stat(0.02),
      streams: [
        {weightMb: 12.5, ms: stat(0.5), bandwidthGBs: 40},
        {weightMb: 3.3, ms: stat(0.1), bandwidthGBs: 60},
      ],
    }
    expect(bandwidthFor(12e6, probe)).toBe(40) // nearest size
    expect(bandwidthFor(3e6, probe)).toBe(60)
    expect(bandwidthFor(300e6, probe)).toBe(10) // nothing within 2x: the large probe's
    // a small weight measured slower than the large probe (a load spike) is read at the large probe's rate
    expect(bandwidthFor(12e6, {...probe, streams: [{weightMb: 12, ms: stat(3), bandwidthGBs: 4}]})).toBe(10)
    expect(stageBoundMs(stage, probe, 1)).toBeCloseTo(0.02 + (12e6 / 40e9) * 1000) // 0.32 ms
    // two calls of 6 MB each: two overheads, the bytes at the rate of the nearest size (3.3 MB)
    expect(stageBoundMs(stage, probe, 2)).toBeCloseTo(0.04 + (12e6 / 60e9) * 1000)
    expect(stageBoundMs(stage, {bandwidthGBs: 10, matmulGflops: 100}, 1)).toBeCloseTo(1.2) // older probes: no overhead, no streams
    const cost = modelCost({manifest: manifest7m, meanPosition: 100, tokens: 16})
    const summary = summaryWith({speed: 8, ttfa: 20, flowLm: 5, flowHead: 1, mimi: 6, wall: 10})
    const calls = stageCalls({headCalls: 1, mimiCalls: 25, frames: 92})
    expect(calls).toEqual({flowLm: 1, flowHead: 1, mimi: 50 / 92})
    const bound = performanceBound({cost, probe, summary, frameMs: 80, overlapped: true, calls})
    expect(bound.callOverheadMs).toBeCloseTo(0.02)
    expect(bound.callsMsPerFrame).toBeCloseTo(0.02 * (2 + 50 / 92))
    expect(bound.flowLmBandwidthGBs).toBe(40)
    expect(bound.flowLmMs).toBeCloseTo(0.02 + (12_930_214 / 40e9) * 1000)
    expect(bound.mimiMs).toBeCloseTo((50 / 92) * 0.02 + ((2 * 68_710_400) / 100e9) * 1000) // arithmetic-bound
  })

  it("spreads the stages' least core-ms over the cores: two stages side by side cannot both have every core", () => {
    const cost = modelCost({manifest, meanPosition: 0, tokens: 16})
    const summary = summaryWith({speed: 4, ttfa: 50, flowLm: 15, flowHead: 3, mimi: 12, wall: 18})
    // 2 cores: 28 GB/s and 180 GFLOP/s together, one core 16 GB/s and 90 GFLOP/s
    const probe = {threads: 2, bandwidthGBs: 28, matmulGflops: 180, perCore: {bandwidthGBs: 16, matmulGflops: 90, streams: []}}
    const bound = performanceBound({cost, probe, summary, frameMs: 80, overlapped: true})
    const flowLmCoreMs = Math.min((302_000_000 / 16e9) * 1000, 2 * (302_000_000 / 28e9) * 1000) // one core: 18.9 core-ms
    expect(bound.work?.flowLmCoreMs).toBeCloseTo(flowLmCoreMs)
    expect(bound.work?.mimiCoreMs).toBeCloseTo(((2 * 270_737_408) / 90e9) * 1000) // 6.0 core-ms
    const work = bound.work
    expect(work?.ms).toBeCloseTo(work === undefined ? Number.NaN : (work.flowLmCoreMs + work.flowHeadCoreMs + work.mimiCoreMs) / 2)
    expect(bound.stagesMs).toBeCloseTo(bound.flowLmMs + bound.flowHeadMs) // the old rule: 10.8 ms + the head
    expect(bound.frameMs).toBeCloseTo(Math.max(bound.stagesMs ?? 0, work?.ms ?? 0, bound.traffic?.ms ?? 0))
    expect(bound.frameMs).toBeCloseTo(work?.ms ?? Number.NaN) // here the shared work binds
    expect(bound.frameMs).toBeGreaterThan(bound.stagesMs ?? Number.POSITIVE_INFINITY)
    expect(bound.efficiency).toBeCloseTo(bound.frameMs / 18)
    const boundWith = (limits: Parameters<typeof performanceBound>[0]['probe']) =>
      performanceBound({cost, summary, frameMs: 80, overlapped: true, probe: limits})
    // a stage that scales with the cores costs the same core-ms on all of them (the lesser of the two)
    expect(boundWith({...probe, bandwidthGBs: 40}).work?.flowLmCoreMs).toBeCloseTo(2 * (302_000_000 / 40e9) * 1000) // 15.1 < 18.9
    // an all-core probe slower than one core (a load spike): the stage can always run on one thread
    const spike = boundWith({...probe, bandwidthGBs: 11})
    expect(spike.flowLmMs).toBeCloseTo((302_000_000 / 16e9) * 1000)
    expect(spike.flowLmBandwidthGBs).toBe(16)
    // one thread: the probe is the core; with no single-core probe there is no work term and the old rule stands
    const oneCore = boundWith({threads: 1, bandwidthGBs: 16, matmulGflops: 90})
    expect(oneCore.frameMs).toBeCloseTo(oneCore.flowLmMs + oneCore.flowHeadMs + (oneCore.mimiMs ?? 0)) // serial on one core
    const unknown = boundWith({threads: 2, bandwidthGBs: 28, matmulGflops: 180})
    expect(unknown.work).toBeUndefined()
    expect(unknown.frameMs).toBeCloseTo(Math.max(unknown.stagesMs ?? Number.NaN, unknown.traffic?.ms ?? Number.NaN))
    // a probe that does not say its threads (older reports): neither term, the critical path alone
    const older = boundWith({bandwidthGBs: 28, matmulGflops: 180})
    expect(older.traffic).toBeUndefined()
    expect(older.frameMs).toBeCloseTo(older.stagesMs ?? Number.NaN)
  })

  it("reads a frame's weights through the memory the cores share, and no graph's weights stay cached across a frame larger than the caches", () => {
    const cost = modelCost({manifest, meanPosition: 0, tokens: 16})
    const summary = summaryWith({speed: 4.5, ttfa: 45, flowLm: 14, flowHead: 3, mimi: 13, wall: 17})
    // 2 cores: 30 GB/s together (one core 23); 70 GB/s when a 39 MB weight is read again and again (the caches help)
    const streams = [{weightMb: 39, ms: stat(0.6), bandwidthGBs: 70}]
    const probe = {threads: 2, bandwidthGBs: 30, matmulGflops: 1000, streams, perCore: {bandwidthGBs: 23, matmulGflops: 500, streams}}
    const calls = {flowLm: 1, flowHead: 1, mimi: 0.5}
    const bound = performanceBound({cost, probe, summary, frameMs: 80, overlapped: true, calls})
    // latent_to_mimi + mimi_decoder, each read once per decode call: half a graph call a frame is a decode call every 4 frames
    const mimiBytes = 41_066_000
    const frameBytes = 302e6 + 39e6 + 0.25 * mimiBytes
    expect(frameWeightBytes(cost, calls)).toBeCloseTo(frameBytes, 0)
    expect(bound.traffic?.bytesPerFrame).toBeCloseTo(frameBytes, 0)
    // all of it at the large probe's rate: 361 MB is far beyond the 39 MB stream probe
    expect(bound.traffic?.ms).toBeCloseTo((frameBytes / 30e9) * 1000) // 12.0 ms
    // one core's 23 GB/s spread over two cores would allow the FlowLM's 302 MB in 6.6 ms a core; together they stream at 30
    expect(bound.work?.ms).toBeLessThan(bound.traffic?.ms ?? 0)
    expect(bound.frameMs).toBeCloseTo(bound.traffic?.ms ?? Number.NaN)
    expect(bound.efficiency).toBeCloseTo((bound.traffic?.ms ?? Number.NaN) / 17)
    // the 39 MB head is read again only after the FlowLM's 302 MB: at the large probe's rate, not the 70 GB/s of its size alone
    expect(bound.flowHeadMs).toBeCloseTo((39e6 / 30e9) * 1000)
    expect(stageBoundMs(cost.flowHead, probe, 1)).toBeCloseTo((39e6 / 70e9) * 1000) // alone, between its own calls only
    // a head inside the step graph (no call of its own) still reads its weights every frame
    expect(frameWeightBytes(cost, {...calls, flowHead: 0})).toBeCloseTo(frameBytes, 0)
    // a frame that fits the caches (a small family) keeps the stream probe's rate
    const cost7m = modelCost({manifest: manifest7m, meanPosition: 100, tokens: 16})
    const small = {...probe, streams: [{weightMb: 25, ms: stat(0.2), bandwidthGBs: 120}]}
    const bound7m = performanceBound({cost: cost7m, probe: small, summary, frameMs: 80, overlapped: true, calls})
    expect(bound7m.traffic?.ms).toBeCloseTo(((12_930_214 + 3_398_214 + 0.25 * (17_372 + 11_362_224)) / 120e9) * 1000)
  })

  it("reads the flow head's K evaluations of a frame once from memory, then again at the rate of its own size", () => {
    const summary = summaryWith({speed: 4.5, ttfa: 45, flowLm: 14, flowHead: 6, mimi: 13, wall: 20})
    const streams = [{weightMb: 39, ms: stat(0.6), bandwidthGBs: 70}]
    const probe = {threads: 2, bandwidthGBs: 30, matmulGflops: 1000, streams, perCore: {bandwidthGBs: 23, matmulGflops: 500, streams}}
    const cost = modelCost({manifest, meanPosition: 0, tokens: 16, lsdDecodeSteps: 2})
    expect(cost.flowHead.weightBytes).toBe(2 * 39e6)
    const calls = stageCalls({headCalls: 2, mimiCalls: 23, frames: 92})
    const bound = performanceBound({cost, probe, summary, frameMs: 80, overlapped: true, calls})
    // the first evaluation after the FlowLM's stream (from memory), the second right after the first (the 39 MB probe)
    expect(bound.flowHeadMs).toBeCloseTo((39e6 / 30e9 + 39e6 / 70e9) * 1000) // no call overhead in this probe
    expect(frameWeightBytes(cost, calls)).toBeCloseTo(302e6 + 39e6 + 0.25 * 41_066_000, 0)
    // K = 1: the one read from memory, as before
    const one = modelCost({manifest, meanPosition: 0, tokens: 16})
    expect(stageBoundMs(one.flowHead, probe, 1, 300e6)).toBeCloseTo((39e6 / 30e9) * 1000)
  })

  it("bounds an int8 stage's arithmetic at the probe's int8 rate, the others at the fp32 rate", () => {
    const cost = modelCost({manifest, meanPosition: 0, tokens: 16})
    const summary = summaryWith({speed: 8, ttfa: 30, flowLm: 7, flowHead: 1, mimi: 4, wall: 9})
    const probe = {
      threads: 2,
      bandwidthGBs: 1000,
      matmulGflops: 180,
      int8MatmulGflops: 600,
      perCore: {bandwidthGBs: 1000, matmulGflops: 90, int8MatmulGflops: 350, streams: []},
    }
    const mimiFlops = 2 * 270_737_408 // weights read from the caches (1000 GB/s here): the arithmetic binds
    const fp32 = performanceBound({cost, probe, summary, frameMs: 80, overlapped: true})
    const int8 = performanceBound({cost, probe, summary, frameMs: 80, overlapped: true, int8: {mimi: true}})
    expect(fp32.mimiMs).toBeCloseTo((mimiFlops / 180e9) * 1000)
    expect(int8.mimiMs).toBeCloseTo((mimiFlops / 600e9) * 1000)
    expect(int8.work?.mimiCoreMs).toBeCloseTo((mimiFlops / 350e9) * 1000) // one core at its int8 rate
    expect(int8.flowLmMs).toBeCloseTo(fp32.flowLmMs) // the FlowLM was not said to be int8
    // a probe without an int8 rate (older reports) leaves the fp32 rate
    const {int8MatmulGflops: _all, perCore, ...older} = probe
    const {int8MatmulGflops: _one, ...olderCore} = perCore
    expect(
      performanceBound({cost, summary, frameMs: 80, overlapped: true, int8: {mimi: true}, probe: {...older, perCore: olderCore}}).mimiMs,
    ).toBeCloseTo(fp32.mimiMs ?? Number.NaN)
    // which stages an export quantised: its manifest's record
    expect(quantizedStages({})).toEqual({flowLm: false, flowHead: false, mimi: false})
    const record = {graphs: {flow_lm_main: {}, mimi_decoder: {}}} as unknown as NonNullable<
      Parameters<typeof quantizedStages>[0]['quantization']
    >
    expect(quantizedStages({quantization: record})).toEqual({flowLm: true, flowHead: false, mimi: true})
  })

  it('sizes the stream probes as square fp32 weights, leaving sizes the large probe covers to it', () => {
    expect(streamSideFor(12_930_214, 8192)).toBe(1792) // sqrt(12.9 MB / 4) = 1798 -> a multiple of 16
    expect(streamSideFor(100, 8192)).toBe(16)
    expect(streamSideFor(302_000_000, 8192)).toBeNull()
    expect(streamSideFor(0, 8192)).toBeNull()
  })

  it('bounds the Mimi decoder alone by its arithmetic at the matmul rate timed between its runs, and its share of that bound', () => {
    const cost = modelCost({manifest, meanPosition: 0, tokens: 16})
    const measured = {
      threads: 1,
      frames: 92,
      calls: [1, 2, 4],
      runs: 3,
      msPerFrame: stat(10.83),
      firstCallMs: stat(9),
      matmulGflops: stat(50),
    }
    const bound = mimiAloneBound({cost, measured})
    expect(bound?.flopsPerFrame).toBe(2 * 270_737_408)
    expect(bound?.boundMs).toBeCloseTo(((2 * 270_737_408) / 50e9) * 1000) // 10.83 ms: arithmetic over the 1-thread rate
    expect(bound?.share).toBeCloseTo(bound === null ? Number.NaN : bound.boundMs / 10.83)
    expect(bound?.calls).toEqual([1, 2, 4])
    // without a Mimi cost (config fields missing) there is no bound
    expect(mimiAloneBound({cost: {...cost, mimi: null}, measured})).toBeNull()
  })

  it('flags a baseline regression beyond the limit, in the right direction per metric', () => {
    const baseline = {summary: summaryWith({speed: 4, ttfa: 50, flowLm: 20, flowHead: 2, mimi: 10, wall: 20})}
    const slower = {summary: summaryWith({speed: 3, ttfa: 40, flowLm: 21, flowHead: 2, mimi: 10, wall: 26})}
    const result = compareBaseline({current: slower, baseline, file: 'b.json', maxRegressionPct: 10})
    const by = Object.fromEntries(result.comparisons.map((c) => [c.metric.split(' ')[0], c]))
    expect(by['speed']).toMatchObject({regressionPct: 25, regressed: true}) // 4x → 3x is 25% worse
    expect(by['time']).toMatchObject({regressionPct: -20, regressed: false}) // first audio got better
    expect(by['FlowLM']?.regressionPct).toBeCloseTo(5)
    expect(by['FlowLM']?.regressed).toBe(false)
    expect(result.passed).toBe(false)
    expect(compareBaseline({current: slower, baseline, file: 'b.json', maxRegressionPct: 30}).passed).toBe(true)
    expect(compareBaseline({current: baseline, baseline, file: 'b.json', maxRegressionPct: 0}).passed).toBe(true)
  })

  it('encodes a MatMul model that onnxruntime loads and computes', async () => {
    const model = encodeMatMulModel({m: 2, k: 3, n: 4, fillByte: 0x3f}) // W = 0x3f3f3f3f = 0.7470... everywhere
    const w = new DataView(Uint8Array.of(0x3f, 0x3f, 0x3f, 0x3f).buffer).getFloat32(0, true)
    const session = await ort.InferenceSession.create(model)
    try {
      const x = new ort.Tensor('float32', Float32Array.of(1, 2, 3, -1, 0, 4), [2, 3])
      const y = (await session.run({x}))['y']
      expect(y?.dims).toEqual([2, 4])
      const data = Array.from(y?.data as Float32Array)
      for (const v of data.slice(0, 4)) expect(v).toBeCloseTo(6 * w, 5)
      for (const v of data.slice(4)) expect(v).toBeCloseTo(3 * w, 5)
    } finally {
      await session.release()
    }
  })

  it('encodes the int8-weight product (DynamicQuantizeMatMul) that onnxruntime loads and computes', async () => {
    const session = await ort.InferenceSession.create(encodeMatMulModel({m: 2, k: 3, n: 4, int8: true})) // W = 3 · 1/64 everywhere
    try {
      const y = (await session.run({x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, -1, 0, 4), [2, 3])}))['y']
      expect(y?.dims).toEqual([2, 4])
      const data = Array.from(y?.data as Float32Array)
      for (const v of data.slice(0, 4)) expect(v).toBeCloseTo((6 * 3) / 64, 2) // x quantised to uint8 per call
      for (const v of data.slice(4)) expect(v).toBeCloseTo((3 * 3) / 64, 2)
    } finally {
      await session.release()
    }
  })

  it('probes bandwidth and matmul rate with that model (small sizes: plumbing only, no timing claims)', async () => {
    const probe = await probeMachine({threads: 1, bandwidthSide: 128, repeats: 2, streamBytes: [16 * 16 * 4, 64 * 64 * 4, 1e9]})
    expect(probe.bandwidthWeightMb).toBeCloseTo((128 * 128 * 4) / 1e6)
    expect(probe.callOverheadMs?.n).toBe(200)
    expect(probe.callOverheadMs?.median).toBeGreaterThan(0)
    // one stream probe per size below the large probe's, at that size
    expect(probe.streams?.map((st) => st.weightMb)).toEqual([(16 * 16 * 4) / 1e6, (64 * 64 * 4) / 1e6])
    expect(probe.streams?.every((st) => st.bandwidthGBs > 0 && st.ms.n === 2)).toBe(true)
    expect(probe.bandwidthMs.n).toBe(2)
    expect(probe.bandwidthGBs).toBeGreaterThan(0)
    expect(probe.matmulGflops).toBeGreaterThan(0)
    expect(Number.isFinite(probe.matmulGflops)).toBe(true)
    expect(probe.perCore).toBeUndefined() // one thread: the probe itself is the core
    const two = await probeMachine({threads: 2, bandwidthSide: 128, repeats: 2, streamBytes: [64 * 64 * 4]})
    expect(two.perCore?.streams.map((st) => st.weightMb)).toEqual([(64 * 64 * 4) / 1e6])
    expect(two.perCore?.bandwidthGBs).toBeGreaterThan(0)
    expect(two.perCore?.matmulGflops).toBeGreaterThan(0)
    expect((await probeMachine({threads: 2, bandwidthSide: 128, repeats: 2, perCore: false})).perCore).toBeUndefined()
    expect(two.int8MatmulGflops).toBeUndefined() // only when asked
    const int8 = await probeMachine({threads: 2, bandwidthSide: 128, repeats: 2, int8: true})
    expect(int8.int8MatmulGflops).toBeGreaterThan(0)
    expect(int8.perCore?.int8MatmulGflops).toBeGreaterThan(0)
  })

  it('renders the machine line, the min/median/max table, the bound and the comparisons', () => {
    const cost = modelCost({manifest, meanPosition: 50, tokens: 16})
    const summary = summaryWith({speed: 4, ttfa: 50, flowLm: 20, flowHead: 3, mimi: 12, wall: 20})
    const probe = {
      threads: 2,
      bandwidthWeightMb: 268,
      bandwidthMs: stat(12),
      bandwidthGBs: 22,
      matmulShape: [256, 2048, 2048] as const,
      matmulMs: stat(20),
      matmulGflops: 107,
      callOverheadMs: stat(0.013),
      streams: [{weightMb: 39.1, ms: stat(2), bandwidthGBs: 19.6}],
    }
    const mimiMeasured = {
      threads: 1,
      frames: 92,
      calls: [1, 2, 4, 4, 4, 1],
      runs: 3,
      msPerFrame: stat(12.5),
      firstCallMs: stat(10),
      matmulGflops: stat(54),
    }
    const report: BenchReport = {
      format: BENCH_FORMAT,
      createdAt: '2026-01-01T00:00:00.000Z',
      machine: {
        cpu: 'Test CPU',
        cores: 2,
        memoryGb: 8,
        platform: 'linux-x64',
        node: 'v20',
        onnxruntime: '1.30.0',
        loadAverage: [0.5, 0.4, 0.3],
        malloc: null,
        nodeFlags: [],
      },
      model: {dir: '/m', generation: 'v2', int8: false, graphBytes: {}},
      settings: {
        text: 'x',
        voice: 'name:alba',
        frames: 92,
        runs: 3,
        warmup: 1,
        threads: 2,
        mimiWorker: true,
        seed: 42,
        temperature: 0.7,
        lsdDecodeSteps: 1,
      },
      runs: [],
      summary,
      peakRssMb: 612.3,
      cost,
      probe,
      bound: performanceBound({cost, probe, summary, frameMs: 80, overlapped: true, calls: {flowLm: 1, flowHead: 1, mimi: 0.5}}),
      mimiAlone: mimiAloneBound({cost, measured: mimiMeasured}),
      upstream: {
        model: '/u',
        quantize: false,
        quantizeBackend: null,
        torchThreads: 1,
        versions: {pocket_tts: '2.1.0', torch: '2.13.0'},
        runs: [],
        summary: {realTimeFactor: stat(0.4), speed: stat(2.5), timeToFirstAudioMs: stat(140)},
        peakRssMb: 1100,
        speedRatio: 1.6,
        timeToFirstAudioRatio: 2.8,
      },
      baseline: compareBaseline({
        current: {summary},
        baseline: {summary: summaryWith({speed: 5, ttfa: 50, flowLm: 20, flowHead: 3, mimi: 12, wall: 16})},
        file: 'base.json',
        maxRegressionPct: 10,
      }),
    }
    const text = renderBenchReport(report)
    expect(text).toContain('machine: Test CPU, 2 cores')
    expect(text).toContain('load average 0.5 0.4 0.3')
    expect(text).toMatch(/speed \(x real time\)\s+4\.00\s+4\.00\s+4\.00/)
    expect(text).toContain('peak RSS: 612 MB')
    expect(text).toContain('22.0 GB/s')
    expect(text).toContain("(19.6 GB/s at 39.1 MB: the graphs' sizes)")
    expect(text).toContain('13 us per session.run')
    expect(text).toContain('graph calls per frame: FlowLM 1, head 1, Mimi 0.50; 0.033 ms of call overhead')
    expect(text).toContain("1.60x upstream's speed")
    expect(text).toContain('Mimi decoder alone (1 thread(s), 92 frames in calls of 1, 2, 4 x 3, 1): 12.50 / 12.50 / 12.50 ms/frame')
    expect(text).toContain(
      'FLOP bound 10.03 ms/frame (541 MFLOP at 54 GFLOP/s, the matmul rate on 1 thread(s) timed between the runs): 80% of it',
    )
    expect(text).toContain('REGRESSED')
    expect(JSON.parse(JSON.stringify(report)).format).toBe(BENCH_FORMAT)
  })
})
