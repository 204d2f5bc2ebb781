import {existsSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {checkPromptAudio} from '../../src/audio/index.js'
import {embeddedFixtureDir} from '../../src/config/project-paths.js'
import {PocketTtsError} from '../../src/errors/index.js'
import {runCli} from '../helpers/cli.js'
import {toneSamples, wavBytes} from '../helpers/wav-bytes.js'

/** A folder holding one prompt `prompt.wav`. */
function promptFile(bytes: Buffer): {dir: string; prompt: string} {
  const dir = mkdtempSync(join(tmpdir(), 'pockettts-prompt-'))
  const prompt = join(dir, 'prompt.wav')
  writeFileSync(prompt, bytes)
  return {dir, prompt}
}

const nanSamples = (): Float32Array => new Float32Array(24_000 * 2).fill(Number.NaN)

interface ExportJson {
  readonly warnings?: ReadonlyArray<{code: string; message: string}>
  readonly error?: {code: string; message: string}
}

describe('voice prompt checks (src/audio/check-prompt-audio.ts)', () => {
  it('checkPromptAudio refuses non-finite samples and absurd rates, and warns on silence and very short prompts', () => {
    const inf = toneSamples()
    inf[7] = Number.NEGATIVE_INFINITY
    const refuse = (samples: Float32Array, sampleRate: number): unknown => {
      try {
        checkPromptAudio({wav: {samples, sampleRate, channels: 1, format: 'float32'}, source: 'p.wav'})
      } catch (error) {
        return error
      }
      return undefined
    }
    expect((refuse(inf, 24_000) as PocketTtsError).code).toBe('AUDIO_NOT_FINITE')
    expect((refuse(toneSamples(), 7999) as PocketTtsError).code).toBe('AUDIO_SAMPLE_RATE_UNSUPPORTED')
    expect((refuse(toneSamples(), 1e9) as PocketTtsError).code).toBe('AUDIO_SAMPLE_RATE_UNSUPPORTED')
    const codes = (samples: Float32Array): string[] =>
      checkPromptAudio({wav: {samples, sampleRate: 24_000, channels: 1, format: 'pcm16'}, source: 'p.wav'}).warnings.map((w) => w.code)
    expect(codes(toneSamples())).toEqual([])
    expect(codes(new Float32Array(48_000))).toEqual(['PROMPT_SILENT'])
    expect(codes(new Float32Array(48_000).fill(1e-4))).toEqual(['PROMPT_SILENT'])
    expect(codes(toneSamples(0.5))).toEqual(['PROMPT_TOO_SHORT'])
  })

  it.each([
    ['NaN samples', wavBytes({sampleRate: 24_000, samples: nanSamples(), float: true}), 'AUDIO_NOT_FINITE'],
    [
      'an infinite sample',
      wavBytes({sampleRate: 24_000, samples: toneSamples().map((x, i) => (i === 100 ? Number.POSITIVE_INFINITY : x)), float: true}),
      'AUDIO_NOT_FINITE',
    ],
    ['a 1 Hz sample rate', wavBytes({sampleRate: 1, samples: toneSamples(1, 24_000)}), 'AUDIO_SAMPLE_RATE_UNSUPPORTED'],
  ])('export-voice (native) refuses %s with exit 2 and writes nothing', async (_what, bytes, code) => {
    const {dir, prompt} = promptFile(bytes)
    const r = await runCli(['export-voice', prompt, '--out', join(dir, 'voice.safetensors'), '--json'])
    expect(r.exitCode).toBe(2)
    expect((JSON.parse(r.stdout) as ExportJson).error?.code).toBe(code)
    expect(readdirSync(dir)).toEqual(['prompt.wav'])
  })

  it('export-voice --engine python refuses NaN samples before Python starts, writing nothing', async () => {
    const {dir, prompt} = promptFile(wavBytes({sampleRate: 24_000, samples: nanSamples(), float: true}))
    const r = await runCli(
      ['export-voice', prompt, '--engine', 'python', '--from', embeddedFixtureDir(), '--out', join(dir, 'voice.safetensors'), '--json'],
      {
        env: {POCKETTTS_PYTHON: join(dir, 'no-python-here')},
      },
    )
    expect(r.exitCode).toBe(2)
    expect((JSON.parse(r.stdout) as ExportJson).error?.code).toBe('AUDIO_NOT_FINITE')
    expect(readdirSync(dir)).toEqual(['prompt.wav'])
  })

  it.each([
    ['silent', wavBytes({sampleRate: 24_000, samples: new Float32Array(48_000)}), 'PROMPT_SILENT'],
    ['0.3 s long', wavBytes({sampleRate: 24_000, samples: toneSamples(0.3)}), 'PROMPT_TOO_SHORT'],
  ])('export-voice warns about a %s prompt, on stderr and in --json, and still writes the voice', async (_what, bytes, code) => {
    const {dir, prompt} = promptFile(bytes)
    const out = join(dir, 'voice.safetensors')
    const json = await runCli(['export-voice', prompt, '--out', out, '--json'])
    expect(json.exitCode, json.stderr).toBe(0)
    expect((JSON.parse(json.stdout) as ExportJson).warnings?.map((w) => w.code)).toEqual([code])
    expect(existsSync(out)).toBe(true)
    const human = await runCli(['export-voice', prompt, '--out', out, '--force'])
    expect(human.exitCode).toBe(0)
    expect(human.stderr).toContain(code)
  })

  it('export-voice --engine python reports the same warning for a silent prompt (upstream still writes the voice)', async () => {
    const {dir, prompt} = promptFile(wavBytes({sampleRate: 24_000, samples: new Float32Array(48_000)}))
    const out = join(dir, 'voice.safetensors')
    const r = await runCli(['export-voice', prompt, '--engine', 'python', '--from', embeddedFixtureDir(), '--out', out, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout) as ExportJson).toMatchObject({engine: 'python', warnings: [{code: 'PROMPT_SILENT'}]})
    expect(existsSync(out)).toBe(true)
  })

  it('a clean prompt gets no warning', async () => {
    const {dir, prompt} = promptFile(wavBytes({sampleRate: 24_000, samples: toneSamples()}))
    const r = await runCli(['export-voice', prompt, '--out', join(dir, 'voice.safetensors'), '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as ExportJson).warnings).toEqual([])
  })

  it('synth --voice with a NaN prompt is refused before any audio is written', async () => {
    const {dir, prompt} = promptFile(wavBytes({sampleRate: 24_000, samples: nanSamples(), float: true}))
    const r = await runCli(['synth', 'Hi.', '--voice', prompt, '--out', join(dir, 'out.wav')])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error [AUDIO_NOT_FINITE]')
    expect(readdirSync(dir)).toEqual(['prompt.wav'])
  })
})
