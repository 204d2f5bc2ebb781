import {copyFile, mkdir, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import tolerances from '../../contracts/tolerances.json' with {type: 'json'}
import {loadEngineModel} from '../../src/engine/engine-model.js'
import {runCli} from '../helpers/cli.js'
import {isCI} from '../helpers/oracle.js'
import {hasOracle4, ORACLE4} from '../helpers/oracle4.js'
import {oracle4Export} from '../helpers/oracle4-export.js'
import {postSpeech, readAll, startTestServer} from '../helpers/server.js'
import {ORACLE4_FAMILIES} from '../oracle4-setup.js'
import {pcm16, readWavF32} from '../helpers/wav-bytes.js'

const TEXT = 'Hello world, this is a test. And a second sentence follows it.'
const SEED = 3
const SAMPLES_PER_FRAME = 1920
/** The parity tolerance of audio, plus one step of the 16-bit encoding (upstream's clamp, x32767, truncate). */
const PCM_TOLERANCE = tolerances.checks.audio.atol + 1 / 32767

interface SynthJson {
  readonly frames: number
  readonly eosSteps: (number | null)[]
}

describe.skipIf(!hasOracle4 && !isCI)('serve runs the 4.x loop on every oracle4 family [needs ../shared/oracle4]', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-oracle4-serve-'))
  })
  afterAll(async () => {
    await rm(work, {recursive: true, force: true})
  })

  it.each(ORACLE4_FAMILIES)(
    "%s: POST /v1/audio/speech gives synth's samples for the same text, seed and voice, with the export's 4.x defaults",
    async (family) => {
      const dir = oracle4Export(family)
      const voiceFile = join(ORACLE4, family, 'voice.safetensors')
      const voices = join(work, `${family}-voices`)
      await mkdir(voices)
      await copyFile(voiceFile, join(voices, 'oracle4.safetensors'))

      // synth with no sampling flags: the defaults are the manifest's (the config's temperature and EOS threshold)
      const out = join(work, `${family}.wav`)
      const synth = await runCli([
        'synth',
        TEXT,
        '--model',
        dir,
        '--voice',
        voiceFile,
        '--seed',
        String(SEED),
        '--format',
        'wavf32',
        '--trailing-silence',
        '0',
        '--out',
        out,
        '--json',
      ])
      expect(synth.exitCode, synth.stderr).toBe(0)
      const synthJson = JSON.parse(synth.stdout) as SynthJson
      const expected = await readWavF32(out)
      expect(expected.length).toBe(synthJson.frames * SAMPLES_PER_FRAME)
      for (const step of synthJson.eosSteps) if (step !== null) expect(step).toBeGreaterThanOrEqual(6)

      const model = await loadEngineModel({dir: dir, threads: 1})
      const t = await startTestServer({model, voicesDir: voices})
      try {
        const facts = model.facts
        expect([facts.upstream, facts.eosMinStep, facts.fadeInMs]).toEqual(['4.0.1', 6, 5])
        const speech = async (extra: Record<string, unknown>): Promise<Int16Array> => {
          const body = {model: 'pocket-tts', input: TEXT, voice: 'oracle4', seed: SEED, response_format: 'pcm', ...extra}
          const res = await postSpeech(t.url, body)
          expect(res.status, await res.clone().text()).toBe(200)
          return pcm16(await readAll(res))
        }
        const served = await speech({})
        // the same frames as synth, sample for sample within the audio tolerance and one 16-bit step
        expect(served.length).toBe(expected.length)
        let maxDiff = 0
        for (let i = 0; i < expected.length; i += 1) {
          maxDiff = Math.max(maxDiff, Math.abs(served[i]! / 32767 - Math.min(1, Math.max(-1, expected[i]!))))
        }
        expect(maxDiff).toBeLessThanOrEqual(PCM_TOLERANCE)
        // each chunk starts faded in: the curve's first point is 0
        expect(served[0]).toBe(0)
        // the request's default temperature is the config's (4.x: 0.3), not 2.1.0's 0.7
        expect(facts.defaultTemperature).toBe(0.3)
        expect(Buffer.from((await speech({temperature: facts.defaultTemperature})).buffer).equals(Buffer.from(served.buffer))).toBe(true)
        expect(Buffer.from((await speech({temperature: 0.7})).buffer).equals(Buffer.from(served.buffer))).toBe(false)
      } finally {
        await t.close()
        await model.release()
      }
    },
  )
})
