import {resolve} from 'node:path'
import {UsageError} from '../errors/index.js'
import {runToolingJob, toolingOptions, type ToolingJobOptions} from '../python/index.js'
import {assertInputFile, assertUpstreamModelFolder, recordedUpstream, selectUpstream, type UpstreamRelease} from '../upstream/index.js'
import {goldenFolderUpstream} from './golden-upstream.js'

export interface DumpGoldenParams extends Omit<ToolingJobOptions, 'upstream'> {
  /**
   * The upstream release to record with. @default the noise tape's release, else the one the model folder records
   * (fixture.json), else the newest that golden dump supports
   */
  readonly upstream?: string
  /** Upstream-format model folder (config.yaml + weights + tokenizer). */
  readonly modelDir: string
  readonly text: string
  /** Voice state (.safetensors, from export-voice) or prompt audio (.wav). @default MODEL_DIR/voice.safetensors */
  readonly voice?: string
  /** `torch.manual_seed` before generation. */
  readonly seed: number
  /** @default 0.7 (2.1.0); the config's default_temperature (4.x) */
  readonly temperature?: number
  /** Upstream sampler_decode_steps (lsd_decode_steps in 2.1.0). @default 1 */
  readonly lsdDecodeSteps?: number
  /** Clamp of the noise (upstream draws `trunc_normal_` then). @default none */
  readonly noiseClamp?: number
  /** Raw EOS logit above which EOS fires. @default -4 (2.1.0); the config's default_eos_threshold (4.x) */
  readonly eosThreshold?: number
  /** @default upstream's guess per chunk (5 for <= 4 words, else 3) */
  readonly framesAfterEos?: number
  /** Tokens per chunk. @default 50 */
  readonly maxTokens?: number
  /** A golden folder whose recorded noise replaces the draws (same shapes and order; the maths stays upstream's). */
  readonly noiseTape?: string
  /** Golden folder to write. */
  readonly out: string
  /** Replace `out` when it exists and is not empty. @default false */
  readonly force?: boolean
}

/** One text chunk of a golden, as upstream split and generated it. */
export interface GoldenDumpChunk {
  readonly text: string
  readonly nTokens: number
  readonly maxGenLen: number
  readonly framesAfterEos: number
  /** First AR step whose EOS logit exceeded the threshold; null when the chunk ran to maxGenLen. */
  readonly eosStep: number | null
  /** FlowLM calls after the text prefill. */
  readonly steps: number
  /** Latents decoded to audio. */
  readonly frames: number
}

export interface DumpGoldenResult {
  readonly out: string
  /** The upstream release that recorded it (also in the manifest, source.upstream). */
  readonly upstream: UpstreamRelease
  readonly chunks: readonly GoldenDumpChunk[]
  readonly samples: number
  readonly seconds: number
  readonly tensors: number
  readonly python: string
}

interface PythonChunk {
  text: string
  n_tokens: number
  max_gen_len: number
  frames_after_eos: number
  eos_step: number | null
  steps: number
  frames: number
}

/**
 * Records a synthesis golden (`pockettts-golden/1`: manifest.json + .npy tensors, noise tape included) by observing
 * upstream's unmodified `generate_audio` on an upstream-format model folder.
 */
export async function dumpGolden(params: DumpGoldenParams): Promise<DumpGoldenResult> {
  if (params.text.trim() === '') {
    throw new UsageError({code: 'EMPTY_TEXT', message: 'The text is empty.', hint: 'Pass some text to speak with --text.'})
  }
  const upstream = selectUpstream(
    'golden dump',
    params.upstream ?? (params.noiseTape === undefined ? undefined : goldenFolderUpstream(params.noiseTape)) ?? recordedUpstream(params.modelDir),
  )
  const modelDir = assertUpstreamModelFolder({dir: params.modelDir})
  const args = ['--model', modelDir, '--text', params.text, '--seed', String(params.seed), '--out', resolve(params.out)]
  if (params.voice !== undefined) {
    const voice = assertInputFile({
      path: params.voice,
      code: 'VOICE_NOT_FOUND',
      what: 'voice file',
      hint: 'Pass --voice with an existing voice-state .safetensors (from export-voice) or a prompt .wav.',
    })
    args.push('--voice', voice)
  }
  if (params.noiseTape !== undefined) args.push('--noise-tape', resolve(params.noiseTape))
  const numbers: Array<[string, number | undefined]> = [
    ['--temperature', params.temperature],
    ['--sampler-decode-steps', params.lsdDecodeSteps],
    ['--noise-clamp', params.noiseClamp],
    ['--eos-threshold', params.eosThreshold],
    ['--frames-after-eos', params.framesAfterEos],
    ['--max-tokens', params.maxTokens],
  ]
  for (const [flag, value] of numbers) if (value !== undefined) args.push(flag, String(value))
  if (params.force === true) args.push('--force')
  const {data, python} = await runToolingJob<Omit<DumpGoldenResult, 'python' | 'chunks' | 'upstream'> & {chunks: PythonChunk[]}>({
    module: 'pockettts_tools.dump_golden',
    args,
    needs: 'golden',
    ...toolingOptions(params),
    upstream,
  })
  const chunks = data.chunks.map((c) => ({
    text: c.text,
    nTokens: c.n_tokens,
    maxGenLen: c.max_gen_len,
    framesAfterEos: c.frames_after_eos,
    eosStep: c.eos_step,
    steps: c.steps,
    frames: c.frames,
  }))
  return {...data, upstream, chunks, python}
}
