import type {FastifyReply} from 'fastify'
import {acquireLease, type RequestLease} from './request-lease.js'
import type {ServerContext} from './server-context.js'

/** A generation slot for one request, with the server's timeout, shutdown, Retry-After and metrics wired in. */
export function leaseForRequest(ctx: ServerContext, reply: FastifyReply): Promise<RequestLease> {
  return acquireLease({
    pool: ctx.pool,
    reply,
    timeoutMs: ctx.options.requestTimeoutMs,
    shutdown: ctx.shutdown,
    draining: ctx.draining,
    retryAfterSeconds: () => ctx.retryAfterSeconds(),
    onReject: (reason) => ctx.metrics.rejected(reason),
    onAbandon: () => ctx.metrics.abandoned(),
  })
}
