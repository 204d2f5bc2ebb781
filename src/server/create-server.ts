import {randomUUID} from 'node:crypto'
import type {AddressInfo} from 'node:net'
import cors from '@fastify/cors'
import multipart from '@fastify/multipart'
import Fastify, {type FastifyInstance, type FastifyReply, type FastifyRequest} from 'fastify'
import {checkApiKey} from './check-api-key.js'
import {GenerationPool} from './generation-pool.js'
import {HttpProblem, openAiErrorBody, toHttpProblem, upstreamErrorBody} from './http-problem.js'
import {registerOpenAiSpeechRoute} from './routes/openai-speech.js'
import {registerStatusRoutes} from './routes/status.js'
import {registerTtsRoute} from './routes/tts.js'
import {registerVoicesRoutes} from './routes/voices.js'
import {registerWebPageRoutes, WEB_PAGE_ROUTES} from './routes/web-page.js'
import type {ServerContext} from './server-context.js'
import {createServerMetrics} from './server-metrics.js'
import {resolveServerOptions, type CreateServerParams, type ResolvedServerOptions} from './server-options.js'
import {readVoiceCatalog, type VoiceCatalog} from './voice-catalog.js'
import {VoiceResolver} from './voice-resolver.js'

export interface ListenParams {
  /** @default '127.0.0.1' */
  readonly host?: string
  /** 0 picks a free port. @default 8000 */
  readonly port?: number
}

export interface ServerAddress {
  readonly host: string
  readonly port: number
  readonly url: string
}

export interface CloseParams {
  /** In-flight and queued requests get this long to finish; then they are cancelled. @default 30000 */
  readonly deadlineMs?: number
}

export interface CloseReport {
  /** True when every accepted request finished before the deadline. */
  readonly drained: boolean
  /** Generations and queued requests cancelled at the deadline. */
  readonly cancelled: number
  readonly elapsedMs: number
}

export interface PocketTtsServer {
  /** The Fastify instance (routes registered, ready). */
  readonly app: FastifyInstance
  readonly options: ResolvedServerOptions
  readonly pool: GenerationPool
  /** The voices served (model folder + voices folder). */
  readonly catalog: VoiceCatalog
  listen(params?: ListenParams): Promise<ServerAddress>
  /**
   * Graceful shutdown: stops accepting (/ready turns 503, new requests 503), lets running and queued
   * generations finish until the deadline, cancels what is left, then closes every connection. Idempotent.
   */
  close(params?: CloseParams): Promise<CloseReport>
}

/** Public routes: answered without the API key (probes, and the page, which sends the key the user types). */
const OPEN_ROUTES = new Set(['/health', '/ready', ...WEB_PAGE_ROUTES])
/** A client-supplied request id is kept when it looks like one. */
const REQUEST_ID = /^[\w.:-]{1,128}$/

/**
 * The pockettts HTTP server around one loaded model: `/tts` (upstream's form API), `/v1/audio/speech`
 * (OpenAI's), `/v1/audio/voices`, `/voices`, `/health`, `/ready`, `/metrics`, and a page at `/`. Generations go through a bounded pool and queue;
 * each request has an AbortSignal (client gone, timeout, shutdown deadline). No module-level state.
 */
export async function createServer(params: CreateServerParams): Promise<PocketTtsServer> {
  const options = resolveServerOptions(params)
  const {model} = options
  const metrics = createServerMetrics({processMetrics: options.processMetrics})
  const catalog = await readVoiceCatalog({
    model,
    ...(options.voicesDir === undefined ? {} : {voicesDir: options.voicesDir}),
    ...(options.voiceAliases === undefined ? {} : {voiceAliases: options.voiceAliases}),
  })
  const voices = new VoiceResolver({
    model,
    catalog,
    cacheEntries: options.voiceCacheEntries,
    onCacheLookup: (result) => metrics.voiceCache(result),
  })
  const pool = new GenerationPool({concurrency: options.workers, maxQueue: options.queue}, (stats) => metrics.pool(stats))
  const shutdown = new AbortController()
  let draining = false
  let averageSeconds = 2
  const ctx: ServerContext = {
    model,
    options,
    pool,
    catalog,
    voices,
    metrics,
    shutdown: shutdown.signal,
    get draining() {
      return draining
    },
    retryAfterSeconds() {
      const {active, queued} = pool.stats
      return Math.min(60, Math.max(1, Math.ceil((averageSeconds * (active + queued)) / options.workers)))
    },
    recordGenerationSeconds(seconds) {
      averageSeconds = 0.8 * averageSeconds + 0.2 * seconds
    },
  }

  const app = Fastify({
    logger: options.log === false ? false : {level: options.log?.level ?? 'info', stream: options.log?.stream ?? process.stderr},
    bodyLimit: options.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    return503OnClosing: true,
  })
  app.server.requestTimeout = options.requestTimeoutMs

  app.addContentTypeParser('application/x-www-form-urlencoded', {parseAs: 'string'}, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))))
  })
  await app.register(multipart, {
    limits: {fileSize: options.maxUploadBytes, files: 2, fields: 16, parts: 20, fieldSize: options.maxTextChars * 4 + 1024},
    throwFileSizeLimit: true,
  })
  if (options.corsOrigins !== undefined) {
    await app.register(cors, {
      origin: options.corsOrigins === '*' ? '*' : [...options.corsOrigins],
      methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      exposedHeaders: ['x-request-id', 'retry-after', 'x-pockettts-warning'],
    })
  }

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (options.apiKey === undefined || request.method === 'OPTIONS' || OPEN_ROUTES.has(request.url.split('?')[0] ?? '')) return
    if (!checkApiKey({headers: request.headers, apiKey: options.apiKey})) {
      reply.header('www-authenticate', 'Bearer')
      throw new HttpProblem({
        status: 401,
        code: 'invalid_api_key',
        message: 'Missing or wrong API key.',
        hint: 'Send Authorization: Bearer <key>.',
      })
    }
  })
  app.addHook('onResponse', async (request, reply) => {
    metrics.request({method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode})
  })
  app.setErrorHandler(async (error, request, reply) => sendProblem(request, reply, toHttpProblem(error)))
  app.setNotFoundHandler(async (request, reply) =>
    sendProblem(
      request,
      reply,
      new HttpProblem({status: 404, code: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0] ?? ''}.`}),
    ),
  )

  registerStatusRoutes(app, ctx)
  registerTtsRoute(app, ctx)
  registerOpenAiSpeechRoute(app, ctx)
  registerVoicesRoutes(app, ctx)
  await registerWebPageRoutes(app)
  await app.ready()

  let closing: Promise<CloseReport> | undefined
  return {
    app,
    options,
    pool,
    catalog,
    async listen(listen = {}) {
      await app.listen({host: listen.host ?? '127.0.0.1', port: listen.port ?? 8000})
      const address = app.server.address() as AddressInfo
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return {host: address.address, port: address.port, url: `http://${host}:${address.port}`}
    },
    close(close = {}) {
      closing ??= drainAndClose({app, pool, shutdown, deadlineMs: close.deadlineMs ?? 30_000, startDraining: () => (draining = true)})
      return closing
    },
  }
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: HttpProblem): FastifyReply {
  if (problem.status >= 500 && problem.code === 'internal_error') request.log.error({err: problem.cause}, 'request failed')
  else request.log.info({status: problem.status, code: problem.code}, 'request refused')
  if (problem.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.retryAfterSeconds))
  const openAi = request.url.startsWith('/v1/')
  return reply.code(problem.status).send(openAi ? openAiErrorBody(problem) : upstreamErrorBody(problem))
}

interface DrainParams {
  readonly app: FastifyInstance
  readonly pool: GenerationPool
  readonly shutdown: AbortController
  readonly deadlineMs: number
  readonly startDraining: () => void
}

async function drainAndClose(params: DrainParams): Promise<CloseReport> {
  const {app, pool} = params
  const start = performance.now()
  params.startDraining()
  const closed = app.close() // stops listening; fastify answers 503 to new requests on open connections
  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([
    pool.whenIdle().then(() => 'drained' as const),
    new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), params.deadlineMs))),
  ])
  clearTimeout(timer)
  let cancelled = 0
  if (outcome === 'deadline') {
    const {active, queued} = pool.stats
    cancelled = active + queued
    params.shutdown.abort()
    pool.close()
    await pool.whenIdle()
  }
  // Finished responses leave keep-alive connections idle; close them until the server is closed. A response whose
  // generation is over may still be sending its audio to a slow client: it gets what is left of the deadline (at
  // least 5 s) before its connection is closed.
  const sweeper = setInterval(() => app.server.closeIdleConnections(), 50)
  app.server.closeIdleConnections()
  const hardStop = setTimeout(() => app.server.closeAllConnections(), Math.max(5000, params.deadlineMs - (performance.now() - start)))
  try {
    await closed
  } finally {
    clearInterval(sweeper)
    clearTimeout(hardStop)
  }
  return {drained: outcome === 'drained', cancelled, elapsedMs: performance.now() - start}
}
