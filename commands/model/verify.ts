import {Args, Flags} from '@oclif/core'
import {PocketTtsCommand} from '../../src/cli/base-command.js'
import {renderTable} from '../../src/report/render-table.js'
import type {VerifyReport} from '../../src/model/verify-model.js'

export default class ModelVerify extends PocketTtsCommand {
  static override summary = 'Check an exported model folder: file hashes, graph contracts and numerics against its manifest.'
  static override description =
    'Re-hashes every file against manifest.json (and the download lock file with --lock), loads each ' +
    'graph with onnxruntime-node, compares its input/output names, dtypes and shapes with the manifest, ' +
    "replays its recorded calls from the export's golden (upstream's inputs and outputs) within the " +
    "recorded tolerance, then replays the golden's whole synthesis as `pockettts parity --mode both` does " +
    '(teacher-forced and free-running on the recorded noise), naming the first stage that diverged. One ' +
    'row per graph, the golden and each file; exits 1 when any row fails.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> models/tiny-onnx',
    '<%= config.bin %> <%= command.id %> models/english-onnx --lock models/pockettts.lock.json --json',
  ]
  static override args = {
    dir: Args.string({description: 'Exported model folder (with manifest.json).', required: true}),
  }
  static override flags = {
    lock: Flags.string({description: "Download lock file: the export's source checkpoint and tokenizer must match it."}),
  }

  async run(): Promise<VerifyReport> {
    const {args, flags} = await this.parse(ModelVerify)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{ProgressReporter}, {verifyModel}] = await Promise.all([
      import('../../src/cli/progress-reporter.js'),
      import('../../src/model/verify-model.js'),
    ])
    const {config} = await this.loadConfig({config: flags.config})
    const progress = new ProgressReporter()
    let report: VerifyReport
    try {
      report = await verifyModel({
        dir: args.dir,
        ...(flags.lock === undefined ? {} : {lockFile: flags.lock}),
        ...(config.threads === undefined ? {} : {threads: config.threads}),
        signal: this.signal,
        onProgress: (update) => progress.update(update),
      })
    } finally {
      progress.stop()
    }
    const mark = {pass: 'ok', fail: 'FAIL', skip: '-'} as const
    this.log(
      renderTable(
        ['', 'graph / golden / file', 'hash', 'contract', 'numerics', 'detail'],
        report.rows.map((r) => [r.ok ? 'ok  ' : 'FAIL', r.name, mark[r.hash], mark[r.contract], mark[r.numerics], r.detail]),
      ),
    )
    this.log('')
    const failed = report.rows.filter((r) => !r.ok)
    this.log(
      failed.length === 0
        ? `Verified ${report.dir}: all ${report.rows.length} rows pass.`
        : `${failed.length} of ${report.rows.length} rows FAIL: ${failed.map((r) => r.name).join(', ')}.`,
    )
    if (!report.ok) process.exitCode = 1
    return report
  }
}
