import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {decodeWav, openWavWriter, toInt16, UPSTREAM_TRAILING_SILENCE_SECONDS, writeWavStream} from '../../src/audio/index.js'
import {runPythonJson} from '../helpers/python.js'

const EDGE = Float32Array.of(0, 1, -1, 1.5, -2, 0.5, -0.5, 0.99999, -0.99999, 1e-6, -1e-6, 0.000030517578125, -0.333, 0.7071)

function chunks(): Float32Array[] {
  const noise = Float32Array.from({length: 1920}, (_, i) => Math.sin(i * 0.37) * 1.2)
  return [EDGE, noise, Float32Array.from({length: 1920}, (_, i) => (i - 960) / 900)]
}

async function* from(list: Float32Array[]): AsyncGenerator<Float32Array> {
  for (const c of list) yield c
}

// Upstream's own streaming writer (CLI/server) on the same chunks, into an unclosable in-memory file.
const UPSTREAM_WRITER_PY = `
import base64, io, json, sys
import numpy as np, torch
from pocket_tts.data.audio import stream_audio_chunks
class Keep(io.BytesIO):
    def close(self): pass
req = json.load(sys.stdin)
chunks = [torch.from_numpy(np.frombuffer(base64.b64decode(c), dtype=np.float32).copy()) for c in req['chunks']]
out = Keep()
stream_audio_chunks(out, iter(chunks), 24000)
print(json.dumps({'wav': base64.b64encode(out.getvalue()).decode()}))
`

describe('audio writer', () => {
  it('streams wav16 byte-identical to upstream (placeholder header, int16 rule, 200 ms silence)', async () => {
    const list = chunks()
    const upstream = await runPythonJson<{wav: string}>(UPSTREAM_WRITER_PY, {
      input: JSON.stringify({chunks: list.map((c) => Buffer.from(c.buffer).toString('base64'))}),
    })
    const sink = new PassThrough()
    const parts: Buffer[] = []
    sink.on('data', (b: Buffer) => parts.push(b))
    const summary = await writeWavStream({
      source: from(list),
      destination: sink,
      format: 'wav16',
      sampleRate: 24000,
      trailingSilenceSeconds: UPSTREAM_TRAILING_SILENCE_SECONDS,
    })
    expect(Buffer.concat(parts).equals(Buffer.from(upstream.wav, 'base64'))).toBe(true)
    expect(summary.samples).toBe(EDGE.length + 2 * 1920 + 4800)
    expect(summary.path).toBeUndefined()
  })

  it('writes files through a temporary name and patches the header with the real length', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-out-'))
    const list = chunks()
    const total = list.reduce((n, c) => n + c.length, 0)
    for (const format of ['wav16', 'wavf32', 'pcm16'] as const) {
      const path = join(dir, `out-${format}`)
      const writer = await openWavWriter({destination: path, format, sampleRate: 24000})
      for (const c of list) await writer.write(c)
      expect(readdirSync(dir).some((f) => f.endsWith('.partial'))).toBe(true)
      const summary = await writer.close()
      expect(summary).toMatchObject({path, samples: total, format})
      const bytes = readFileSync(path)
      expect(bytes.length).toBe(summary.bytes)
      const all = Float32Array.from(list.flatMap((c) => Array.from(c)))
      if (format === 'pcm16') {
        expect(bytes.length).toBe(total * 2)
        expect(Array.from(new Int16Array(bytes.buffer, bytes.byteOffset, total))).toEqual(Array.from(all, toInt16))
      } else {
        const wav = decodeWav({bytes, source: path})
        expect(wav.sampleRate).toBe(24000)
        expect(wav.samples.length).toBe(total)
        const expected = format === 'wavf32' ? Array.from(all) : Array.from(all, (x) => toInt16(x) / 32768)
        expect(Array.from(wav.samples)).toEqual(expected)
      }
    }
    expect(readdirSync(dir).sort()).toEqual(['out-pcm16', 'out-wav16', 'out-wavf32'])
  })

  it('float WAV files open in scipy with the right length and values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-out-'))
    const path = join(dir, 'f32.wav')
    await writeWavStream({source: from(chunks()), destination: path, format: 'wavf32', sampleRate: 24000, trailingSilenceSeconds: 0.01})
    const py = await runPythonJson<{rate: number; dtype: string; n: number; head: number[]; tail: number}>(
      `import json, sys\nfrom scipy.io import wavfile\nr, x = ` +
        `wavfile.read(sys.stdin.read())\nprint(json.dumps({'rate': r, 'dtype': str(x.dtype), 'n': len(x), ` +
        `'head': [float(v) for v in x[:4]], 'tail': float(abs(x[-240:]).max())}))`,
      {input: path},
    )
    expect(py).toEqual({rate: 24000, dtype: 'float32', n: EDGE.length + 2 * 1920 + 240, head: [0, 1, -1, 1.5], tail: 0})
  })

  it('leaves nothing behind when the source fails or the run is cancelled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockettts-out-'))
    async function* failing(): AsyncGenerator<Float32Array> {
      yield new Float32Array(1920)
      throw new Error('engine failed')
    }
    await expect(writeWavStream({source: failing(), destination: join(dir, 'a.wav'), format: 'wav16', sampleRate: 24000})).rejects.toThrow(
      'engine failed',
    )
    const controller = new AbortController()
    async function* cancelled(): AsyncGenerator<Float32Array> {
      yield new Float32Array(1920)
      controller.abort()
      yield new Float32Array(1920)
    }
    await expect(
      writeWavStream({source: cancelled(), destination: join(dir, 'b.wav'), format: 'wav16', sampleRate: 24000, signal: controller.signal}),
    ).rejects.toMatchObject({code: 'CANCELLED'})
    expect(readdirSync(dir)).toEqual([])
  })
})
