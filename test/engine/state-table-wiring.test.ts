import {existsSync} from 'node:fs'
import {cp, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
import type {ExportManifest, StateLink} from '../../src/model/manifest-types.js'
import {runCli} from '../helpers/cli.js'
import {VENV_PYTHON} from '../helpers/python.js'

const FIXTURE = join(packageRoot(), 'fixtures', 'tiny-onnx')

/** Renames graph inputs of an ONNX file in place (every node reading them follows, inside If branches too). */
const RENAME_INPUTS = `
import json, sys
import onnx
path, mapping = sys.argv[1], json.loads(sys.argv[2])
model = onnx.load(path)
for value in model.graph.input:
    value.name = mapping.get(value.name, value.name)
def follow(graph):
    for node in graph.node:
        node.input[:] = [mapping.get(name, name) for name in node.input]
        for attribute in node.attribute:
            if attribute.HasField("g"):
                follow(attribute.g)
follow(model.graph)
onnx.checker.check_model(model)
onnx.save(model, path)
`

describe("the engine chains flow_lm_main's KV cache through the manifest's state table, not by input name", () => {
  let work: string
  const synth = async (model: string, out: string) => {
    const run = await runCli(['synth', 'State by table.', '--model', model, '--out', out, '--seed', '5'])
    expect(run.exitCode, run.stderr).toBe(0)
    return readFile(out)
  }
  /** A copy of the fixture export whose flow_lm_main inputs past_k.0 and past_k.1 trade names; `relink`: the manifest follows. */
  const swapped = async (name: string, relink: boolean): Promise<string> => {
    const dir = join(work, name)
    await cp(FIXTURE, dir, {recursive: true})
    await execa(VENV_PYTHON, [
      '-c',
      RENAME_INPUTS,
      join(dir, 'flow_lm_main.onnx'),
      JSON.stringify({'past_k.0': 'past_k.1', 'past_k.1': 'past_k.0'}),
    ])
    if (relink) {
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
      const main = manifest.graphs['flow_lm_main']!
      const state = main.state.map((l): StateLink =>
        l.input === 'past_k.0' ? {...l, index: [1, 0]} : l.input === 'past_k.1' ? {...l, index: [0, 0]} : l,
      )
      await writeFile(
        join(dir, 'manifest.json'),
        JSON.stringify({...manifest, graphs: {...manifest.graphs, flow_lm_main: {...main, state}}}),
      )
    }
    return dir
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pockettts-state-table-'))
  })
  afterAll(async () => {
    await rm(work, {recursive: true, force: true})
  })

  it('inputs renamed against the convention and relinked in the table: the same audio as the shipped export', async () => {
    const reference = await synth(FIXTURE, join(work, 'reference.wav'))
    const relinked = await synth(await swapped('relinked', true), join(work, 'relinked.wav'))
    expect(relinked.equals(reference)).toBe(true)
    // the control: the same renamed graph with the table left as it was is fed the wrong layers' keys
    const stale = await synth(await swapped('stale', false), join(work, 'stale.wav'))
    expect(stale.equals(reference)).toBe(false)
  })

  it('an export whose table this runtime cannot chain (a single time-major past_kv link) is refused at load, naming the link', async () => {
    const dir = join(work, 'single-past-kv')
    await cp(FIXTURE, dir, {recursive: true})
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest
    const main = manifest.graphs['flow_lm_main']!
    const state: StateLink[] = [
      {input: 'past_k.0', output: 'new_kv', kind: 'append', init: 'empty', axis: 0},
      ...main.state.filter((l) => l.kind === 'replace'),
    ]
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({...manifest, graphs: {...manifest.graphs, flow_lm_main: {...main, state}}}))
    const out = join(work, 'refused.wav')
    const run = await runCli(['synth', 'Refused.', '--model', dir, '--out', out])
    expect(run.exitCode).toBe(3)
    expect(run.stderr).toContain(
      "Error [STATE_TABLE_UNSUPPORTED]: flow_lm_main's state table (manifest graphs.flow_lm_main.state) is " +
        'not one this runtime chains: link past_k.0 <- new_kv: an append link needs an index',
    )
    expect(existsSync(out)).toBe(false)
  })
})
