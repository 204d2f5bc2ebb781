import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import type {TextCommandResult} from '../../commands/text.js'
import {packageRoot} from '../../src/config/project-paths.js'
import {CONFIGS_4_0_1, downloadModel, UNGATED_REPO, type DownloadModelResult, type LockFile} from '../../src/hub/index.js'
import {upstreamRelease} from '../../src/upstream/index.js'
import {runCli} from '../helpers/cli.js'
import {startLocalHub, type LocalHub} from '../helpers/local-hub.js'
import {isCI, ORACLE_TINY} from '../helpers/oracle.js'
import {hasOracle4, ORACLE4} from '../helpers/oracle4.js'

const PYTHON_4 = join(packageRoot(), upstreamRelease('4.0.1').venv, 'bin', 'python')
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/**
 * Loads each downloaded folder's config.yaml with upstream 4.0.1's own loader (`load_config`: pydantic models that
 * forbid unknown keys) and compares it with the package's `config/<name>.yaml`, hub paths aside.
 */
const LOAD_IN_UPSTREAM = `
import json, sys
from pathlib import Path
from pocket_tts.utils.config import CONFIGS_DIR, load_config
out = {}
for name, folder in json.loads(sys.argv[1]).items():
    mine = load_config(Path(folder) / 'config.yaml').model_dump()
    theirs = load_config(CONFIGS_DIR / f'{name}.yaml').model_dump()
    paths = {'weights': mine['weights_path'], 'tokenizer': mine['flow_lm']['lookup_table']['tokenizer_path']}
    for c in (mine, theirs):
        c['weights_path'] = c['weights_path_without_voice_cloning'] = None
        c['flow_lm']['lookup_table']['tokenizer_path'] = None
    out[name] = {'equal': mine == theirs, 'paths': paths}
print(json.dumps(out))
`

describe.skipIf((!existsSync(PYTHON_4) || !hasOracle4) && !isCI)(
  'model download writes every 4.0.1 config.yaml, which upstream 4.0.1 loads [needs .venv-4.0.1, ../shared/oracle4]',
  () => {
    const names = Object.keys(CONFIGS_4_0_1) as (keyof typeof CONFIGS_4_0_1)[]
    // real tokenizers, so that the text front end can read the folders; random bytes stand in for the weights
    const tokenizers = {
      tokenizers: readFileSync(join(ORACLE4, 't4-lsd', 'tokenizer.json')),
      sentencepiece: readFileSync(join(ORACLE_TINY, 'tokenizer.model')),
    }
    let hub: LocalHub
    let out: string
    const results = new Map<string, DownloadModelResult>()
    beforeAll(async () => {
      const files: Record<string, Uint8Array> = {}
      const revisions = new Set<string>()
      names.forEach((name, i) => {
        const entry = CONFIGS_4_0_1[name]
        files[entry.weightsWithoutCloning.path] = Buffer.from(`weights of ${name} ${i}`)
        files[entry.tokenizer.path] = tokenizers[entry.tokenizerKind]
        revisions.add(entry.weightsWithoutCloning.revision).add(entry.tokenizer.revision)
      })
      hub = await startLocalHub({repos: {[UNGATED_REPO]: {revisions: Object.fromEntries([...revisions].map((r) => [r, r])), files}}})
      out = mkdtempSync(join(tmpdir(), 'pockettts-hub4-config-'))
      for (const name of names) {
        results.set(
          name,
          await downloadModel({endpoint: hub.url, out, upstream: '4.0.1', language: name, voices: [], allowNoCloning: true}),
        )
      }
    })
    afterAll(async () => {
      await hub?.close()
      if (out !== undefined) rmSync(out, {recursive: true, force: true})
    })

    it('writes config.yaml for all 27 configs and locks each like the rest (sha256, template, upstream release)', () => {
      const lock = JSON.parse(readFileSync(join(out, 'pockettts.lock.json'), 'utf8')) as LockFile
      expect(names).toHaveLength(27)
      for (const name of names) {
        const file = `4.0.1/${name}/config.yaml`
        expect(results.get(name)?.config, name).toEqual({file, status: 'written'})
        const text = readFileSync(join(out, file))
        expect(lock.generated.find((g) => g.file === file)).toEqual({
          file,
          size: text.length,
          sha256: sha(text),
          from: `catalogue:4.0.1/${name}`,
          upstream: '4.0.1',
        })
        const config = parseYaml(text.toString('utf8')) as {weights_path: string; flow_lm: {lookup_table: {tokenizer_path: string}}}
        const tokenizer = CONFIGS_4_0_1[name].tokenizerKind === 'tokenizers' ? 'tokenizer.json' : 'tokenizer.model'
        expect([config.weights_path, config.flow_lm.lookup_table.tokenizer_path], name).toEqual(['model.safetensors', tokenizer])
        expect(existsSync(join(out, '4.0.1', name, tokenizer)), name).toBe(true)
      }
      expect(lock.generated).toHaveLength(27)
    })

    it("each config.yaml loads with upstream 4.0.1's load_config and equals the package's config but for its local paths", async () => {
      const folders = Object.fromEntries(names.map((name) => [name, join(out, '4.0.1', name)]))
      const run = await execa(PYTHON_4, ['-c', LOAD_IN_UPSTREAM, JSON.stringify(folders)], {reject: false})
      expect(run.exitCode, run.stderr).toBe(0)
      const loaded = JSON.parse(run.stdout) as Record<string, {equal: boolean; paths: {weights: string; tokenizer: string}}>
      expect(Object.keys(loaded).sort()).toEqual([...names].sort())
      for (const [name, {equal, paths}] of Object.entries(loaded)) {
        expect(equal, name).toBe(true)
        expect(paths.weights, name).toBe('model.safetensors')
      }
    })

    it("pockettts text --upstream 4.0.1 applies the downloaded english's config (its replace_characters)", async () => {
      const run = await runCli(['text', 'It’s here.', '--model', join(out, '4.0.1', 'english'), '--upstream', '4.0.1', '--json'])
      expect(run.exitCode, run.stderr).toBe(0)
      const result = JSON.parse(run.stdout) as TextCommandResult
      expect(result.tokenizer.kind).toBe('tokenizers')
      expect(result.chunks.map((c) => c.text)).toEqual(["It's here."])
    })

    it('a second run verifies every config.yaml and writes nothing', async () => {
      const lockBefore = readFileSync(join(out, 'pockettts.lock.json'), 'utf8')
      for (const name of names) {
        const again = await downloadModel({
          endpoint: hub.url,
          out,
          upstream: '4.0.1',
          language: name,
          voices: [],
          allowNoCloning: true,
          mode: 'verify-only',
        })
        expect(again.config, name).toEqual({file: `4.0.1/${name}/config.yaml`, status: 'verified'})
      }
      expect(readFileSync(join(out, 'pockettts.lock.json'), 'utf8')).toBe(lockBefore)
    })
  },
)
