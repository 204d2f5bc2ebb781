import {describe, expect, it} from 'vitest'
import {CACHED_STEP_BYTES, mainThreadCount} from '../../src/engine/main-threads.js'

const base = {cores: 2, mimiWorkerThreads: 1, int8StepFp32Mimi: false}

describe("mainThreadCount: the FlowLM's intra-op threads beside the Mimi worker", () => {
  it('gives a step streaming its weights from memory every core, and one small enough for the caches one thread', () => {
    expect(mainThreadCount({...base, stepBytes: 303_000_000})).toBe(2) // full size fp32
    expect(mainThreadCount({...base, stepBytes: 55_000_000})).toBe(2) // english_18m
    expect(mainThreadCount({...base, stepBytes: 17_000_000})).toBe(1) // english_7m
    expect(mainThreadCount({...base, stepBytes: CACHED_STEP_BYTES})).toBe(1)
    expect(mainThreadCount({...base, cores: 8, stepBytes: 4_000_000})).toBe(1) // english_2m on a larger machine too
    expect(mainThreadCount({...base, cores: 8, stepBytes: 303_000_000})).toBe(8)
  })

  it('leaves the worker its core for an int8 step beside an fp32 decoder; without a worker, or batched, uses every core', () => {
    expect(mainThreadCount({...base, int8StepFp32Mimi: true, stepBytes: 78_000_000})).toBe(1)
    expect(mainThreadCount({...base, cores: 8, int8StepFp32Mimi: true, stepBytes: 78_000_000})).toBe(7)
    expect(mainThreadCount({...base, mimiWorkerThreads: 0, stepBytes: 4_000_000})).toBe(2)
    expect(mainThreadCount({...base, stepBytes: null})).toBe(2)
  })
})
