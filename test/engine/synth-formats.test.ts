import {readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {decodeAudio} from '../helpers/decode-audio.js'

/** `synth --format mp3|opus|flac` on the embedded fixture model, through the same encoders as `serve`. */
describe('pockettts synth --format with the speech encoders (embedded fixture model)', () => {
  let work: string
  let pcm: Buffer
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-synth-formats-'))
    // no trailing silence: @wasm-audio-decoders/flac drops a last FLAC frame of pure silence (13 bytes; chromium decodes it)
    const run = await runCli([
      'synth',
      'Encoded output.',
      '--seed',
      '9',
      '--trailing-silence',
      '0',
      '--format',
      'pcm16',
      '--out',
      join(work, 'ref.pcm'),
    ])
    expect(run.exitCode, run.stderr).toBe(0)
    pcm = readFileSync(join(work, 'ref.pcm'))
  })
  afterAll(async () => rm(work, {recursive: true, force: true}))

  it('flac: a file that decodes to exactly the pcm16 samples of the same seed, nothing else left', async () => {
    const run = await runCli([
      'synth',
      'Encoded output.',
      '--seed',
      '9',
      '--trailing-silence',
      '0',
      '--format',
      'flac',
      '--out',
      join(work, 'out.flac'),
      '--json',
    ])
    expect(run.exitCode, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({format: 'flac', fileSeconds: pcm.length / 2 / 24_000})
    const decoded = await decodeAudio('flac', readFileSync(join(work, 'out.flac')))
    expect(decoded.samples.length).toBe(pcm.length / 2)
    let mismatches = 0
    for (let i = 0; i < decoded.samples.length; i += 1)
      if (Math.round(decoded.samples[i]! * 32767) !== pcm.readInt16LE(2 * i)) mismatches += 1
    expect(mismatches).toBe(0)
    expect(readdirSync(work).sort()).toEqual(['out.flac', 'ref.pcm'])
  })

  it('mp3 and opus: files their decoders read at the pcm16 length (plus the mp3 codec delay)', async () => {
    for (const format of ['mp3', 'opus'] as const) {
      const out = join(work, `out.${format}`)
      const run = await runCli(['synth', 'Encoded output.', '--seed', '9', '--trailing-silence', '0', '--format', format, '--out', out])
      expect(run.exitCode, run.stderr).toBe(0)
      const decoded = await decodeAudio(format, readFileSync(out))
      const samples = decoded.samples.length / (decoded.sampleRate / 24_000)
      expect(samples).toBeGreaterThanOrEqual(pcm.length / 2 - 312)
      expect(samples).toBeLessThan(pcm.length / 2 + 0.2 * 24_000)
    }
  })
})
