import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {chromium, type BrowserContext, type Page} from 'playwright-core'

/** Debian's chromium (scripts/setup-system.sh installs it); CHROMIUM overrides the path. */
export const CHROMIUM_PATH = process.env['CHROMIUM'] ?? '/usr/bin/chromium'
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH)
/** Appended to a browser test's name when chromium is absent (it is skipped, or fails under CI=true). */
export const CHROMIUM_NOTE = HAS_CHROMIUM ? '' : ` [needs chromium at ${CHROMIUM_PATH}: bash scripts/setup-system.sh]`
/** Browser tests run when chromium is there, and under CI=true always (so a missing one fails). */
export const RUN_BROWSER_TESTS = HAS_CHROMIUM || process.env['CI'] === 'true'

export interface TestBrowser {
  readonly context: BrowserContext
  newPage(): Promise<Page>
  close(): Promise<void>
}

/** A headless chromium with a fresh profile (--user-data-dir) in the OS temp dir, no background traffic, audio muted but playing. */
export async function launchChromium(): Promise<TestBrowser> {
  if (!HAS_CHROMIUM) throw new Error(`No chromium at ${CHROMIUM_PATH}; run bash scripts/setup-system.sh (as root) or set CHROMIUM.`)
  const profile = await mkdtemp(join(tmpdir(), 'pockettts-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    viewport: {width: 1100, height: 800},
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      '--mute-audio',
    ],
  })
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close()
      await rm(profile, {recursive: true, force: true})
    },
  }
}
