import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
// @ts-expect-error: a plain ESM script without type declarations
import {renderCliDoc, renderCommandReference, renderParityDoc} from '../../scripts/gen-docs.mjs'

const current = async (file: string): Promise<string> => readFile(join(packageRoot(), file), 'utf8')

describe('generated docs are current (regenerate with `npm run docs:generate`)', () => {
  it('docs/commands.md is the --help of every command', async () => {
    const rendered = await (renderCommandReference as () => Promise<string>)()
    expect(rendered).toContain('## `pockettts synth`')
    expect(await current('docs/commands.md')).toBe(rendered)
  })

  it('docs/parity.md shows the tolerance table of contracts/tolerances.json', async () => {
    const rendered = await (renderParityDoc as () => Promise<string>)()
    expect(rendered).toContain('| `frame_audio` | Mimi (teacher), audio (free) | atol 2e-4 |')
    expect(await current('docs/parity.md')).toBe(rendered)
  })

  it('docs/cli.md shows the exit codes of contracts/exit-codes.json', async () => {
    const rendered = await (renderCliDoc as () => Promise<string>)()
    expect(rendered).toContain('| 130 | `cancelled` |')
    expect(await current('docs/cli.md')).toBe(rendered)
  })
})
