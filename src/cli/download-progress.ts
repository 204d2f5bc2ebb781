import cliProgress from 'cli-progress'
import type {DownloadEvent} from '../hub/download-events.js'

export interface DownloadProgressOptions {
  readonly quiet?: boolean
  readonly stream?: NodeJS.WriteStream
}

/**
 * Renders download events on stderr: on a terminal a bar per file plus a total bar; otherwise plain lines
 * (start, each quarter of a large file, retries, done).
 */
export class DownloadProgress {
  private multibar: cliProgress.MultiBar | undefined
  private total: cliProgress.SingleBar | undefined
  private readonly bars = new Map<string, cliProgress.SingleBar>()
  private readonly sizes = new Map<string, {done: number; total: number; quarter: number}>()

  constructor(private readonly options: DownloadProgressOptions = {}) {}

  private get stream(): NodeJS.WriteStream {
    return this.options.stream ?? process.stderr
  }

  private get tty(): boolean {
    return this.stream.isTTY === true
  }

  handle(event: DownloadEvent): void {
    if (this.options.quiet === true) return
    switch (event.type) {
      case 'notice':
        this.line(event.message)
        return
      case 'retry':
        this.line(
          `retrying ${event.what} in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt}/${event.attempts} failed: ${event.reason})`,
        )
        return
      case 'file-start':
        this.sizes.set(event.file, {done: event.resumedFrom, total: event.size, quarter: 0})
        if (this.tty) this.startBar(event.file, event.size, event.resumedFrom)
        else
          this.line(
            event.resumedFrom > 0
              ? `resuming ${event.file} at ${mib(event.resumedFrom)} of ${mib(event.size)}`
              : `downloading ${event.file} (${mib(event.size)})`,
          )
        return
      case 'file-progress': {
        const state = this.sizes.get(event.file)
        if (state === undefined) return
        state.done = event.done
        state.total = event.total
        if (this.tty) {
          this.bars.get(event.file)?.update(event.done, {amount: `${mib(event.done)} of ${mib(event.total)}`})
          this.updateTotal()
          return
        }
        const quarter = event.total > 0 ? Math.floor((4 * event.done) / event.total) : 0
        if (event.total >= 8 * 1024 ** 2 && quarter > state.quarter && quarter < 4)
          this.line(`${event.file}: ${quarter * 25}% (${mib(event.done)} of ${mib(event.total)})`)
        state.quarter = Math.max(state.quarter, quarter)
        return
      }
      case 'file-done':
        if (this.tty && this.bars.has(event.file)) {
          this.bars.get(event.file)?.update(event.size, {amount: `${mib(event.size)} ${event.status}`})
          this.updateTotal()
          return
        }
        this.line(
          `${event.status} ${event.file} (${mib(event.size)}${event.status === 'verified' ? ', sha256 matches the lock' : ', sha256 checked'})`,
        )
        return
    }
  }

  stop(): void {
    this.multibar?.stop()
    this.multibar = undefined
    this.total = undefined
    this.bars.clear()
  }

  private startBar(file: string, size: number, done: number): void {
    if (this.multibar === undefined) {
      this.multibar = new cliProgress.MultiBar(
        {format: '{name} [{bar}] {percentage}% {amount}', stream: this.stream, hideCursor: true, clearOnComplete: false},
        cliProgress.Presets.shades_classic,
      )
      this.total = this.multibar.create(size, done, {name: 'total'.padEnd(36), amount: ''})
    }
    this.total?.setTotal(sum(this.sizes, 'total'))
    this.updateTotal()
    this.bars.set(file, this.multibar.create(size, done, {name: shorten(file).padEnd(36), amount: `${mib(done)} of ${mib(size)}`}))
  }

  private updateTotal(): void {
    const done = sum(this.sizes, 'done')
    this.total?.update(done, {amount: `${mib(done)} of ${mib(sum(this.sizes, 'total'))}`})
  }

  private line(text: string): void {
    if (this.multibar !== undefined) this.multibar.log(`${text}\n`)
    else this.stream.write(`${text}\n`)
  }
}

function sum(sizes: Map<string, {done: number; total: number}>, key: 'done' | 'total'): number {
  let out = 0
  for (const s of sizes.values()) out += s[key]
  return out
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`
}

function shorten(file: string): string {
  return file.length <= 36 ? file : `…${file.slice(-35)}`
}
