import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {DownloadProgress} from '../../src/cli/download-progress.js'

function fakeStream(isTTY: boolean): {stream: NodeJS.WriteStream; text: () => string} {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & {isTTY: boolean; columns: number}
  stream.isTTY = isTTY
  stream.columns = 120
  const chunks: Buffer[] = []
  ;(stream as unknown as PassThrough).on('data', (c: Buffer) => chunks.push(c))
  // cli-progress moves the cursor on a terminal
  Object.assign(stream, {cursorTo: () => true, clearLine: () => true, moveCursor: () => true, clearScreenDown: () => true})
  return {stream, text: () => Buffer.concat(chunks).toString()}
}

const MiB = 1024 ** 2

describe('DownloadProgress', () => {
  it('writes plain lines when stderr is not a terminal: start, each quarter of a large file, retries, done', () => {
    const {stream, text} = fakeStream(false)
    const progress = new DownloadProgress({stream})
    progress.handle({type: 'file-start', file: 'english/model.safetensors', size: 100 * MiB, resumedFrom: 0})
    for (let done = 0; done <= 100; done += 10)
      progress.handle({type: 'file-progress', file: 'english/model.safetensors', done: done * MiB, total: 100 * MiB})
    progress.handle({
      type: 'retry',
      what: 'languages/english/model.safetensors',
      attempt: 1,
      attempts: 5,
      delayMs: 500,
      reason: 'terminated',
    })
    progress.handle({type: 'file-done', file: 'english/model.safetensors', size: 100 * MiB, status: 'downloaded'})
    progress.handle({type: 'file-done', file: 'english/tokenizer.model', size: 59_339, status: 'verified'})
    progress.stop()
    expect(text().split('\n')).toEqual([
      'downloading english/model.safetensors (100.0 MiB)',
      'english/model.safetensors: 25% (30.0 MiB of 100.0 MiB)',
      'english/model.safetensors: 50% (50.0 MiB of 100.0 MiB)',
      'english/model.safetensors: 75% (80.0 MiB of 100.0 MiB)',
      'retrying languages/english/model.safetensors in 0.5 s (attempt 1/5 failed: terminated)',
      'downloaded english/model.safetensors (100.0 MiB, sha256 checked)',
      'verified english/tokenizer.model (57.9 KiB, sha256 matches the lock)',
      '',
    ])
  })

  it('draws a bar per file and a total on a terminal', () => {
    const {stream, text} = fakeStream(true)
    const progress = new DownloadProgress({stream})
    progress.handle({type: 'file-start', file: 'english/model.safetensors', size: 4 * MiB, resumedFrom: MiB})
    progress.handle({type: 'file-start', file: 'english/voices/alba.safetensors', size: MiB, resumedFrom: 0})
    progress.handle({type: 'file-progress', file: 'english/model.safetensors', done: 2 * MiB, total: 4 * MiB})
    progress.handle({type: 'file-done', file: 'english/voices/alba.safetensors', size: MiB, status: 'downloaded'})
    progress.stop()
    const out = text()
    expect(out).toContain('total')
    expect(out).toContain('english/model.safetensors')
    expect(out).toContain('english/voices/alba.safetensors')
  })

  it('says nothing when quiet (--json)', () => {
    const {stream, text} = fakeStream(false)
    const progress = new DownloadProgress({stream, quiet: true})
    progress.handle({type: 'notice', message: 'hello'})
    expect(text()).toBe('')
  })
})
