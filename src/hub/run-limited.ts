import {throwIfCancelled} from './with-retry.js'

export interface RunLimitedParams<T> {
  readonly tasks: readonly ((signal: AbortSignal) => Promise<T>)[]
  readonly concurrency: number
  readonly signal?: AbortSignal
}

/**
 * Runs tasks with at most `concurrency` at a time. The first failure aborts the signal handed to the
 * others; once every started task has settled, that first failure is thrown.
 */
export async function runLimited<T>(params: RunLimitedParams<T>): Promise<T[]> {
  const controller = new AbortController()
  const signal = params.signal === undefined ? controller.signal : AbortSignal.any([params.signal, controller.signal])
  const results: T[] = new Array<T>(params.tasks.length)
  let next = 0
  let firstError: {error: unknown} | undefined
  const worker = async (): Promise<void> => {
    while (next < params.tasks.length && firstError === undefined && !signal.aborted) {
      const index = next
      next += 1
      try {
        results[index] = await params.tasks[index]!(signal)
      } catch (error) {
        if (firstError === undefined) {
          firstError = {error}
          controller.abort()
        }
      }
    }
  }
  const workers = Array.from({length: Math.max(1, Math.min(params.concurrency, params.tasks.length))}, worker)
  await Promise.all(workers)
  if (firstError !== undefined) throw firstError.error
  throwIfCancelled(params.signal)
  return results
}
