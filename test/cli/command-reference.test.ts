import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {packageRoot} from '../../src/config/project-paths.js'
// @ts-expect-error: a plain ESM script without type declarations
import {renderCommandReference} from '../../scripts/gen-command-reference.mjs'

describe('docs/commands.md', () => {
  it('is the current --help of every command (regenerate with `npm run docs:commands`)', async () => {
    const rendered = (await (renderCommandReference as () => Promise<string>)())
    expect(rendered).toContain('## `pockettts synth`')
    expect(await readFile(join(packageRoot(), 'docs', 'commands.md'), 'utf8')).toBe(rendered)
  })
})
