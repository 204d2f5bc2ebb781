import {randomInt} from 'node:crypto'
import {existsSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {AUDIO_FORMATS, UPSTREAM_TRAILING_SILENCE_SECONDS, type AudioFormat} from '../src/audio/audio-format.js'
import type {PromptAudioWarning} from '../src/audio/check-prompt-audio.js'
import {openWavWriter} from '../src/audio/open-wav-writer.js'
import {ENCODED_SPEECH_FORMATS, speechFormatUnavailable, type EncodedSpeechFormat} from '../src/audio/speech-formats.js'
import {openEncodedWriter} from '../src/audio/open-encoded-writer.js'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {knobFlag, knobFlagWithDefault} from '../src/cli/number-flags.js'
import {readTextInput} from '../src/cli/read-text-input.js'
import {embeddedModelDir} from '../src/config/index.js'
import type {GenerationParams} from '../src/engine/generation-params.js'
import type {SynthesisReport} from '../src/engine/synthesize.js'
import {PrerequisiteError, UsageError} from '../src/errors/index.js'

/** `pockettts synth --json` output. */
export interface SynthResult extends Omit<SynthesisReport, 'output'> {
  readonly out: string
  readonly format: AudioFormat | EncodedSpeechFormat
  readonly model: string
  readonly embeddedModel: boolean
  readonly voice: string
  readonly seed: number
  readonly params: GenerationParams
  readonly fileSeconds: number
  /** A WAV prompt given as --voice is silent or far too short to carry a voice. */
  readonly warnings: readonly PromptAudioWarning[]
}

export default class Synth extends PocketTtsCommand {
  static override summary = 'Synthesise speech from text on onnxruntime-node (no Python), streaming frames to a WAV file or stdout.'
  static override description =
    "The generation loop is upstream's: per text chunk a copy of the voice state, text prefill, " +
    'autoregressive latents with LSD decoding until EOS (+ frames after EOS) or max_gen_len, Mimi decoded ' +
    'one frame at a time. Without --model the embedded fixture model (tiny random weights: it babbles) is ' +
    "used. Noise is seeded (--seed); it is statistically upstream's but not torch's draws."
  static override examples = [
    '<%= config.bin %> <%= command.id %> "Hello world." --out hello.wav',
    'echo "Hello from stdin." | <%= config.bin %> <%= command.id %> --text - --out - > hello.wav',
    '<%= config.bin %> <%= command.id %> --file story.txt --model models/english-onnx --voice alba --seed 42 --json',
  ]
  static override args = {text: Args.string({description: 'Text to speak (or use --text / --file).', ignoreStdin: true})}
  static override flags = {
    text: Flags.string({description: 'Text to speak; - reads standard input.'}),
    file: Flags.string({description: 'UTF-8 text file to speak.'}),
    model: Flags.string({description: 'Exported model folder (pockettts model export). Default: the embedded fixture model.'}),
    voice: Flags.string({
      description:
        'Voice name of the model folder, a voice .safetensors file, or a .wav prompt. Default: alba, else the first voice of the model.',
    }),
    out: Flags.string({char: 'o', description: 'Output file, or - for stdout.', default: 'tts_output.wav'}),
    format: Flags.string({
      description: 'Output encoding: WAV/PCM, or mp3, opus (Ogg), aac (ADTS), flac (as serve answers them).',
      options: [...AUDIO_FORMATS, ...ENCODED_SPEECH_FORMATS],
      default: 'wav16',
    }),
    temperature: knobFlag('temperature', {
      description: 'Noise temperature (default from the model: 0.7 for 2.1.0, the config default_temperature for 4.x).',
    }),
    'lsd-decode-steps': knobFlag('lsdDecodeSteps', {description: 'Flow-head steps per latent (upstream default 1).'}),
    'noise-clamp': knobFlag('noiseClamp', {description: 'Clamp the noise to ±this (truncated normal); default none.'}),
    'eos-threshold': knobFlag('eosThreshold', {
      description: 'EOS fires above this raw logit (default from the model: -4 for 2.1.0, the config default_eos_threshold for 4.x).',
    }),
    'frames-after-eos': knobFlag('framesAfterEos', {
      description: 'Frames after EOS (default: 5 for chunks of <= 4 words, else 3, or the model recommendation).',
    }),
    'max-tokens': knobFlag('maxTokens', {description: 'Tokens per text chunk (upstream default 50).'}),
    seed: knobFlag('seed', {description: 'Noise seed (default: random, reported).'}),
    'max-text-chars': knobFlagWithDefault('maxTextChars', {description: 'Refuse longer texts.', default: 20_000}),
    'trailing-silence': knobFlagWithDefault('trailingSilence', {
      description: `Seconds of silence appended (upstream CLI: ${UPSTREAM_TRAILING_SILENCE_SECONDS}).`,
      default: UPSTREAM_TRAILING_SILENCE_SECONDS,
    }),
    threads: knobFlag('threads', {
      description:
        'onnxruntime intra-op threads of the FlowLM sessions (default: the physical cores; 1 for a FlowLM step small enough for the caches, beside the Mimi worker).',
    }),
  }

  async run(): Promise<SynthResult> {
    const {args, flags} = await this.parse(Synth)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{loadEngineModel}, {modelGenerationDefaults}, {SeededNormalNoise}, {resolveVoice}, {synthesize}] = await Promise.all([
      import('../src/engine/engine-model.js'),
      import('../src/engine/generation-params.js'),
      import('../src/engine/noise/index.js'),
      import('../src/engine/resolve-voice.js'),
      import('../src/engine/synthesize.js'),
    ])
    const {config} = await this.loadConfig({model: flags.model, threads: flags.threads, config: flags.config})
    const toStdout = flags.out === '-'
    if (toStdout && this.jsonEnabled()) {
      throw new UsageError({
        code: 'USAGE',
        message: '--json and --out - both want standard output.',
        hint: 'Write the audio to a file with --out FILE, or drop --json.',
      })
    }
    const out = toStdout ? '-' : resolve(flags.out)
    if (!toStdout && !existsSync(dirname(out))) {
      throw new UsageError({
        code: 'OUTPUT_DIR_MISSING',
        message: `The folder of ${out} does not exist.`,
        hint: 'Create the folder first or pick another --out path.',
      })
    }
    const encoded = (ENCODED_SPEECH_FORMATS as readonly string[]).includes(flags.format) ? (flags.format as EncodedSpeechFormat) : undefined
    const unavailable = encoded === undefined ? undefined : speechFormatUnavailable(encoded)
    if (unavailable !== undefined)
      throw new PrerequisiteError({code: 'FORMAT_UNAVAILABLE', message: unavailable, hint: 'Or choose another --format.'})
    const text = await readTextInput({
      ...(args.text === undefined ? {} : {arg: args.text}),
      ...(flags.text === undefined ? {} : {text: flags.text}),
      ...(flags.file === undefined ? {} : {file: flags.file}),
      maxChars: flags['max-text-chars'],
    })
    const trailing = flags['trailing-silence']
    const embedded = config.model === undefined
    const modelDir = config.model ?? embeddedModelDir()
    if (embedded)
      this.logToStderr(`Using the embedded fixture model (${modelDir}): random weights, so it babbles. Pass --model for a real export.`)
    const model = await loadEngineModel({
      dir: modelDir,
      mimiWorker: true,
      ...(config.threads === undefined ? {} : {threads: config.threads}),
    })
    try {
      // the export's own defaults (4.x configs: default_temperature, default_eos_threshold), then the flags
      const defaults = modelGenerationDefaults(model.facts)
      const params: GenerationParams = {
        temperature: flags.temperature ?? defaults.temperature,
        lsdDecodeSteps: flags['lsd-decode-steps'] ?? defaults.lsdDecodeSteps,
        noiseClamp: flags['noise-clamp'] ?? null,
        eosThreshold: flags['eos-threshold'] ?? defaults.eosThreshold,
        framesAfterEos: flags['frames-after-eos'] ?? null,
        maxTokens: flags['max-tokens'] ?? defaults.maxTokens,
      }
      const seed = flags.seed ?? randomInt(0, 2 ** 31)
      const noise = new SeededNormalNoise({seed, temperature: params.temperature, clamp: params.noiseClamp})
      const voice = await resolveVoice({model, ...(flags.voice === undefined ? {} : {voice: flags.voice}), noise})
      for (const warning of voice.warnings) this.warn(`${warning.code}: ${warning.message}`)
      const destination = toStdout ? process.stdout : out
      const writer =
        encoded === undefined
          ? await openWavWriter({
              destination,
              format: flags.format as AudioFormat,
              sampleRate: model.dims.sampleRate,
              trailingSilenceSeconds: trailing,
            })
          : await openEncodedWriter({destination, format: encoded, sampleRate: model.dims.sampleRate, trailingSilenceSeconds: trailing})
      const report = await synthesize({model, voice, text, params, noise, writer, signal: this.signal})
      const {output, ...rest} = report
      const result: SynthResult = {
        ...rest,
        out,
        format: encoded ?? (flags.format as AudioFormat),
        model: modelDir,
        embeddedModel: embedded,
        voice: voice.label,
        seed,
        params,
        fileSeconds: output.seconds,
        warnings: voice.warnings,
      }
      const log = toStdout ? (line: string) => this.logToStderr(line) : (line: string) => this.log(line)
      log(
        `${toStdout ? 'stdout' : out}: ${report.audioSeconds.toFixed(2)} s of audio, ${report.frames} frames in ${report.chunks} chunk(s); ` +
          `first audio after ${report.timeToFirstAudioMs?.toFixed(0) ?? '-'} ms, ${report.speed.toFixed(2)}x ` +
          `real time (RTF ${report.realTimeFactor.toFixed(3)}); voice ${voice.label}, seed ` +
          `${seed}.`,
      )
      return result
    } finally {
      await model.release()
    }
  }
}
