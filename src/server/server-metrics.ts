import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from 'prom-client'

/** How a generation ended. */
export type GenerationOutcome = 'completed' | 'cancelled' | 'timeout' | 'failed' | 'shutdown'

/** Why a request was refused before it reached a generation slot. */
export type RejectReason = 'queue_full' | 'draining' | 'queue_timeout'

export interface ServerMetrics {
  readonly registry: Registry
  request(labels: {readonly method: string; readonly route: string; readonly status: number}): void
  timeToFirstAudio(route: string, seconds: number): void
  realTimeFactor(route: string, rtf: number): void
  audioSeconds(route: string, seconds: number): void
  generation(route: string, outcome: GenerationOutcome): void
  rejected(reason: RejectReason): void
  /** A client left while its request waited in the queue. */
  abandoned(): void
  voiceCache(result: 'hit' | 'miss'): void
  pool(stats: {readonly active: number; readonly queued: number}): void
}

export interface CreateServerMetricsParams {
  /** Node process metrics (memory, CPU, event-loop lag, GC) under the same prefix. @default true */
  readonly processMetrics?: boolean
}

/** A private Prometheus registry (no globals: several servers may live in one process). */
export function createServerMetrics(params: CreateServerMetricsParams = {}): ServerMetrics {
  const registry = new Registry()
  if (params.processMetrics ?? true) collectDefaultMetrics({register: registry, prefix: 'pockettts_'})
  const requests = new Counter({
    name: 'pockettts_http_requests_total',
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const ttfa = new Histogram({
    name: 'pockettts_time_to_first_audio_seconds',
    help: 'From the request reaching its generation slot (voice ready) to the first decoded audio frame.',
    labelNames: ['route'] as const,
    buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
    registers: [registry],
  })
  const rtf = new Histogram({
    name: 'pockettts_real_time_factor',
    help: 'Generation time / audio time of completed generations (< 1 is faster than real time).',
    labelNames: ['route'] as const,
    buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5],
    registers: [registry],
  })
  const audio = new Counter({
    name: 'pockettts_audio_seconds_total',
    help: 'Seconds of audio delivered by completed generations (trailing silence excluded).',
    labelNames: ['route'] as const,
    registers: [registry],
  })
  const generations = new Counter({
    name: 'pockettts_generations_total',
    help: 'Generations by outcome: completed, cancelled (client went away), timeout, failed, shutdown.',
    labelNames: ['route', 'outcome'] as const,
    registers: [registry],
  })
  const rejected = new Counter({
    name: 'pockettts_rejected_requests_total',
    help: 'Requests refused before generation: queue_full (429), draining or queue_timeout (503).',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const abandoned = new Counter({
    name: 'pockettts_queue_abandoned_total',
    help: 'Requests whose client left while they waited in the queue (they never started).',
    registers: [registry],
  })
  const voiceCache = new Counter({
    name: 'pockettts_voice_cache_requests_total',
    help: 'Voice-state cache look-ups by result (hit, miss).',
    labelNames: ['result'] as const,
    registers: [registry],
  })
  const queueDepth = new Gauge({name: 'pockettts_queue_depth', help: 'Requests waiting for a generation slot.', registers: [registry]})
  const active = new Gauge({name: 'pockettts_active_generations', help: 'Generations running now.', registers: [registry]})
  for (const reason of ['queue_full', 'draining', 'queue_timeout'] as const) rejected.inc({reason}, 0)
  queueDepth.set(0)
  active.set(0)

  return {
    registry,
    request: ({method, route, status}) => requests.inc({method, route, status: String(status)}),
    timeToFirstAudio: (route, seconds) => ttfa.observe({route}, seconds),
    realTimeFactor: (route, value) => rtf.observe({route}, value),
    audioSeconds: (route, seconds) => audio.inc({route}, seconds),
    generation: (route, outcome) => generations.inc({route, outcome}),
    rejected: (reason) => rejected.inc({reason}),
    abandoned: () => abandoned.inc(),
    voiceCache: (result) => voiceCache.inc({result}),
    pool: (stats) => {
      queueDepth.set(stats.queued)
      active.set(stats.active)
    },
  }
}
