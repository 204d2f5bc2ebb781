import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import wavefile from 'wavefile'
import {parse as parseNpy} from 'npyjs'
import {describe, expect, it} from 'vitest'
import {decodeWav, loadAudioPrompt, readWav, resamplePoly} from '../../src/audio/index.js'
import {NEEDS_ORACLE, ORACLE_TINY, skipWithoutOracle} from '../helpers/oracle.js'
import {runPythonJson} from '../helpers/python.js'

const {WaveFile} = wavefile

function f32FromBase64(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64')
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let max = 0
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs(a[i]! - b[i]!))
  return max
}

/** A test signal: a chirp, a tone and seeded noise, float32, in [-1, 1]. */
function testSignal(rate: number, seconds: number): Float32Array {
  const n = Math.round(rate * seconds)
  let s = 7
  const out = new Float32Array(n)
  for (let i = 0; i < n; i += 1) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    const t = i / rate
    out[i] = 0.4 * Math.sin(2 * Math.PI * (100 + 4000 * t) * t) + 0.3 * Math.sin(2 * Math.PI * 440 * t) + 0.2 * (s / 2 ** 32 - 0.5)
  }
  return out
}

const SCIPY_PY = `
import base64, json, sys
import numpy as np
from scipy.signal import resample_poly
req = json.load(sys.stdin)
out = []
for case in req:
    x = np.frombuffer(base64.b64decode(case['x']), dtype=np.float32)
    y = resample_poly(x, case['up'], case['down'])
    out.append({'dtype': str(y.dtype), 'y': base64.b64encode(y.astype(np.float32).tobytes()).decode()})
print(json.dumps(out))
`

describe('resamplePoly', () => {
  it('matches scipy.signal.resample_poly within 1e-5 (44.1k→24k, 16k→24k, 48k→24k, 22.05k→24k)', async () => {
    const cases = [
      {from: 44100, to: 24000, seconds: 0.5},
      {from: 16000, to: 24000, seconds: 0.5},
      {from: 48000, to: 24000, seconds: 0.25},
      {from: 22050, to: 24000, seconds: 0.25},
    ].map((c) => {
      const g = gcd(c.from, c.to)
      return {...c, x: testSignal(c.from, c.seconds), up: c.to / g, down: c.from / g}
    })
    const scipy = await runPythonJson<{dtype: string; y: string}[]>(SCIPY_PY, {
      input: JSON.stringify(cases.map((c) => ({x: Buffer.from(c.x.buffer).toString('base64'), up: c.up, down: c.down}))),
    })
    cases.forEach((c, i) => {
      expect(scipy[i]!.dtype).toBe('float32')
      const ours = resamplePoly({input: c.x, up: c.up, down: c.down})
      const diff = maxAbsDiff(ours, f32FromBase64(scipy[i]!.y))
      expect(diff, `${c.from} → ${c.to}`).toBeLessThanOrEqual(1e-5)
    })
    expect(Array.from(resamplePoly({input: Float32Array.of(0.5, -0.25), up: 3, down: 3}))).toEqual([0.5, -0.25])
  })
})

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

// Upstream's own prompt reading: audio_read, the 30 s truncation of get_state_for_audio_prompt, convert_audio.
const UPSTREAM_READ_PY = `
import base64, json, sys, wave
import numpy as np
from pocket_tts.data.audio import audio_read
from pocket_tts.data.audio_utils import convert_audio
req = json.load(sys.stdin)
out = []
for case in req['cases']:
    audio, sr = audio_read(case['path'])
    max_samples = int(30 * sr)
    if audio.shape[-1] > max_samples:
        audio = audio[..., :max_samples]
    y = convert_audio(audio, sr, 24000, 1)
    out.append(base64.b64encode(y[0].numpy().astype(np.float32).tobytes()).decode())
print(json.dumps(out))
`

// Python's wave module writes the 16-bit test prompts (what upstream's reader is made for).
const WRITE_WAV_PY = `
import json, sys, wave
import numpy as np
req = json.load(sys.stdin)
for case in req:
    rng = np.random.default_rng(case['seed'])
    n = int(case['rate'] * case['seconds'])
    t = np.arange(n) / case['rate']
    x = 0.5 * np.sin(2 * np.pi * 220 * t)[:, None] + 0.2 * rng.standard_normal((n, case['channels']))
    pcm = np.clip(x * 32767, -32768, 32767).astype('<i2')
    with wave.open(case['path'], 'wb') as w:
        w.setnchannels(case['channels']); w.setsampwidth(2); w.setframerate(case['rate']); w.writeframes(pcm.tobytes())
print('{}')
`

describe('voice prompt reading', () => {
  it("follows upstream's reading of 16-bit WAVs: channel mean, 30 s truncation in source samples, resampling", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-wav-'))
    const cases = [
      {path: join(dir, 'stereo-44k.wav'), rate: 44100, channels: 2, seconds: 0.7, seed: 1},
      {path: join(dir, 'mono-16k-long.wav'), rate: 16000, channels: 1, seconds: 30.5, seed: 2},
      {path: join(dir, 'three-24k.wav'), rate: 24000, channels: 3, seconds: 0.3, seed: 3},
    ]
    await runPythonJson(WRITE_WAV_PY, {input: JSON.stringify(cases)})
    const upstream = await runPythonJson<string[]>(UPSTREAM_READ_PY, {input: JSON.stringify({cases})})
    for (const [i, c] of cases.entries()) {
      const prompt = await loadAudioPrompt({path: c.path})
      const expected = f32FromBase64(upstream[i]!)
      const tolerance = c.rate === 24000 ? 0 : 1e-5
      expect(maxAbsDiff(prompt.audio, expected), c.path).toBeLessThanOrEqual(tolerance)
      expect(prompt.source).toMatchObject({sampleRate: c.rate, channels: c.channels, format: 'pcm16', truncated: c.seconds > 30})
    }
    expect((await loadAudioPrompt({path: cases[1]!.path, truncateSeconds: null})).audio.length).toBe(30.5 * 24000)
  })

  it('decodes 8/24/32-bit PCM and float WAVs to [-1, 1] (upstream would misread them as int16)', () => {
    const encode = (bits: string, samples: number[], channels = 1): Uint8Array => {
      const w = new WaveFile()
      w.fromScratch(channels, 16000, bits, samples)
      return w.toBuffer()
    }
    const read = (bytes: Uint8Array): number[] => Array.from(decodeWav({bytes, source: 'x.wav'}).samples)
    expect(read(encode('8', [0, 128, 255]))).toEqual([-1, 0, 127 / 128])
    expect(read(encode('24', [-8388608, 0, 4194304]))).toEqual([-1, 0, 0.5])
    expect(read(encode('32', [-2147483648, 1073741824]))).toEqual([-1, 0.5])
    expect(read(encode('32f', [0.25, -0.75]))).toEqual([0.25, -0.75])
    expect(read(encode('64', [0.1]))).toEqual([Math.fround(0.1)])
    expect(read(encode('16', [16384, -16384, 3, 4], 2))).toEqual([0, 3.5 / 32768])
    expect(decodeWav({bytes: encode('24', [1, 2]), source: 'x.wav'}).format).toBe('pcm24')
  })

  it('refuses what it cannot read with a code and a fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-wav-'))
    const mp3 = join(dir, 'voice.mp3')
    writeFileSync(mp3, Buffer.from('ID3\x03\x00\x00\x00\x00\x00\x00 not really audio', 'latin1'))
    await expect(readWav({path: mp3})).rejects.toMatchObject({code: 'AUDIO_FORMAT_UNSUPPORTED', hint: expect.stringContaining('ffmpeg')})
    await expect(readWav({path: join(dir, 'missing.wav')})).rejects.toMatchObject({code: 'AUDIO_NOT_FOUND'})
    const header = Buffer.alloc(12)
    header.write('RIFX\x00\x00\x00\x00WAVE', 'latin1')
    expect(() => decodeWav({bytes: header, source: 'be.wav'})).toThrow(expect.objectContaining({code: 'AUDIO_FORMAT_UNSUPPORTED'}))
    header.write('RIFF', 'latin1')
    expect(() => decodeWav({bytes: header, source: 'short.wav'})).toThrow(expect.objectContaining({code: 'AUDIO_INVALID'}))
    const alaw = new WaveFile()
    alaw.fromScratch(1, 8000, '16', [1, 2, 3, 4])
    alaw.toALaw()
    expect(() => decodeWav({bytes: alaw.toBuffer(), source: 'alaw.wav'})).toThrow(
      expect.objectContaining({code: 'AUDIO_FORMAT_UNSUPPORTED'}),
    )
  })
})

describe.skipIf(skipWithoutOracle)(`voice prompt reading ${NEEDS_ORACLE}`, () => {
  it("reads voice_prompt.wav to exactly upstream's recorded Mimi-encoder input", async () => {
    const golden = parseNpy(new Uint8Array(readFileSync(join(ORACLE_TINY, 'golden', 'voice', 'audio.npy'))).buffer)
    expect(golden.shape).toEqual([1, 1, 160750])
    const prompt = await loadAudioPrompt({path: join(ORACLE_TINY, 'voice_prompt.wav')})
    expect(maxAbsDiff(prompt.audio, golden.data as Float32Array)).toBe(0)
  })
})
