import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {checkGatedRepo} from '../../src/doctor/check-hub.js'
import type {DoctorReport} from '../../src/doctor/index.js'
import {runCli} from '../helpers/cli.js'
import {startFakePocketHub, syntheticFiles, TOKENS} from '../helpers/fake-pocket-hub.js'
import {startLocalHub, type LocalHub} from '../helpers/local-hub.js'

describe('doctor: can the token reach the gated weights', () => {
  let hub: LocalHub
  beforeAll(async () => {
    hub = await startFakePocketHub(syntheticFiles())
  })
  afterAll(async () => hub.close())

  it('is left out without a token', async () => {
    expect(await checkGatedRepo({endpoint: hub.url})).toBeNull()
  })

  it('passes for a token whose account accepted the terms, with one HEAD request', async () => {
    const before = hub.requests.length
    const check = await checkGatedRepo({endpoint: hub.url, token: TOKENS.accepted})
    expect(check).toMatchObject({id: 'hub.gated', status: 'pass', required: false})
    expect(hub.requests.slice(before).map((r) => r.method)).toEqual(['HEAD'])
  })

  it('warns (403) with the two ways out when the terms are not accepted', async () => {
    const check = await checkGatedRepo({endpoint: hub.url, token: TOKENS.notAccepted})
    expect(check).toMatchObject({status: 'warn', required: false})
    expect(check?.detail).toContain('403')
    expect(check?.hint).toContain('accept the terms')
    expect(check?.hint).toContain('--allow-no-cloning')
  })

  it('fails, never required, when the hub rejects the token (401)', async () => {
    const check = await checkGatedRepo({endpoint: hub.url, token: 'hf_unknown'})
    expect(check).toMatchObject({status: 'fail', required: false})
    expect(check?.detail).toContain('401')
  })

  it('warns and moves on when the hub is down or does not answer', async () => {
    const down = await startLocalHub({repos: {}})
    await down.close()
    const refused = await checkGatedRepo({endpoint: down.url, token: TOKENS.accepted})
    expect(refused).toMatchObject({status: 'warn', required: false})
    expect(refused?.detail).toContain('ECONNREFUSED')
    const silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const port = (silent.address() as AddressInfo).port
      const timedOut = await checkGatedRepo({endpoint: `http://127.0.0.1:${port}`, token: TOKENS.accepted, timeoutMs: 200})
      expect(timedOut).toMatchObject({status: 'warn', required: false})
      expect(timedOut?.detail).toContain('no answer within 200 ms')
    } finally {
      silent.closeAllConnections()
      silent.close()
    }
  })

  it('`pockettts doctor` shows the row for HF_TOKEN and stays ready for synth when the token is refused', async () => {
    const run = await runCli(['doctor', '--json'], {env: {HF_TOKEN: TOKENS.notAccepted, POCKETTTS_HUB_ENDPOINT: hub.url}})
    expect(run.exitCode, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout) as DoctorReport
    expect(report.ok).toBe(true)
    expect(report.checks.find((c) => c.id === 'hub.gated')).toMatchObject({status: 'warn', required: false})
  })
})
