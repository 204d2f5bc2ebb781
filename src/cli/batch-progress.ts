import cliProgress from 'cli-progress'
import type {BatchEvent} from '../batch/index.js'

export interface BatchProgressOptions {
  readonly quiet?: boolean
  readonly stream?: NodeJS.WriteStream
}

/**
 * Renders batch events on stderr: on a terminal one bar over the items to make, with the ETA; otherwise a
 * plain line per item with its rank and the ETA (from the mean time per item so far).
 */
export class BatchProgress {
  private bar: cliProgress.SingleBar | undefined
  private started = 0

  constructor(private readonly options: BatchProgressOptions = {}) {}

  private get stream(): NodeJS.WriteStream {
    return this.options.stream ?? process.stderr
  }

  handle(event: BatchEvent): void {
    if (this.options.quiet === true) return
    switch (event.type) {
      case 'planned':
        this.started = performance.now()
        this.line(
          `batch: ${event.total} item(s); ${event.skipped} already made (output present with its recorded sha256), ${event.todo} to make`,
        )
        if (this.stream.isTTY === true && event.todo > 0) {
          this.bar = new cliProgress.SingleBar(
            {
              format: 'batch [{bar}] {value}/{total} | ETA {eta_formatted} | {last}',
              stream: this.stream,
              hideCursor: true,
              clearOnComplete: false,
              etaBuffer: 20,
            },
            cliProgress.Presets.shades_classic,
          )
          this.bar.start(event.todo, 0, {last: ''})
        }
        return
      case 'item-start':
        return
      case 'item-end': {
        const what = event.ok ? `${event.id} made` : `${event.id} FAILED ${event.code ?? ''}: ${event.message ?? ''}`
        if (this.bar !== undefined) {
          // failures are listed again at the end
          this.bar.update(event.ended, {last: event.ok ? event.id : `${event.id} FAILED ${event.code ?? ''}`})
          return
        }
        const remaining = event.todo - event.ended
        const perItem = (performance.now() - this.started) / Math.max(1, event.ended)
        const eta = remaining === 0 ? '' : ` (ETA ${formatSeconds((perItem * remaining) / 1000)})`
        this.line(`[${event.ended}/${event.todo}] ${what}${eta}`)
        return
      }
      case 'item-retry': {
        const what = `${event.id} attempt ${event.attempt}/${event.attempts} failed, retried later: ${event.message}`
        if (this.bar !== undefined) this.bar.update({last: `${event.id} retry ${event.attempt}/${event.attempts}`})
        else this.line(what)
        return
      }
      case 'item-stalled': {
        if (this.bar !== undefined) this.bar.update({last: `${event.id} taken over`})
        else this.line(`${event.id}: its worker stopped (killed or hung); back in the queue for another worker`)
        return
      }
      case 'queue-workers': {
        const what =
          event.count === 0
            ? 'queue: no worker connected yet; start `pockettts worker --queue URL` on the machines that make the items'
            : `queue: ${event.count} worker(s) connected`
        if (this.bar !== undefined) this.bar.update({last: `${event.count} worker(s)`})
        else this.line(what)
        return
      }
    }
  }

  stop(): void {
    this.bar?.stop()
    this.bar = undefined
  }

  private line(text: string): void {
    this.stream.write(`${text}\n`)
  }
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}
