import {existsSync, statSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {embeddedModelDir} from '../../src/config/project-paths.js'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {CHROMIUM_NOTE, RUN_BROWSER_TESTS, launchChromium, type TestBrowser} from '../helpers/chromium.js'
import {startTestServer, type TestServer} from '../helpers/server.js'

/**
 * The page at `/` in a real headless chromium (Debian's, driven by playwright-core): it lists the voices,
 * synthesises, and the player's clock moves (audio played). A screenshot is kept in the OS temp dir
 * (docs/images/serve-page.png is a copy of one).
 */
describe.runIf(RUN_BROWSER_TESTS)(`the serve page in headless chromium${CHROMIUM_NOTE}`, () => {
  let model: EngineModel
  let t: TestServer
  let browser: TestBrowser
  let shots: string
  beforeAll(async () => {
    model = await loadEngineModel({dir: embeddedModelDir(), threads: 1})
    t = await startTestServer({model, apiKey: 'page-k3y'})
    browser = await launchChromium()
    shots = await mkdtemp(join(tmpdir(), 'pockettts-page-shots-'))
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await model?.release()
    if (shots !== undefined) await rm(shots, {recursive: true, force: true})
  })

  it('is served without a build step and without the API key, as HTML and a module script', async () => {
    const page = await fetch(`${t.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await page.text()).toContain('<script src="app.js" type="module">')
    expect((await fetch(`${t.url}/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect((await fetch(`${t.url}/v1/audio/voices`)).status).toBe(401) // the API itself still needs the key
  })

  for (const format of ['mp3', 'pcm', 'opus'] as const) {
    it(`types a text, picks the voice and ${format}, and plays the streamed answer (the player's clock moves)`, async () => {
      const page = await browser.newPage()
      const errors: string[] = []
      const outside: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      page.on(
        'request',
        (r) => void (!r.url().startsWith(t.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:') && outside.push(r.url())),
      )
      await page.goto(`${t.url}/`)
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'This server needs an API key: type it above.')
      // from here on (the key typed) the browser logs no error at all
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())))
      await page.fill('#api-key', 'page-k3y')
      await page.dispatchEvent('#api-key', 'change')
      await page.waitForSelector('body[data-voices="1"]')
      expect(await page.$eval('#voice', (s) => (s as HTMLSelectElement).value)).toBe('voice')
      await page.fill('#text', 'The page speaks.')
      await page.selectOption('#format', format)
      const answer = page.waitForResponse((r) => r.url().endsWith('/v1/audio/speech'))
      await page.click('#speak')
      expect((await answer).status()).toBe(200)
      await page.waitForSelector(`body[data-done="${format}"]`)
      expect(await page.$eval('#status', (s) => s.textContent)).toMatch(new RegExp(`^Done: .* KiB of ${format}`))
      // the player's clock (or, for pcm, the Web Audio context's, when a scheduled chunk ends) moves past 0, then playback ends
      await page.waitForFunction(() => Number(document.body.dataset['played'] ?? '0') > 0)
      await page.waitForSelector('body[data-ended="true"]')
      if (format === 'mp3') {
        // streamed through Media Source Extensions: playback starts with the first frames
        expect(await page.evaluate(() => MediaSource.isTypeSupported('audio/mpeg'))).toBe(true)
      }
      if (format !== 'pcm') {
        const player = await page.$eval('#player', (a) => ({
          duration: (a as HTMLAudioElement).duration,
          currentTime: (a as HTMLAudioElement).currentTime,
          ended: (a as HTMLAudioElement).ended,
          error: (a as HTMLAudioElement).error,
        }))
        expect(player.error).toBeNull()
        // played to its end. The length varies (the page sends no seed): 6 frames (0.48 s) when speech ends at the
        // first step, which 4 seeds in 60 did; the old bound of 0.5 s failed on that
        expect(player.ended).toBe(true)
        expect(player.duration).toBeGreaterThan(0.4)
        expect(player.currentTime).toBeCloseTo(player.duration, 2)
      }
      expect(await page.$eval('#download', (a) => (a as HTMLAnchorElement).hidden)).toBe(false)
      const shot = join(shots, `serve-page-${format}.png`)
      await page.screenshot({path: shot})
      expect(statSync(shot).size).toBeGreaterThan(10_000)
      expect(errors).toEqual([])
      expect(outside).toEqual([])
      await page.close()
    })
  }

  it("shows the server's refusal (a wrong API key) as an error, not a stack trace", async () => {
    const page = await browser.newPage()
    await page.goto(`${t.url}/`)
    await page.fill('#api-key', 'wrong')
    await page.dispatchEvent('#api-key', 'change')
    await page.waitForSelector('#status.error')
    expect(await page.$eval('#status', (s) => s.textContent)).toBe('Cannot list the voices: Missing or wrong API key.')
    expect(existsSync(shots)).toBe(true)
    await page.close()
  })
})
