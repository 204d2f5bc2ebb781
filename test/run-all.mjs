#!/usr/bin/env node
// `npm test`: builds, sets up the Python tooling when needed, runs vitest and pytest, then prints one
// closing line "total: N passed, N failed, N skipped" summed over both runners.
import {spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, existsSync, rmSync} from 'node:fs'
import {join, dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const results = join(root, '.test-results')
rmSync(results, {recursive: true, force: true})
mkdirSync(results, {recursive: true})
const extra = process.argv.slice(2)

function run(title, cmd, args, opts = {}) {
  process.stdout.write(`\n== ${title}: ${cmd} ${args.join(' ')}\n`)
  const r = spawnSync(cmd, args, {cwd: root, stdio: 'inherit', ...opts})
  return r.status ?? 1
}

let setupFailed = false
if (run('build', 'npx', ['tsc', '-p', 'tsconfig.json']) !== 0) setupFailed = true
if (run('python set-up', 'bash', ['scripts/setup-python.sh']) !== 0) setupFailed = true

const vitestCode = run('vitest', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${join(results, 'vitest.json')}`, ...extra])
const pytestCode = run('pytest', join(root, '.venv/bin/python'), ['-m', 'pytest', 'scripts/tests', '-q', `--junitxml=${join(results, 'pytest.xml')}`])

const total = {passed: 0, failed: 0, skipped: 0}
function add(name, passed, failed, skipped) {
  total.passed += passed
  total.failed += failed
  total.skipped += skipped
  console.log(`${name}: ${passed} passed, ${failed} failed, ${skipped} skipped`)
}
console.log('')
if (existsSync(join(results, 'vitest.json'))) {
  const v = JSON.parse(readFileSync(join(results, 'vitest.json'), 'utf8'))
  const failedSuites = v.numFailedTestSuites ?? 0
  add('vitest', v.numPassedTests, v.numFailedTests + (v.numFailedTests === 0 && failedSuites > 0 ? failedSuites : 0), v.numPendingTests + v.numTodoTests)
} else {
  add('vitest', 0, 1, 0)
}
if (existsSync(join(results, 'pytest.xml'))) {
  const xml = readFileSync(join(results, 'pytest.xml'), 'utf8')
  const attr = (name) => Number((xml.match(new RegExp(`<testsuite [^>]*?\\b${name}="(\\d+)"`)) ?? [])[1] ?? 0)
  const tests = attr('tests'), failures = attr('failures'), errors = attr('errors'), skipped = attr('skipped')
  add('pytest', tests - failures - errors - skipped, failures + errors, skipped)
} else {
  add('pytest', 0, 1, 0)
}
if (setupFailed) total.failed += 1
console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`)
process.exit(total.failed > 0 || vitestCode !== 0 || pytestCode !== 0 || setupFailed ? 1 : 0)
