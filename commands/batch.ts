import {Args, Flags} from '@oclif/core'
import {AUDIO_FORMATS, UPSTREAM_TRAILING_SILENCE_SECONDS, type AudioFormat} from '../src/audio/audio-format.js'
import type {BatchReport, CorpusDefaults} from '../src/batch/index.js'
import {DEFAULT_QUEUE_NAME, DEFAULT_RETRY, checkQueueName} from '../src/batch/queue/queue-job.js'
import {parseQueueUrl} from '../src/batch/queue/queue-url.js'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {knobFlag, knobFlagWithDefault} from '../src/cli/number-flags.js'
import {embeddedModelDir} from '../src/config/index.js'

/** `pockettts batch --json` output. */
export type BatchResult = BatchReport & {readonly embeddedModel: boolean}

export default class Batch extends PocketTtsCommand {
  static override summary = 'Synthesise a JSONL corpus to one audio file per item, resumably, on several worker processes.'
  static override description =
    'Each line of CORPUS is a JSON object {"id", "text"} with optional "voice", "seed", "temperature", ' +
    '"lsdDecodeSteps", "noiseClamp", "eosThreshold", "framesAfterEos", "maxTokens", "trailingSilence" and ' +
    '"format"; the flags give the defaults. Outputs are DIR/<id>.wav (<id>.pcm for pcm16), made as ' +
    '`synth` makes them, and DIR/batch-manifest.json records each item (sha256, bytes, frames, duration, ' +
    'settings; failures with their error code). The whole corpus is checked before any work. A second run ' +
    'skips every item whose recorded output is still there with its sha256 and settings, and makes the ' +
    'others; a killed run loses nothing finished. Items are handed out to --jobs worker processes, each ' +
    'loading the model once. With --queue redis://HOST:PORT the items are enqueued on a BullMQ queue in ' +
    'Redis instead and made by `pockettts worker` processes on any machine that sees DIR (a shared ' +
    'folder); this command follows them with the same progress, retries failed attempts with exponential ' +
    'backoff, and writes the same manifest. Exits 1 when an item failed (the others are still made).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> corpus.jsonl --out out/',
    '<%= config.bin %> <%= command.id %> corpus.jsonl --out out/ --model models/english-onnx --voice alba --jobs 2 --json',
    '<%= config.bin %> <%= command.id %> corpus.jsonl --out /shared/out --queue redis://queue-host:6379',
  ]
  static override args = {corpus: Args.string({description: 'JSONL corpus: one {"id", "text", ...} object per line.', required: true})}
  static override flags = {
    out: Flags.string({char: 'o', description: 'Output folder (created when missing).', required: true}),
    model: Flags.string({description: 'Exported model folder (pockettts model export). Default: the embedded fixture model.'}),
    jobs: knobFlagWithDefault('jobs', {description: 'Worker processes, each with its own copy of the model.', default: 1}),
    voice: Flags.string({
      description:
        'Default voice of the items: a voice name of the model, a voice .safetensors or a .wav prompt ' +
        '(relative to the corpus folder, else the working folder). Default: alba, else the first voice of the ' +
        'model.',
    }),
    format: Flags.string({description: 'Default output encoding.', options: [...AUDIO_FORMATS], default: 'wav16'}),
    temperature: knobFlag('temperature', {
      description: 'Default noise temperature (default from the model: 0.7 for 2.1.0, the config default_temperature for 4.x).',
    }),
    'lsd-decode-steps': knobFlag('lsdDecodeSteps', {description: 'Default flow-head steps per latent (upstream default 1).'}),
    'noise-clamp': knobFlag('noiseClamp', {description: 'Default noise clamp; default none.'}),
    'eos-threshold': knobFlag('eosThreshold', {
      description: 'Default EOS threshold (default from the model: -4 for 2.1.0, the config default_eos_threshold for 4.x).',
    }),
    'frames-after-eos': knobFlag('framesAfterEos', {description: 'Default frames after EOS (default: per chunk, as synth).'}),
    'max-tokens': knobFlag('maxTokens', {description: 'Default tokens per text chunk (upstream default 50).'}),
    seed: knobFlag('seed', {description: 'Default seed of the items (default: derived from each id, so reruns are reproducible).'}),
    'max-text-chars': knobFlagWithDefault('maxTextChars', {description: 'Refuse longer item texts.', default: 20_000}),
    'trailing-silence': knobFlagWithDefault('trailingSilence', {
      description: `Default seconds of silence appended (upstream CLI: ${UPSTREAM_TRAILING_SILENCE_SECONDS}).`,
      default: UPSTREAM_TRAILING_SILENCE_SECONDS,
    }),
    threads: knobFlag('threads', {description: 'onnxruntime intra-op threads per worker (default: physical cores / --jobs, at least 1).'}),
    queue: Flags.string({
      description:
        'Enqueue the items on this Redis (redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss:// for TLS) for `pockettts worker` processes, ' +
        'and follow them. --jobs and --threads then do not apply.',
      helpGroup: 'QUEUE',
    }),
    'queue-name': Flags.string({
      description: 'Queue name (the workers must use the same).',
      default: DEFAULT_QUEUE_NAME,
      helpGroup: 'QUEUE',
    }),
    attempts: knobFlagWithDefault('queueAttempts', {
      description: 'Tries of a queued item before it is recorded as failed.',
      default: DEFAULT_RETRY.attempts,
      helpGroup: 'QUEUE',
    }),
    backoff: knobFlagWithDefault('queueBackoff', {
      description: 'Seconds before the first retry of a queued item, doubled at each next retry.',
      default: DEFAULT_RETRY.backoffMs / 1000,
      helpGroup: 'QUEUE',
    }),
  }

  async run(): Promise<BatchResult> {
    const {args, flags} = await this.parse(Batch)
    const {config} = await this.loadConfig({model: flags.model, threads: flags.threads, config: flags.config})
    const embedded = config.model === undefined
    const modelDir = config.model ?? embeddedModelDir()
    if (embedded)
      this.logToStderr(`Using the embedded fixture model (${modelDir}): random weights, so it babbles. Pass --model for a real export.`)
    const jobs = flags.jobs
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{exportGenerationDefaults}, {BatchProgress}, {runBatch}, {submitBatch}, {defaultThreads}] = await Promise.all([
      import('../src/engine/generation-params.js'),
      import('../src/cli/batch-progress.js'),
      import('../src/batch/index.js'),
      import('../src/batch/queue/submit-batch.js'),
      import('../src/onnx/create-sessions.js'),
    ])
    // the export's own defaults (4.x configs: default_temperature, default_eos_threshold), then the flags
    const defaultGenerationParams = await exportGenerationDefaults(modelDir)
    const defaults: CorpusDefaults = {
      ...(flags.voice === undefined ? {} : {voice: flags.voice}),
      ...(flags.seed === undefined ? {} : {seed: flags.seed}),
      params: {
        temperature: flags.temperature ?? defaultGenerationParams.temperature,
        lsdDecodeSteps: flags['lsd-decode-steps'] ?? defaultGenerationParams.lsdDecodeSteps,
        noiseClamp: flags['noise-clamp'] ?? null,
        eosThreshold: flags['eos-threshold'] ?? defaultGenerationParams.eosThreshold,
        framesAfterEos: flags['frames-after-eos'] ?? null,
        maxTokens: flags['max-tokens'] ?? defaultGenerationParams.maxTokens,
      },
      format: flags.format as AudioFormat,
      trailingSilence: flags['trailing-silence'],
      maxTextChars: flags['max-text-chars'],
    }
    const progress = new BatchProgress()
    let report: BatchReport
    try {
      report =
        flags.queue === undefined
          ? await runBatch({
              corpus: args.corpus,
              outDir: flags.out,
              modelDir,
              jobs,
              // one worker: the engine's own default (as synth); several: the cores shared out between them
              ...(config.threads === undefined && jobs === 1
                ? {}
                : {threads: config.threads ?? Math.max(1, Math.floor(defaultThreads() / jobs))}),
              defaults,
              signal: this.signal,
              onEvent: (event) => progress.handle(event),
            })
          : await submitBatch({
              corpus: args.corpus,
              outDir: flags.out,
              modelDir,
              defaults,
              url: parseQueueUrl(flags.queue),
              queueName: checkQueueName(flags['queue-name']),
              retry: {attempts: flags.attempts, backoffMs: flags.backoff * 1000},
              signal: this.signal,
              onEvent: (event) => progress.handle(event),
            })
    } finally {
      progress.stop()
    }
    for (const item of report.items) if (item.status === 'failed') this.logToStderr(`failed: ${item.id}: [${item.code}] ${item.message}`)
    this.log(
      `${report.outDir}: ${report.made} made, ${report.skipped} skipped (already made), ${report.failed} failed of ${report.total}; ` +
        `${report.audioSeconds.toFixed(2)} s of audio in ${(report.elapsedMs / 1000).toFixed(1)} s ` +
        `${report.queue === undefined ? `on ${jobs} worker(s)` : `by the workers of queue ${report.queue.name} at ${report.queue.url}`}; ` +
        `manifest ${report.manifest}.`,
    )
    if (report.failed > 0) process.exitCode = 1
    return {...report, embeddedModel: embedded}
  }
}
