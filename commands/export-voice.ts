import {Args, Flags} from '@oclif/core'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {runWithProgress} from '../src/cli/run-with-progress.js'
import {exportVoice, type ExportVoiceResult} from '../src/voice/index.js'

export default class ExportVoice extends PocketTtsCommand {
  static override summary = 'Turn a voice prompt (WAV) into a voice-state file (.safetensors).'
  static override description = `With --python this runs upstream's own \`pocket-tts export-voice\` (first 30 s of the prompt, Mimi encoder, FlowLM prefill) on an upstream-format model folder, so the file is exactly upstream's. The native engine (no Python, from an exported ONNX model) is not in this build yet.

The voice state belongs to the model it was made with; it cannot be used with another model.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> fixtures/tiny/voice_prompt.wav --python --from fixtures/tiny --out my-voice.safetensors',
    '<%= config.bin %> <%= command.id %> me.wav --python --from models/english --interpreter /usr/bin/python3',
  ]
  static override args = {
    prompt: Args.string({description: 'Voice prompt audio (.wav).', required: true}),
  }
  static override flags = {
    python: Flags.boolean({description: 'Use upstream pocket-tts (Python) to export; required in this build.'}),
    from: Flags.string({description: 'Upstream-format model folder (config.yaml, weights, tokenizer); needed with --python.'}),
    out: Flags.string({description: 'Voice state to write [default: PROMPT name with .safetensors, here].'}),
    force: Flags.boolean({description: 'Replace --out when it exists.'}),
    interpreter: Flags.string({description: 'Python interpreter with upstream pocket-tts (else POCKETTTS_PYTHON, .venv, python3).'}),
  }

  async run(): Promise<ExportVoiceResult> {
    const {args, flags} = await this.parse(ExportVoice)
    const {config, origins} = await this.loadConfig({python: flags.interpreter, config: flags.config})
    const result = await runWithProgress({verbose: this.verbose}, (hooks) =>
      exportVoice({
        prompt: args.prompt,
        engine: flags.python ? 'python' : 'native',
        modelDir: flags.from,
        out: flags.out,
        force: flags.force,
        python: config.python,
        pythonOrigin: flags.interpreter === undefined ? origins.python : '--interpreter',
        timeoutMs: config.pythonTimeout * 1000,
        signal: this.signal,
        ...hooks,
      }),
    )
    this.log(`Wrote ${result.out}: voice state of ${result.positions} positions (${(result.bytes / 1024).toFixed(0)} KiB), by upstream pocket-tts export-voice.`)
    return result
  }
}
