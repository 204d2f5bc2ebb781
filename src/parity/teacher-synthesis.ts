import type {EngineModel} from '../engine/engine-model.js'
import {CancelledError} from '../errors/index.js'
import {flowLmStep} from '../flowlm/flow-lm-step.js'
import {KvCache} from '../flowlm/kv-cache.js'
import {sampleLatent} from '../flowlm/sample-latent.js'
import type {GoldenCase, GoldenChunk, GoldenTensor} from '../golden/index.js'
import {MimiDecoderStream} from '../mimi/mimi-decoder-stream.js'
import {runGraph} from '../onnx/run-graph.js'
import {f32, floats, i64} from '../onnx/tensors.js'
import {prepareChunks} from '../text/index.js'
import {applyFadeIn, fadeInCurve} from '../engine/fade-in.js'
import {caseParams} from './case-params.js'
import type {CheckRecorder} from './check-recorder.js'
import {asFloats, asInts, isV4Golden, row} from './golden-cases.js'
import type {ParityStage} from './parity-stages.js'

export interface TeacherSynthesisParams {
  readonly model: EngineModel
  readonly golden: GoldenCase
  /** The case's voice state (FlowLM KV after the voice prefill). */
  readonly voice: KvCache
  readonly recorder: CheckRecorder
  readonly signal?: AbortSignal
}

/**
 * Teacher-forced parity of one synthesis case: every block of the engine gets the golden's own inputs, so
 * each is compared on its own. Text front-end on the case text, text_conditioner on the golden tokens;
 * per chunk the text prefill on the golden text embeddings, then every AR step on the golden's previous
 * latent (`step_input`), the flow head on the golden hidden state and noise, the sampler on this
 * runtime's hidden state and the golden noise; latent_to_mimi on the golden latents and the Mimi decoder,
 * state carried, on the golden `mimi_input` of every frame.
 *
 * A golden may hold only some of these tensors (upstream 4.x goldens: tokens, noise, eos_logit, latent, audio):
 * what is missing is derived from what is there when the golden's own values define it (the text embeddings
 * from its tokens, the AR step inputs from its latents, the Mimi input from its latents through this
 * runtime's latent_to_mimi), and the checks that need something absent are skipped, with the reason.
 */
export async function teacherSynthesis(params: TeacherSynthesisParams): Promise<void> {
  const {golden, recorder: rec} = params
  const chunks = golden.manifest.chunks ?? []
  const need = (stages: readonly ParityStage[]): boolean => stages.some((s) => rec.wants(s))
  if (need(['text'])) await checkText(params)
  for (const [c, chunk] of chunks.entries()) {
    if (need(['text-prefill', 'flowlm-layers', 'eos', 'flow-head', 'latent'])) await checkFlowLm(params, c, chunk)
  }
  if (need(['mimi', 'audio'])) await checkMimi(params)
}

async function checkText(params: TeacherSynthesisParams): Promise<void> {
  const {model, golden, recorder: rec} = params
  const chunks = golden.manifest.chunks ?? []
  const gen = caseParams(golden.manifest)
  const text = golden.manifest.case?.text ?? ''
  const {chunks: mine} = await prepareChunks({
    tokenizer: model.text.tokenizer,
    text,
    config: model.text.config,
    maxTokens: gen.maxTokens,
    framesAfterEos: gen.framesAfterEos,
  })
  const at = {stage: 'text', check: 'text.chunks'} as const
  rec.exact({...at, tensor: 'chunks.length', location: {}, actual: mine.length, golden: chunks.length})
  for (const [c, chunk] of chunks.entries()) {
    const m = mine[c]
    if (m === undefined) continue
    const location = {chunk: c}
    rec.exact({...at, tensor: `chunks[${c}].text`, location, actual: m.prepared, golden: chunk.text})
    rec.exact({...at, tensor: `chunks[${c}].n_tokens`, location, actual: m.ids.length, golden: chunk.n_tokens})
    rec.exact({...at, tensor: `chunks[${c}].max_gen_len`, location, actual: m.maxGenLen, golden: chunk.max_gen_len})
    rec.exact({...at, tensor: `chunks[${c}].frames_after_eos`, location, actual: m.framesAfterEos, golden: chunk.frames_after_eos})
    if (!golden.has(`chunk${c}.tokens`)) {
      rec.skip({stage: 'text', tensor: `chunk${c}.tokens`, reason: 'not in the golden'})
      continue
    }
    const tokens = asInts(await golden.tensor(`chunk${c}.tokens`))
    rec.exact({stage: 'text', check: 'tokens', tensor: `chunk${c}.tokens`, location, actual: m.ids, golden: tokens})
    const name = `chunk${c}.text_embeddings`
    if (!golden.has(name)) {
      rec.skip({stage: 'text', tensor: name, reason: 'not in the golden'})
      continue
    }
    // text_conditioner on the golden's own tokens (teacher-forced)
    const out = await runGraph('text_conditioner', model.sessions.text_conditioner, {tokens: i64(tokens, [1, tokens.length])})
    const expected = await golden.tensor(name)
    rec.compare({
      stage: 'text',
      check: 'text_embeddings',
      tensor: name,
      location,
      actual: floats(out['text_embeddings']),
      golden: asFloats(expected),
      shape: expected.shape,
      actualShape: [tokens.length, model.dims.dModel],
    })
  }
}

async function checkFlowLm(params: TeacherSynthesisParams, c: number, chunk: GoldenChunk): Promise<void> {
  const {model, golden, voice, recorder: rec} = params
  const {dims, sessions} = model
  const gen = caseParams(golden.manifest)
  const flowStages: readonly ParityStage[] = ['text-prefill', 'flowlm-layers', 'eos', 'flow-head', 'latent']
  const skipAll = (tensor: string, reason: string): void => {
    for (const stage of flowStages) if (rec.wants(stage)) rec.skip({stage, tensor, reason})
  }
  const embeddings = await textEmbeddingsOf(params, c)
  if (embeddings === undefined) {
    skipAll(`chunk${c}.text_embeddings`, `not in the golden, nor chunk${c}.tokens to compute it from: the FlowLM cannot be teacher-forced`)
    return
  }
  const stepInput = await stepInputsOf(golden, c, dims.latentDim)
  if (stepInput === undefined) {
    skipAll(`chunk${c}.step_input`, `not in the golden, nor chunk${c}.latent to derive it from: the AR steps cannot be teacher-forced`)
    return
  }
  const steps = stepInput.shape[0] ?? 0
  const optional = async (name: string, stage: ParityStage): Promise<{data: Float32Array; shape: readonly number[]} | undefined> => {
    if (!rec.wants(stage)) return undefined
    if (!golden.has(name)) {
      rec.skip({stage, tensor: name, reason: 'not in the golden'})
      return undefined
    }
    const t = await golden.tensor(name)
    return {data: asFloats(t), shape: t.shape}
  }
  const layerOut = sessions.flow_lm_main.outputNames.includes('layer_out')
    ? await optional(`chunk${c}.layer_out`, 'flowlm-layers')
    : undefined
  if (!sessions.flow_lm_main.outputNames.includes('layer_out'))
    rec.skip({stage: 'flowlm-layers', tensor: `chunk${c}.layer_out`, reason: "the model's flow_lm_main has no layer_out output"})
  const hidden = await optional(`chunk${c}.hidden`, 'flowlm-layers')
  const eosLogit = await optional(`chunk${c}.eos_logit`, 'eos')
  const prefillKv = golden.has(`chunk${c}.prefill_kv`) ? await optional(`chunk${c}.prefill_kv`, 'text-prefill') : undefined
  const wantFlow = rec.wants('flow-head') || rec.wants('latent')
  const haveFlow = golden.has(`chunk${c}.noise`) && golden.has(`chunk${c}.latent`)
  if (wantFlow && !haveFlow) {
    const missing = [`chunk${c}.noise`, `chunk${c}.latent`].filter((t) => !golden.has(t)).join(' and ')
    for (const stage of ['flow-head', 'latent'] as const)
      if (rec.wants(stage)) rec.skip({stage, tensor: missing, reason: 'not in the golden'})
  }
  const noise = wantFlow && haveFlow ? asFloats(await golden.tensor(`chunk${c}.noise`)) : undefined
  const latent = wantFlow && haveFlow ? await golden.tensor(`chunk${c}.latent`) : undefined
  const hiddenName = `chunk${c}.hidden`
  const goldenHidden = rec.wants('flow-head') && haveFlow && golden.has(hiddenName) ? asFloats(await golden.tensor(hiddenName)) : undefined
  if (rec.wants('flow-head') && haveFlow && goldenHidden === undefined)
    rec.skip({stage: 'flow-head', tensor: hiddenName, reason: 'not in the golden: the flow head is fed the golden hidden state'})
  const sample = (h: Float32Array, stepNoise: Float32Array): Promise<Float32Array> =>
    sampleLatent({
      session: sessions.flow_lm_flow,
      sampler: model.facts.sampler.type,
      hidden: h,
      noise: stepNoise,
      steps: gen.lsdDecodeSteps,
    })

  const n = embeddings.shape[0] ?? 0
  const kv = new KvCache(voice.layout, model.kvCapacity)
  kv.copyFrom(voice)
  kv.ensureCapacity(voice.offset + n + steps + 1)
  const base = {session: sessions.flow_lm_main, kv, state: model.flowLmState, dModel: dims.dModel, latentDim: dims.latentDim}
  await flowLmStep({...base, conditioning: asFloats(embeddings)})
  if (prefillKv !== undefined) {
    const rows = kv.past().data as Float32Array
    rec.compare({
      stage: 'text-prefill',
      check: 'prefill_kv',
      tensor: `chunk${c}.prefill_kv`,
      location: {chunk: c},
      actual: rows.subarray(voice.offset * kv.rowSize),
      golden: prefillKv.data,
      shape: prefillKv.shape,
      actualShape: [kv.offset - voice.offset, dims.layers, 2, dims.heads, dims.headDim],
    })
  } else if (rec.wants('text-prefill')) {
    rec.skip({
      stage: 'text-prefill',
      tensor: `chunk${c}.prefill_kv`,
      reason: 'not in the golden; upstream goldens do not record the KV after the text prefill',
    })
  }

  const inputs = asFloats(stepInput)
  let eosStep: number | null = null
  for (let k = 0; k < steps; k += 1) {
    throwIfAborted(params.signal)
    const out = await flowLmStep({...base, latent: row(inputs, stepInput.shape, k), withLayers: layerOut !== undefined})
    const location = {chunk: c, step: k}
    if (layerOut !== undefined && out.layerOut !== undefined) {
      for (let l = 0; l < dims.layers; l += 1) {
        const golden = row(layerOut.data, layerOut.shape, k).subarray(l * dims.dModel, (l + 1) * dims.dModel)
        rec.compare({
          stage: 'flowlm-layers',
          check: 'layer_out',
          tensor: `chunk${c}.layer_out`,
          location: {...location, layer: l},
          actual: out.layerOut.subarray(l * dims.dModel, (l + 1) * dims.dModel),
          golden,
          shape: [golden.length],
        })
      }
    }
    if (hidden !== undefined)
      rec.compare({
        stage: 'flowlm-layers',
        check: 'hidden',
        tensor: `chunk${c}.hidden`,
        location,
        actual: out.hidden,
        golden: row(hidden.data, hidden.shape, k),
        shape: hidden.shape.slice(1),
      })
    if (eosLogit !== undefined)
      rec.compare({
        stage: 'eos',
        check: 'eos_logit',
        tensor: `chunk${c}.eos_logit`,
        location,
        actual: [out.eosLogit],
        golden: [eosLogit.data[k] ?? Number.NaN],
        shape: [1],
      })
    if (eosStep === null && k >= model.facts.eosMinStep && out.eosLogit > gen.eosThreshold) eosStep = k
    if (noise !== undefined && latent !== undefined) {
      const stepNoise = row(noise, latent.shape, k)
      const expected = row(asFloats(latent), latent.shape, k)
      if (goldenHidden !== undefined) {
        const fromGolden = await sample(row(goldenHidden, [steps, dims.hiddenDim], k), stepNoise)
        rec.compare({
          stage: 'flow-head',
          check: 'flow_head',
          tensor: `chunk${c}.latent`,
          location,
          actual: fromGolden,
          golden: expected,
          shape: latent.shape.slice(1),
        })
      }
      if (rec.wants('latent')) {
        const mine = await sample(out.hidden, stepNoise)
        rec.compare({
          stage: 'latent',
          check: 'latent',
          tensor: `chunk${c}.latent`,
          location,
          actual: mine,
          golden: expected,
          shape: latent.shape.slice(1),
        })
      }
    }
  }
  const time = Math.min(eosStep ?? steps, chunk.eos_step ?? steps)
  rec.exact({
    stage: 'eos',
    check: 'eos_step',
    tensor: `chunks[${c}].eos_step`,
    location: eosStep === chunk.eos_step ? {chunk: c} : {chunk: c, step: time},
    time,
    actual: eosStep,
    golden: chunk.eos_step,
  })
}

/** The chunk's text embeddings: the golden's, else text_conditioner on the golden's tokens (teacher-forced either way). */
async function textEmbeddingsOf(params: TeacherSynthesisParams, c: number): Promise<GoldenTensor | undefined> {
  const {golden, model} = params
  if (golden.has(`chunk${c}.text_embeddings`)) return golden.tensor(`chunk${c}.text_embeddings`)
  if (!golden.has(`chunk${c}.tokens`)) return undefined
  const tokens = asInts(await golden.tensor(`chunk${c}.tokens`))
  const out = await runGraph('text_conditioner', model.sessions.text_conditioner, {tokens: i64(tokens, [1, tokens.length])})
  return {
    name: `chunk${c}.text_embeddings`,
    dtype: 'float32',
    shape: [tokens.length, model.dims.dModel],
    data: floats(out['text_embeddings']),
  }
}

/** The AR steps' inputs: the golden's `step_input`, else its latents shifted by one (the latent BOS, NaN, first). */
async function stepInputsOf(golden: GoldenCase, c: number, latentDim: number): Promise<GoldenTensor | undefined> {
  if (golden.has(`chunk${c}.step_input`)) return golden.tensor(`chunk${c}.step_input`)
  if (!golden.has(`chunk${c}.latent`)) return undefined
  const latent = await golden.tensor(`chunk${c}.latent`)
  const steps = latent.shape[0] ?? 0
  const data = new Float32Array(steps * latentDim)
  data.fill(Number.NaN, 0, latentDim)
  data.set(asFloats(latent).subarray(0, (steps - 1) * latentDim), latentDim)
  return {name: `chunk${c}.step_input`, dtype: 'float32', shape: [steps, latentDim], data}
}

async function checkMimi(params: TeacherSynthesisParams): Promise<void> {
  const {model, golden, recorder: rec} = params
  const {dims, sessions} = model
  const chunks = golden.manifest.chunks ?? []
  const stream = new MimiDecoderStream({
    latentToMimi: sessions.latent_to_mimi,
    decoder: sessions.mimi_decoder,
    states: model.mimiStates,
    mimiInputDim: dims.mimiInputDim,
    latentDim: dims.latentDim,
  })
  const audioParts: Float32Array[] = []
  let complete = true
  const fadeIn = fadeInCurve(dims.sampleRate, model.facts.fadeInMs)
  const v4Golden = isV4Golden(golden)
  for (const [c, chunk] of chunks.entries()) {
    // A 4.x golden records Mimi's input before the quantizer it moved into the decoder (the de-normalised latent),
    // not latent_to_mimi's output: the decoder is then fed the golden latents through this runtime's latent_to_mimi.
    const hasMimiInput = golden.has(`chunk${c}.mimi_input`) && !v4Golden
    if (v4Golden && golden.has(`chunk${c}.mimi_input`) && rec.wants('mimi'))
      rec.skip({
        stage: 'mimi',
        tensor: `chunk${c}.mimi_input`,
        reason: "a 4.x golden's Mimi input precedes the quantizer (decoded from the golden latents instead)",
      })
    const latent = golden.has(`chunk${c}.latent`) ? await golden.tensor(`chunk${c}.latent`) : undefined
    if (!hasMimiInput && latent === undefined) {
      for (const stage of ['mimi', 'audio'] as const)
        if (rec.wants(stage))
          rec.skip({
            stage,
            tensor: `chunk${c}.mimi_input`,
            reason: `not in the golden, nor chunk${c}.latent: Mimi cannot be teacher-forced`,
          })
      complete = false
      continue
    }
    // Without the golden's Mimi input, the decoder is fed the golden's latents through this runtime's latent_to_mimi.
    const mimiInput = hasMimiInput ? await golden.tensor(`chunk${c}.mimi_input`) : undefined
    const frames = mimiInput?.shape[0] ?? Math.min(chunk.frames ?? Number.MAX_SAFE_INTEGER, latent?.shape[0] ?? 0)
    const inputs = mimiInput === undefined ? undefined : asFloats(mimiInput)
    const latents = latent === undefined ? undefined : asFloats(latent)
    if (rec.wants('mimi') && (latent === undefined || !golden.has(`chunk${c}.mimi_input`)))
      rec.skip({
        stage: 'mimi',
        tensor: `chunk${c}.mimi_input`,
        reason:
          latent === undefined
            ? `latent_to_mimi not checked: chunk${c}.latent is not in the golden`
            : 'not in the golden (decoded from the golden latents)',
      })
    const chunkAudio = golden.has(`chunk${c}.audio`) ? asFloats(await golden.tensor(`chunk${c}.audio`)) : undefined
    if (chunkAudio === undefined) rec.skip({stage: 'mimi', tensor: `chunk${c}.audio`, reason: 'not in the golden'})
    stream.reset()
    const mine = new Float32Array(frames * dims.frameSize)
    for (let f = 0; f < frames; f += 1) {
      throwIfAborted(params.signal)
      const location = {chunk: c, frame: f}
      if (latents !== undefined && inputs !== undefined && mimiInput !== undefined && rec.wants('mimi')) {
        const out = await runGraph('latent_to_mimi', sessions.latent_to_mimi, {
          latent: f32(row(latents, latent!.shape, f), [1, 1, dims.latentDim]),
        })
        rec.compare({
          stage: 'mimi',
          check: 'mimi_input',
          tensor: `chunk${c}.mimi_input`,
          location,
          actual: floats(out['mimi_input']),
          golden: row(inputs, mimiInput.shape, f),
          shape: mimiInput.shape.slice(1),
        })
      }
      const decoded =
        inputs !== undefined && mimiInput !== undefined
          ? await stream.decodeMimiInput(row(inputs, mimiInput.shape, f))
          : await stream.decodeLatent(row(latents!, latent!.shape, f))
      // 4.x: the chunk's first audio is faded in (upstream applies it after the decoder)
      const audio = f === 0 && fadeIn.length > 0 ? applyFadeIn(decoded.audio, fadeIn) : decoded.audio
      mine.set(audio, f * dims.frameSize)
      if (chunkAudio !== undefined) {
        const expected = chunkAudio.subarray(f * dims.frameSize, (f + 1) * dims.frameSize)
        rec.compare({
          stage: 'mimi',
          check: 'frame_audio',
          tensor: `chunk${c}.audio`,
          location,
          actual: audio,
          golden: expected,
          shape: [expected.length],
          actualShape: [audio.length],
        })
      }
    }
    audioParts.push(mine)
    if (chunkAudio === undefined) {
      complete = false
      continue
    }
    rec.compare({
      stage: 'audio',
      check: 'audio',
      tensor: `chunk${c}.audio`,
      location: {chunk: c},
      time: frames,
      actual: mine,
      golden: chunkAudio,
      shape: [chunkAudio.length],
      actualShape: [mine.length],
    })
  }
  if (!golden.has('audio')) {
    rec.skip({stage: 'audio', tensor: 'audio', reason: 'not in the golden'})
    return
  }
  if (!complete) return
  const whole = concat(audioParts)
  const expected = await golden.tensor('audio')
  rec.compare({
    stage: 'audio',
    check: 'audio',
    tensor: 'audio',
    location: {whole: true},
    actual: whole,
    golden: asFloats(expected),
    shape: expected.shape,
    actualShape: [whole.length],
  })
}

export function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CancelledError({code: 'CANCELLED', message: 'Parity was cancelled.'})
}
