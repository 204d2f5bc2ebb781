import {cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {ORACLE} from './oracle.js'

/** `../shared/oracle4`: tiny upstream 4.0.1 checkpoints and upstream 4.0.1's text front-end outputs. */
export const ORACLE4 = join(dirname(ORACLE), 'oracle4')
export const hasOracle4 = existsSync(join(ORACLE4, 'text4.json'))

/**
 * A copy of one oracle4 family folder that a model loader can read. The shared folder's symlinks (to the 2.1.0
 * oracle's tokenizer and prompt) arrive as small text files holding the link's target, as git writes a symlink
 * where it cannot make one; the copy holds the files they point to.
 */
export function oracle4Family(name: string): string {
  const source = join(ORACLE4, name)
  const copy = join(mkdtempSync(join(tmpdir(), `pockettts-oracle4-${name}-`)), name)
  cpSync(source, copy, {recursive: true})
  for (const file of readdirSync(copy)) {
    const path = join(copy, file)
    if (!statSync(path).isFile() || statSync(path).size > 256) continue
    const target = resolve(source, readFileSync(path, 'utf8').trim())
    if (
      !/[\0\n]/.test(readFileSync(path, 'utf8').trim()) &&
      target !== resolve(source, file) &&
      existsSync(target) &&
      statSync(target).isFile()
    ) {
      writeFileSync(path, readFileSync(target))
    }
  }
  return copy
}
