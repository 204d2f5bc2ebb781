/** `download` fetches what is missing; `verify-only` only checks; `offline` uses the lock and local files. */
export type DownloadMode = 'download' | 'verify-only' | 'offline'
export type FileStatus = 'downloaded' | 'resumed' | 'verified'

export type DownloadEvent =
  | {readonly type: 'notice'; readonly message: string}
  | {readonly type: 'file-start'; readonly file: string; readonly size: number; readonly resumedFrom: number}
  | {readonly type: 'file-progress'; readonly file: string; readonly done: number; readonly total: number}
  | {readonly type: 'file-done'; readonly file: string; readonly size: number; readonly status: FileStatus}
  | {
      readonly type: 'retry'
      readonly what: string
      readonly attempt: number
      readonly attempts: number
      readonly delayMs: number
      readonly reason: string
    }
