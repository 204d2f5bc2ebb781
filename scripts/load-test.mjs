#!/usr/bin/env node
// Load test for `pockettts serve`, loopback only: starts the server as a child process on 127.0.0.1 (free
// port), drives POST /v1/audio/speech (pcm) with autocannon for a fixed time from N concurrent connections,
// and reports throughput, time to first audio (p50/p95/p99 of the 200 answers, measured per request at the
// first body byte), errors, /health latency during the load (event-loop responsiveness), the server's RSS and
// heap over the run, and an accounting of every request (nothing lost: each got an answer or was in flight
// when the clients stopped, and the server counted it as completed, cancelled or rejected).
//
//   npm run build && node scripts/load-test.mjs --model DIR --connections 4 --duration 30 [--json]
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {existsSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import autocannon from 'autocannon'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const LIMITS = {connections: [1, 64], duration: [1, 600], workers: [1, 16], queue: [0, 256]}

const {values: args} = parseArgs({
  options: {
    model: {type: 'string'},
    connections: {type: 'string', default: '4'},
    duration: {type: 'string', default: '30'},
    workers: {type: 'string', default: '1'},
    queue: {type: 'string'},
    threads: {type: 'string'},
    text: {type: 'string', default: 'Hello world. This is a load test of the Pocket TTS server.'},
    seed: {type: 'string'},
    'no-batching': {type: 'boolean', default: false},
    'mimi-worker': {type: 'boolean', default: false},
    json: {type: 'boolean', default: false},
    help: {type: 'boolean', default: false},
  },
})
if (args.help) {
  console.log(
    'node scripts/load-test.mjs [--model DIR] [--connections N<=64] [--duration S<=600] [--workers N] ' +
      '[--queue N] [--threads N] [--text T] [--seed N] [--no-batching] [--mimi-worker] [--json]',
  )
  process.exit(0)
}
const bounded = (name, raw) => {
  const value = Number(raw)
  const [min, max] = LIMITS[name]
  if (!Number.isInteger(value) || value < min || value > max) fail(`--${name} must be a whole number from ${min} to ${max} (got ${raw}).`)
  return value
}
const connections = bounded('connections', args.connections)
const duration = bounded('duration', args.duration)
const workers = bounded('workers', args.workers)
const queue = bounded('queue', args.queue ?? String(Math.max(16, connections)))
const model = resolve(args.model ?? join(root, 'fixtures', 'tiny-onnx'))
if (!existsSync(join(root, 'dist', 'commands', 'serve.js'))) fail('dist/ is missing: run `npm run build` first.')
if (!existsSync(join(model, 'manifest.json'))) fail(`${model} is not an exported model folder (no manifest.json); pass --model DIR.`)

const say = (line) => (args.json ? process.stderr : process.stdout).write(`${line}\n`)

// 1. The server, loopback only.
const serveArgs = [
  'serve',
  '--host',
  '127.0.0.1',
  '--port',
  '0',
  '--model',
  model,
  '--workers',
  String(workers),
  '--queue',
  String(queue),
  '--log-level',
  'info',
]
if (args.threads !== undefined) serveArgs.push('--threads', args.threads)
// --no-batching: each generation runs its own FlowLM steps, interleaved (the server before batched steps)
if (args['no-batching']) serveArgs.push('--no-batching')
if (args['mimi-worker']) serveArgs.push('--mimi-worker')
const seed = args.seed === undefined ? undefined : Number(args.seed)
if (seed !== undefined && !Number.isInteger(seed)) fail(`--seed must be a whole number (got ${args.seed}).`)
const server = spawn(process.execPath, [join(root, 'bin', 'run.js'), ...serveArgs], {stdio: ['ignore', 'ignore', 'pipe']})
const exited = once(server, 'exit')
let stderrTail = ''
const url = await new Promise((resolveUrl, reject) => {
  server.stderr.on('data', (chunk) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-20_000)
    const match = /"event":"ready","url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderrTail)
    if (match) resolveUrl(match[1])
  })
  exited.then(([code]) => reject(new Error(`the server exited (${code}) before it was ready:\n${stderrTail}`)))
})
const batching = /"event":"ready"[^\n]*"batching":true/.test(stderrTail)
say(`server: ${url} (model ${model}, workers ${workers}, queue ${queue}, batching ${batching ? 'on' : 'off'})`)

try {
  const voices = await (await fetch(`${url}/voices`)).json()
  const voice = voices.default
  if (voice === null) throw new Error('the model has no voice')
  // --seed: every request makes the same audio (comparable runs: a random-weight model stops at random steps)
  const body = JSON.stringify({model: 'pocket-tts', input: args.text, voice, response_format: 'pcm', ...(seed === undefined ? {} : {seed})})
  const post = () =>
    fetch(`${url}/v1/audio/speech`, {method: 'POST', headers: {'content-type': 'application/json'}, body}).then((r) => r.arrayBuffer())

  // 2. Warm-up (first-use allocations), then the baseline.
  for (let i = 0; i < 3; i += 1) await post()
  const before = await scrape(url)

  // 3. Probes during the load: /health latency every 250 ms, server RSS every second.
  const health = []
  const rss = [{t: 0, bytes: before.rss, heap: before.heap}]
  const started = performance.now()
  let probing = true
  const healthProbe = (async () => {
    while (probing) {
      const t0 = performance.now()
      const res = await fetch(`${url}/health`)
      await res.arrayBuffer()
      health.push(performance.now() - t0)
      await sleep(250)
    }
  })()
  const rssProbe = (async () => {
    while (probing) {
      await sleep(1000)
      if (!probing) break
      const sample = await scrape(url)
      rss.push({t: (performance.now() - started) / 1000, bytes: sample.rss, heap: sample.heap})
    }
  })()

  // 4. The load: autocannon, one request at a time per connection; TTFA = first body byte - request sent.
  const ttfa = []
  const total = []
  const statuses = new Map()
  let sent = 0
  let outstanding = 0
  const result = await autocannon({
    url: `${url}/v1/audio/speech`,
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body,
    connections,
    duration,
    pipelining: 1,
    timeout: 120,
    setupClient(client) {
      let t0 = 0
      let first = 0
      let pending = false
      client.on('request', () => {
        sent += 1
        if (!pending) outstanding += 1
        pending = true
        t0 = performance.now()
        first = 0
      })
      client.on('body', () => {
        if (first === 0) first = performance.now()
      })
      client.on('response', (status) => {
        pending = false
        outstanding -= 1
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
        if (status !== 200) return
        ttfa.push(first - t0)
        total.push(performance.now() - t0)
      })
    },
  })
  const elapsed = (performance.now() - started) / 1000
  probing = false
  await Promise.all([healthProbe, rssProbe])
  // Let the server notice the connections autocannon closed, then read its counters.
  let after = await scrape(url)
  for (let i = 0; i < 200 && after.active + after.queued > 0; i += 1) {
    await sleep(50)
    after = await scrape(url)
  }
  rss.push({t: elapsed, bytes: after.rss, heap: after.heap})

  const ok = statuses.get(200) ?? 0
  const answered = [...statuses.values()].reduce((a, b) => a + b, 0)
  const serverCompleted = after.completed - before.completed
  const serverCancelled = after.cancelled - before.cancelled
  const serverRejected = after.rejected - before.rejected
  const audioSeconds = after.audioSeconds - before.audioSeconds
  const lost = sent - answered - outstanding
  const report = {
    machine: {cpus: (await import('node:os')).cpus().length, node: process.version},
    model,
    connections,
    durationSeconds: duration,
    workers,
    queue,
    batching,
    seed: seed ?? null,
    text: args.text,
    requests: {sent, answered, ok, byStatus: Object.fromEntries(statuses), inFlightAtStop: outstanding, lost},
    errors: {connection: result.errors, timeouts: result.timeouts, non2xx: result.non2xx},
    throughput: {
      requestsPerSecond: ok / elapsed,
      audioSecondsPerSecond: audioSeconds / elapsed,
      audioSecondsPerRequest: ok === 0 ? 0 : audioSeconds / ok,
    },
    ttfaMs: percentiles(ttfa),
    responseMs: percentiles(total),
    healthMs: percentiles(health),
    server: {
      completed: serverCompleted,
      cancelled: serverCancelled,
      rejected: serverRejected,
      // the server process's CPU time (every thread: onnxruntime's, the Mimi worker's) per completed generation
      cpuSecondsPerCompleted: serverCompleted === 0 ? null : (after.cpuSeconds - before.cpuSeconds) / serverCompleted,
    },
    rssMb: {
      before: mb(before.rss),
      after: mb(after.rss),
      max: mb(Math.max(...rss.map((s) => s.bytes))),
      slopeMbPerMinute: (slope(rss, 'bytes') * 60) / 2 ** 20,
      samples: rss.length,
    },
    heapMb: {
      before: mb(before.heap),
      after: mb(after.heap),
      max: mb(Math.max(...rss.map((s) => s.heap))),
      slopeMbPerMinute: (slope(rss, 'heap') * 60) / 2 ** 20,
    },
    rssSamplesMb: rss.map((s) => mb(s.bytes)),
    checks: {
      // Every request sent got an answer, or was still in flight when the clients stopped.
      nothingLost: lost === 0,
      // The server accounts for every request sent: completed, cancelled by the client leaving, or rejected.
      serverAccountsForEverySent: serverCompleted + serverCancelled + serverRejected === sent,
      // Every answer the client saw as complete was a completed generation on the server.
      everyOkCompletedOnServer: serverCompleted >= ok,
    },
  }
  if (args.json) console.log(JSON.stringify(report, null, 2))
  else printReport(report)
  process.exitCode = Object.values(report.checks).every(Boolean) && result.errors === 0 && result.timeouts === 0 ? 0 : 1
} finally {
  server.kill('SIGTERM')
  await exited
}

async function scrape(base) {
  const text = await (await fetch(`${base}/metrics`)).text()
  const sum = (prefix) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
  return {
    rss: sum('pockettts_process_resident_memory_bytes'),
    active: sum('pockettts_active_generations'),
    queued: sum('pockettts_queue_depth'),
    completed: sum('pockettts_generations_total{route="/v1/audio/speech",outcome="completed"}'),
    cancelled: sum('pockettts_generations_total{route="/v1/audio/speech",outcome="cancelled"}') + sum('pockettts_queue_abandoned_total'),
    heap: sum('pockettts_nodejs_heap_size_used_bytes'),
    rejected: sum('pockettts_rejected_requests_total'),
    audioSeconds: sum('pockettts_audio_seconds_total{route="/v1/audio/speech"}'),
    cpuSeconds: sum('pockettts_process_cpu_seconds_total'),
  }
}

function percentiles(values) {
  if (values.length === 0) return {count: 0, p50: null, p95: null, p99: null, max: null}
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)])
  return {count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted.at(-1))}
}

/** Least-squares slope of a sampled quantity (per second). */
function slope(samples, key) {
  const n = samples.length
  if (n < 2) return 0
  const mt = samples.reduce((a, s) => a + s.t, 0) / n
  const mv = samples.reduce((a, s) => a + s[key], 0) / n
  const num = samples.reduce((a, s) => a + (s.t - mt) * (s[key] - mv), 0)
  const den = samples.reduce((a, s) => a + (s.t - mt) ** 2, 0)
  return den === 0 ? 0 : num / den
}

function mb(bytes) {
  return round(bytes / 2 ** 20)
}

function round(x) {
  return Math.round(x * 10) / 10
}

function printReport(r) {
  const q = (p) => `p50 ${p.p50} / p95 ${p.p95} / p99 ${p.p99} / max ${p.max} ms (n=${p.count})`
  console.log(
    `load: ${r.connections} connections for ${r.durationSeconds} s, workers ${r.workers}, queue ${r.queue}, ${r.machine.cpus} CPUs, Node ${r.machine.node}`,
  )
  console.log(
    `requests: ${r.requests.sent} sent, ${r.requests.ok} ok, by status ${JSON.stringify(r.requests.byStatus)}, ` +
      `${r.requests.inFlightAtStop} in flight at stop, ${r.requests.lost} lost`,
  )
  console.log(`errors: ${r.errors.connection} connection, ${r.errors.timeouts} timeouts, ${r.errors.non2xx} non-2xx`)
  console.log(
    `throughput: ${r.throughput.requestsPerSecond.toFixed(2)} req/s, ${r.throughput.audioSecondsPerSecond.toFixed(2)} ` +
      `s of audio per s (${r.throughput.audioSecondsPerRequest.toFixed(2)} s per request)`,
  )
  console.log(`time to first audio: ${q(r.ttfaMs)}`)
  console.log(`full response:       ${q(r.responseMs)}`)
  console.log(`/health under load:  ${q(r.healthMs)}`)
  console.log(
    `server RSS: ${r.rssMb.before} MB before, ${r.rssMb.after} MB after, max ${r.rssMb.max} ` +
      `MB, slope ${r.rssMb.slopeMbPerMinute.toFixed(2)} MB/min over ${r.rssMb.samples} ` +
      `samples`,
  )
  console.log(
    `server heap: ${r.heapMb.before} MB before, ${r.heapMb.after} MB after, max ${r.heapMb.max} MB, slope ${r.heapMb.slopeMbPerMinute.toFixed(2)} MB/min`,
  )
  console.log(
    `server: ${r.server.completed} completed, ${r.server.cancelled} cancelled (in flight at stop: generating or queued), ${r.server.rejected} rejected`,
  )
  console.log(
    `server CPU: ${r.server.cpuSecondsPerCompleted === null ? '-' : r.server.cpuSecondsPerCompleted.toFixed(3)} s per completed request (every thread)`,
  )
  console.log(
    `checks: ${Object.entries(r.checks)
      .map(([k, v]) => `${k} ${v ? 'ok' : 'FAILED'}`)
      .join(', ')}`,
  )
}

function fail(message) {
  console.error(`load-test: ${message}`)
  process.exit(2)
}
