import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {embeddedFixtureDir} from '../../src/config/project-paths.js'
import {runCli} from '../helpers/cli.js'

const TINY = embeddedFixtureDir()
const PROMPT = join(TINY, 'voice_prompt.wav')

describe('pockettts export-voice', () => {
  it('without --python says native export is not available yet (exit 2)', async () => {
    const r = await runCli(['export-voice', PROMPT, '--out', join(tmpdir(), 'never.safetensors')])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error [NATIVE_EXPORT_UNAVAILABLE]')
    expect(r.stderr).toContain('--python')
  })

  it('a missing prompt is PROMPT_NOT_FOUND', async () => {
    const r = await runCli(['export-voice', join(tmpdir(), 'no-such-prompt.wav'), '--python', '--from', TINY])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error [PROMPT_NOT_FOUND]')
  })

  it('with --python runs upstream pocket-tts export-voice and writes upstream\'s file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-voice-'))
    const r = await runCli(['export-voice', PROMPT, '--python', '--from', TINY, '--json'], {cwd: dir})
    expect(r.exitCode).toBe(0)
    const result = JSON.parse(r.stdout) as {out: string; engine: string; positions: number}
    expect(result).toMatchObject({out: join(dir, 'voice_prompt.safetensors'), engine: 'python', positions: 51})
    expect(readFileSync(result.out).equals(readFileSync(join(TINY, 'voice.safetensors')))).toBe(true)
    expect(readdirSync(dir)).toEqual(['voice_prompt.safetensors'])
    const again = await runCli(['export-voice', PROMPT, '--python', '--from', TINY], {cwd: dir})
    expect(again.exitCode).toBe(2)
    expect(again.stderr).toContain('Error [OUTPUT_EXISTS]')
    expect(existsSync(result.out)).toBe(true)
  })
})
