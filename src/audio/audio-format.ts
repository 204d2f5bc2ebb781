/** Output formats: 16-bit PCM WAV, 32-bit float WAV, or raw little-endian 16-bit PCM (no header). */
export const AUDIO_FORMATS = ['wav16', 'wavf32', 'pcm16'] as const
export type AudioFormat = (typeof AUDIO_FORMATS)[number]

/** Silence upstream's CLI and HTTP server append after the speech. */
export const UPSTREAM_TRAILING_SILENCE_SECONDS = 0.2

/** Frame count upstream's streaming writer puts in the header when the length is unknown (stdout, HTTP). */
export const STREAMING_PLACEHOLDER_FRAMES = 1_000_000_000

export function bytesPerSample(format: AudioFormat): number {
  return format === 'wavf32' ? 4 : 2
}
