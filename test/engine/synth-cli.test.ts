import {existsSync, readdirSync} from 'node:fs'
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {writeVoiceState} from '../../src/voice/index.js'
import {runCli} from '../helpers/cli.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'

interface WavInfo {
  readonly format: number
  readonly channels: number
  readonly sampleRate: number
  readonly bits: number
  readonly dataBytes: number
}

function parseWav(bytes: Buffer): WavInfo {
  expect(bytes.toString('ascii', 0, 4)).toBe('RIFF')
  expect(bytes.toString('ascii', 8, 12)).toBe('WAVE')
  return {
    format: bytes.readUInt16LE(20),
    channels: bytes.readUInt16LE(22),
    sampleRate: bytes.readUInt32LE(24),
    bits: bytes.readUInt16LE(34),
    dataBytes: bytes.readUInt32LE(40),
  }
}

describe.skipIf(skipWithoutOracle)(`pockettts synth on the exported oracle model ${NEEDS_ORACLE}`, () => {
  let model: string
  let work: string
  beforeAll(async () => {
    model = inject('oracleOnnx')
    work = await mkdtemp(join(tmpdir(), 'pockettts-synth-'))
  })

  it('writes a 16-bit 24 kHz WAV whose length is the frames plus 0.2 s, and reports figures as JSON', async () => {
    const out = join(work, 'hello.wav')
    const run = await runCli(['synth', 'Hello world. This is a test.', '--model', model, '--out', out, '--seed', '3', '--json'])
    expect(run.exitCode, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout) as {
      frames: number
      chunks: number
      voice: string
      seed: number
      timeToFirstAudioMs: number
      speed: number
    }
    expect(report).toMatchObject({chunks: 1, voice: 'name:voice', seed: 3})
    expect(report.frames).toBeGreaterThan(0)
    expect(report.timeToFirstAudioMs).toBeGreaterThan(0)
    const wav = parseWav(await readFile(out))
    expect(wav).toMatchObject({format: 1, channels: 1, sampleRate: 24000, bits: 16})
    expect(wav.dataBytes).toBe((report.frames * 1920 + 4800) * 2)
    expect(readdirSync(work).filter((f) => f.includes('.tmp') || f.startsWith('.'))).toEqual([])
  })

  it('is reproducible with the same seed and differs with another', async () => {
    const a = join(work, 'a.wav')
    const b = join(work, 'b.wav')
    const c = join(work, 'c.wav')
    for (const [out, seed] of [
      [a, '7'],
      [b, '7'],
      [c, '8'],
    ] as const) {
      expect((await runCli(['synth', 'Same seed, same audio.', '--model', model, '--out', out, '--seed', seed])).exitCode).toBe(0)
    }
    expect((await readFile(a)).equals(await readFile(b))).toBe(true)
    expect((await readFile(a)).equals(await readFile(c))).toBe(false)
  })

  it('streams a WAV to stdout with a header players accept (placeholder length)', async () => {
    const child = await execa(
      process.execPath,
      [join(packageRoot(), 'bin', 'run.js'), 'synth', '--text', '-', '--model', model, '--out', '-', '--seed', '1'],
      {
        input: 'Streaming to standard output.',
        encoding: 'buffer',
      },
    )
    const bytes = Buffer.from(child.stdout)
    const wav = parseWav(bytes)
    expect(wav.sampleRate).toBe(24000)
    expect(wav.dataBytes).toBeGreaterThan(bytes.length)
    expect((bytes.length - 44) % (1920 * 2)).toBe((4800 * 2) % (1920 * 2))
    expect(Buffer.from(child.stderr).toString()).toContain('real time')
  })

  it('takes a WAV prompt as the voice (native encoder + prefill) and pcm16 output', async () => {
    const out = join(work, 'prompt.pcm')
    const run = await runCli([
      'synth',
      'Cloned.',
      '--model',
      model,
      '--voice',
      join(ORACLE_TINY, 'voice_prompt.wav'),
      '--out',
      out,
      '--format',
      'pcm16',
      '--trailing-silence',
      '0',
      '--json',
      '--seed',
      '2',
    ])
    expect(run.exitCode, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout) as {frames: number}
    expect((await readFile(out)).length).toBe(report.frames * 1920 * 2)
  })

  describe('bad input: a typed error, the right exit code, and no output file', () => {
    const cases: [string, () => Promise<string[]>, string, number][] = [
      ['blank text', async () => ['   ', '--model', model], 'EMPTY_TEXT', 2],
      ['text over --max-text-chars', async () => ['x'.repeat(50), '--max-text-chars', '10', '--model', model], 'TEXT_TOO_LONG', 2],
      ['an unknown voice', async () => ['Hello.', '--model', model, '--voice', 'nobody'], 'VOICE_NOT_FOUND', 2],
      [
        'a voice state of another model',
        async () => {
          const path = join(work, 'other-model.safetensors')
          const layer = {cache: new Float32Array(2 * 3 * 4 * 8), length: 3}
          await writeVoiceState({path, state: {layers: [layer, layer, layer], offset: 3, heads: 4, headDim: 8}})
          return ['Hello.', '--model', model, '--voice', path]
        },
        'VOICE_MODEL_MISMATCH',
        2,
      ],
      [
        'a WAV that is not audio',
        async () => {
          const path = join(work, 'not-audio.wav')
          await writeFile(path, 'this is text, not RIFF audio')
          return ['Hello.', '--model', model, '--voice', path]
        },
        'AUDIO',
        2,
      ],
      ['a missing model folder', async () => ['Hello.', '--model', join(work, 'no-such-model')], 'MANIFEST_MISSING', 3],
      [
        'an output folder that does not exist',
        async () => ['Hello.', '--model', model, '--out', join(work, 'missing', 'x.wav')],
        'OUTPUT_DIR_MISSING',
        2,
      ],
    ]
    it.each(cases)('%s', async (_name, args, code, exitCode) => {
      const out = join(work, `bad-${code}.wav`)
      const argv = await args()
      const run = await runCli(['synth', ...argv, ...(argv.includes('--out') ? [] : ['--out', out]), '--json'])
      expect(run.exitCode).toBe(exitCode)
      const body = JSON.parse(run.stdout) as {error: {code: string; hint?: string}}
      expect(body.error.code).toContain(code)
      expect(body.error.hint).toBeTruthy()
      expect(existsSync(out)).toBe(false)
    })
  })
})

describe('pockettts synth on the embedded fixture model (the README quick start)', () => {
  it('synthesises a WAV with no --model and no Python, and says it used the embedded model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pockettts-quickstart-'))
    const run = await runCli(['synth', 'Hello world.', '--out', 'hello.wav'], {cwd: dir, env: {POCKETTTS_PYTHON: '/nonexistent/python'}})
    expect(run.exitCode, run.stderr).toBe(0)
    expect(run.stderr).toContain('embedded fixture model')
    const wav = parseWav(await readFile(join(dir, 'hello.wav')))
    expect(wav).toMatchObject({format: 1, channels: 1, sampleRate: 24000, bits: 16})
    expect(wav.dataBytes % 2).toBe(0)
    expect(wav.dataBytes).toBeGreaterThan(4800 * 2)
  })
})
