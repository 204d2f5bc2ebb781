import {existsSync} from 'node:fs'
import {readdir, readFile} from 'node:fs/promises'
import {basename, dirname, resolve} from 'node:path'
import type {EngineModel} from '../engine/engine-model.js'
import {DEFAULT_VOICE_NAME} from '../engine/resolve-voice.js'
import {ConfigError, isPocketTtsError} from '../errors/index.js'
import {resolveConfinedPath} from '../fs/confined-path.js'
import {loadVoiceState} from '../voice/index.js'
import {resolveVoiceAliases} from '../voice/voice-aliases.js'

/** Free-form licence facts of a voice, as written in `voices.json` or a `<voice>.json` sidecar. */
export type VoiceLicense = Readonly<Record<string, unknown>>

export interface CatalogVoice {
  readonly name: string
  /** `model`: shipped in the model folder; `voices-dir`: from `--voices DIR`. */
  readonly origin: 'model' | 'voices-dir'
  /** The voice-state file. */
  readonly path: string
  /** Licence metadata when the folder provides it, else null. */
  readonly license: VoiceLicense | null
}

export interface VoiceCatalog {
  /** Sorted by name (a snapshot: voices created or deleted later are not in it). */
  readonly voices: readonly CatalogVoice[]
  /** The `--voices` folder, where `POST /v1/audio/voices` stores voices; null without one. */
  readonly voicesDir: string | null
  /** The voice used when a request names none: `alba` when present, else the first name; null when there is none. */
  readonly defaultVoice: string | null
  /** Alias -> voice name (OpenAI's names by default, see voice-aliases.ts), sorted by alias. */
  readonly aliases: Readonly<Record<string, string>>
  get(name: string): CatalogVoice | undefined
  /** The voice a request's name means: a voice name itself, or the voice an alias points to; undefined if neither. */
  resolveName(name: string): string | undefined
  /** Serves a voice just written to the voices folder. */
  add(voice: CatalogVoice): void
  /** Stops serving a voices-folder voice (its files are the caller's). */
  remove(name: string): void
}

export interface ReadVoiceCatalogParams {
  readonly model: EngineModel
  /** A folder of extra `*.safetensors` voice states (name = file stem), each checked against the model. */
  readonly voicesDir?: string
  /** Voice aliases given by the user (`alloy=alba`), added to and overriding the default OpenAI aliases. */
  readonly voiceAliases?: Readonly<Record<string, string>>
}

const METADATA_FILE = 'voices.json'

/**
 * The voices a server offers: the model folder's own voice states plus those of `voicesDir`. Licence
 * metadata comes from `voices.json` (`{"<name>": {"license": …, "source": …}}`) in the voice's folder or a
 * `<name>.json` sidecar beside the file (the sidecar wins); null when neither says anything.
 */
export async function readVoiceCatalog(params: ReadVoiceCatalogParams): Promise<VoiceCatalog> {
  const {model} = params
  const byName = new Map<string, CatalogVoice>()
  const modelMeta = await readMetadataFile(
    resolveConfinedPath({root: model.dir, path: METADATA_FILE, namedBy: `the model folder ${model.dir}`}),
  )
  for (const [name, path] of Object.entries(model.voices)) {
    byName.set(name, {name, origin: 'model', path, license: (await readSidecar(path)) ?? modelMeta[name] ?? null})
  }
  if (params.voicesDir !== undefined) {
    const dir = resolve(params.voicesDir)
    const entries = await readdir(dir, {withFileTypes: true}).catch((error: unknown) => {
      throw new ConfigError({
        code: 'VOICES_DIR_UNREADABLE',
        message: `Cannot read the voices folder ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`,
        hint: 'Pass an existing folder of .safetensors voice states with --voices.',
        cause: error,
      })
    })
    const dirMeta = await readMetadataFile(resolveConfinedPath({root: dir, path: METADATA_FILE, namedBy: `the voices folder ${dir}`}))
    const voiceFiles = entries
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.endsWith('.safetensors'))
      .sort((a, b) => a.name.localeCompare(b.name))
    // Every name (and where its symlink leads) is checked before any voice file is read.
    const paths = voiceFiles.map((entry) => resolveConfinedPath({root: dir, path: entry.name, namedBy: `the voices folder ${dir}`}))
    for (const [index, entry] of voiceFiles.entries()) {
      const name = basename(entry.name, '.safetensors')
      const path = paths[index]!
      if (byName.has(name)) {
        throw new ConfigError({
          code: 'VOICE_NAME_CONFLICT',
          message: `The voice "${name}" exists both in the model folder and in ${dir}.`,
          hint: `Rename ${path}.`,
        })
      }
      try {
        await loadVoiceState({path, model: model.dims})
      } catch (error) {
        throw new ConfigError({
          code: 'VOICES_DIR_INVALID',
          message: `${path} cannot be served: ${isPocketTtsError(error) ? error.message : String(error)}`,
          hint: 'Remove the file from the voices folder or export it again for this model (pockettts export-voice).',
          cause: error,
        })
      }
      byName.set(name, {name, origin: 'voices-dir', path, license: (await readSidecar(path)) ?? dirMeta[name] ?? null})
    }
  }
  const voicesDir = params.voicesDir === undefined ? null : resolve(params.voicesDir)
  let voices: readonly CatalogVoice[] = []
  let defaultVoice: string | null = null
  let aliases: Readonly<Record<string, string>> = {}
  const refresh = (): void => {
    voices = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
    defaultVoice = byName.has(DEFAULT_VOICE_NAME) ? DEFAULT_VOICE_NAME : (voices[0]?.name ?? null)
    aliases = resolveVoiceAliases({
      voices: new Set(byName.keys()),
      defaultVoice,
      ...(params.voiceAliases === undefined ? {} : {user: params.voiceAliases}),
    })
  }
  refresh()
  return {
    get voices() {
      return voices
    },
    voicesDir,
    get defaultVoice() {
      return defaultVoice
    },
    get aliases() {
      return aliases
    },
    get: (name) => byName.get(name),
    resolveName: (name) => (byName.has(name) ? name : Object.hasOwn(aliases, name) ? aliases[name] : undefined),
    add(voice) {
      if (byName.has(voice.name)) throw new Error(`the voice ${voice.name} is already served`)
      byName.set(voice.name, voice)
      refresh()
    },
    remove(name) {
      const voice = byName.get(name)
      if (voice?.origin !== 'voices-dir') throw new Error(`${name} is not a voices-folder voice`)
      byName.delete(name)
      try {
        refresh()
      } catch (error) {
        byName.set(name, voice)
        refresh()
        throw error
      }
    },
  }
}

/** The licence sidecar path of a voice-state file (`<name>.json` beside `<name>.safetensors`). */
export function sidecarPath(voicePath: string): string {
  return resolve(dirname(voicePath), `${basename(voicePath, '.safetensors')}.json`)
}

async function readSidecar(voicePath: string): Promise<VoiceLicense | undefined> {
  if (!voicePath.endsWith('.safetensors')) return undefined
  const path = resolveConfinedPath({
    root: dirname(voicePath),
    path: `${basename(voicePath, '.safetensors')}.json`,
    namedBy: `the voice ${voicePath}`,
  })
  if (!existsSync(path)) return undefined
  const parsed = await readJson(path)
  if (!isRecord(parsed)) throw invalidMetadata(path, 'it must hold a JSON object')
  return parsed
}

async function readMetadataFile(path: string): Promise<Readonly<Record<string, VoiceLicense>>> {
  if (!existsSync(path)) return {}
  const parsed = await readJson(path)
  if (!isRecord(parsed) || !Object.values(parsed).every(isRecord)) throw invalidMetadata(path, 'it must map voice names to JSON objects')
  return parsed as Record<string, VoiceLicense>
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown
  } catch (error) {
    throw invalidMetadata(path, `it is not readable JSON (${(error as Error).message})`)
  }
}

function invalidMetadata(path: string, why: string): ConfigError {
  return new ConfigError({
    code: 'VOICE_METADATA_INVALID',
    message: `${path} is not valid voice metadata: ${why}.`,
    hint: 'Fix or remove the file; e.g. {"alba": {"license": "CC-BY-4.0", "source": "…"}}.',
  })
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
