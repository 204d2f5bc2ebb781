import {Args, Flags} from '@oclif/core'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {pythonJobOptions} from '../src/cli/python-job-flags.js'
import {UsageError} from '../src/errors/index.js'
import type {ExportVoiceResult} from '../src/voice-export/export-voice.js'
import {upstreamFlag} from '../src/cli/upstream-flag.js'

export default class ExportVoice extends PocketTtsCommand {
  static override summary = 'Turn a voice prompt (WAV) into a voice-state file (.safetensors).'
  static override description = `Natively (the default) the exported model's graphs do upstream's steps without Python: the first 30 s of the prompt, read and resampled to 24 kHz as upstream does, the Mimi encoder and speaker projection (mimi_encoder), then the FlowLM prefill (flow_lm_main); the file has upstream's layout and upstream loads it. With --engine python upstream's own \`pocket-tts export-voice\` runs instead on an upstream-format model folder (--from), for comparison; --python PATH picks its interpreter and --upstream its release (4.x trims the prompt with end_on_pause and writes <module>/pad keys).

The voice state belongs to the model it was made with; it cannot be used with another model.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> fixtures/tiny/voice_prompt.wav --model fixtures/tiny-onnx --out my-voice.safetensors',
    '<%= config.bin %> <%= command.id %> fixtures/tiny/voice_prompt.wav --engine python --from fixtures/tiny --out my-voice.safetensors',
    '<%= config.bin %> <%= command.id %> me.wav --engine python --from models/english --python /usr/bin/python3',
    '<%= config.bin %> <%= command.id %> models/tiny-4-drift/voice_prompt.wav --engine python --upstream ' +
      '4.0.1 --from models/tiny-4-drift --out drift-voice.safetensors',
  ]
  static override args = {
    prompt: Args.string({description: 'Voice prompt audio (.wav).', required: true}),
  }
  static override flags = {
    engine: Flags.string({
      description:
        "How the voice state is computed: native (the exported model's graphs, no Python) or python (upstream pocket-tts's own export-voice, on --from).",
      options: ['native', 'python'],
      default: 'native',
    }),
    model: Flags.string({description: 'Exported model folder for the native engine [default: the embedded fixture model].'}),
    from: Flags.string({description: 'Upstream-format model folder (config.yaml, weights, tokenizer); needed with --engine python.'}),
    out: Flags.string({description: 'Voice state to write [default: PROMPT name with .safetensors, here].'}),
    force: Flags.boolean({description: 'Replace --out when it exists.'}),
    upstream: upstreamFlag('export-voice', {
      what: 'With --engine python, the upstream pocket-tts release to run',
      defaultText: 'the release the --from folder records (fixture.json), else the newest pinned release',
    }),
    python: Flags.string({
      description: 'Python interpreter with upstream pocket-tts, for --engine python (else POCKETTTS_PYTHON, .venv, python3).',
      aliases: ['interpreter'],
      deprecateAliases: true,
    }),
  }

  async run(): Promise<ExportVoiceResult> {
    const {args, flags} = await this.parse(ExportVoice)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{runWithProgress}, {exportVoice}] = await Promise.all([
      import('../src/cli/run-with-progress.js'),
      import('../src/voice-export/export-voice.js'),
    ])
    const engine = flags.engine === 'python' ? 'python' : 'native'
    if (engine === 'python' && flags.model !== undefined) {
      throw new UsageError({
        code: 'USAGE',
        message: '--model is the exported folder of the native engine; --engine python reads the upstream-format folder --from.',
        hint: 'Drop --model, or drop --engine python.',
      })
    }
    if (engine !== 'python' && flags.upstream !== undefined) {
      throw new UsageError({
        code: 'USAGE',
        message: '--upstream picks the upstream release of --engine python; the native engine follows its exported model.',
        hint: 'Add --engine python, or drop --upstream.',
      })
    }
    const resolved = await this.loadConfig({python: flags.python, config: flags.config})
    const result = await runWithProgress({verbose: this.verbose}, (hooks) =>
      exportVoice({
        prompt: args.prompt,
        engine,
        modelDir: flags.from,
        onnxModelDir: flags.model,
        out: flags.out,
        force: flags.force,
        upstream: flags.upstream,
        ...pythonJobOptions({resolved, signal: this.signal}),
        ...hooks,
      }),
    )
    for (const warning of result.warnings) this.warn(`${warning.code}: ${warning.message}`)
    const how = result.engine === 'python' ? 'by upstream pocket-tts export-voice' : 'natively (mimi_encoder + flow_lm_main)'
    this.log(`Wrote ${result.out}: voice state of ${result.positions} positions (${(result.bytes / 1024).toFixed(0)} KiB), ${how}.`)
    return result
  }
}
