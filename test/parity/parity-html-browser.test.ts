import {statSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {embeddedModelDir, goldenDir} from '../../src/config/project-paths.js'
import {ParityTrace, runParity, writeParityHtml, type ParityReport} from '../../src/parity/index.js'
import {CHROMIUM_NOTE, RUN_BROWSER_TESTS, launchChromium, type TestBrowser} from '../helpers/chromium.js'
import {faultyRuntime} from '../helpers/parity-faults.js'

/**
 * A `parity --html` report opened in a real headless chromium, as a reader sees it: it renders without
 * errors, makes no network request, draws every plot with one vertex per point of the run's embedded data,
 * marks the first divergence, and its players load the embedded audio and play. The report is of the embedded
 * fixture model against its own goldens, with the Mimi state not carried (teacher-forced) so that it diverges.
 */
describe.runIf(RUN_BROWSER_TESTS)(`the parity --html report in headless chromium${CHROMIUM_NOTE}`, () => {
  let work: string
  let report: ParityReport
  let browser: TestBrowser
  let url: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-parity-browser-'))
    const trace = new ParityTrace()
    report = await runParity({
      model: embeddedModelDir(),
      goldens: [join(goldenDir(), 'hello')],
      mode: 'teacher',
      runtime: faultyRuntime({mimiStateNotCarried: true}),
      threads: 1,
      trace,
    })
    const path = join(work, 'parity.html')
    await writeParityHtml({path, report, trace})
    url = pathToFileURL(path).href
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    if (work !== undefined) await rm(work, {recursive: true, force: true})
  })

  it('renders, draws the run’s data, marks the first divergence, plays its audio, fetches nothing; a screenshot is kept', async () => {
    expect(report.firstDivergence).toMatchObject({stage: 'mimi'})
    const page = await browser.newPage()
    const errors: string[] = []
    const requests: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())))
    page.on('request', (r) => void (r.url() !== url && !r.url().startsWith('data:') && requests.push(r.url())))
    await page.goto(url, {waitUntil: 'load'})
    expect(await page.$eval('#summary', (p) => p.textContent)).toBe(report.summary)

    const plots = await page.$$eval('svg.score-plot', (svgs) =>
      svgs.map((s) => {
        const box = s.getBoundingClientRect()
        return {
          stage: (s as SVGElement).dataset['stage'],
          width: box.width,
          height: box.height,
          series: s.querySelectorAll('polyline.series').length,
        }
      }),
    )
    expect(plots.length).toBeGreaterThan(0)
    for (const plot of plots) {
      expect(plot.width, `plot ${plot.stage}`).toBeGreaterThan(100)
      expect(plot.height, `plot ${plot.stage}`).toBeGreaterThan(100)
      expect(plot.series, `plot ${plot.stage}`).toBeGreaterThan(0)
    }
    // one drawn vertex per embedded point, run by run, plot by plot
    const mismatches = await page.evaluate(() => {
      type Data = {cases: {name: string; runs: {mode: string; plots: {stage: string; axis: string; series: {points: unknown[]}[]}[]}[]}[]}
      const data = JSON.parse(document.getElementById('parity-data')!.textContent!) as Data
      const out: string[] = []
      let compared = 0
      for (const c of data.cases)
        for (const run of c.runs) {
          const section = document.querySelector(`section.case[data-case="${CSS.escape(c.name)}"] section.run[data-mode="${run.mode}"]`)
          for (const plot of run.plots) {
            const svg = section?.querySelector(`svg.score-plot[data-stage="${plot.stage}"][data-axis="${plot.axis}"]`)
            const drawn = [...(svg?.querySelectorAll('polyline.series') ?? [])].map((l) => (l as SVGPolylineElement).points.length)
            const embedded = plot.series.map((s) => s.points.length)
            compared += 1
            if (drawn.join() !== embedded.join())
              out.push(`${c.name} ${run.mode} ${plot.stage}: drawn ${drawn.join()}, data ${embedded.join()}`)
          }
        }
      return {out, compared}
    })
    expect(mismatches.out).toEqual([])
    expect(mismatches.compared).toBe(plots.length)
    expect(await page.$$eval('svg g.first-divergence', (g) => g.length)).toBe(1)

    const players = await page.$$eval('audio', async (elements) =>
      Promise.all(
        (elements as HTMLAudioElement[]).map(async (a) => {
          if (a.readyState < 1) await new Promise((done) => a.addEventListener('loadedmetadata', done, {once: true}))
          return {
            duration: a.duration,
            expected: Number(a.dataset['samples']) / Number(a.dataset['sampleRate']),
            error: a.error?.code ?? null,
          }
        }),
      ),
    )
    expect(players.length).toBeGreaterThan(0)
    for (const p of players) {
      expect(p.error).toBeNull()
      expect(Math.abs(p.duration - p.expected)).toBeLessThan(0.01)
    }
    // the first player plays: its clock moves (a timeupdate past 0)
    const played = await page.$eval('audio', async (a) => {
      const audio = a as HTMLAudioElement
      const moved = new Promise<number>((done) =>
        audio.addEventListener('timeupdate', () => audio.currentTime > 0 && done(audio.currentTime)),
      )
      await audio.play()
      const time = await moved
      audio.pause()
      return time
    })
    expect(played).toBeGreaterThan(0)

    await page.$eval('#first-divergence', (el) => el.scrollIntoView({block: 'start'}))
    const shot = join(work, 'parity.png')
    await page.screenshot({path: shot})
    expect(statSync(shot).size).toBeGreaterThan(10_000)
    expect(errors).toEqual([])
    expect(requests).toEqual([])
    await page.close()
  })
})
