import type {FastifyInstance} from 'fastify'
import type {ServerContext} from '../server-context.js'

/**
 * Operational routes: `GET /health` (liveness: the process answers), `GET /ready` (model loaded, not draining,
 * queue not full; 503 otherwise), `GET /voices` (names, origin, licence metadata or null, and the alias table) and `GET /metrics`
 * (Prometheus text format).
 */
export function registerStatusRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/health', async () => ({status: 'healthy'}))

  app.get('/ready', async (_request, reply) => {
    const stats = ctx.pool.stats
    const status = ctx.draining ? 'draining' : ctx.pool.full ? 'busy' : 'ready'
    return reply.code(status === 'ready' ? 200 : 503).send({status, ...stats})
  })

  app.get('/voices', async () => ({
    default: ctx.catalog.defaultVoice,
    voices: ctx.catalog.voices.map((v) => ({name: v.name, origin: v.origin, license: v.license})),
    aliases: ctx.catalog.aliases,
  }))

  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics()
    return reply.header('content-type', ctx.metrics.registry.contentType).send(text)
  })
}
