import {mkdtempSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {CONFIGS_4_0_1} from '../../src/hub/catalogue.js'
import {runCli} from '../helpers/cli.js'

/** No token or endpoint from the developer's environment leaks into these runs. */
const env = {HF_TOKEN: '', POCKETTTS_HUB_ENDPOINT: '', POCKETTTS_MODELS_DIR: ''}

describe('pockettts model download --upstream (no hub needed: the config name is checked before any request)', () => {
  it('a config the release does not ship exits 2 with CONFIG_UNKNOWN and the valid names (4.0.1 by default)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pockettts-cli-dl4-'))
    const bad = await runCli(['model', 'download', '--language', 'klingon', '--out', out, '--offline', '--json'], {env})
    expect(bad.exitCode).toBe(2)
    const error = (JSON.parse(bad.stdout) as {error: {code: string; message: string; details: {upstream: string; configs: string[]}}}).error
    expect(error.code).toBe('CONFIG_UNKNOWN')
    expect(error.details.upstream).toBe('4.0.1')
    expect(error.details.configs).toEqual(Object.keys(CONFIGS_4_0_1))
    const old = await runCli(['model', 'download', '--upstream', '2.1.0', '--language', 'dutch', '--out', out], {env})
    expect(old.exitCode).toBe(2)
    expect(old.stderr).toContain('Error [CONFIG_UNKNOWN]: pocket-tts 2.1.0 has no config "dutch".')
    expect(old.stderr).toContain('english_2026-04')
    const release = await runCli(['model', 'download', '--upstream', '3.0.0', '--out', out], {env})
    expect(release.exitCode).toBe(2)
    expect(readdirSync(out)).toEqual([])
  })
})
