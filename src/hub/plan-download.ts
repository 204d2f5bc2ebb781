import type {UpstreamRelease} from '../upstream/upstream-releases.js'
import {UNGATED_REPO} from './catalogue.js'
import {releaseConfig} from './release-config.js'

/** One place a planned file may come from. */
export interface PlannedSource {
  readonly repo: string
  readonly path: string
  /** The revision asked for: the catalogue pin, or `--revision`. */
  readonly revision: string
  /** Weights with voice cloning: 401/403 explains the gate. */
  readonly gated: boolean
}

export type PlannedKind = 'weights' | 'tokenizer' | 'voice' | 'extra'

export interface PlannedFile {
  /** Local path relative to the models folder, `/`-separated. */
  readonly file: string
  readonly kind: PlannedKind
  /** The upstream release whose config the file belongs to (recorded in the lock). */
  readonly upstream: UpstreamRelease
  /** The preferred source first; later ones are fallbacks the user allowed (`--allow-no-cloning`). */
  readonly sources: readonly PlannedSource[]
}

export interface PlanDownloadParams {
  readonly upstream: UpstreamRelease
  /** The release's config name (validated: CONFIG_UNKNOWN lists the valid ones). */
  readonly language: string
  readonly voices: readonly string[]
  /** Take every file from this repo (same layout) instead of upstream's. */
  readonly repo?: string
  /** Take every file at this revision instead of upstream's pins. */
  readonly revision?: string
  /** Accept the ungated weights (no voice cloning) when the gated repo is out of reach. */
  readonly allowNoCloning?: boolean
  /** A token is available (else the gated repo is not even tried when the fallback is allowed). */
  readonly hasToken?: boolean
}

export interface DownloadPlan {
  /** The model folder, relative to the models folder. */
  readonly folder: string
  readonly files: readonly PlannedFile[]
}

/** The files of an upstream-format model folder for a release's config: weights, tokenizer and voice states. */
export function planDownload(params: PlanDownloadParams): DownloadPlan {
  const entry = releaseConfig(params.upstream, params.language)
  const folder = entry.folder
  const upstream = params.upstream
  const source = (ref: {repo: string; path: string; revision: string}, gated = false): PlannedSource => ({
    repo: params.repo ?? ref.repo,
    path: ref.path,
    revision: params.revision ?? ref.revision,
    gated: params.repo === undefined && gated,
  })
  let weights: PlannedSource[]
  if (params.repo !== undefined) weights = [source(entry.weights)]
  else if (params.allowNoCloning === true && params.hasToken !== true) weights = [source(entry.weightsWithoutCloning)]
  else if (params.allowNoCloning === true) weights = [source(entry.weights, true), source(entry.weightsWithoutCloning)]
  else weights = [source(entry.weights, true)]
  const files: PlannedFile[] = [
    {file: `${folder}/model.safetensors`, kind: 'weights', upstream, sources: weights},
    {file: `${folder}/${entry.tokenizerFile}`, kind: 'tokenizer', upstream, sources: [source(entry.tokenizer)]},
    ...[...new Set(params.voices)].map((voice): PlannedFile => ({
      file: `${folder}/voices/${voice}.safetensors`,
      kind: 'voice',
      upstream,
      sources: [source(entry.voiceFile(voice))],
    })),
  ]
  return {folder, files}
}

/** The repo and revision `--files` globs are matched in: `--repo`, else the ungated repo. */
export function extraFilesSource(params: Pick<PlanDownloadParams, 'upstream' | 'language' | 'repo' | 'revision'>): {
  repo: string
  revision: string
} {
  const entry = releaseConfig(params.upstream, params.language)
  return {repo: params.repo ?? UNGATED_REPO, revision: params.revision ?? entry.weightsWithoutCloning.revision}
}
