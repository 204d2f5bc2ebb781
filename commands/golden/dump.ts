import {Flags} from '@oclif/core'
import {PocketTtsCommand} from '../../src/cli/base-command.js'
import {pythonJobFlags, pythonJobOptions} from '../../src/cli/python-job-flags.js'
import {knobFlag, requiredKnobFlag} from '../../src/cli/number-flags.js'
import {renderTable} from '../../src/report/render-table.js'
import type {DumpGoldenResult} from '../../src/golden/index.js'
import {upstreamFlag} from '../../src/cli/upstream-flag.js'

export default class GoldenDump extends PocketTtsCommand {
  static override summary = 'Record a synthesis golden from upstream pocket_tts (Python) on an upstream-format model folder.'
  static override description = `Loads the model folder with upstream's strict loader, makes the voice state, seeds torch and runs upstream's unmodified generate_audio once, recording through hooks: tokens, text embeddings, every FlowLM layer output, hidden state, EOS logit, noise (the noise tape), latent, Mimi input and audio of each chunk. Writes the pockettts-golden/1 format (manifest.json + .npy files).

--noise-tape replays the noise recorded in another golden instead of the seed's draws (clamped noise differs between torch releases); only the drawn values are replaced, the maths stays upstream's.

--upstream picks the pinned upstream release (contracts/upstreams.json) and so its venv; with --noise-tape and no --upstream, the release that recorded the tape. The manifest records it (source.upstream). On 4.x, unset --temperature and --eos-threshold are the config's defaults, and Mimi decodes one frame per call (upstream's max_decoder_frames_per_call = 1).`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --from fixtures/tiny --text "Hello world." --seed 42 --out out/hello',
    '<%= config.bin %> <%= command.id %> --from fixtures/tiny --text "Four decode steps." --seed 11 ' + '--temperature 0.5 --lsd-decode-steps 4 --noise-clamp 1.5 --out out/lsd4',
    '<%= config.bin %> <%= command.id %> --upstream 4.0.1 --from models/tiny-4-drift --text "Hello world." --seed 42 --out out/hello4',
    '<%= config.bin %> <%= command.id %> --upstream 2.1.0 --from ../shared/oracle/tiny --text "Four ' + 'decode steps with clamped noise." --seed 11 --temperature 0.5 --lsd-decode-steps 4 --noise-clamp 1.5 ' + '--noise-tape ../shared/oracle/tiny/golden/lsd4 --out out/lsd4-replayed',
  ]
  static override flags = {
    from: Flags.string({description: 'Upstream-format model folder (config.yaml, weights, tokenizer).', required: true}),
    text: Flags.string({description: 'Text to speak.', required: true}),
    voice: Flags.string({description: 'Voice state (.safetensors) or prompt (.wav) [default: FROM/voice.safetensors].'}),
    seed: requiredKnobFlag('seed', {description: 'torch.manual_seed before generation.'}),
    temperature: knobFlag('temperature', {description: "Sampling temperature [default: 0.7 on 2.1.0, the config's default_temperature on 4.x]."}),
    'sampler-decode-steps': knobFlag('lsdDecodeSteps', {
      description: 'Decode steps of the sampler head (upstream sampler_decode_steps; lsd_decode_steps in 2.1.0) [default: 1].',
      aliases: ['lsd-decode-steps'],
    }),
    'noise-clamp': knobFlag('noiseClamp', {description: 'Clamp of the noise (truncated normal) [default: none].'}),
    'eos-threshold': knobFlag('eosThreshold', {
      description: "EOS fires when the raw EOS logit exceeds this [default: -4 on 2.1.0, the config's default_eos_threshold on 4.x].",
    }),
    'frames-after-eos': knobFlag('framesAfterEos', {description: 'Frames generated after EOS [default: upstream guess per chunk].'}),
    'max-tokens': knobFlag('maxTokens', {description: 'Tokens per text chunk [default: 50].'}),
    'noise-tape': Flags.string({description: 'Golden folder whose recorded noise replaces the random draws.'}),
    out: Flags.string({description: 'Golden folder to write.', required: true}),
    upstream: upstreamFlag('golden dump', {defaultText: "the --noise-tape golden's release, else the one the model folder records (fixture.json), else the " + "newest pinned release"}),
    ...pythonJobFlags,
  }

  async run(): Promise<DumpGoldenResult> {
    const {flags} = await this.parse(GoldenDump)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{runWithProgress}, {dumpGolden}] = await Promise.all([
      import('../../src/cli/run-with-progress.js'),
      import('../../src/golden/index.js'),
    ])
    const resolved = await this.loadConfig({python: flags.python, config: flags.config})
    const result = await runWithProgress({verbose: this.verbose}, (hooks) =>
      dumpGolden({
        modelDir: flags.from,
        text: flags.text,
        voice: flags.voice,
        seed: flags.seed,
        temperature: flags.temperature,
        lsdDecodeSteps: flags['sampler-decode-steps'],
        noiseClamp: flags['noise-clamp'],
        eosThreshold: flags['eos-threshold'],
        framesAfterEos: flags['frames-after-eos'],
        maxTokens: flags['max-tokens'],
        noiseTape: flags['noise-tape'],
        upstream: flags.upstream,
        out: flags.out,
        force: flags.force,
        ...pythonJobOptions({resolved, signal: this.signal}),
        ...hooks,
      }),
    )
    this.log(
      renderTable(
        ['chunk', 'tokens', 'EOS step', 'steps', 'frames', 'text'],
        result.chunks.map((c, i) => [String(i), String(c.nTokens), c.eosStep === null ? 'none' : String(c.eosStep), String(c.steps), String(c.frames), c.text]),
      ),
    )
    this.log(`\nWrote ${result.out} (upstream pocket-tts ${result.upstream}): ${result.tensors} tensors, ${result.seconds.toFixed(2)} s of audio.`)
    return result
  }
}
