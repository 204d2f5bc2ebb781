import {openWavWriter} from '../audio/index.js'
import type {EngineModel} from '../engine/engine-model.js'
import {SeededNormalNoise} from '../engine/noise/index.js'
import {resolveVoice} from '../engine/resolve-voice.js'
import {synthesize} from '../engine/synthesize.js'
import {hashFile} from '../hub/hash-file.js'
import type {ItemRequest, ItemResult} from './batch-worker-protocol.js'

/**
 * Makes one batch item exactly as `pockettts synth` would with the same settings (same noise, voice, writer):
 * the audio is written to a temporary name beside `path` and renamed into place when complete, then hashed.
 */
export async function synthesizeItem(model: EngineModel, request: ItemRequest, signal?: AbortSignal): Promise<ItemResult> {
  const noise = new SeededNormalNoise({seed: request.seed, temperature: request.params.temperature, clamp: request.params.noiseClamp})
  const voice = await resolveVoice({model, ...(request.voice === undefined ? {} : {voice: request.voice}), noise})
  const writer = await openWavWriter({
    destination: request.path,
    format: request.format,
    sampleRate: model.dims.sampleRate,
    trailingSilenceSeconds: request.trailingSilence,
  })
  const report = await synthesize({
    model,
    voice,
    text: request.text,
    params: request.params,
    noise,
    writer,
    ...(signal === undefined ? {} : {signal}),
  })
  const hash = await hashFile({path: request.path})
  return {
    sha256: hash.sha256,
    bytes: hash.size,
    frames: report.frames,
    chunks: report.chunks,
    audioSeconds: report.audioSeconds,
    fileSeconds: report.output.seconds,
    voiceLabel: voice.label,
    elapsedMs: report.elapsedMs,
  }
}
