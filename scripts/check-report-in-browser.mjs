#!/usr/bin/env node
// Opens a `pockettts parity --html` report in a real headless browser (Debian's chromium, driven by
// playwright-core) and checks what a reader sees: the page renders without errors, it makes no network request
// (every request other than the page itself is counted), every plot is drawn with a non-empty box and one
// vertex per point of the run's embedded data, every
// <audio> player loads its embedded WAV with the duration the page states and plays; then it saves a screenshot
// (of the first divergence when there is one, else of the top of the page).
//
// Usage: node scripts/check-report-in-browser.mjs REPORT.html [SCREENSHOT.png]
//   (default screenshot: REPORT.png beside the report; CHROMIUM=/path/to/chromium overrides `command -v chromium`)
// Exit codes: 0 every check passed, 1 a check failed, 2 no chromium (or playwright-core) on this machine.
// Not part of `npm test`: CI machines have no chromium; install it with `apt-get install -y chromium`.
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

const [report, shot] = process.argv.slice(2)
if (report === undefined || !existsSync(report)) {
  console.error('usage: node scripts/check-report-in-browser.mjs REPORT.html [SCREENSHOT.png]')
  process.exit(2)
}
const screenshot = resolve(shot ?? report.replace(/\.html?$/i, '') + '.png')

function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], {encoding: 'utf8'}).trim()
    } catch {
      // next
    }
  }
  return undefined
}

const executablePath = findChromium()
if (executablePath === undefined || executablePath === '') {
  console.error('no chromium found (apt-get install -y chromium, or set CHROMIUM)')
  process.exit(2)
}
let chromium
try {
  ;({chromium} = await import('playwright-core'))
} catch {
  console.error('playwright-core is not installed (npm install)')
  process.exit(2)
}

const url = pathToFileURL(resolve(report)).href
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
})
const problems = []
const requests = []
try {
  const page = await browser.newPage({viewport: {width: 1200, height: 900}})
  page.on('request', (r) => {
    if (r.url() !== url && !r.url().startsWith('data:')) requests.push(r.url())
  })
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  await page.goto(url, {waitUntil: 'load'})

  const plots = await page.$$eval('svg.score-plot', (svgs) =>
    svgs.map((s) => {
      const box = s.getBoundingClientRect()
      const lines = [...s.querySelectorAll('polyline.series')].map((l) => l.getBBox().width)
      return {stage: s.dataset.stage, width: box.width, height: box.height, lines}
    }),
  )
  for (const p of plots) {
    if (!(p.width > 100 && p.height > 100)) problems.push(`plot ${p.stage} is ${p.width}x${p.height}`)
    if (p.lines.length === 0) problems.push(`plot ${p.stage} has no series`)
  }
  // the drawn lines carry the run's numbers: one vertex per point of the embedded data, run by run
  const mismatches = await page.evaluate(() => {
    const data = JSON.parse(document.getElementById('parity-data').textContent)
    const out = []
    for (const c of data.cases) {
      for (const run of c.runs) {
        const section = document.querySelector(`section.case[data-case="${CSS.escape(c.name)}"] section.run[data-mode="${run.mode}"]`)
        for (const plot of run.plots) {
          const svg = section?.querySelector(`svg.score-plot[data-stage="${plot.stage}"][data-axis="${plot.axis}"]`)
          const drawn = [...(svg?.querySelectorAll('polyline.series') ?? [])].map((l) => l.points.length)
          const embedded = plot.series.map((s) => s.points.length)
          if (drawn.join() !== embedded.join()) out.push(`${c.name} ${run.mode} ${plot.stage}: drawn ${drawn}, data ${embedded}`)
        }
      }
    }
    return out
  })
  problems.push(...mismatches.map((m) => `plot does not match its data: ${m}`))
  const audio = await page.$$eval('audio', async (players) =>
    Promise.all(
      players.map(async (a) => {
        if (a.readyState < 1) await new Promise((done) => a.addEventListener('loadedmetadata', done, {once: true}))
        const expected = Number(a.dataset.samples) / Number(a.dataset.sampleRate)
        return {tensor: a.dataset.tensor, role: a.dataset.role, duration: a.duration, expected, error: a.error?.code ?? null}
      }),
    ),
  )
  for (const a of audio) {
    if (a.error !== null) problems.push(`audio ${a.role} ${a.tensor}: media error ${a.error}`)
    else if (Math.abs(a.duration - a.expected) > 0.01)
      problems.push(`audio ${a.role} ${a.tensor}: ${a.duration} s, the page says ${a.expected} s`)
  }
  // play the first player for a moment: its clock must move
  const played = await page.$eval('audio', async (a) => {
    a.currentTime = 0
    await a.play()
    await new Promise((done) => setTimeout(done, 400))
    a.pause()
    return a.currentTime
  })
  if (!(played > 0)) problems.push(`the first player did not play (currentTime ${played})`)
  const marks = await page.$$eval('svg g.first-divergence', (g) => g.length)
  const summary = await page.$eval('#summary', (p) => p.textContent)
  // the screenshot shows the first divergence when there is one (its line and the marked plot), else the top
  if (marks > 0 || (await page.$('#first-divergence')) !== null) {
    await page.$eval('#first-divergence', (el) => el.scrollIntoView({block: 'start'}))
    await page.evaluate(() => window.scrollBy(0, -60))
  }
  await page.screenshot({path: screenshot, fullPage: false})
  if (requests.length > 0) problems.push(`network requests: ${requests.join(', ')}`)
  console.log(
    JSON.stringify(
      {
        ok: problems.length === 0,
        report: resolve(report),
        chromium: browser.version(),
        summary,
        plots: plots.length,
        players: audio.length,
        playedSeconds: played,
        firstDivergenceMarks: marks,
        networkRequests: requests.length,
        screenshot,
        problems,
      },
      null,
      2,
    ),
  )
} finally {
  await browser.close()
}
process.exit(problems.length === 0 ? 0 : 1)
