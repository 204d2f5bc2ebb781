import type {MimiWorkerRequest} from './mimi-worker-protocol.js'

/**
 * Which of the worker's waiting requests (oldest first) to serve next: the oldest, except that a stream's first call
 * since its open or reset (a chunk's first audio, what a listener waits for) goes before the other streams' waiting
 * calls, its own stream's open/reset first. Each stream's requests keep their order (its state feeds its next
 * frames), and nothing passes a shutdown.
 */
export function nextRequestIndex(waiting: readonly MimiWorkerRequest[]): number {
  for (const [i, request] of waiting.entries()) {
    if (request.kind === 'shutdown') break
    if (request.kind !== 'decode' || request.first !== true) continue
    const own = waiting.findIndex((r) => r.kind !== 'shutdown' && r.stream === request.stream)
    if (waiting.slice(own, i).every((r) => r.kind !== 'decode' || r.stream !== request.stream)) return own
  }
  return 0
}
