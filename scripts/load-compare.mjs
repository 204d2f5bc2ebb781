#!/usr/bin/env node
// Batched steps vs interleaved generations in `pockettts serve`, in one invocation: for each connection count,
// runs scripts/load-test.mjs twice (batched, then --no-batching; the order alternates per round so neither mode
// always runs on the warmer or quieter machine), --workers = connections, the same seeded request for every run,
// and prints a markdown table (throughput, first-audio p50/p95) with the load average before each run.
//
//   (the export made with `model export --batched`)
//   npm run build && node scripts/load-compare.mjs --model models/bench/full-onnx --duration 30 [--connections 1,2,4,8] [--json]
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {loadavg, cpus} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const {values: args} = parseArgs({
  options: {
    model: {type: 'string'},
    connections: {type: 'string', default: '1,2,4,8'},
    duration: {type: 'string', default: '30'},
    seed: {type: 'string', default: '19'},
    text: {type: 'string'},
    // passed to both modes' servers, so the comparison stays fair
    threads: {type: 'string'},
    'mimi-worker': {type: 'boolean', default: false},
    json: {type: 'boolean', default: false},
    help: {type: 'boolean', default: false},
  },
})
if (args.help) {
  console.log(
    'node scripts/load-compare.mjs [--model DIR] [--connections 1,2,4,8] [--duration S] [--seed N] [--text T] [--threads N] [--mimi-worker] [--json]',
  )
  process.exit(0)
}
const counts = args.connections.split(',').map(Number)
if (counts.some((c) => !Number.isInteger(c) || c < 1 || c > 64)) {
  console.error(`--connections must list whole numbers from 1 to 64 (got ${args.connections}).`)
  process.exit(2)
}

const rows = []
for (const [round, connections] of counts.entries()) {
  const modes = round % 2 === 0 ? [true, false] : [false, true]
  for (const batched of modes) {
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')
    const report = await loadTest(connections, batched)
    const row = {
      connections,
      mode: batched ? 'batched' : 'interleaved',
      loadAverage: load,
      requestsPerSecond: report.throughput.requestsPerSecond,
      audioSecondsPerSecond: report.throughput.audioSecondsPerSecond,
      ttfaP50: report.ttfaMs.p50,
      ttfaP95: report.ttfaMs.p95,
      ok: report.requests.ok,
      errors: report.errors.connection + report.errors.timeouts + report.errors.non2xx,
      rssMaxMb: report.rssMb.max,
      // the server's CPU time per completed request (all its threads): what sets throughput once the cores are full
      cpuSecondsPerRequest: report.server.cpuSecondsPerCompleted,
      batchingOn: report.batching,
    }
    rows.push(row)
    process.stderr.write(`${JSON.stringify(row)}\n`)
  }
}

if (args.json) console.log(JSON.stringify({machine: machineLine(), rows}, null, 2))
else {
  console.log(`machine: ${machineLine()}`)
  console.log(
    '| connections | mode | req/s | audio s/s | first audio p50 (ms) | p95 (ms) | requests ok | errors | server CPU s/request | server RSS max (MB) | load avg before |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    console.log(
      `| ${r.connections} | ${r.mode} | ${r.requestsPerSecond.toFixed(2)} | ${r.audioSecondsPerSecond.toFixed(2)} ` +
        `| ${r.ttfaP50} | ${r.ttfaP95} | ${r.ok} | ${r.errors} | ${r.cpuSecondsPerRequest?.toFixed(3) ?? '-'} | ${r.rssMaxMb} | ${r.loadAverage} ` +
        `|`,
    )
  }
}

function machineLine() {
  const cpu = cpus()
  return `${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}`
}

async function loadTest(connections, batched) {
  const argv = [
    join(root, 'scripts', 'load-test.mjs'),
    '--connections',
    String(connections),
    '--workers',
    String(connections),
    '--duration',
    args.duration,
    '--seed',
    args.seed,
    '--json',
    ...(args.model === undefined ? [] : ['--model', args.model]),
    ...(args.text === undefined ? [] : ['--text', args.text]),
    ...(args.threads === undefined ? [] : ['--threads', args.threads]),
    ...(args['mimi-worker'] ? ['--mimi-worker'] : []),
    ...(batched ? [] : ['--no-batching']),
  ]
  const child = spawn(process.execPath, argv, {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk.toString()))
  const [code] = await once(child, 'exit')
  try {
    return JSON.parse(out)
  } catch {
    throw new Error(`load-test.mjs (${connections} connections, ${batched ? 'batched' : 'interleaved'}) exited ${code} without a report`)
  }
}
