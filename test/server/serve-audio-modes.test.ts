import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import tolerances from '../../contracts/tolerances.json' with {type: 'json'}
import {embeddedModelDir} from '../../src/config/index.js'
import {loadEngineModel} from '../../src/engine/engine-model.js'
import {serveModelOptions} from '../../src/server/serve-model-options.js'
import {runCli} from '../helpers/cli.js'
import {NEVER_EOS, postSpeech, readAll, startTestServer} from '../helpers/server.js'
import {pcm16, readWavF32} from '../helpers/wav-bytes.js'

// Two sentences in chunks of at most 8 tokens: several chunks, so the Mimi state resets and each chunk's grouping
// restarts with its first frame alone.
const TEXT = 'The server speaks as synth does. Both modes, one frame grouping.'
const SEED = 19
const MAX_TOKENS = 8
const SAMPLES_PER_FRAME = 1920
/** The parity tolerance of audio, plus one step of the 16-bit encoding (upstream's clamp, x32767, truncate). */
const PCM_TOLERANCE = tolerances.checks.audio.atol + 1 / 32767

/**
 * Both server modes decode Mimi in synth's frame groups (src/engine/mimi-grouping.ts: inline, or on the decoder worker
 * with --mimi-worker, as synth does) and run their FlowLM calls differently (interleaved: the solo graphs; batched: rows of the batched graph):
 * each gives synth's samples within the parity tolerance of audio.
 */
describe('serve gives synth audio, interleaved (--no-batching) and batched', () => {
  let work: string
  let expected: Float32Array
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-serve-modes-'))
    const out = join(work, 'synth.wav')
    const synth = await runCli([
      'synth',
      TEXT,
      '--voice',
      'voice',
      '--seed',
      String(SEED),
      '--max-tokens',
      String(MAX_TOKENS),
      '--eos-threshold',
      String(NEVER_EOS.eosThreshold),
      '--format',
      'wavf32',
      '--trailing-silence',
      '0',
      '--threads',
      '1',
      '--out',
      out,
    ])
    expect(synth.exitCode, synth.stderr).toBe(0)
    expected = await readWavF32(out)
  })
  afterAll(async () => {
    await rm(work, {recursive: true, force: true})
  })

  it.each([
    ['interleaved', false, false],
    ['batched', true, false],
    ['interleaved, --mimi-worker', false, true],
    ['batched, --mimi-worker', true, true],
  ] as const)(
    '%s: POST /v1/audio/speech (pcm) gives the samples of synth for the same text, seed and voice',
    async (_mode, batching, mimiWorker) => {
      // loaded as `serve` loads it, on one thread as synth above
      const model = await loadEngineModel(serveModelOptions({dir: embeddedModelDir(), threads: 1, batching, mimiWorker}))
      expect(model.batcher !== undefined, 'the embedded export has batched graphs').toBe(batching)
      expect(model.mimiWorker !== undefined).toBe(mimiWorker)
      const t = await startTestServer({
        model,
        generation: {...NEVER_EOS, maxTokens: MAX_TOKENS},
        ...(model.batcher === undefined ? {} : {batcher: model.batcher}),
      })
      try {
        const res = await postSpeech(t.url, {model: 'pocket-tts', input: TEXT, voice: 'voice', seed: SEED, response_format: 'pcm'})
        expect(res.status, await res.clone().text()).toBe(200)
        const served = pcm16(await readAll(res))
        expect(expected.length).toBeGreaterThan(2 * SAMPLES_PER_FRAME)
        expect(served.length).toBe(expected.length)
        let maxDiff = 0
        for (let i = 0; i < expected.length; i += 1)
          maxDiff = Math.max(maxDiff, Math.abs(served[i]! / 32767 - Math.min(1, Math.max(-1, expected[i]!))))
        expect(maxDiff).toBeLessThanOrEqual(PCM_TOLERANCE)
      } finally {
        await t.close()
        await model.release()
      }
    },
  )
})
