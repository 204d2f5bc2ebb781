import {describe, expect, it} from 'vitest'
import {decodeFailure, encodeFailure, jobIdOf} from '../../src/batch/queue/queue-job.js'
import {parseQueueUrl} from '../../src/batch/queue/queue-url.js'
import {PocketTtsError} from '../../src/errors/index.js'

describe('parseQueueUrl', () => {
  it('reads host, port, credentials, database and TLS; the printable form hides the password', () => {
    expect(parseQueueUrl('redis://127.0.0.1:6380')).toMatchObject({host: '127.0.0.1', port: 6380, redis: {host: '127.0.0.1', port: 6380}})
    expect(parseQueueUrl('redis://queue-host').port).toBe(6379)
    const full = parseQueueUrl('rediss://worker:s%40cret@queue-host:7000/3')
    expect(full.redis).toEqual({host: 'queue-host', port: 7000, username: 'worker', password: 's@cret', db: 3, tls: {}})
    expect(full.display).toBe('rediss://worker:***@queue-host:7000/3')
    expect(parseQueueUrl('redis://[::1]:6379').redis.host).toBe('::1')
  })

  it.each([
    ['localhost:6379', 'scheme'],
    ['http://localhost:6379', 'scheme'],
    ['not a url', 'does not parse'],
    ['redis://host:6379/queue', 'database number'],
    ['redis://host:6379?x=1', 'query'],
  ])('%s is BATCH_QUEUE_URL_INVALID (%s), without the password in the message', (text, why) => {
    let error: unknown
    try {
      parseQueueUrl(text)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(PocketTtsError)
    expect((error as PocketTtsError).code).toBe('BATCH_QUEUE_URL_INVALID')
    expect((error as PocketTtsError).exitCode).toBe(2)
    expect((error as PocketTtsError).message).toContain(why)
  })

  it('never prints a password of an invalid URL', () => {
    expect(() => parseQueueUrl('http://user:hunter2@host:1')).toThrow(/user:\*\*\*@host/)
  })
})

describe('queue jobs', () => {
  it('job id = item id; an all-digit id (refused by BullMQ) gets a #', () => {
    expect(jobIdOf('greeting.v2')).toBe('greeting.v2')
    expect(jobIdOf('0042')).toBe('#0042')
    expect(jobIdOf('42a')).toBe('42a')
  })

  it('a failure survives the trip through the job failed reason, hint included', () => {
    const failure = {code: 'VOICE_NOT_FOUND', message: 'No voice "x".', hint: 'Pass a voice of the model.'}
    expect(decodeFailure(encodeFailure(failure))).toEqual(failure)
    expect(decodeFailure(encodeFailure({code: 'A_B', message: 'm'}))).toEqual({code: 'A_B', message: 'm'})
    expect(decodeFailure('job stalled more than allowable limit').code).toBe('WORKER_STALLED')
    expect(decodeFailure('something else')).toEqual({code: 'JOB_FAILED', message: 'something else'})
  })
})
