import {existsSync} from 'node:fs'
import {readdir, stat, statfs} from 'node:fs/promises'
import {dirname, join, relative} from 'node:path'
import {PrerequisiteError, UsageError} from '../errors/index.js'
import {assertConfigFilesConfined} from '../upstream/config-file-names.js'

const MiB = 1024 ** 2

/** The source must be a folder with config.yaml (the Python side checks the rest, with typed errors). */
export async function checkSource(from: string): Promise<void> {
  if (!existsSync(from) || !(await stat(from)).isDirectory()) {
    throw new UsageError({
      code: 'MODEL_SOURCE_NOT_FOUND',
      message: `No model folder at ${from}.`,
      hint: 'Pass --from a folder in the upstream format (config.yaml, model.safetensors, tokenizer.model).',
    })
  }
  if (!existsSync(join(from, 'config.yaml'))) {
    throw new UsageError({
      code: 'MODEL_CONFIG_MISSING',
      message: `${from} has no config.yaml.`,
      hint: 'A model folder in the upstream format holds config.yaml beside the checkpoint and the tokenizer.',
    })
  }
  await assertConfigFilesConfined(from)
}

/** `out` must not overlap the source, and may exist only with --force. */
export async function checkOut(p: {readonly from: string; readonly out: string; readonly force: boolean}): Promise<void> {
  const inside = (child: string, root: string): boolean => {
    const rel = relative(root, child)
    return rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'))
  }
  if (inside(p.from, p.out) || inside(p.out, p.from)) {
    throw new UsageError({
      code: 'EXPORT_OUT_OVERLAPS',
      message: `The output folder ${p.out} and the model folder ${p.from} overlap.`,
      hint: 'Export to a folder outside the model folder, e.g. models/<name>-onnx.',
    })
  }
  if (existsSync(p.out) && !p.force) {
    throw new UsageError({
      code: 'EXPORT_OUT_EXISTS',
      message: `${p.out} already exists.`,
      hint: 'Pass --force to replace it, or choose another --out.',
      details: {out: p.out},
    })
  }
}

/** The graphs hold every weight in fp32 (checkpoints may be bf16): ask for three times the largest checkpoint. */
export async function checkDiskSpace(p: {
  readonly from: string
  readonly out: string
  /** Free bytes at a folder. @default statfs */
  readonly freeBytes?: (dir: string) => Promise<number>
}): Promise<void> {
  const {from, out} = p
  const sizes = await Promise.all(
    (await readdir(from)).filter((f) => f.endsWith('.safetensors')).map(async (f) => (await stat(join(from, f))).size),
  )
  const needed = 3 * Math.max(0, ...sizes) + 64 * MiB
  let dir = dirname(out)
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir)
  const free = await (p.freeBytes ?? statfsFree)(dir)
  if (free < needed) {
    throw new PrerequisiteError({
      code: 'DISK_FULL',
      message: `Not enough disk space at ${dir}: the export needs about ${Math.ceil(needed / MiB)} MiB, ${Math.floor(free / MiB)} MiB are free.`,
      hint: 'Free some space or pass an --out on another disk.',
      details: {neededBytes: needed, freeBytes: free, dir},
    })
  }
}

async function statfsFree(dir: string): Promise<number> {
  const info = await statfs(dir)
  return info.bavail * info.bsize
}
