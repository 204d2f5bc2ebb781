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
