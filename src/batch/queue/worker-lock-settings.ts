// The queue worker's lock settings, apart from the worker (bullmq) so that `pockettts worker`'s flags can show them.
/** How a queue worker holds its jobs (BullMQ's lock and stalled-job check). */
export interface WorkerLockSettings {
  /** A job's lock lasts this long unless renewed (renewed every half of it while the item is made). */
  readonly lockDurationMs: number
  /** How often this worker looks for jobs whose lock expired (their worker died) and puts them back in the queue. */
  readonly stalledIntervalMs: number
  /** Take-overs of one job before it is failed as stalled (a job that kills every worker it reaches). */
  readonly maxStalledCount: number
}

export const DEFAULT_LOCK_SETTINGS: WorkerLockSettings = {lockDurationMs: 30_000, stalledIntervalMs: 15_000, maxStalledCount: 2}
