import {linspaceF32} from './linspace-f32.js'

/** Upstream 4.x's constants for voice prompts (`end_on_pause` defaults). */
const PAUSE_SECONDS = 0.08
const FADE_SECONDS = 0.02
const FRAME_SECONDS = 0.02
const FLOOR_DB = 35

/**
 * Upstream 4.x's voice-prompt trim (pocket_tts.data.audio_utils `end_on_pause`), re-implemented: the prompt is
 * cut after its last 20 ms frame that is less than 35 dB below the loudest frame (RMS over the whole frames),
 * its last 20 ms are faded out linearly, and 80 ms of silence are appended, so the prompt ends on the pause
 * the model saw in training. A prompt shorter than one frame is returned as it is. Mono samples; float32
 * arithmetic where the result depends on it (the frame levels only choose the cut).
 */
export function endOnPause(audio: Float32Array, sampleRate: number): Float32Array {
  const frame = Math.max(1, Math.trunc(FRAME_SECONDS * sampleRate))
  const frames = Math.floor(audio.length / frame)
  if (frames === 0) return audio
  const db = new Float64Array(frames)
  for (let f = 0; f < frames; f += 1) {
    let sum = 0
    for (let i = f * frame; i < (f + 1) * frame; i += 1) sum += Math.fround((audio[i] ?? 0) * (audio[i] ?? 0))
    const rms = Math.fround(Math.sqrt(Math.fround(sum / frame)))
    db[f] = Math.fround(20 * Math.fround(Math.log10(Math.fround(rms + 1e-12))))
  }
  const floor = Math.fround(Math.max(...db) - FLOOR_DB)
  let last = 0
  for (let f = 0; f < frames; f += 1) if ((db[f] ?? 0) > floor) last = f
  const end = (last + 1) * frame
  const fade = Math.min(Math.trunc(FADE_SECONDS * sampleRate), end)
  const out = new Float32Array(end + Math.trunc(PAUSE_SECONDS * sampleRate))
  out.set(audio.subarray(0, end))
  const curve = linspaceF32(1, 0, fade)
  for (let i = 0; i < fade; i += 1) out[end - fade + i] = Math.fround((out[end - fade + i] ?? 0) * (curve[i] ?? 0))
  return out
}
