import type {EngineModel} from '../engine/engine-model.js'
import type {GenerationPool} from './generation-pool.js'
import type {ServerMetrics} from './server-metrics.js'
import type {ResolvedServerOptions} from './server-options.js'
import type {VoiceCatalog} from './voice-catalog.js'
import type {VoiceResolver} from './voice-resolver.js'

/** What every route shares: one per server, passed explicitly (no module-level state). */
export interface ServerContext {
  readonly model: EngineModel
  readonly options: ResolvedServerOptions
  readonly pool: GenerationPool
  readonly catalog: VoiceCatalog
  readonly voices: VoiceResolver
  readonly metrics: ServerMetrics
  /** Aborted when the shutdown deadline passes: every remaining generation stops. */
  readonly shutdown: AbortSignal
  /** True once a graceful shutdown has begun. */
  readonly draining: boolean
  /** A Retry-After estimate from recent generation times and the current load (1-60 s). */
  retryAfterSeconds(): number
  /** Records how long a completed generation held its slot. */
  recordGenerationSeconds(seconds: number): void
}
