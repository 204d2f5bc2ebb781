import {existsSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {knobFlag} from '../src/cli/number-flags.js'
import {UsageError} from '../src/errors/index.js'
import {PARITY_COMPONENTS} from '../src/parity/parity-stages.js'
import type {ParityComponent, ParityModeOption, ParityReport} from '../src/parity/index.js'
import {writeFileAtomic} from '../src/fs/write-file-atomic.js'

export default class Parity extends PocketTtsCommand {
  static override summary =
    'Compare this runtime with Python goldens stage by stage (text, voice, FlowLM layers, EOS, flow head, latent, Mimi, audio).'
  static override description = `Teacher-forced mode feeds every block of the engine the golden's own inputs (tokens, text embeddings, the previous latent and noise of each AR step, the Mimi input of each frame, the voice audio and conditioning), so each block is compared on its own. Free-running mode runs the engine alone with the golden's noise tape replayed and compares chunk texts, tokens, EOS step, step and frame counts exactly, then per-frame and whole audio. The report starts with the first divergence (stage, chunk, step or frame, layer), then one row per stage with its worst metric and where it occurred.

With --cross-release the goldens may come from another upstream release than the export (e.g. a 2.1.0 export against a 4.0.1 golden of the same weights): the report then names the first stage where the releases differ (release drift).

Exit codes: 0 all checks within tolerance, 1 a parity failure, 2 bad usage or missing input.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --model models/tiny-onnx --golden ../shared/oracle/tiny/golden',
    '<%= config.bin %> <%= command.id %> --model models/tiny-onnx --golden ../shared/oracle/tiny/golden/hello --mode both --verbose',
    '<%= config.bin %> <%= command.id %> --model models/tiny-onnx --golden golden --mode both --json --junit parity.xml',
    '<%= config.bin %> <%= command.id %> --model models/tiny-onnx --golden ../shared/oracle/tiny/golden --mode both --html parity.html',
    '<%= config.bin %> <%= command.id %> --model models/tiny-onnx --golden ../shared/oracle/tiny/golden --dump out/ts-dump',
    '<%= config.bin %> <%= command.id %> --golden out/ts-dump --against out/other-dump',
    '<%= config.bin %> <%= command.id %> --model models/tiny-2.1.0-onnx --golden out/golden-4.0.1 --mode both --cross-release',
  ]
  static override flags = {
    model: Flags.string({description: 'Exported model folder (pockettts model export) to check.'}),
    golden: Flags.string({description: 'Golden case folder(s), or folders of cases (pockettts-golden/1).', required: true, multiple: true}),
    against: Flags.string({
      description: 'Compare --golden with these dumps (paired by case name) instead of running the engine.',
      multiple: true,
    }),
    mode: Flags.string({
      description: 'teacher: each block fed golden inputs; free: the engine alone, noise replayed; both: teacher then free.',
      options: ['teacher', 'free', 'both'],
      default: 'teacher',
    }),
    component: Flags.string({description: 'Check only these parts (repeatable).', options: [...PARITY_COMPONENTS, 'all'], multiple: true}),
    tolerances: Flags.string({
      description: 'JSON or YAML file overriding tolerances: {"<check>": {"atol": …, "rtol": …, "minSnrDb": …, "minCosine": …}}.',
    }),
    dump: Flags.string({description: "Write this runtime's free-running tensors here, in the golden format (one folder per case)."}),
    junit: Flags.string({description: 'Write a JUnit XML report to this file.'}),
    html: Flags.string({
      description:
        'Write a self-contained HTML report to this file: per stage, each check against its tolerance by step ' +
        'or frame (log scale), the first divergence marked, expected and actual audio with players.',
    }),
    'cross-release': Flags.boolean({
      description:
        "Allow goldens recorded by another upstream release than the model's export (refused otherwise): a " +
        "release-drift report naming the first stage where the two releases' numbers differ.",
      default: false,
    }),
    threads: knobFlag('threads', {
      description: 'onnxruntime intra-op threads (default 1: a fixed reduction order, and small graphs run fastest on one thread).',
    }),
  }

  async run(): Promise<ParityReport> {
    const {flags} = await this.parse(Parity)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{ProgressReporter}, {loadTolerances, parityExitCode, ParityTrace, renderJunit, renderParityReport, runParity, writeParityHtml}] =
      await Promise.all([import('../src/cli/progress-reporter.js'), import('../src/parity/index.js')])
    const {config} = await this.loadConfig({threads: flags.threads, config: flags.config})
    const junit = outputPath(flags.junit, '--junit')
    const html = outputPath(flags.html, '--html')
    const trace = html === undefined ? undefined : new ParityTrace()
    const components = flags.component === undefined || flags.component.includes('all') ? undefined : (flags.component as ParityComponent[])
    const tolerances = await loadTolerances(flags.tolerances === undefined ? {} : {file: flags.tolerances})
    const progress = new ProgressReporter({quiet: this.jsonEnabled() && !this.verbose})
    let report: ParityReport
    try {
      report = await runParity({
        goldens: flags.golden,
        ...(flags.model === undefined ? {} : {model: flags.model}),
        ...(flags.against === undefined ? {} : {against: flags.against}),
        mode: flags.mode as ParityModeOption,
        ...(components === undefined ? {} : {components}),
        tolerances,
        ...(flags.dump === undefined ? {} : {dump: flags.dump}),
        crossRelease: flags['cross-release'],
        threads: config.threads ?? 1,
        details: this.verbose,
        signal: this.signal,
        onProgress: (update) => progress.update(update),
        ...(trace === undefined ? {} : {trace}),
      })
    } finally {
      progress.stop()
    }
    if (junit !== undefined) await writeFileAtomic({path: junit, data: new TextEncoder().encode(renderJunit({report}))})
    if (html !== undefined && trace !== undefined) await writeParityHtml({path: html, report, trace})
    this.log(renderParityReport({report, verbose: this.verbose}))
    process.exitCode = parityExitCode(report)
    return report
  }
}

/** An output file's absolute path; its folder must exist (a typo is refused before parity runs). */
function outputPath(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined
  const absolute = resolve(path)
  if (!existsSync(dirname(absolute))) {
    throw new UsageError({
      code: 'OUTPUT_DIR_MISSING',
      message: `The folder of ${absolute} does not exist.`,
      hint: `Create the folder first or pick another ${flag} path.`,
    })
  }
  return absolute
}
