import {randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {open, rename, rm, type FileHandle} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import type {Writable} from 'node:stream'
import {CancelledError} from '../errors/index.js'

/** Where an audio writer's bytes go: a file written beside its final path and renamed, or a stream. */
export interface Sink {
  write(chunk: Buffer): Promise<void>
  /** Rewrites the header in place (files only; streams keep their placeholder). */
  patchHeader(header: Buffer, headerBytes: number): Promise<void>
  /** Completes the output; returns the final path for files. */
  finish(): Promise<string | undefined>
  discard(): Promise<void>
}

export async function fileSink(path: string): Promise<Sink> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`)
  let handle: FileHandle | undefined = await open(temp, 'w')
  const close = async (): Promise<void> => {
    const h = handle
    handle = undefined
    await h?.close()
  }
  return {
    async write(chunk) {
      if (handle === undefined) throw new Error('file already closed')
      await handle.write(chunk)
    },
    async patchHeader(header, headerBytes) {
      if (header.length !== headerBytes) throw new Error('header size changed')
      await handle?.write(header, 0, header.length, 0)
    },
    async finish() {
      await close()
      await rename(temp, path)
      return path
    },
    async discard() {
      await close().catch(() => undefined)
      await rm(temp, {force: true})
    },
  }
}

export function streamSink(stream: Writable, signal: AbortSignal | undefined): Sink {
  const cancelled = (): CancelledError => new CancelledError({code: 'CANCELLED', message: 'Writing the audio was cancelled.'})
  return {
    async write(chunk) {
      if (signal?.aborted === true || stream.destroyed) throw cancelled()
      if (stream.write(chunk)) return
      try {
        await once(stream, 'drain', signal === undefined ? {} : {signal})
      } catch (error) {
        if ((error as Error).name === 'AbortError') throw cancelled()
        throw error
      }
    },
    async patchHeader() {},
    async finish() {
      return undefined
    },
    async discard() {},
  }
}
