import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'

const ROOT = packageRoot()
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')

interface Violation {
  readonly rule: {readonly name: string}
  readonly from: string
  readonly to: string
}

/** Runs dependency-cruiser with the project's rules on `paths` (relative to `cwd`); its JSON summary. */
async function cruise(cwd: string, paths: readonly string[]): Promise<{violations: Violation[]; cruised: number}> {
  const run = await execa(process.execPath, [DEPCRUISE, ...paths, '--config', CONFIG, '--output-type', 'json'], {cwd, reject: false})
  if (run.stdout === '') throw new Error(`dependency-cruiser printed nothing (exit ${run.exitCode}):\n${run.stderr}`)
  const result = JSON.parse(run.stdout) as {summary: {violations: Violation[]; totalCruised: number}}
  return {violations: result.summary.violations, cruised: result.summary.totalCruised}
}

const brief = (v: Violation): string => `${v.rule.name}: ${v.from} -> ${v.to}`

describe('layering (.dependency-cruiser.cjs)', () => {
  it('src/ and commands/ have no import cycle, the runtime does not reach src/python or execa, nothing in src/ imports the CLI', async () => {
    const {violations, cruised} = await cruise(ROOT, ['src', 'commands'])
    expect(cruised).toBeGreaterThan(200) // the whole tree was read, not an empty selection
    expect(violations.map(brief)).toEqual([])
  })

  describe('the rules catch what they name (a small project with one fault of each kind)', () => {
    let work: string
    let found: string[]
    const files: Record<string, string> = {
      'package.json': JSON.stringify({name: 'layering-probe', type: 'module'}),
      'tsconfig.json': JSON.stringify({
        compilerOptions: {module: 'NodeNext', moduleResolution: 'NodeNext', strict: true},
        include: ['src/**/*.ts', 'commands/**/*.ts'],
      }),
      'node_modules/execa/package.json': JSON.stringify({name: 'execa', type: 'module', exports: './index.js'}),
      'node_modules/execa/index.js': 'export const execa = () => undefined\n',
      'src/python/run-job.ts': "import {execa} from 'execa'\nexport const runJob = execa\n",
      'src/model/index.ts': "export * from '../python/run-job.js'\nexport const readManifest = 1\n",
      // reaches src/python and execa only through the model barrel
      'src/engine/engine-model.ts': "import {readManifest} from '../model/index.js'\nexport const load = readManifest\n",
      'src/server/server.ts': "import {execa} from 'execa'\nexport const serve = execa\n",
      'commands/synth.ts': "import {load} from '../src/engine/engine-model.js'\nexport default load\n",
      // a cycle through a type-only import
      'src/voice/a.ts': "import {b} from './b.js'\nexport const a = b\nexport type A = number\n",
      'src/voice/b.ts': "import type {A} from './a.js'\nexport const b: A = 1\n",
      'src/cli/render-table.ts': 'export const renderTable = 1\n',
      'src/cli/base-command.ts': "import {renderTable} from './render-table.js'\nexport const base = renderTable\n",
      'src/parity/report.ts': "import {renderTable} from '../cli/render-table.js'\nexport const report = renderTable\n",
      'src/bench/run.ts': "import {runJob} from '../python/run-job.js'\nexport const bench = runJob\n",
    }
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'pockettts-layering-'))
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(work, path)), {recursive: true})
        await writeFile(join(work, path), text)
      }
      found = (await cruise(work, ['src', 'commands'])).violations.map(brief)
    })
    afterAll(async () => {
      await rm(work, {recursive: true, force: true})
    })

    it('no-circular: a cycle, also one closed by a type-only import (b.ts only imports a type of a.ts)', () => {
      expect(found.filter((v) => v.startsWith('no-circular:'))).toEqual([
        expect.stringMatching(/^no-circular: src\/voice\/[ab]\.ts -> src\/voice\/[ab]\.ts$/),
      ])
    })

    it('runtime-without-python: src/python and execa, reached directly or through other modules, from the runtime and synth/serve', () => {
      expect(found).toEqual(
        expect.arrayContaining([
          'runtime-without-python: src/engine/engine-model.ts -> src/python/run-job.ts',
          'runtime-without-python: src/engine/engine-model.ts -> node_modules/execa/index.js',
          'runtime-without-python: src/server/server.ts -> node_modules/execa/index.js',
          'runtime-without-python: commands/synth.ts -> node_modules/execa/index.js',
        ]),
      )
      // the Python side of the library (bench, model export) may use the job runner
      expect(found.filter((v) => v.includes('src/bench/') || v.includes('src/model/'))).toEqual([])
    })

    it('library-not-cli: src/ importing src/cli (the CLI itself may)', () => {
      expect(found).toContain('library-not-cli: src/parity/report.ts -> src/cli/render-table.ts')
      expect(found.filter((v) => v.startsWith('library-not-cli: src/cli/'))).toEqual([])
    })
  })
})
