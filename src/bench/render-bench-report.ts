import {renderTable} from '../report/render-table.js'
import type {BenchReport} from './bench-report.js'
import type {Stat} from './summarize.js'

const fixed = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits)
const triple = (s: Stat, digits = 1): [string, string, string] => [fixed(s.min, digits), fixed(s.median, digits), fixed(s.max, digits)]

/** `1, 2, 4 x 22, 1`: the frames of each decode call, runs of equal calls folded. */
function callList(calls: readonly number[]): string {
  const runs: [number, number][] = []
  for (const n of calls) {
    const last = runs[runs.length - 1]
    if (last !== undefined && last[0] === n) last[1] += 1
    else runs.push([n, 1])
  }
  return runs.map(([n, count]) => (count === 1 ? `${n}` : `${n} x ${count}`)).join(', ')
}

/** The human report of `pockettts bench`: a machine line, one table of min/median/max, the bound and comparisons. */
export function renderBenchReport(report: BenchReport): string {
  const {machine, settings, summary, cost} = report
  const lines: string[] = []
  lines.push(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.platform}, ` +
      `node ${machine.node}, onnxruntime-node ${machine.onnxruntime}; load average ${machine.loadAverage.join(' ')} ` +
      `at start; malloc ${machine.malloc ?? 'glibc defaults'}; node flags ${machine.nodeFlags.length === 0 ? 'none' : machine.nodeFlags.join(' ')}`,
  )
  const first = report.runs[0]
  lines.push(
    `model: ${report.model.dir} (${report.model.generation}${report.model.int8 ? ', int8' : ''}); ` +
      `voice ${settings.voice}; ${first?.tokens ?? '?'} tokens in ${first?.chunks ?? '?'} ` +
      `chunk(s), ` +
      `${first?.frames ?? '?'} frames (${settings.frames === null ? 'until EOS' : `fixed ${settings.frames} per chunk, EOS ignored`}); ` +
      `${settings.runs} runs after ${settings.warmup} warm-up; ${settings.threads} thread(s), Mimi ${settings.mimiWorker ? 'on a worker thread' : 'inline'}` +
      (settings.stepWithHead === true ? '; FlowLM step and sampler head in one call (flow_lm_main_flow)' : ''),
  )
  lines.push('')
  const rows: string[][] = [
    ['real-time factor (lower is faster)', ...triple(summary.realTimeFactor, 3)],
    ['speed (x real time)', ...triple(summary.speed, 2)],
    ['time to first audio (ms)', ...triple(summary.timeToFirstAudioMs)],
    ['wall time per frame (ms)', ...triple(summary.msPerFrame.wall)],
    ['  text embed + prefill with step 0 (ms/frame)', ...triple(summary.msPerFrame.text, 2)],
    ['  FlowLM step (ms/step, steps 1+)', ...triple(summary.msPerFrame.flowLm)],
    [
      settings.stepWithHead === true ? '  flow head (ms/step, inside the FlowLM call)' : '  flow head (ms/step)',
      ...triple(summary.msPerFrame.flowHead, 2),
    ],
    [`  Mimi decode (ms/frame${settings.mimiWorker ? ', on the worker' : ''})`, ...triple(summary.msPerFrame.mimi)],
  ]
  lines.push(renderTable(['metric', 'min', 'median', 'max'], rows))
  lines.push('')
  lines.push(`peak RSS: ${fixed(report.peakRssMb, 0)} MB (model load included)`)
  const mimi = cost.mimi === null ? 'Mimi -' : `Mimi ${fixed(cost.mimi.flops / 1e6, 0)}`
  lines.push(
    `arithmetic per frame: FlowLM ${fixed(cost.flowLmStep.flops / 1e6, 0)} + flow head ` +
      `${fixed(cost.flowHead.flops / 1e6, 0)} + ${mimi} = ${fixed(cost.perFrame.flops / 1e9, 2)} ` +
      `GFLOP; ` +
      `weights of the graphs a frame runs ${fixed(cost.perFrame.weightBytes / 1e6, 0)} MB (FlowLM ${fixed(cost.flowLmStep.weightBytes / 1e6, 0)} MB)`,
  )
  if (report.probe !== null && report.bound !== null) {
    const {probe, bound} = report
    const streams = (probe.streams ?? []).map((st) => `${fixed(st.bandwidthGBs)} GB/s at ${fixed(st.weightMb, 1)} MB`)
    lines.push(
      `machine limit (${probe.threads} thread(s)): ${fixed(probe.bandwidthGBs)} GB/s streaming ` +
        `a ${fixed(probe.bandwidthWeightMb, 0)} MB weight${streams.length === 0 ? '' : ` (${streams.join(', ')}: the graphs' sizes)`}, ` +
        `${fixed(probe.matmulGflops, 0)} GFLOP/s matmul` +
        (probe.int8MatmulGflops === undefined ? '' : ` (int8 weights: ${fixed(probe.int8MatmulGflops, 0)})`) +
        (probe.callOverheadMs === undefined ? '' : `, ${fixed(probe.callOverheadMs.median * 1000, 0)} us per session.run`) +
        (probe.perCore === undefined
          ? ''
          : `; one core: ${fixed(probe.perCore.bandwidthGBs)} GB/s, ${fixed(probe.perCore.matmulGflops, 0)} GFLOP/s` +
            (probe.perCore.int8MatmulGflops === undefined ? '' : ` (int8 ${fixed(probe.perCore.int8MatmulGflops, 0)})`)),
    )
    lines.push(
      `bound per frame: FlowLM >= ${fixed(bound.flowLmMs)} ms + flow head >= ${fixed(bound.flowHeadMs, 2)} ` +
        `ms${bound.mimiMs === null ? '' : `, Mimi >= ${fixed(bound.mimiMs)} ms ${bound.overlapped ? 'beside it' : 'after it'}`}` +
        (bound.work === undefined || bound.stagesMs === undefined
          ? ''
          : ` -> ${fixed(bound.stagesMs)} ms; the ${bound.work.cores} cores' work: FlowLM ${fixed(bound.work.flowLmCoreMs)} + ` +
            `head ${fixed(bound.work.flowHeadCoreMs, 2)} + Mimi ${fixed(bound.work.mimiCoreMs)} core-ms / ${bound.work.cores} = ` +
            `${fixed(bound.work.ms)} ms`) +
        (bound.traffic === undefined
          ? ''
          : `; the weights through the shared memory: ${fixed(bound.traffic.bytesPerFrame / 1e6, 0)} MB at the all-core rates = ` +
            `${fixed(bound.traffic.ms)} ms`) +
        ` -> ${fixed(bound.frameMs)} ms/frame = at most ${fixed(bound.maxSpeed, 1)}x real time` +
        (bound.calls === undefined || bound.callsMsPerFrame === undefined
          ? ''
          : ` (graph calls per frame: FlowLM ${fixed(bound.calls.flowLm, 0)}, head ${fixed(bound.calls.flowHead, 0)}, ` +
            `Mimi ${fixed(bound.calls.mimi, 2)}; ${fixed(bound.callsMsPerFrame, 3)} ms of call overhead)`),
    )
    lines.push(
      `the engine runs at ${fixed(bound.efficiency * 100, 0)}% of that bound (FlowLM step: ` +
        `${fixed(bound.flowLmGBs)} GB/s, ${fixed(bound.flowLmEfficiency * 100, 0)}% of its bound` +
        `${bound.flowLmBandwidthGBs === undefined ? '' : ` at ${fixed(bound.flowLmBandwidthGBs)} GB/s`})`,
    )
  }
  if (report.mimiAlone !== null) {
    const m = report.mimiAlone
    lines.push(
      `Mimi decoder alone (${m.threads} thread(s), ${m.frames} frames in calls of ${callList(m.calls)}): ` +
        `${triple(m.msPerFrame, 2).join(' / ')} ms/frame, first call ${triple(m.firstCallMs, 1).join(' / ')} ms (min / median / max); ` +
        `FLOP bound ${fixed(m.boundMs, 2)} ms/frame (${fixed(m.flopsPerFrame / 1e6, 0)} MFLOP at ${fixed(m.matmulGflops.median, 0)} GFLOP/s, ` +
        `the ${m.int8 === true ? 'int8-weight ' : ''}matmul rate on ${m.threads} thread(s) timed between the runs): ` +
        `${fixed(m.share * 100, 0)}% of it`,
    )
  }
  if (report.upstream !== null) {
    const u = report.upstream
    lines.push('')
    lines.push(
      `upstream pocket_tts ${u.versions['pocket_tts'] ?? '?'} (torch ${u.versions['torch'] ?? '?'}${u.quantize ? `, quantize=True via ${u.quantizeBackend ?? '?'}` : ''}, ` +
        `its own loop): ` +
        `speed ${triple(u.summary.speed, 2).join(' / ')}x, first audio ${triple(u.summary.timeToFirstAudioMs, 0).join(' / ')} ` +
        `ms (min / median / max), peak RSS ${fixed(u.peakRssMb, 0)} MB`,
    )
    lines.push(`ratio (median): ${fixed(u.speedRatio, 2)}x upstream's speed, first audio ${fixed(u.timeToFirstAudioRatio, 2)}x sooner`)
  }
  if (report.baseline !== null) {
    const b = report.baseline
    lines.push('')
    lines.push(`baseline ${b.file} (max regression ${b.maxRegressionPct}%):`)
    lines.push(
      renderTable(
        ['metric', 'baseline', 'now', 'worse by', ''],
        b.comparisons.map((c) => [
          c.metric,
          fixed(c.baseline, 2),
          fixed(c.current, 2),
          `${fixed(c.regressionPct, 1)}%`,
          c.regressed ? 'REGRESSED' : 'ok',
        ]),
      ),
    )
    lines.push(
      b.passed
        ? 'No regression beyond the limit.'
        : `Regressed beyond ${b.maxRegressionPct}%: ${b.comparisons
            .filter((c) => c.regressed)
            .map((c) => c.metric)
            .join(', ')}.`,
    )
  }
  return lines.join('\n')
}
