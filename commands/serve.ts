import {once} from 'node:events'
import {Flags} from '@oclif/core'
import {PocketTtsCommand} from '../src/cli/base-command.js'
import {knobFlag, knobFlagWithDefault} from '../src/cli/number-flags.js'
import {embeddedModelDir} from '../src/config/index.js'
import {UsageError} from '../src/errors/index.js'
import type {CloseReport, PocketTtsServer} from '../src/server/index.js'
import {OPENAI_VOICE_ALIASES} from '../src/voice/voice-aliases.js'

/** `pockettts serve --json` output, printed after the server has stopped. */
export interface ServeResult extends CloseReport {
  readonly url: string
  readonly model: string
  readonly embeddedModel: boolean
  readonly voices: readonly string[]
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export default class Serve extends PocketTtsCommand {
  static override summary =
    'Serve speech over HTTP: upstream-compatible /tts, OpenAI-compatible /v1/audio/speech (mp3, opus, ' +
    'aac, flac, wav, pcm; speed) and /v1/audio/voices, a page at /, /voices, /health, /ready, /metrics.'
  static override description =
    'One model is loaded once and shared. Generations run through a bounded pool (--workers) with a ' +
    'bounded queue (--queue); beyond it requests get 429 with Retry-After. Audio streams as frames are ' +
    'decoded; a client that disconnects stops its generation at once. Logs are JSON lines on stderr with ' +
    'request ids (request text only at debug level). SIGINT/SIGTERM drain gracefully: no new requests, ' +
    'in-flight ones finish until --shutdown-timeout, then are cancelled; a second signal quits at once.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --model models/english-onnx',
    '<%= config.bin %> <%= command.id %> --model models/english-onnx --host 0.0.0.0 --port 8080 --workers 2 --queue 32 --api-key "$KEY"',
    'curl -F text="Hello world." http://127.0.0.1:8000/tts > hello.wav',
    'curl -H "content-type: application/json" -d \'{"model": "tts-1", "input": "Hello world.", "voice": ' +
      '"alloy"}\' http://127.0.0.1:8000/v1/audio/speech > hello.mp3',
  ]
  static override flags = {
    host: Flags.string({description: 'Address to listen on.', default: '127.0.0.1'}),
    port: knobFlagWithDefault('port', {description: 'Port to listen on (0: a free port, logged).', default: 8000}),
    model: Flags.string({description: 'Exported model folder (pockettts model export). Default: the embedded fixture model.'}),
    voices: Flags.string({
      description:
        'Folder of extra .safetensors voice states (name = file stem; licence metadata from voices.json or ' +
        'NAME.json); POST /v1/audio/voices stores new voices here.',
    }),
    workers: knobFlagWithDefault('workers', {description: 'Generations running at once (they share the model and the CPU).', default: 1}),
    queue: knobFlagWithDefault('queue', {description: 'Requests waiting for a generation; beyond it 429.', default: 16}),
    'request-timeout': knobFlagWithDefault('requestTimeout', {description: 'Seconds a request may take, queueing included.', default: 120}),
    'max-text-chars': knobFlagWithDefault('serverTextChars', {description: 'Longer texts get 400.', default: 4096}),
    'max-upload-mb': knobFlagWithDefault('maxUploadMb', {description: 'Largest voice_wav upload in MiB; beyond it 413.', default: 16}),
    'api-key': Flags.string({
      description: 'Require Authorization: Bearer KEY (or X-API-Key) on every route but /health and /ready.',
      env: 'POCKETTTS_API_KEY',
    }),
    cors: Flags.string({description: 'Comma-separated origins allowed by CORS, or * (off by default).'}),
    'voice-aliases': Flags.string({
      description: `Voice aliases ALIAS=VOICE,... added to (and overriding) the default OpenAI names: ${Object.entries(OPENAI_VOICE_ALIASES)
        .map(([alias, voice]) => `${alias}=${voice}`)
        .join(', ')} (a voice the model lacks: the default voice).`,
    }),
    'voice-cache': knobFlagWithDefault('voiceCache', {
      description: 'Voice states kept in memory (named voices and uploaded prompts, LRU).',
      default: 16,
    }),
    'shutdown-timeout': knobFlagWithDefault('shutdownTimeout', {
      description: 'Seconds in-flight requests get to finish on SIGINT/SIGTERM before they are cancelled.',
      default: 30,
    }),
    'log-level': Flags.string({description: 'Log level.', options: [...LOG_LEVELS], default: 'info'}),
    batching: Flags.boolean({
      description:
        'Generations running at the same time share each FlowLM call, prefills and steps (the batched graphs of the export, ' +
        'loaded instead of its solo FlowLM graphs; an export without them interleaves). --no-batching: each generation runs its own calls.',
      default: true,
      allowNo: true,
    }),
    'mimi-worker': Flags.boolean({
      description:
        'Decode Mimi on one worker thread for every stream, beside the FlowLM calls (less CPU per request, later first audio on a ' +
        'busy 2-core machine: docs/performance.md, Serve throughput); --threads then defaults to physical cores minus one.',
      default: false,
    }),
    threads: knobFlag('threads', {description: 'onnxruntime intra-op threads (default: physical cores; minus one with --mimi-worker).'}),
    temperature: knobFlag('temperature', {
      description:
        'Noise temperature when a request gives none (default from the model: 0.7 for 2.1.0, the config default_temperature for 4.x).',
    }),
    'lsd-decode-steps': knobFlag('lsdDecodeSteps', {description: 'Flow-head steps per latent (upstream default 1).'}),
    'eos-threshold': knobFlag('eosThreshold', {
      description: 'EOS fires above this raw logit (default from the model: -4 for 2.1.0, the config default_eos_threshold for 4.x).',
    }),
  }

  private server: PocketTtsServer | undefined

  async run(): Promise<ServeResult> {
    const {flags} = await this.parse(Serve)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{loadEngineModel}, {createServer, serveModelOptions}] = await Promise.all([
      import('../src/engine/engine-model.js'),
      import('../src/server/index.js'),
    ])
    const {config} = await this.loadConfig({
      model: flags.model,
      threads: flags.threads,
      voiceAliases: flags['voice-aliases'],
      config: flags.config,
    })
    const requestTimeout = flags['request-timeout']
    const shutdownTimeout = flags['shutdown-timeout']
    const uploadMb = flags['max-upload-mb']
    const corsOrigins = flags.cors === undefined ? undefined : parseCors(flags.cors)
    const generation = {
      ...(flags.temperature === undefined ? {} : {temperature: flags.temperature}),
      ...(flags['lsd-decode-steps'] === undefined ? {} : {lsdDecodeSteps: flags['lsd-decode-steps']}),
      ...(flags['eos-threshold'] === undefined ? {} : {eosThreshold: flags['eos-threshold']}),
    }
    const embedded = config.model === undefined
    const modelDir = config.model ?? embeddedModelDir()
    // Mimi per stream in frame groups, batched or not (inline, or on the decoder worker with --mimi-worker: serveModelOptions);
    // --batching: the FlowLM runs only through the export's batched graphs (one copy of its weights), when it has them
    const model = await loadEngineModel(
      serveModelOptions({
        dir: modelDir,
        batching: flags.batching,
        mimiWorker: flags['mimi-worker'],
        ...(config.threads === undefined ? {} : {threads: config.threads}),
      }),
    )
    const batcher = model.batcher ?? null
    try {
      this.server = await createServer({
        model,
        ...(flags.voices === undefined ? {} : {voicesDir: flags.voices}),
        workers: flags.workers,
        queue: flags.queue,
        requestTimeoutMs: requestTimeout * 1000,
        maxTextChars: flags['max-text-chars'],
        maxUploadBytes: Math.round(uploadMb * 1024 * 1024),
        voiceCacheEntries: flags['voice-cache'],
        ...(config.voiceAliases === undefined ? {} : {voiceAliases: config.voiceAliases}),
        ...(flags['api-key'] === undefined ? {} : {apiKey: flags['api-key']}),
        ...(corsOrigins === undefined ? {} : {corsOrigins}),
        log: {level: flags['log-level']},
        generation,
        ...(batcher === null ? {} : {batcher}),
      })
      const server = this.server
      const log = server.app.log
      const address = await server.listen({host: flags.host, port: flags.port}).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
          throw new UsageError({
            code: 'LISTEN_FAILED',
            message: `Cannot listen on ${flags.host}:${flags.port} (${error.code}).`,
            hint: 'Pick another --port or --host.',
            cause: error,
          })
        }
        throw error
      })
      const voices = server.catalog.voices.map((v) => v.name)
      log.info(
        {
          event: 'ready',
          url: address.url,
          model: modelDir,
          embeddedModel: embedded,
          voices,
          aliases: server.catalog.aliases,
          workers: flags.workers,
          queue: flags.queue,
          batching: batcher !== null,
        },
        `pockettts serving on ${address.url}`,
      )
      if (embedded)
        log.warn(
          {event: 'embedded_model'},
          'Using the embedded fixture model (random weights: it babbles). Pass --model for a real export.',
        )
      if (!this.signal.aborted) await once(this.signal, 'abort')
      log.info({event: 'draining', deadlineSeconds: shutdownTimeout}, 'draining')
      const report = await server.close({deadlineMs: shutdownTimeout * 1000})
      log.info({event: 'stopped', ...report}, 'stopped')
      this.log(
        `Stopped ${address.url}: ${report.drained ? 'every request finished' : `${report.cancelled} request(s) cancelled at the deadline`}.`,
      )
      return {...report, url: address.url, model: modelDir, embeddedModel: embedded, voices}
    } finally {
      await this.server?.close({deadlineMs: 0})
      await model.release()
    }
  }

  protected override onCancelRequested(): void {
    if (this.server === undefined) super.onCancelRequested()
    else this.server.app.log.info({event: 'signal'}, 'shutdown requested (a second signal quits at once)')
  }
}

function parseCors(raw: string): readonly string[] | '*' {
  const origins = raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
  if (origins.includes('*')) return '*'
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new UsageError({
        code: 'INVALID_FLAG_VALUE',
        message: `--cors: "${origin}" is not an origin like https://example.com.`,
        hint: 'List origins as scheme://host[:port], comma-separated, or *.',
      })
    }
  }
  if (origins.length === 0)
    throw new UsageError({code: 'INVALID_FLAG_VALUE', message: '--cors lists no origin.', hint: 'List origins, comma-separated, or *.'})
  return origins
}
