import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {endOnPause} from '../../src/audio/index.js'
import {linspaceF32} from '../../src/audio/linspace-f32.js'
import {packageRoot} from '../../src/config/project-paths.js'
import {upstreamRelease} from '../../src/upstream/index.js'
import {ORACLE_TINY} from '../helpers/oracle.js'

const PYTHON_4 = join(packageRoot(), upstreamRelease('4.0.1').venv, 'bin', 'python')
const has4 = existsSync(PYTHON_4) && existsSync(join(ORACLE_TINY, 'voice_prompt.wav'))
const NEEDS = '[needs .venv-4.0.1 and ../shared/oracle]'

/** Runs upstream 4.0.1 (its own end_on_pause and torch.linspace) and returns named float32 arrays. */
async function upstream(code: string): Promise<Record<string, Float32Array>> {
  const script = `
import base64, json, numpy as np, torch
from pocket_tts.data.audio_utils import end_on_pause, convert_audio
from pocket_tts.data.audio import audio_read
out = {}
${code}
print(json.dumps({k: base64.b64encode(np.ascontiguousarray(v, dtype=np.float32).tobytes()).decode() for k, v in out.items()}))`
  const {stdout} = await execa(PYTHON_4, ['-c', script], {maxBuffer: 256 * 1024 * 1024})
  const raw = JSON.parse(stdout) as Record<string, string>
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => {
      const bytes = Buffer.from(v, 'base64')
      return [k, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))]
    }),
  )
}

describe.skipIf(!has4 && process.env['CI'] !== 'true')(`end_on_pause and the fades equal upstream 4.0.1's ${NEEDS}`, () => {
  it('torch.linspace in float32, point for point (the fade-in and the fade-out)', async () => {
    const t = await upstream(
      `out['up'] = torch.linspace(0, 1, 120).numpy(); out['down'] = torch.linspace(1, 0, 480).numpy(); out['odd'] = torch.linspace(0, 1, 7).numpy()`,
    )
    expect(Array.from(linspaceF32(0, 1, 120))).toEqual(Array.from(t['up']!))
    expect(Array.from(linspaceF32(1, 0, 480))).toEqual(Array.from(t['down']!))
    expect(Array.from(linspaceF32(0, 1, 7))).toEqual(Array.from(t['odd']!))
  })

  it('trims the oracle prompt and a synthetic one exactly as upstream (length and samples)', async () => {
    const t = await upstream(`
a, sr = audio_read(${JSON.stringify(join(ORACLE_TINY, 'voice_prompt.wav'))})
a = convert_audio(a, sr, 24000, 1)
out['prompt'] = a[0].numpy(); out['prompt_eop'] = end_on_pause(a, 24000)[0].numpy()
s = torch.zeros(1, 48000); s[0, :30000] = torch.sin(torch.arange(30000) * 0.05) * 0.5; s[0, 30000:31000] = 1e-3
out['synthetic'] = s[0].numpy(); out['synthetic_eop'] = end_on_pause(s, 24000)[0].numpy()
out['short'] = torch.ones(100).numpy(); out['short_eop'] = end_on_pause(torch.ones(1, 100), 24000)[0].numpy()`)
    for (const name of ['prompt', 'synthetic', 'short']) {
      const mine = endOnPause(t[name]!, 24000)
      const theirs = t[`${name}_eop`]!
      expect(mine.length, name).toBe(theirs.length)
      let maxAbs = 0
      for (let i = 0; i < mine.length; i += 1) maxAbs = Math.max(maxAbs, Math.abs(mine[i]! - theirs[i]!))
      expect(maxAbs, name).toBeLessThanOrEqual(1e-7)
    }
    // it did trim: the synthetic prompt ends 80 ms after its speech (the quiet tail is more than 35 dB down)
    expect(t['synthetic_eop']!.length).toBe(30240 + 1920)
  })
})
