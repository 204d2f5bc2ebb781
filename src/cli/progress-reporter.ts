import cliProgress from 'cli-progress'

export interface ProgressUpdate {
  readonly stage: string
  readonly message?: string
  readonly done?: number
  readonly total?: number
}

/** Shows progress on stderr: a bar on a terminal, plain lines otherwise, nothing when quiet. */
export class ProgressReporter {
  private bar: cliProgress.SingleBar | undefined
  private stage: string | undefined
  private lastLine = ''

  constructor(private readonly options: {readonly quiet?: boolean; readonly stream?: NodeJS.WriteStream} = {}) {}

  private get stream(): NodeJS.WriteStream {
    return this.options.stream ?? process.stderr
  }

  update(update: ProgressUpdate): void {
    if (this.options.quiet === true) return
    const label = update.message === undefined ? update.stage : `${update.stage}: ${update.message}`
    if (this.stream.isTTY === true && update.total !== undefined && update.done !== undefined) {
      if (this.stage !== update.stage) {
        this.stop()
        this.bar = new cliProgress.SingleBar(
          {format: `{stage} [{bar}] {value}/{total}`, stream: this.stream, hideCursor: true, clearOnComplete: false},
          cliProgress.Presets.shades_classic,
        )
        this.bar.start(update.total, update.done, {stage: update.stage})
        this.stage = update.stage
      } else {
        this.bar?.setTotal(update.total)
        this.bar?.update(update.done, {stage: update.stage})
      }
      return
    }
    const counter = update.total === undefined || update.done === undefined ? '' : ` (${update.done}/${update.total})`
    const line = `${label}${counter}`
    if (line === this.lastLine) return
    this.lastLine = line
    this.stream.write(`${line}\n`)
  }

  stop(): void {
    this.bar?.stop()
    this.bar = undefined
    this.stage = undefined
  }
}
