import {SoundTouch} from 'soundtouchjs'

/** OpenAI's `speed` range. */
export const MIN_SPEED = 0.25
export const MAX_SPEED = 4

export interface TimeStretch {
  /** Stretched samples ready for these input samples (the stretch lags its input by a few tens of ms). */
  push(samples: Float32Array): Float32Array
  /** The rest: the output ends with round(input length / speed) samples in all. */
  flush(): Float32Array
}

export interface TimeStretchParams {
  /** Playback speed: 2 halves the duration; the pitch is kept. */
  readonly speed: number
  readonly sampleRate: number
}

/**
 * A streaming, pitch-preserving time stretch (WSOLA, from soundtouchjs). SoundTouch's port works on stereo
 * frames, so mono goes in on both channels and the left one comes out.
 */
export function createTimeStretch(params: TimeStretchParams): TimeStretch {
  const {speed, sampleRate} = params
  if (!(speed >= MIN_SPEED && speed <= MAX_SPEED)) throw new RangeError(`speed must be from ${MIN_SPEED} to ${MAX_SPEED}, got ${speed}.`)
  const touch = new SoundTouch()
  touch.stretch.setParameters(sampleRate, 0, 0, 8)
  touch.tempo = speed
  let samplesIn = 0
  let samplesOut = 0

  const feed = (mono: Float32Array): void => {
    const stereo = new Float32Array(mono.length * 2)
    for (let i = 0; i < mono.length; i += 1) stereo[2 * i] = stereo[2 * i + 1] = mono[i]!
    touch.inputBuffer.putSamples(stereo, 0, mono.length)
    touch.process()
  }
  const take = (limit: number): Float32Array => {
    const frames = Math.max(0, Math.min(touch.outputBuffer.frameCount, limit - samplesOut))
    const stereo = new Float32Array(frames * 2)
    touch.outputBuffer.receiveSamples(stereo, frames)
    const mono = new Float32Array(frames)
    for (let i = 0; i < frames; i += 1) mono[i] = stereo[2 * i]!
    samplesOut += frames
    return mono
  }

  return {
    push(samples) {
      samplesIn += samples.length
      feed(samples)
      return take(Math.round(samplesIn / speed))
    },
    flush() {
      const target = Math.round(samplesIn / speed)
      const parts: Float32Array[] = []
      const silence = new Float32Array(Math.ceil(sampleRate * 0.1))
      // Silence pushes the tail through the overlap windows; at most a few seconds of it are ever needed.
      for (let round = 0; samplesOut + touch.outputBuffer.frameCount < target && round < 100; round += 1) feed(silence)
      parts.push(take(target))
      const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0))
      let offset = 0
      for (const part of parts) {
        out.set(part, offset)
        offset += part.length
      }
      return out
    },
  }
}
