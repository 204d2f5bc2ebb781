import * as ort from 'onnxruntime-node'
import type {EngineModel} from '../../src/engine/engine-model.js'
import {SeededNormalNoise} from '../../src/engine/noise/index.js'
import type {GoldenCase, GoldenTensor} from '../../src/golden/index.js'
import {filled} from '../../src/onnx/tensors.js'
import {caseParams} from '../../src/parity/case-params.js'
import {engineRuntime, type ParityRuntime} from '../../src/parity/index.js'

/**
 * Faults injected into the runtime under test, so that tests can prove that parity catches them and names the
 * stage where they first show. Each is made from outside the library: a wrapped session of the loaded model, or
 * a view of the golden that the free-running run reads its parameters and noise tape from (the comparison still
 * reads the golden itself).
 */
export interface ParityFaults {
  /** Free-running: draw seeded noise instead of replaying the golden's noise tape. */
  readonly noiseNotReplayed?: boolean
  /** Free-running: generate this many frames more (or fewer) after EOS than the golden's `frames_after_eos`. */
  readonly framesAfterEosDelta?: number
  /** Teacher-forced: restart the Mimi decoder from its initial state before every frame. */
  readonly mimiStateNotCarried?: boolean
  /** Voice path: drop the first conditioning row (the voice BOS) after the Mimi encoder. */
  readonly dropVoiceBos?: boolean
}

/** This package's engine with `faults` injected (a ParityRuntime for runParity's `runtime`). */
export function faultyRuntime(faults: ParityFaults): ParityRuntime {
  return {
    teacherSynthesis: (p) =>
      engineRuntime.teacherSynthesis({...p, model: faults.mimiStateNotCarried === true ? withMimiStateReset(p.model) : p.model}),
    freeSynthesis: (p) => engineRuntime.freeSynthesis({...p, golden: freeRunView(p.golden, faults)}),
    teacherVoice: (p) => engineRuntime.teacherVoice({...p, model: faults.dropVoiceBos === true ? withoutVoiceBos(p.model) : p.model}),
    freeVoice: (p) => engineRuntime.freeVoice({...p, model: faults.dropVoiceBos === true ? withoutVoiceBos(p.model) : p.model}),
  }
}

/** `session` with its `run` replaced (everything else, input and output names included, is the session's own). */
function withRun(session: ort.InferenceSession, run: ort.InferenceSession['run']): ort.InferenceSession {
  const wrapped = Object.create(session) as ort.InferenceSession
  Object.defineProperty(wrapped, 'run', {value: run})
  return wrapped
}

/** The model whose mimi_decoder is fed its initial state on every call: the decoder state is not carried. */
function withMimiStateReset(model: EngineModel): EngineModel {
  const decoder = model.sessions.mimi_decoder
  const initial = Object.fromEntries(model.mimiStates.map((s) => [s.input, filled(s.dtype, s.shape, s.init === 'ones' ? 1 : 0)]))
  const run = ((feeds: ort.InferenceSession.FeedsType, ...rest: unknown[]) =>
    (decoder.run as (...args: unknown[]) => Promise<ort.InferenceSession.ReturnType>)(
      {...feeds, ...initial},
      ...rest,
    )) as ort.InferenceSession['run']
  return {...model, sessions: {...model.sessions, mimi_decoder: withRun(decoder, run)}}
}

/** The model whose mimi_encoder's `conditioning` loses its first row (the voice BOS). */
function withoutVoiceBos(model: EngineModel): EngineModel {
  const {dModel} = model.dims
  return {
    ...model,
    async encoder() {
      const encoder = await model.encoder()
      const run = (async (...args: unknown[]) => {
        const out = await (encoder.run as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>)(...args)
        const conditioning = out['conditioning']!
        const [batch = 1, rows = 0] = conditioning.dims
        const dropped = new ort.Tensor('float32', (conditioning.data as Float32Array).slice(dModel), [batch, rows - 1, dModel])
        return {...out, conditioning: dropped}
      }) as ort.InferenceSession['run']
      return withRun(encoder, run)
    },
  }
}

/** What the free-running run reads of the golden, with the free-running faults applied. */
function freeRunView(golden: GoldenCase, faults: ParityFaults): GoldenCase {
  const delta = faults.framesAfterEosDelta
  const noise = faults.noiseNotReplayed === true
  if (delta === undefined && !noise) return golden
  const chunks = golden.manifest.chunks ?? []
  const manifest =
    delta === undefined
      ? golden.manifest
      : {...golden.manifest, case: {...(golden.manifest.case ?? {text: ''}), frames_after_eos: uniformFramesAfterEos(golden) + delta}}
  // noise not replayed: the tape the run replays holds the case seed's own draws instead of upstream's
  let seeded: Map<string, GoldenTensor> | undefined
  const seededTape = async (): Promise<Map<string, GoldenTensor>> => {
    if (seeded !== undefined) return seeded
    const gen = caseParams(golden.manifest)
    const draws = new SeededNormalNoise({
      seed: Number(golden.manifest.case?.seed ?? 0),
      temperature: gen.temperature,
      clamp: gen.noiseClamp,
    })
    seeded = new Map()
    for (const [index] of chunks.entries()) {
      for (const name of [`chunk${index}.prefill_noise`, `chunk${index}.noise`]) {
        const recorded = await golden.tensor(name)
        const width = recorded.shape[recorded.shape.length - 1] ?? 0
        const rows = recorded.shape.length === 1 ? 1 : (recorded.shape[0] ?? 0)
        const data = new Float32Array(rows * width)
        for (let r = 0; r < rows; r += 1) data.set(draws.next(width), r * width)
        seeded.set(name, {...recorded, data})
      }
    }
    return seeded
  }
  return {
    dir: golden.dir,
    manifest,
    names: golden.names,
    has: (name) => golden.has(name),
    requireTensors: (names) => golden.requireTensors(names),
    unknownTensors: (known) => golden.unknownTensors(known),
    async tensor(name) {
      if (noise && /^chunk\d+\.(prefill_noise|noise)$/.test(name)) {
        const tensor = (await seededTape()).get(name)
        if (tensor !== undefined) return tensor
      }
      return golden.tensor(name)
    },
  }
}

/** The golden's frames_after_eos, which must be one value for all its chunks. */
function uniformFramesAfterEos(golden: GoldenCase): number {
  const values = new Set((golden.manifest.chunks ?? []).map((c) => c.frames_after_eos))
  const [value] = values
  if (values.size !== 1 || value === undefined)
    throw new Error(`${golden.dir}: the frames_after_eos fault needs a case whose chunks share one frames_after_eos`)
  return value
}
