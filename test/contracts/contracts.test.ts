import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {createGenerator} from 'ts-json-schema-generator'
import {describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'

const root = packageRoot()

/** What `npm run contracts:generate` writes for a type (the CLI sorts the keys: compared as JSON values). */
function generated(path: string, type: string): unknown {
  return createGenerator({path: join(root, path), type, tsconfig: join(root, 'tsconfig.json')}).createSchema(type)
}

const committed = async (name: string): Promise<unknown> => JSON.parse(await readFile(join(root, 'contracts', name), 'utf8'))

describe('contracts/*.schema.json are generated from the TypeScript types (`npm run contracts:generate`)', () => {
  it('manifest.schema.json is current with src/model/manifest-types.ts', async () => {
    expect(await committed('manifest.schema.json')).toEqual(generated('src/model/manifest-types.ts', 'ExportManifest'))
  })

  it('export-result.schema.json is current with ExportModelResult', async () => {
    expect(await committed('export-result.schema.json')).toEqual(generated('src/model/export-model.ts', 'ExportModelResult'))
  })
})

describe('contractProblems (ajv against contracts/*.schema.json)', () => {
  it('passes the committed export manifest and places each problem at its graph or at the top', async () => {
    const {contractProblems} = await import('../../src/model/validate-manifest.js')
    const manifest = JSON.parse(await readFile(join(root, 'fixtures', 'tiny-onnx', 'manifest.json'), 'utf8')) as Record<string, unknown> & {
      graphs: Record<string, {inputs: Array<{dtype: string}>}>
      files: Array<{sha256: unknown}>
    }
    expect(contractProblems('manifest', manifest)).toEqual({top: [], graphs: {}})
    manifest.graphs['flow_lm_main']!.inputs[0]!.dtype = 'float16'
    manifest.files[0]!.sha256 = 42
    manifest['surprise'] = true
    const problems = contractProblems('manifest', manifest)
    expect(Object.keys(problems.graphs)).toEqual(['flow_lm_main'])
    expect(problems.graphs['flow_lm_main']!.join('\n')).toContain(
      '/graphs/flow_lm_main/inputs/0/dtype: must be equal to one of the allowed values',
    )
    expect(problems.top).toEqual(
      expect.arrayContaining(['/files/0/sha256: must be string', '/: must NOT have additional properties (surprise)']),
    )
    expect(contractProblems('export-result', {out: 'x'}).top[0]).toContain('must have required property')
  })
})
