/** The part of soundtouchjs (a JavaScript port of SoundTouch's WSOLA time stretch) this project uses; it ships no types. */
declare module 'soundtouchjs' {
  export class FifoSampleBuffer {
    /** Stereo frames waiting. */
    readonly frameCount: number
    putSamples(samples: Float32Array, position: number, numFrames?: number): void
    receiveSamples(output: Float32Array, numFrames?: number): void
  }
  export class Stretch {
    setParameters(sampleRate: number, sequenceMs: number, seekWindowMs: number, overlapMs: number): void
  }
  export class SoundTouch {
    tempo: number
    readonly stretch: Stretch
    readonly inputBuffer: FifoSampleBuffer
    readonly outputBuffer: FifoSampleBuffer
    process(): void
  }
}
