import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createHash} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {HOST_TAG, candidatePath, placeOutput, removeQueuedCandidates} from '../../src/batch/queue/queued-output.js'

const digest = (bytes: Buffer): {sha256: string; bytes: number} => ({
  sha256: createHash('sha256').update(bytes).digest('hex'),
  bytes: bytes.length,
})

/** The pid of a process that has exited (so no live process owns it for now). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], {stdio: 'ignore'})
  await new Promise((resolve) => child.on('exit', resolve))
  return child.pid ?? 999_999
}

describe('queued outputs in a shared folder', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pockettts-queued-'))
  })
  afterAll(async () => rm(dir, {recursive: true, force: true}))

  it('an output already in place with the same bytes is left untouched (same inode and mtime); other bytes replace it', async () => {
    const path = join(dir, 'item.wav')
    const bytes = Buffer.from('RIFF-same-audio')
    await writeFile(path, bytes)
    const before = await stat(path)
    const candidate = candidatePath(path)
    expect(candidate.startsWith(join(dir, `.item.wav.${HOST_TAG}-${process.pid}.`))).toBe(true)
    await writeFile(candidate, bytes)
    // mtime resolution: a rewrite would show
    await new Promise((r) => setTimeout(r, 20))
    expect(await placeOutput(candidate, path, digest(bytes))).toEqual({kept: true})
    const after = await stat(path)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
    expect(existsSync(candidate)).toBe(false)

    const other = Buffer.from('RIFF-other-audio')
    const second = candidatePath(path)
    await writeFile(second, other)
    expect(await placeOutput(second, path, digest(other))).toEqual({kept: false})
    expect(await readFile(path)).toEqual(other)
    expect(existsSync(second)).toBe(false)
  })

  it('temporary files of dead workers on this machine are removed; those of live ones or other machines only once every job has ended', async () => {
    const dead = await deadPid()
    const names = {
      deadHere: `.a.wav.${HOST_TAG}-${dead}.0123abcd.queued`,
      deadHereWriter: `..a.wav.${HOST_TAG}-${dead}.0123abcd.queued.${dead}.89abcdef.partial`,
      aliveHere: `.a.wav.${HOST_TAG}-${process.pid}.0123abcd.queued`,
      otherHost: `.a.wav.${HOST_TAG === 'ffffffff' ? 'eeeeeeee' : 'ffffffff'}-${dead}.0123abcd.queued`,
      otherFile: `.b.wav.${HOST_TAG}-${dead}.0123abcd.queued`,
      output: 'a.wav',
    }
    const sub = await mkdtemp(join(dir, 'clean-'))
    for (const name of Object.values(names)) await writeFile(join(sub, name), 'x')
    const files = new Set(['a.wav'])
    expect((await removeQueuedCandidates({dir: sub, files, all: false})).sort()).toEqual([names.deadHere, names.deadHereWriter].sort())
    expect((await removeQueuedCandidates({dir: sub, files, all: true})).sort()).toEqual([names.aliveHere, names.otherHost].sort())
    expect((await readdir(sub)).sort()).toEqual([names.otherFile, names.output].sort())
  })
})
