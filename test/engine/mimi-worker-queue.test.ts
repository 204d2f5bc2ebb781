import {describe, expect, it} from 'vitest'
import type {MimiWorkerRequest} from '../../src/mimi/mimi-worker-protocol.js'
import {nextRequestIndex} from '../../src/mimi/mimi-worker-queue.js'

const latents = [new Float32Array(4)]
const decode = (stream: number, first = false): MimiWorkerRequest => ({kind: 'decode', stream, ids: [0], latents, first})

describe("the Mimi worker's queue: a stream's first call goes first, each stream's requests in order", () => {
  it('serves the oldest request when no first call waits', () => {
    expect(nextRequestIndex([decode(1), decode(2), decode(1)])).toBe(0)
    expect(nextRequestIndex([])).toBe(0)
  })

  it("serves a stream's first call before other streams' waiting calls, its open or reset before it", () => {
    expect(nextRequestIndex([decode(1), decode(1), decode(2, true)])).toBe(2)
    const waiting: MimiWorkerRequest[] = [decode(1), decode(1), {kind: 'reset', stream: 2}, decode(2, true)]
    expect(nextRequestIndex(waiting)).toBe(2)
    waiting.splice(2, 1)
    expect(nextRequestIndex(waiting)).toBe(2)
  })

  it("never passes the stream's own earlier calls, nor a shutdown", () => {
    // a first call after its own stream's waiting call (a reset between them): in order
    expect(nextRequestIndex([decode(2), {kind: 'reset', stream: 2}, decode(2, true)])).toBe(0)
    expect(nextRequestIndex([decode(1), {kind: 'shutdown'}, decode(2, true)])).toBe(0)
  })
})
