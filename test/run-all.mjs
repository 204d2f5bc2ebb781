#!/usr/bin/env node
// `npm test`: builds and sets up the Python tooling side by side, then runs vitest, pytest and the linters side by
// side (pytest's and the linters' output is kept in .test-results/ and printed after vitest's), then prints the wall
// time of each phase and one closing line "total: N passed, N failed, N skipped" summed over the runners (each
// linter counts as one check).
import {spawn} from 'node:child_process'
import {createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const results = join(root, '.test-results')
rmSync(results, {recursive: true, force: true})
mkdirSync(results, {recursive: true})
const extra = process.argv.slice(2)
const started = Date.now()
const timings = []

/** Runs a command; its output goes to this terminal, or to `logFile` when given. Resolves to its exit code. */
function run(title, cmd, args, logFile, env) {
  const t0 = Date.now()
  process.stdout.write(`\n== ${title}: ${cmd} ${args.join(' ')}${logFile ? `  (output: ${logFile.slice(root.length + 1)})` : ''}\n`)
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {cwd: root, stdio: logFile ? ['ignore', 'pipe', 'pipe'] : 'inherit', env: {...process.env, ...env}})
    if (logFile) {
      const log = createWriteStream(logFile)
      child.stdout.pipe(log)
      child.stderr.pipe(log)
    }
    child.on('error', (error) => {
      process.stderr.write(`${title}: ${error.message}\n`)
      resolve(1)
    })
    child.on('close', (code) => {
      timings.push(`${title} ${((Date.now() - t0) / 1000).toFixed(1)} s`)
      resolve(code ?? 1)
    })
  })
}

const JS_LINTERS = [
  ['eslint', 'npx', ['eslint', '.']],
  ['prettier', 'npx', ['prettier', '--check', '.']],
]
const PY_LINTERS = [
  ['ruff check', join(root, '.venv/bin/ruff'), ['check', 'scripts']],
  ['ruff format', join(root, '.venv/bin/ruff'), ['format', '--check', 'scripts']],
]
const LINTER_COUNT = JS_LINTERS.length + PY_LINTERS.length
/** Linters one after the other (they are light), each into its own log; resolves to the names that failed. */
async function lint(linters) {
  const failed = []
  for (const [name, cmd, args] of linters) {
    const log = join(results, `lint-${name.replace(' ', '-')}.log`)
    if ((await run(`lint: ${name}`, cmd, args, log)) !== 0) {
      failed.push(name)
      process.stdout.write(`\n== ${name} found problems (run \`npm run lint:fix\` for the formatters):\n${readFileSync(log, 'utf8')}`)
    }
  }
  return failed
}

// The Python set-up (pip) keeps one core busy for about a minute: the build and the JavaScript linters use the other.
// The Debian packages (chromium for the browser tests) are installed when missing beside them.
const [[buildCode, jsLintFailed], setupCode, systemCode] = await Promise.all([
  run('build', 'npx', ['tsc', '-p', 'tsconfig.json']).then(async (code) => [code, await lint(JS_LINTERS)]),
  run('python set-up', 'bash', ['scripts/setup-python.sh']),
  run('system set-up', 'bash', ['scripts/setup-system.sh']),
])
const setupFailed = buildCode !== 0 || setupCode !== 0 || systemCode !== 0

const pytestLog = join(results, 'pytest.log')
// pytest's tmp_path folders and its jobs' temporary files go under one folder, removed at the end (vitest does the
// same in test/global-setup.ts)
const pytestTmp = mkdtempSync(join(tmpdir(), 'pockettts-pytest-run-'))

const [vitestCode, pytestCode, pyLintFailed] = await Promise.all([
  run('vitest', 'npx', [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile=${join(results, 'vitest.json')}`,
    ...extra,
  ]),
  run(
    'pytest',
    join(root, '.venv/bin/python'),
    [
      '-m',
      'pytest',
      'scripts/tests',
      '-q',
      '-p',
      'no:cacheprovider',
      `--basetemp=${join(pytestTmp, 'basetemp')}`,
      `--junitxml=${join(results, 'pytest.xml')}`,
    ],
    pytestLog,
    {TMPDIR: pytestTmp},
  ),
  lint(PY_LINTERS),
])
const lintFailed = [...jsLintFailed, ...pyLintFailed]
rmSync(pytestTmp, {recursive: true, force: true})
process.stdout.write(`\n== pytest output\n${existsSync(pytestLog) ? readFileSync(pytestLog, 'utf8') : '(none)\n'}`)

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
  add(
    'vitest',
    v.numPassedTests,
    v.numFailedTests + (v.numFailedTests === 0 && failedSuites > 0 ? failedSuites : 0),
    v.numPendingTests + v.numTodoTests,
  )
} else {
  add('vitest', 0, 1, 0)
}
if (existsSync(join(results, 'pytest.xml'))) {
  const xml = readFileSync(join(results, 'pytest.xml'), 'utf8')
  const attr = (name) => Number((xml.match(new RegExp(`<testsuite [^>]*?\\b${name}="(\\d+)"`)) ?? [])[1] ?? 0)
  const tests = attr('tests'),
    failures = attr('failures'),
    errors = attr('errors'),
    skipped = attr('skipped')
  add('pytest', tests - failures - errors - skipped, failures + errors, skipped)
} else {
  add('pytest', 0, 1, 0)
}
add('lint', LINTER_COUNT - lintFailed.length, lintFailed.length, 0)
if (setupFailed) total.failed += 1
console.log(`wall time: ${timings.join(', ')}; npm test ${((Date.now() - started) / 1000).toFixed(1)} s`)
console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`)
process.exit(total.failed > 0 || vitestCode !== 0 || pytestCode !== 0 || lintFailed.length > 0 || setupFailed ? 1 : 0)
