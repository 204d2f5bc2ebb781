import {Flags} from '@oclif/core'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {knobFlag, knobFlagWithDefault} from '../src/cli/number-flags.js'
import {embeddedModelDir} from '../src/config/index.js'
import type {WorkerEvent, WorkerReport} from '../src/batch/queue/index.js'
import {DEFAULT_QUEUE_NAME, checkQueueName} from '../src/batch/queue/queue-job.js'
import {parseQueueUrl} from '../src/batch/queue/queue-url.js'
import {DEFAULT_LOCK_SETTINGS} from '../src/batch/queue/worker-lock-settings.js'

/** `pockettts worker --json` output. */
export type WorkerResult = WorkerReport & {readonly embeddedModel: boolean}

export default class Worker extends PocketTtsCommand {
  static override summary = 'Make the items that `pockettts batch --queue` enqueues on a Redis queue, until stopped.'
  static override description =
    'Loads the model once, then takes one queued item at a time and makes it as a local batch worker ' +
    'does, writing DIR/<id>.wav atomically into the shared output folder (the one the submitter named, or ' +
    '--out where it is mounted on this machine); an identical output already there is left untouched. Run ' +
    'one per machine or per group of cores, on as many machines as you like. A failed attempt is retried ' +
    'by the queue with backoff; bad input and another model fail at once. SIGTERM or Ctrl-C finishes the ' +
    'item in hand, then exits 0 (a second one exits at once: that item is then taken over by another ' +
    'worker once its lock expires, as for a worker that dies).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --queue redis://queue-host:6379',
    '<%= config.bin %> <%= command.id %> --queue redis://queue-host:6379 --model models/english-onnx --out /mnt/shared/out --threads 4',
  ]
  static override flags = {
    queue: Flags.string({
      description:
        'The Redis of the queue: redis://[USER:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS). ' +
        'From the environment the password stays out of the process list.',
      env: 'POCKETTTS_QUEUE',
      required: true,
    }),
    'queue-name': Flags.string({description: 'Queue name (as given to batch --queue-name).', default: DEFAULT_QUEUE_NAME}),
    model: Flags.string({
      description: 'Exported model folder: a copy of the export the batch was submitted with. Default: the embedded fixture model.',
    }),
    out: Flags.string({
      char: 'o',
      description: "The shared output folder as mounted on this machine, when its path differs from the submitter's --out.",
    }),
    threads: knobFlag('threads', {description: 'onnxruntime intra-op threads (default: the engine default, as synth).'}),
    'lock-duration': knobFlagWithDefault('lockDuration', {
      description:
        "Seconds a job's lock lasts unless renewed; a killed worker's job is taken over after about this plus --stalled-interval.",
      default: DEFAULT_LOCK_SETTINGS.lockDurationMs / 1000,
    }),
    'stalled-interval': knobFlagWithDefault('stalledInterval', {
      description: 'Seconds between checks for jobs whose worker died.',
      default: DEFAULT_LOCK_SETTINGS.stalledIntervalMs / 1000,
    }),
  }

  protected override onCancelRequested(): void {
    this.logToStderr(
      'worker: stopping after the item in hand… (press Ctrl-C again to quit at once; another worker then takes that item over)',
    )
  }

  async run(): Promise<WorkerResult> {
    const {flags} = await this.parse(Worker)
    const url = parseQueueUrl(flags.queue)
    const queueName = checkQueueName(flags['queue-name'])
    const {config} = await this.loadConfig({model: flags.model, threads: flags.threads, config: flags.config})
    const embedded = config.model === undefined
    const modelDir = config.model ?? embeddedModelDir()
    if (embedded)
      this.logToStderr(`Using the embedded fixture model (${modelDir}): random weights, so it babbles. Pass --model for a real export.`)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const {runQueueWorker} = await import('../src/batch/queue/run-queue-worker.js')
    const report = await runQueueWorker({
      url,
      queueName,
      modelDir,
      ...(config.threads === undefined ? {} : {threads: config.threads}),
      ...(flags.out === undefined ? {} : {outDir: flags.out}),
      lock: {
        ...DEFAULT_LOCK_SETTINGS,
        lockDurationMs: flags['lock-duration'] * 1000,
        stalledIntervalMs: flags['stalled-interval'] * 1000,
      },
      signal: this.signal,
      onEvent: (event) => this.logToStderr(describe(event)),
    })
    this.log(
      `worker ${report.worker}: ${report.made} made, ${report.kept} already in place, ${report.failed} failed attempt(s) ` +
        `in ${(report.elapsedMs / 1000).toFixed(1)} s.`,
    )
    return {...report, embeddedModel: embedded}
  }
}

function describe(event: WorkerEvent): string {
  switch (event.type) {
    case 'ready':
      return `worker ${event.worker}: waiting for items on queue ${event.queue}`
    case 'job-start':
      return `worker: making ${event.id} (attempt ${event.attempt})`
    case 'job-done':
      return `worker: ${event.id} ${event.kept ? 'identical output already in place, left as it was' : 'made'} in ${event.seconds.toFixed(1)} s`
    case 'job-failed':
      return `worker: ${event.id} FAILED [${event.code}] ${event.message}${event.final ? '' : ' (the queue retries it)'}`
    case 'stopping':
      return 'worker: stopping; no new item is taken'
    case 'queue-error':
      return `worker: queue connection: ${event.message} (retrying)`
  }
}
