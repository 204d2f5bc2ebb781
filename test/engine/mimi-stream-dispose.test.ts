import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import {loadEngineModel, type EngineModel} from '../../src/engine/engine-model.js'
import {MimiDecoderStream} from '../../src/mimi/mimi-decoder-stream.js'

const FIXTURE = join(packageRoot(), 'fixtures', 'tiny-onnx')

describe('a disposed Mimi decoder stream (what the worker does when a stream closes)', () => {
  let model: EngineModel
  beforeAll(async () => {
    model = await loadEngineModel({dir: FIXTURE, threads: 1})
  })
  afterAll(async () => {
    await model?.release()
  })

  const open = () =>
    new MimiDecoderStream({
      latentToMimi: model.sessions.latent_to_mimi,
      decoder: model.sessions.mimi_decoder,
      states: model.mimiStates,
      mimiInputDim: model.dims.mimiInputDim,
      latentDim: model.dims.latentDim,
    })
  const latent = () => Float32Array.from({length: model.dims.latentDim}, (_, i) => Math.sin(i + 1))

  it('refuses to decode until reset, then decodes from the initial state again', async () => {
    const stream = open()
    const fresh = await open().decodeLatent(latent())
    await stream.decodeLatent(latent())
    stream.dispose()
    await expect(stream.decodeLatent(latent())).rejects.toThrow(/disposed/)
    await expect(stream.decodeLatents([latent(), latent()])).rejects.toThrow(/disposed/)
    stream.reset()
    const again = await stream.decodeLatent(latent())
    expect(Array.from(again.audio)).toEqual(Array.from(fresh.audio))
  })
})
