import {Flags} from '@oclif/core'
import {PocketTtsCommand} from '../../src/cli/base-command.js'
import {knobFlagWithDefault} from '../../src/cli/number-flags.js'
import {renderTable} from '../../src/report/render-table.js'
import {UsageError} from '../../src/errors/index.js'
import type {DownloadModelResult, InstallBundleResult, ReleaseConfig} from '../../src/hub/index.js'
import {defaultReleaseFor, releasesFor, selectUpstream} from '../../src/upstream/upstream-releases.js'

export type ModelDownloadResult = ({readonly kind: 'model'} & DownloadModelResult) | ({readonly kind: 'bundle'} & InstallBundleResult)

export default class ModelDownload extends PocketTtsCommand {
  static override summary = 'Download Pocket TTS weights from the model hub into an upstream-format folder, under a checksum lock.'
  static override description = `Writes <out>/<language>/ (2.1.0) or <out>/<release>/<language>/ (4.0.1) with model.safetensors, the tokenizer (tokenizer.model, or tokenizer.json for configs that use HF tokenizers), voices/<name>.safetensors and config.yaml (upstream schema, local paths), and records every file (repo, commit, path, size, sha256, URL, upstream release) in <out>/pockettts.lock.json.

--upstream picks the pocket-tts release whose configs --language names (default ${defaultReleaseFor('model download')}): "english" is that release's english (4.0.1: the english_2026-10 weights). A second run verifies and downloads nothing; a file that differs from the lock is an error naming it, never re-downloaded silently.

The weights with voice cloning live in the gated repo kyutai/pocket-tts (accept its terms on the hub, then pass a read token); --allow-no-cloning takes the ungated kyutai/pocket-tts-without-voice-cloning weights instead when the gated ones are out of reach. Transfers run in parallel, resume partial files (<file>.<oid>.incomplete), retry transient errors with backoff, and rename a file into place only after its hash checks out.

--bundle unpacks a bundle made by \`model pack\` (a URL needs --sha256) and checks it against its manifest.json.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --token hf_xxx',
    '<%= config.bin %> <%= command.id %> --language french_24l --allow-no-cloning --voices estelle,alba',
    '<%= config.bin %> <%= command.id %> --upstream 2.1.0 --language english --allow-no-cloning',
    '<%= config.bin %> <%= command.id %> --verify-only',
    '<%= config.bin %> <%= command.id %> --offline --json',
    '<%= config.bin %> <%= command.id %> --bundle https://example.org/english-onnx.tar.gz --sha256 <sha256>',
  ]
  static override flags = {
    language: Flags.string({
      description:
        'Upstream config name of the --upstream release (english, english_2026-10, french_24l, dutch, …; a wrong name lists the valid ones).',
      default: 'english',
    }),
    upstream: Flags.string({
      description: `Upstream pocket-tts release whose config --language names (default ${defaultReleaseFor('model download')}).`,
      options: releasesFor('model download'),
    }),
    repo: Flags.string({description: "Take every file from this hub repo (same layout as upstream) instead of upstream's repos."}),
    revision: Flags.string({description: "Take every file at this revision (branch, tag or commit) instead of upstream's pins."}),
    files: Flags.string({description: 'Also fetch repo files matching these globs (saved under <language>/files/).', multiple: true}),
    voices: Flags.string({
      description: `Predefined voices: comma-separated names, "all" or "none" (default: the language's default voice).`,
    }),
    out: Flags.string({description: 'Models folder (else modelsDir: POCKETTTS_MODELS_DIR, default models).'}),
    endpoint: Flags.string({description: 'Model hub base URL (else POCKETTTS_HUB_ENDPOINT, https://huggingface.co).'}),
    token: Flags.string({description: 'Hub read token (hf_…), needed for the gated weights.', env: 'HF_TOKEN'}),
    'allow-no-cloning': Flags.boolean({
      description: 'Use the ungated weights (no voice cloning) when the gated repo is out of reach or no token is given.',
    }),
    'config-from': Flags.string({
      description:
        'Take the model architecture for config.yaml from this upstream-schema YAML instead of the catalogue ' +
        '(a fine-tune or test model with other dimensions).',
    }),
    'verify-only': Flags.boolean({
      description: 'Only check the local files against the lock file; download and write nothing.',
      exclusive: ['offline'],
    }),
    offline: Flags.boolean({description: 'Use only the lock file and local files; no network.', exclusive: ['verify-only']}),
    concurrency: knobFlagWithDefault('concurrency', {description: 'Files downloaded at once.', default: 4}),
    retries: knobFlagWithDefault('retries', {
      description: 'Retries of a failed request (network errors, HTTP 5xx/429), with backoff.',
      default: 4,
    }),
    bundle: Flags.string({
      description: 'Unpack a bundle (.tar.gz from `model pack`) from a URL or file instead.',
      exclusive: ['repo', 'revision', 'files', 'voices', 'config-from', 'allow-no-cloning'],
    }),
    sha256: Flags.string({description: 'Expected sha256 of the --bundle (required for a URL).', dependsOn: ['bundle']}),
  }

  async run(): Promise<ModelDownloadResult> {
    const {flags} = await this.parse(ModelDownload)
    // loaded here, not at the top: oclif imports every command's module to list them (issue 17: peak RSS)
    const [{DownloadProgress}, {downloadModel, installBundle, releaseConfig}] = await Promise.all([
      import('../../src/cli/download-progress.js'),
      import('../../src/hub/index.js'),
    ])
    const {config} = await this.loadConfig({modelsDir: flags.out, hubEndpoint: flags.endpoint, config: flags.config})
    const mode = flags['verify-only'] ? 'verify-only' : flags.offline ? 'offline' : 'download'
    const progress = new DownloadProgress({quiet: this.jsonEnabled()})
    const retry = {attempts: flags.retries + 1}
    try {
      if (flags.bundle !== undefined) {
        const result = await installBundle({
          source: flags.bundle,
          ...(flags.sha256 === undefined ? {} : {sha256: flags.sha256}),
          out: config.modelsDir,
          mode,
          signal: this.signal,
          retry,
          onRetry: (info) =>
            progress.handle({
              type: 'retry',
              what: flags.bundle ?? '',
              attempt: info.attempt,
              attempts: info.attempts,
              delayMs: info.delayMs,
              reason: String(info.error),
            }),
          onProgress: (p) => {
            if (p.done === p.resumedFrom) progress.handle({type: 'file-start', file: 'bundle', size: p.total, resumedFrom: p.resumedFrom})
            progress.handle({type: 'file-progress', file: 'bundle', done: p.done, total: p.total})
          },
        })
        progress.stop()
        this.log(
          `${result.status === 'unpacked' ? 'Unpacked' : 'Verified'} ${result.folder} (${result.verified} ` +
            `file(s) match manifest.json; bundle sha256 ${result.sha256}).`,
        )
        this.log(`Lock file: ${result.lockFile}`)
        return {kind: 'bundle', ...result}
      }
      const upstream = selectUpstream('model download', flags.upstream)
      const release = releaseConfig(upstream, flags.language)
      const token = flags.token === undefined || flags.token === '' ? undefined : flags.token
      if (token !== undefined && !token.startsWith('hf_')) {
        throw new UsageError({
          code: 'TOKEN_INVALID',
          message: 'The hub token must start with "hf_".',
          hint: 'Pass a read token from your hub account settings with --token or HF_TOKEN.',
        })
      }
      const result = await downloadModel({
        out: config.modelsDir,
        endpoint: config.hubEndpoint,
        upstream,
        language: release.config,
        voices: parseVoices(flags.voices, release),
        ...(flags.repo === undefined ? {} : {repo: flags.repo}),
        ...(flags.revision === undefined ? {} : {revision: flags.revision}),
        ...(flags.files === undefined ? {} : {files: flags.files}),
        allowNoCloning: flags['allow-no-cloning'],
        ...(flags['config-from'] === undefined ? {} : {configFrom: flags['config-from']}),
        ...(token === undefined ? {} : {accessToken: token}),
        mode,
        concurrency: flags.concurrency,
        retry,
        signal: this.signal,
        onEvent: (event) => progress.handle(event),
      })
      progress.stop()
      this.log(
        renderTable(
          ['status', 'file', 'size', 'sha256'],
          result.files.map((f) => [f.status, f.file, String(f.size), f.sha256.slice(0, 16)]),
        ),
      )
      this.log('')
      const cloning = result.voiceCloning === null ? 'unknown' : result.voiceCloning ? 'yes' : 'no (predefined voices only)'
      this.log(
        `Model folder: ${result.folder} (pocket-tts ${result.upstream} ${result.language}; ` +
          `config.yaml ${result.config.status}; voice cloning: ${cloning})`,
      )
      this.log(`Lock file: ${result.lockFile}${result.downloadedBytes > 0 ? ` (${result.downloadedBytes} bytes downloaded)` : ''}`)
      return {kind: 'model', ...result}
    } finally {
      progress.stop()
    }
  }
}

function parseVoices(raw: string | undefined, release: ReleaseConfig): string[] {
  if (raw === undefined) return [release.defaultVoice]
  const names = raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
  if (names.length === 1 && names[0] === 'all') return [...release.voices]
  if (names.length === 1 && names[0] === 'none') return []
  const unknown = names.filter((n) => !release.voices.includes(n))
  if (unknown.length > 0) {
    throw new UsageError({
      code: 'VOICE_UNKNOWN',
      message: `Unknown predefined voice(s): ${unknown.join(', ')}.`,
      hint: `Use "all", "none" or names from: ${release.voices.join(', ')}.`,
    })
  }
  return names
}
