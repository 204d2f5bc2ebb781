import {existsSync, statSync} from 'node:fs'
import {checkPromptFile, type PromptAudioWarning} from '../audio/index.js'
import {embeddedModelDir} from '../config/project-paths.js'
import {loadEngineModel} from '../engine/engine-model.js'
import {exportVoiceNative} from '../engine/export-voice-native.js'
import {basename, extname, resolve} from 'node:path'
import {UsageError} from '../errors/index.js'
import {runToolingJob, toolingOptions, type ToolingJobOptions} from '../python/index.js'
import {assertInputFile, assertUpstreamModelFolder, recordedUpstream, selectUpstream, type UpstreamRelease} from '../upstream/index.js'

/** How the voice state is computed: `python` runs upstream's own `pocket-tts export-voice`. */
export type ExportVoiceEngine = 'python' | 'native'

export interface ExportVoiceParams extends Omit<ToolingJobOptions, 'upstream'> {
  /** Engine `python`: the upstream release to run. @default the one the model folder records (fixture.json), else the newest */
  readonly upstream?: string
  /** Voice prompt audio (.wav; the first 30 s are used). */
  readonly prompt: string
  readonly engine: ExportVoiceEngine
  /** Upstream-format model folder (engine `python`). */
  readonly modelDir?: string
  /** Exported model folder (engine `native`). @default the embedded fixture model */
  readonly onnxModelDir?: string
  /** Voice state to write (.safetensors). @default PROMPT's name with .safetensors, in the working directory */
  readonly out?: string
  /** Replace `out` when it exists. @default false */
  readonly force?: boolean
}

export interface ExportVoiceResult {
  readonly out: string
  readonly prompt: string
  readonly engine: ExportVoiceEngine
  /** Positions of the voice state (prompt frames, + 1 voice BOS for current-generation models). */
  readonly positions: number
  readonly bytes: number
  readonly python?: string
  /** Engine `python`: the upstream release that wrote the file. */
  readonly upstream?: UpstreamRelease
  /** The prompt is silent or far too short to carry a voice (`PROMPT_SILENT`, `PROMPT_TOO_SHORT`); the file is written. */
  readonly warnings: readonly PromptAudioWarning[]
}

/** Default output path: the prompt's file name with `.safetensors`, in the working directory. */
export function defaultVoiceOut(prompt: string): string {
  return resolve(`${basename(prompt, extname(prompt))}.safetensors`)
}

/**
 * Turns a voice prompt into a voice-state file. With engine `python` this is upstream's own
 * `pocket-tts export-voice` (so the file is upstream's); with `native` the exported graphs do the same
 * (mimi_encoder, then the flow_lm_main prefill) without Python.
 */
export async function exportVoice(params: ExportVoiceParams): Promise<ExportVoiceResult> {
  if (params.engine === 'native') return exportVoiceWithEngine(params)
  if (params.modelDir === undefined) {
    throw new UsageError({
      code: 'MODEL_REQUIRED',
      message: 'Exporting with upstream Python needs the model the voice is for.',
      hint: 'Pass --from MODEL_DIR, an upstream-format model folder (config.yaml, weights, tokenizer).',
    })
  }
  const prompt = assertInputFile({
    path: params.prompt,
    code: 'PROMPT_NOT_FOUND',
    what: 'voice prompt',
    hint: 'Pass an existing audio file (a .wav).',
  })
  const upstream = selectUpstream('export-voice', params.upstream ?? recordedUpstream(params.modelDir))
  const modelDir = assertUpstreamModelFolder({dir: params.modelDir})
  const out = resolve(params.out ?? defaultVoiceOut(prompt))
  refuseExistingOutput(out, params.force === true)
  // The same prompt checks as the native export (non-finite samples, sample rate), before Python starts.
  const report = await checkPromptFile({path: prompt})
  const args = ['--model', modelDir, '--prompt', prompt, '--out', out]
  if (params.force === true) args.push('--force')
  const {data, python} = await runToolingJob<{out: string; prompt: string; positions: number; bytes: number}>({
    module: 'pockettts_tools.export_voice',
    args,
    needs: 'voice',
    ...toolingOptions(params),
    upstream,
  })
  return {
    out: data.out,
    prompt: data.prompt,
    engine: 'python',
    positions: data.positions,
    bytes: data.bytes,
    python,
    upstream,
    warnings: report?.warnings ?? [],
  }
}

async function exportVoiceWithEngine(params: ExportVoiceParams): Promise<ExportVoiceResult> {
  const prompt = assertInputFile({
    path: params.prompt,
    code: 'PROMPT_NOT_FOUND',
    what: 'voice prompt',
    hint: 'Pass an existing audio file (a .wav).',
  })
  const out = resolve(params.out ?? defaultVoiceOut(prompt))
  refuseExistingOutput(out, params.force === true)
  const model = await loadEngineModel({dir: params.onnxModelDir ?? embeddedModelDir()})
  try {
    const result = await exportVoiceNative({model, prompt, out})
    return {out, prompt, engine: 'native', positions: result.positions, bytes: statSync(out).size, warnings: result.warnings}
  } finally {
    await model.release()
  }
}

/** OUTPUT_EXISTS unless the file is absent or `--force` replaces it. */
function refuseExistingOutput(out: string, force: boolean): void {
  if (existsSync(out) && !force) {
    throw new UsageError({
      code: 'OUTPUT_EXISTS',
      message: `${out} already exists.`,
      hint: 'Pass --force to replace it, or choose another path with --out.',
      details: {out},
    })
  }
}
