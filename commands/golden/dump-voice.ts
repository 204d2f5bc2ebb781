import {Flags} from '@oclif/core'
import {PocketTtsCommand} from '../../src/cli/base-command.js'
import {pythonJobFlags, pythonJobOptions} from '../../src/cli/python-job-flags.js'
import type {DumpVoiceGoldenResult} from '../../src/golden/index.js'
import {upstreamFlag} from '../../src/cli/upstream-flag.js'

export default class GoldenDumpVoice extends PocketTtsCommand {
  static override summary = 'Record a voice golden from upstream pocket_tts (Python): prompt -> Mimi encoder -> conditioning -> voice state.'
  static override description = `Observes upstream's get_state_for_audio_prompt (truncating to 30 s, as export-voice does) and writes ` + `the pockettts-golden/1 voice case: audio (the encoder input), mimi_latent, conditioning (speaker ` + `projection, with the voice BOS when the config says so), plus the resulting voice state as ` + `voice.safetensors (upstream export_model_state). --upstream picks the pinned release (4.x trims the ` + `prompt with end_on_pause before encoding, and its voice states have <module>/pad keys); the manifest ` + `records it (source.upstream).`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --from fixtures/tiny --prompt fixtures/tiny/voice_prompt.wav --out out/voice',
  ]
  static override flags = {
    from: Flags.string({description: 'Upstream-format model folder (config.yaml, weights, tokenizer).', required: true}),
    prompt: Flags.string({description: 'Voice prompt audio (.wav).', required: true}),
    out: Flags.string({description: 'Golden folder to write.', required: true}),
    truncate: Flags.boolean({description: 'Cut the prompt to its first 30 s (as export-voice does).', default: true, allowNo: true}),
    upstream: upstreamFlag('golden dump-voice', {defaultText: 'the release the model folder records (fixture.json), else the newest pinned release'}),
    ...pythonJobFlags,
  }

  async run(): Promise<DumpVoiceGoldenResult> {
    const {flags} = await this.parse(GoldenDumpVoice)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{runWithProgress}, {dumpVoiceGolden}] = await Promise.all([
      import('../../src/cli/run-with-progress.js'),
      import('../../src/golden/index.js'),
    ])
    const resolved = await this.loadConfig({python: flags.python, config: flags.config})
    const result = await runWithProgress({verbose: this.verbose}, (hooks) =>
      dumpVoiceGolden({
        modelDir: flags.from,
        prompt: flags.prompt,
        out: flags.out,
        truncate: flags.truncate,
        upstream: flags.upstream,
        force: flags.force,
        ...pythonJobOptions({resolved, signal: this.signal}),
        ...hooks,
      }),
    )
    this.log(`Wrote ${result.out}: ${result.frames} latent frames, conditioning of ${result.positions} positions, voice state ${result.voiceState}.`)
    return result
  }
}
