import {PassThrough} from 'node:stream'
import {stripVTControlCharacters} from 'node:util'
import {describe, expect, it} from 'vitest'
import {BatchProgress} from '../../src/cli/batch-progress.js'

function fakeStream(isTTY: boolean): {stream: NodeJS.WriteStream; text: () => string} {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & {isTTY: boolean; columns: number}
  stream.isTTY = isTTY
  stream.columns = 120
  const chunks: Buffer[] = []
  ;(stream as unknown as PassThrough).on('data', (c: Buffer) => chunks.push(c))
  // cli-progress moves the cursor on a terminal
  Object.assign(stream, {cursorTo: () => true, clearLine: () => true, moveCursor: () => true, clearScreenDown: () => true})
  return {stream, text: () => stripVTControlCharacters(Buffer.concat(chunks).toString())}
}

describe('BatchProgress', () => {
  it('writes a line per item with its rank and an ETA when stderr is not a terminal; failures with their code', () => {
    const {stream, text} = fakeStream(false)
    const progress = new BatchProgress({stream})
    progress.handle({type: 'planned', total: 5, skipped: 2, todo: 3})
    progress.handle({type: 'item-start', id: 'a'})
    progress.handle({type: 'item-end', id: 'a', ok: true, ended: 1, todo: 3})
    progress.handle({type: 'item-end', id: 'b', ok: false, ended: 2, todo: 3, code: 'VOICE_NOT_FOUND', message: 'no such voice'})
    progress.handle({type: 'item-end', id: 'c', ok: true, ended: 3, todo: 3})
    progress.stop()
    const lines = text().trimEnd().split('\n')
    expect(lines[0]).toBe('batch: 5 item(s); 2 already made (output present with its recorded sha256), 3 to make')
    expect(lines[1]).toMatch(/^\[1\/3\] a made \(ETA \d+ s\)$/)
    expect(lines[2]).toMatch(/^\[2\/3\] b FAILED VOICE_NOT_FOUND: no such voice \(ETA \d+ s\)$/)
    expect(lines[3]).toBe('[3/3] c made')
    expect(lines).toHaveLength(4)
  })

  it('draws one bar over the items to make, with the ETA, on a terminal', () => {
    const {stream, text} = fakeStream(true)
    const progress = new BatchProgress({stream})
    progress.handle({type: 'planned', total: 2, skipped: 0, todo: 2})
    progress.handle({type: 'item-end', id: 'first', ok: true, ended: 1, todo: 2})
    progress.handle({type: 'item-end', id: 'second', ok: true, ended: 2, todo: 2})
    progress.stop()
    expect(text()).toMatch(/batch \[[^\]]*\] 2\/2 \| ETA \S+ \| second/)
  })

  it('prints nothing when quiet', () => {
    const {stream, text} = fakeStream(false)
    const progress = new BatchProgress({stream, quiet: true})
    progress.handle({type: 'planned', total: 1, skipped: 0, todo: 1})
    progress.handle({type: 'item-end', id: 'a', ok: true, ended: 1, todo: 1})
    expect(text()).toBe('')
  })
})
