import {existsSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {embeddedFixtureDir} from '../../src/config/project-paths.js'
import {readSafetensors} from '../../src/safetensors/index.js'
import {runCli} from '../helpers/cli.js'
import {reproductionProblems} from '../helpers/reproduction.js'

const TINY = embeddedFixtureDir()
const PROMPT = join(TINY, 'voice_prompt.wav')

describe('pockettts export-voice', () => {
  it("natively (embedded model, no Python) reproduces upstream's voice state within 1e-3", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-native-voice-'))
    const out = join(dir, 'native.safetensors')
    const r = await runCli(['export-voice', PROMPT, '--out', out, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({out, engine: 'native', positions: 51})
    const mine = await readSafetensors({path: out})
    const upstream = await readSafetensors({path: join(TINY, 'voice.safetensors')})
    expect([...mine.tensors.keys()].sort()).toEqual([...upstream.tensors.keys()].sort())
    for (const [key, tensor] of upstream.tensors) {
      const other = mine.tensors.get(key)!
      expect(other.shape).toEqual(tensor.shape)
      if (tensor.dtype === 'I64') {
        expect(Array.from(other.data as BigInt64Array)).toEqual(Array.from(tensor.data as BigInt64Array))
      } else {
        const a = other.data as Float32Array
        const b = tensor.data as Float32Array
        let max = 0
        for (let i = 0; i < b.length; i += 1) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)))
        expect(max).toBeLessThanOrEqual(1e-3)
      }
    }
    expect(readdirSync(dir)).toEqual(['native.safetensors'])
  })

  it('natively refuses a prompt that is not audio, leaving no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-native-voice-'))
    const bad = join(dir, 'bad.wav')
    writeFileSync(bad, 'not a wav file')
    const r = await runCli(['export-voice', bad, '--out', join(dir, 'x.safetensors')])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/Error \[AUDIO/)
    expect(readdirSync(dir)).toEqual(['bad.wav'])
  })

  it('a missing prompt is PROMPT_NOT_FOUND', async () => {
    const r = await runCli(['export-voice', join(tmpdir(), 'no-such-prompt.wav'), '--engine', 'python', '--from', TINY])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error [PROMPT_NOT_FOUND]')
  })

  it("with --engine python runs upstream pocket-tts export-voice and writes upstream's file (within the cross-CPU tolerance)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-voice-'))
    const r = await runCli(['export-voice', PROMPT, '--engine', 'python', '--from', TINY, '--json'], {cwd: dir})
    expect(r.exitCode).toBe(0)
    const result = JSON.parse(r.stdout) as {out: string; engine: string; positions: number}
    expect(result).toMatchObject({out: join(dir, 'voice_prompt.safetensors'), engine: 'python', positions: 51})
    expect(await reproductionProblems([[result.out, join(TINY, 'voice.safetensors'), 'voice.safetensors']])).toEqual([])
    expect(readdirSync(dir)).toEqual(['voice_prompt.safetensors'])
    const again = await runCli(['export-voice', PROMPT, '--engine', 'python', '--from', TINY], {cwd: dir})
    expect(again.exitCode).toBe(2)
    expect(again.stderr).toContain('Error [OUTPUT_EXISTS]')
    expect(existsSync(result.out)).toBe(true)
  })

  it('--python PATH is the interpreter of --engine python, as in the other commands (--interpreter: its deprecated alias)', async () => {
    const missing = join(tmpdir(), 'no-such-dir', 'python3')
    const r = await runCli(['export-voice', PROMPT, '--engine', 'python', '--from', TINY, '--python', missing])
    expect(r.exitCode).toBe(3)
    expect(r.stderr).toContain(`Error [PYTHON_NOT_FOUND]: No Python interpreter at "${missing}" (from --python)`)
    const alias = await runCli(['export-voice', PROMPT, '--engine', 'python', '--from', TINY, '--interpreter', missing])
    expect(alias.exitCode).toBe(3)
    expect(alias.stderr).toMatch(/"--interpreter" flag has been deprecated/)
    expect(alias.stderr).toContain(`Error [PYTHON_NOT_FOUND]: No Python interpreter at "${missing}" (from --python)`)
  })

  it('--engine takes native or python only, --model belongs to the native engine, and --python needs a path', async () => {
    const unknown = await runCli(['export-voice', PROMPT, '--engine', 'torch'])
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toMatch(/Expected --engine=torch to be one of: native, python/)
    const both = await runCli(['export-voice', PROMPT, '--engine', 'python', '--from', TINY, '--model', TINY])
    expect(both.exitCode).toBe(2)
    expect(both.stderr).toContain('Error [USAGE]: --model is the exported folder of the native engine')
    const bare = await runCli(['export-voice', PROMPT, '--python'])
    expect(bare.exitCode).toBe(2)
    expect(bare.stderr).toContain('Flag --python expects a value')
  })
})
