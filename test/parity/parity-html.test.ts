import {mkdir, mkdtemp, readdir, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse, type HTMLElement} from 'node-html-parser'
import wavefile from 'wavefile'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {fmt} from '../../src/tensor/index.js'
import {
  digestWaveform,
  ParityTrace,
  PARITY_HTML_FORMAT,
  runParity,
  traceRunChecks,
  writeParityHtml,
  type CheckResult,
  type ParityReport,
  type TraceAxes,
} from '../../src/parity/index.js'
import {runCli} from '../helpers/cli.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {faultyRuntime, type ParityFaults} from '../helpers/parity-faults.js'

const {WaveFile} = wavefile
const GOLDEN = join(ORACLE_TINY, 'golden')

/** The data block the page embeds (the numbers its plots draw). */
interface PageData {
  readonly format: string
  readonly version: string
  readonly summary: string
  readonly firstDivergence: {readonly case: string; readonly mode: string; readonly stage: string; readonly where: string} | null
  readonly cases: readonly {
    readonly name: string
    readonly runs: readonly {
      readonly mode: string
      readonly axes: TraceAxes
      readonly plots: readonly {
        readonly stage: string
        readonly axis: 'step' | 'frame'
        readonly series: readonly {readonly check: string; readonly points: readonly [number, number | null, number | null, 0 | 1][]}[]
      }[]
    }[]
  }[]
}

function pageData(root: HTMLElement): PageData {
  const script = root.querySelector('script#parity-data')
  expect(script?.getAttribute('type')).toBe('application/json')
  return JSON.parse(script?.textContent ?? 'null') as PageData
}

/** Every reference the page could fetch: src and href attributes, CSS url(), and any scheme-relative or http(s) URL. */
function externalReferences(html: string, root: HTMLElement): string[] {
  const out: string[] = []
  for (const el of root.querySelectorAll('[src], [href], [srcset], [poster], [data]')) {
    for (const attr of ['src', 'href', 'srcset', 'poster', 'data']) {
      const v = el.getAttribute(attr)
      if (v === undefined) continue
      if (attr === 'href' ? !v.startsWith('#') : !v.startsWith('data:')) out.push(`${el.tagName} ${attr}=${v.slice(0, 60)}`)
    }
  }
  for (const m of html.matchAll(/url\(\s*['"]?([^'")]*)/gi)) if (!(m[1] ?? '').startsWith('data:')) out.push(`url(${m[1]})`)
  for (const m of html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi)) out.push(m[0])
  for (const el of root.querySelectorAll('link, iframe, object, embed, img, source, script[src]')) out.push(el.tagName)
  return out
}

describe.skipIf(skipWithoutOracle)(`pockettts parity --html ${NEEDS_ORACLE}`, () => {
  let work: string
  let report: ParityReport
  let html: string
  let root: HTMLElement
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-parity-html-'))
    const out = join(work, 'reports', 'parity.html')
    await mkdir(join(work, 'reports'))
    const run = await runCli(['parity', '--model', inject('oracleOnnx'), '--golden', GOLDEN, '--mode', 'both', '--json', '--html', out])
    expect(run.exitCode, run.stderr).toBe(0)
    report = JSON.parse(run.stdout) as ParityReport
    html = await readFile(out, 'utf8')
    root = parse(html)
  })

  it('is written atomically beside nothing else, and names the run: the summary line, version, model facts, tolerances', async () => {
    expect(await readdir(join(work, 'reports'))).toEqual(['parity.html'])
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(root.querySelector('#summary')?.text).toBe(report.summary)
    const data = pageData(root)
    expect(data.format).toBe(PARITY_HTML_FORMAT)
    const pkg = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as {version: string}
    expect(data.version).toBe(pkg.version)
    const facts = Object.fromEntries(
      root.querySelectorAll('table.facts tr').map((tr) => [tr.querySelector('th')?.text ?? '', tr.querySelector('td')?.text ?? '']),
    )
    expect(facts['pockettts']).toBe(pkg.version)
    const manifest = JSON.parse(await readFile(join(inject('oracleOnnx'), 'manifest.json'), 'utf8')) as {
      format: string
      source: {checkpoint: {sha256: string}}
      exporter: {pocket_tts: string}
    }
    expect(facts['format']).toBe(manifest.format)
    expect(facts['checkpoint']).toContain(manifest.source.checkpoint.sha256.slice(0, 16))
    expect(facts['exporter']).toContain(`pocket_tts ${manifest.exporter.pocket_tts}`)
    const tolerances = Object.fromEntries(
      root
        .querySelectorAll('table.tolerances tbody tr')
        .map((tr) => [tr.querySelectorAll('td')[0]?.text, tr.querySelectorAll('td')[1]?.text]),
    )
    expect(tolerances).toEqual(report.tolerances)
  })

  it("shows each case's settings and chunks as its golden records them", async () => {
    const manifest = JSON.parse(await readFile(join(GOLDEN, 'long', 'manifest.json'), 'utf8')) as {
      case: {text: string; seed: number; temperature: number; lsd_decode_steps: number}
      chunks: {text: string; eos_step: number; steps: number; frames: number}[]
    }
    const section = root.querySelector('section.case[data-case="long"]')
    expect(section).not.toBeNull()
    const facts = Object.fromEntries(
      section!.querySelectorAll('table.facts tr').map((tr) => [tr.querySelector('th')?.text ?? '', tr.querySelector('td')?.text ?? '']),
    )
    expect(facts).toMatchObject({
      text: manifest.case.text,
      seed: String(manifest.case.seed),
      temperature: String(manifest.case.temperature),
      'LSD decode steps': String(manifest.case.lsd_decode_steps),
      chunks: String(manifest.chunks.length),
      'EOS steps': manifest.chunks.map((c) => c.eos_step).join(', '),
    })
    const rows = section!.querySelectorAll('table.chunks tbody tr').map((tr) => tr.querySelectorAll('td').map((td) => td.text))
    expect(rows).toEqual(
      manifest.chunks.map((c, i) => [String(i), c.text, expect.any(String), String(c.eos_step), String(c.steps), String(c.frames)]),
    )
  })

  it('plots carry the run: the worst check of each stage sits in its plot (or its table) with the JSON report’s numbers', () => {
    const data = pageData(root)
    for (const stage of ['flowlm-layers', 'eos', 'flow-head', 'latent', 'mimi', 'audio']) {
      const worst = report.stages.find((s) => s.stage === stage)?.worst
      expect(worst, stage).toBeDefined()
      const run = data.cases.find((c) => c.name === worst!.case)?.runs.find((r) => r.mode === worst!.mode)
      expect(run, stage).toBeDefined()
      const axis = worst!.location.step !== undefined ? 'step' : worst!.location.frame !== undefined ? 'frame' : null
      if (axis === null) {
        // a check at no step or frame (a chunk's or the whole audio): a row of the run's table
        const section = root.querySelector(`section.case[data-case="${worst!.case}"] section.run[data-mode="${worst!.mode}"]`)
        const row = section?.querySelectorAll('table.others tbody tr').find((tr) => tr.querySelectorAll('td')[2]?.text === worst!.tensor)
        expect(row?.querySelectorAll('td')[4]?.text, stage).toBe(fmt(worst!.maxAbs!))
        continue
      }
      const x = (run!.axes[axis].chunkStarts[worst!.location.chunk ?? 0] ?? 0) + (worst!.location[axis] ?? 0)
      const plot = run!.plots.find((p) => p.stage === stage && p.axis === axis)
      const point = plot?.series.filter((s) => s.check === worst!.check).flatMap((s) => s.points.filter((p) => p[0] === x))[0]
      expect(point, `${stage} at ${worst!.where}`).toEqual([x, worst!.score, worst!.maxAbs, 1])
      // it is the largest score the stage's plots hold over every case and mode
      const scores = data.cases.flatMap((c) =>
        c.runs.flatMap((r) =>
          r.plots.filter((p) => p.stage === stage).flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q[1] ?? Infinity))),
        ),
      )
      expect(Math.max(...scores), stage).toBe(worst!.score)
    }
  })

  it('draws one log-scale plot per stage and axis of every run, one polyline point per embedded point, the tolerance at 1', () => {
    const data = pageData(root)
    let plots = 0
    for (const c of data.cases) {
      for (const run of c.runs) {
        const section = root.querySelector(`section.case[data-case="${c.name}"] section.run[data-mode="${run.mode}"]`)
        for (const plot of run.plots) {
          const svg = section?.querySelector(`svg.score-plot[data-stage="${plot.stage}"][data-axis="${plot.axis}"]`)
          expect(svg, `${c.name} ${run.mode} ${plot.stage}`).toBeDefined()
          const lines = svg!.querySelectorAll('polyline.series')
          expect(lines.map((l) => l.getAttribute('points')!.trim().split(/\s+/).length)).toEqual(plot.series.map((s) => s.points.length))
          expect(svg!.querySelector('line.tolerance')).not.toBeNull()
          expect(svg!.querySelectorAll('text.tick').map((t) => t.text)).toContain('1e0')
          plots += 1
        }
      }
    }
    // teacher-forced and free-running runs both have per-step plots
    expect(data.cases.find((c) => c.name === 'hello')?.runs.map((r) => [r.mode, r.plots.map((p) => p.stage)])).toEqual([
      ['teacher', ['flowlm-layers', 'eos', 'flow-head', 'latent', 'mimi']],
      ['free', ['latent', 'audio']],
    ])
    expect(plots).toBeGreaterThan(20)
    expect(root.querySelectorAll('.first-divergence')).toHaveLength(0)
  })

  it('embeds expected and actual audio as WAV data: URIs of the compared length, with their waveforms drawn', async () => {
    const players = root.querySelectorAll('audio')
    for (const name of ['hello', 'long', 'voice']) {
      const manifest = JSON.parse(await readFile(join(GOLDEN, name, 'manifest.json'), 'utf8')) as {tensors: {audio: {shape: number[]}}}
      const samples = manifest.tensors.audio.shape.reduce((a, b) => a * b, 1)
      const mine = root.querySelectorAll(`section.case[data-case="${name}"] audio`)
      expect(mine.map((a) => [a.getAttribute('data-role'), a.getAttribute('data-mode') ?? null])).toEqual([
        ['expected', null],
        ['actual', 'teacher'],
        ['actual', 'free'],
      ])
      for (const audio of mine) {
        const src = audio.getAttribute('src')!
        expect(src.startsWith('data:audio/wav;base64,')).toBe(true)
        const wav = new WaveFile(Buffer.from(src.slice('data:audio/wav;base64,'.length), 'base64'))
        const fmt = wav.fmt as {sampleRate: number; numChannels: number; bitsPerSample: number}
        expect([fmt.sampleRate, fmt.numChannels, fmt.bitsPerSample]).toEqual([24000, 1, 16])
        const decoded = wav.getSamples(false, Int16Array) as unknown as Int16Array
        expect(decoded.length, `${name} ${audio.getAttribute('data-role')}`).toBe(samples)
        expect(decoded.some((v) => v !== 0)).toBe(true)
      }
    }
    expect(players.length).toBe(report.cases.length * 3)
    const waves = root.querySelectorAll('section.case[data-case="hello"] svg.waveform-plot polygon.envelope')
    expect(waves).toHaveLength(4) // expected and actual, teacher-forced and free-running
  })

  it('references nothing outside itself', () => {
    expect(externalReferences(html, root)).toEqual([])
    expect(root.querySelectorAll('script').map((s) => s.getAttribute('type'))).toEqual(['application/json'])
    expect(root.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content')).toMatch(/^default-src 'none'/)
  })

  it('--html into a folder that does not exist is refused before parity runs (exit 2)', async () => {
    const run = await runCli(['parity', '--model', inject('oracleOnnx'), '--golden', GOLDEN, '--html', join(work, 'missing', 'r.html')])
    expect(run.exitCode).toBe(2)
    expect(run.stderr).toMatch(/The folder of .*missing.*r\.html does not exist/)
  })
})

describe.skipIf(skipWithoutOracle)(`pockettts parity --html marks the first divergence ${NEEDS_ORACLE}`, () => {
  async function faultyPage(golden: string, mode: 'teacher' | 'free', faults: ParityFaults) {
    const work = await mkdtemp(join(tmpdir(), 'pockettts-parity-html-fault-'))
    const trace = new ParityTrace()
    const report = await runParity({
      model: inject('oracleOnnx'),
      goldens: [golden],
      mode,
      runtime: faultyRuntime(faults),
      threads: 1,
      trace,
    })
    const path = join(work, 'r.html')
    await writeParityHtml({path, report, trace})
    const html = await readFile(path, 'utf8')
    return {report, root: parse(html), html}
  }

  it('Mimi state not carried (teacher-forced): the Mimi plot of case hello marks frame 1, the line the text report starts with', async () => {
    const {report, root} = await faultyPage(join(GOLDEN, 'hello'), 'teacher', {mimiStateNotCarried: true})
    expect(report.firstDivergence).toMatchObject({stage: 'mimi', location: {chunk: 0, frame: 1}})
    expect(root.querySelector('#summary')?.text).toBe(report.summary)
    expect(root.querySelector('#summary a')?.getAttribute('href')).toBe('#first-divergence')
    const line = root.querySelector('#first-divergence')
    expect(line?.text).toContain('Mimi at chunk 0, frame 1')
    expect(line?.closest('section.run')?.getAttribute('data-mode')).toBe('teacher')
    expect(line?.closest('section.case')?.getAttribute('data-case')).toBe('hello')
    const marks = root.querySelectorAll('svg g.first-divergence')
    expect(marks).toHaveLength(1)
    expect(marks[0]?.getAttribute('data-x')).toBe('1')
    expect(marks[0]?.closest('svg')?.getAttribute('data-stage')).toBe('mimi')
    expect(marks[0]?.closest('svg')?.getAttribute('data-axis')).toBe('frame')
    // the failing frames are drawn red in that plot, and the data block names the same divergence
    expect(marks[0]?.closest('svg')?.querySelectorAll('circle.failing').length).toBeGreaterThan(0)
    expect(pageData(root).firstDivergence).toMatchObject({case: 'hello', mode: 'teacher', stage: 'mimi', where: 'chunk 0, frame 1'})
  })

  it('frames_after_eos off by one (free-running): the EOS frame count at frame 50 on the EOS plot', async () => {
    const {report, root} = await faultyPage(join(GOLDEN, 'hello'), 'free', {framesAfterEosDelta: 1})
    expect(report.summary).toMatch(/^First divergence: EOS at chunk 0, frame 50/)
    const mark = root.querySelector('svg g.first-divergence')
    expect(mark?.getAttribute('data-x')).toBe('50')
    expect(mark?.closest('svg')?.getAttribute('data-stage')).toBe('eos')
  })

  it('the voice BOS dropped: a check at no step, marked in its run’s table', async () => {
    const {report, root} = await faultyPage(join(GOLDEN, 'voice'), 'teacher', {dropVoiceBos: true})
    expect(report.firstDivergence).toMatchObject({stage: 'voice', tensor: 'conditioning'})
    expect(root.querySelectorAll('svg g.first-divergence')).toHaveLength(0)
    const row = root.querySelector('table.others tr.first-divergence')
    expect(
      row
        ?.querySelectorAll('td')
        .map((td) => td.text)
        .slice(0, 4),
    ).toEqual(['voice', 'case', 'conditioning', 'FAIL'])
    expect(root.querySelector('#first-divergence')?.text).toContain('voice')
  })
})

describe('the HTML report keeps a bounded amount per run', () => {
  it('a long series keeps at most maxPoints points per check, the worst one among them', () => {
    const results: CheckResult[] = Array.from({length: 5000}, (_, k) => ({
      stage: 'latent',
      check: 'latent',
      tensor: 'chunk0.latent',
      location: {chunk: 0, step: k},
      passed: true,
      tolerance: {atol: 1e-4, rtol: 1e-3, minSnrDb: null, minCosine: null},
      metrics: {
        elements: 32,
        maxAbs: k === 3217 ? 9e-5 : 1e-6,
        maxAbsIndex: 0,
        rmsError: 0,
        maxRel: 0,
        cosine: 1,
        snrDb: 100,
        nonFiniteMismatches: 0,
        score: k === 3217 ? 0.9 : 0.01,
        scoreIndex: 0,
      },
      order: [6, 0, k, k],
    }))
    const checks = traceRunChecks({results, maxPoints: 300})
    const series = checks.plots[0]?.series[0]
    expect(series?.total).toBe(5000)
    expect(series?.points.length).toBeLessThanOrEqual(300)
    expect(series?.points.find((p) => p.score === 0.9)).toMatchObject({x: 3217, maxAbs: 9e-5})
    expect(checks.axes.step).toEqual({chunkStarts: [0], length: 5000})
  })

  it('a waveform keeps an envelope of fixed width and at most maxSeconds of WAV', () => {
    const samples = Float32Array.from({length: 24000 * 10}, (_, i) => Math.sin(i / 10) * 0.5)
    const w = digestWaveform({tensor: 'audio', samples, sampleRate: 24000, maxSeconds: 2, columns: 400})
    expect([w.samples, w.wavSamples, w.min.length, w.max.length]).toEqual([240000, 48000, 400, 400])
    expect(w.wav.length).toBe(44 + 2 * 48000)
    expect(Math.max(...w.max)).toBeCloseTo(0.5, 3)
    expect(Math.min(...w.min)).toBeCloseTo(-0.5, 3)
  })
})
