import {resolve} from 'node:path'
import {runToolingJob, toolingOptions, type ToolingJobOptions} from '../python/index.js'
import {assertInputFile, assertUpstreamModelFolder, recordedUpstream, selectUpstream, type UpstreamRelease} from '../upstream/index.js'

export interface DumpVoiceGoldenParams extends Omit<ToolingJobOptions, 'upstream'> {
  /** The upstream release to record with. @default the one the model folder records (fixture.json), else the newest that golden dump-voice supports */
  readonly upstream?: string
  /** Upstream-format model folder (config.yaml + weights + tokenizer). */
  readonly modelDir: string
  /** Voice prompt audio (.wav). */
  readonly prompt: string
  /** Golden folder to write. */
  readonly out: string
  /** Cut the prompt to its first 30 s, as `export-voice` does. @default true */
  readonly truncate?: boolean
  /** Replace `out` when it exists and is not empty. @default false */
  readonly force?: boolean
}

export interface DumpVoiceGoldenResult {
  readonly out: string
  /** The upstream release that recorded it (also in the manifest, source.upstream). */
  readonly upstream: UpstreamRelease
  /** Latent frames the Mimi encoder produced. */
  readonly frames: number
  /** Positions of the conditioning (frames, + 1 voice BOS for current-generation models). */
  readonly positions: number
  /** The voice state that the prefill of this conditioning produced (upstream `export_model_state`). */
  readonly voiceState: string
  readonly python: string
}

/**
 * Records a voice golden (`pockettts-golden/1`, kind voice) by observing upstream's voice-prompt path: the Mimi
 * encoder's input and output and the FlowLM conditioning; the resulting voice state is written beside them.
 */
export async function dumpVoiceGolden(params: DumpVoiceGoldenParams): Promise<DumpVoiceGoldenResult> {
  const upstream = selectUpstream('golden dump-voice', params.upstream ?? recordedUpstream(params.modelDir))
  const modelDir = assertUpstreamModelFolder({dir: params.modelDir})
  const prompt = assertInputFile({path: params.prompt, code: 'PROMPT_NOT_FOUND', what: 'voice prompt', hint: 'Pass an existing audio file (a .wav) with --prompt.'})
  const args = ['--model', modelDir, '--prompt', prompt, '--out', resolve(params.out)]
  if (params.truncate === false) args.push('--no-truncate')
  if (params.force === true) args.push('--force')
  const {data, python} = await runToolingJob<Omit<DumpVoiceGoldenResult, 'python' | 'upstream'>>({
    module: 'pockettts_tools.dump_voice',
    args,
    needs: 'golden',
    ...toolingOptions(params),
    upstream,
  })
  return {...data, upstream, python}
}
