import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadEngineModel, STEP_WITH_HEAD_GRAPH} from '../../src/engine/engine-model.js'
import {generateAudio} from '../../src/engine/generate-audio.js'
import {modelGenerationDefaults} from '../../src/engine/generation-params.js'
import {SeededNormalNoise} from '../../src/engine/noise/index.js'
import {resolveVoice} from '../../src/engine/resolve-voice.js'
import type {ExportManifest} from '../../src/model/manifest-types.js'
import {isCI} from '../helpers/oracle.js'
import {hasOracle4} from '../helpers/oracle4.js'
import {oracle4Export} from '../helpers/oracle4-export.js'

const TEXT = 'The quick brown fox jumps over the lazy dog. It barks twice.'

/**
 * Every frame of one seeded generation, with the combined step graph or without it; `voiceFile` a WAV prompt of
 * the export (its prefill runs through `sessions.flow_lm_main`), else the default voice state.
 */
async function synthesize(
  dir: string,
  stepWithHead: boolean,
  voiceFile?: string,
): Promise<{frames: Float32Array[]; used: boolean; oneCopy: boolean}> {
  const model = await loadEngineModel({dir, stepWithHead, mimiWorker: true})
  try {
    const params = {...modelGenerationDefaults(model.facts), fixedFrames: null}
    const noise = new SeededNormalNoise({seed: 7, temperature: params.temperature})
    const voice = await resolveVoice({model, noise, ...(voiceFile === undefined ? {} : {voice: join(dir, voiceFile)})})
    const frames: Float32Array[] = []
    for await (const frame of generateAudio({model, voice: voice.kv, text: TEXT, params, noise})) frames.push(frame.audio)
    // with the combined graph, flow_lm_main calls (prefills) run the same session: the FlowLM weights loaded once
    return {frames, used: model.stepWithHead !== undefined, oneCopy: model.sessions.flow_lm_main === model.stepWithHead}
  } finally {
    await model.release()
  }
}

async function manifestOf(dir: string): Promise<ExportManifest> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
}

describe.skipIf(!hasOracle4 && !isCI)(
  'the combined FlowLM step + one-step head graph (flow_lm_main_flow) [needs ../shared/oracle4]',
  () => {
    it.each(['t4-drift', 't4-point'])(
      '%s: the export composes it, checks it against upstream and the two graphs, and lists it',
      async (family) => {
        const manifest = await manifestOf(oracle4Export(family))
        const entry = manifest.graphs[STEP_WITH_HEAD_GRAPH]
        expect(entry).toBeDefined()
        expect(entry?.composition?.of).toEqual(['flow_lm_main', 'flow_lm_flow'])
        expect(entry?.check.export.passed).toBe(true)
        expect(entry?.check.export.calls).toBeGreaterThan(0)
        // the composition changes nothing beyond float noise against the two graphs run in sequence
        for (const value of Object.values(entry?.composition?.pair_max_abs ?? {})) expect(value).toBeLessThanOrEqual(1e-6)
        expect(entry?.inputs.map((i) => i.name)).toEqual([...(manifest.graphs['flow_lm_main']?.inputs.map((i) => i.name) ?? []), 'noise'])
        expect(entry?.outputs.map((o) => o.name)).toEqual([
          ...(manifest.graphs['flow_lm_main']?.outputs.map((o) => o.name) ?? []),
          'latent',
        ])
        expect(manifest.files.map((f) => f.path)).toContain(`${STEP_WITH_HEAD_GRAPH}.onnx`)
      },
    )

    it('t4-lsd: no combined graph for a multi-step (LSD) head', async () => {
      const manifest = await manifestOf(oracle4Export('t4-lsd'))
      expect(manifest.graphs[STEP_WITH_HEAD_GRAPH]).toBeUndefined()
    })

    it.each([
      ['t4-drift', 'default'],
      ['t4-point', 'default'],
      ['t4-drift', 'voice_prompt.wav'],
    ])('%s (voice %s): a generation through it gives the frames of the two-call loop (same seed, EOS-ended)', async (family, voiceFile) => {
      const dir = oracle4Export(family)
      const file = voiceFile === 'default' ? undefined : voiceFile
      const combined = await synthesize(dir, true, file)
      const separate = await synthesize(dir, false, file)
      expect([combined.used, combined.oneCopy]).toEqual([true, true])
      expect([separate.used, separate.oneCopy]).toEqual([false, false])
      expect(combined.frames.length).toBe(separate.frames.length)
      expect(combined.frames.length).toBeGreaterThan(1)
      let worst = 0
      for (const [i, frame] of combined.frames.entries()) {
        const other = separate.frames[i] as Float32Array
        expect(frame.length).toBe(other.length)
        for (let j = 0; j < frame.length; j += 1) worst = Math.max(worst, Math.abs((frame[j] as number) - (other[j] as number)))
      }
      expect(worst).toBeLessThanOrEqual(1e-5)
    })
  },
)
