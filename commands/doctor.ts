import {Flags} from '@oclif/core'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {renderTable} from '../src/report/render-table.js'
import {doctorJobs} from '../src/doctor/doctor-check.js'
import type {DoctorReport} from '../src/doctor/index.js'

export default class Doctor extends PocketTtsCommand {
  static override summary = 'Check that this machine can run pockettts: Node, onnxruntime, Python tooling, disk, models.'
  static override description =
    'Prints one row per check (pass, warn or fail). Exits 1 when a check needed for the selected work ' +
    '(--for) fails; a Python interpreter named by --python or POCKETTTS_PYTHON that does not exist always ' +
    'fails.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --for export',
    'POCKETTTS_PYTHON=/usr/bin/python3 <%= config.bin %> <%= command.id %> --json',
  ]
  static override flags = {
    for: Flags.string({description: 'The work to check for; synth needs no Python.', options: [...doctorJobs], default: 'synth'}),
    python: Flags.string({description: 'Python interpreter to check (else POCKETTTS_PYTHON, .venv, python3).'}),
    'models-dir': Flags.string({description: 'Where models go.'}),
    token: Flags.string({description: 'Hub read token; when given, doctor checks that it reaches the gated weights.', env: 'HF_TOKEN'}),
    endpoint: Flags.string({description: 'Model hub base URL (else POCKETTTS_HUB_ENDPOINT, https://huggingface.co).'}),
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const {runDoctor} = await import('../src/doctor/index.js')
    const {config, origins} = await this.loadConfig({
      python: flags.python,
      modelsDir: flags['models-dir'],
      hubEndpoint: flags.endpoint,
      config: flags.config,
    })
    const report = await runDoctor({
      job: flags.for as DoctorReport['job'],
      ...(config.python === undefined ? {} : {python: config.python}),
      pythonOrigin: origins.python,
      modelsDir: config.modelsDir,
      hubEndpoint: config.hubEndpoint,
      ...(flags.token === undefined ? {} : {hubToken: flags.token}),
    })
    const icon = {pass: 'ok  ', warn: 'warn', fail: 'FAIL'} as const
    this.log(
      renderTable(
        ['', 'check', 'detail'],
        report.checks.map((c) => [icon[c.status], c.title, c.detail]),
      ),
    )
    const hints = report.checks.filter((c) => c.status !== 'pass' && c.hint !== undefined)
    if (hints.length > 0) {
      this.log('')
      for (const c of hints) this.log(`${c.status === 'fail' ? 'FAIL' : 'warn'} ${c.title.trim()}: ${c.hint}`)
    }
    this.log('')
    this.log(report.ok ? `Ready for ${report.job}.` : `Not ready for ${report.job}: fix the FAIL rows above.`)
    if (!report.ok) process.exitCode = 1
    return report
  }
}
