import {audioPromptFromWav, type PromptAudioWarning, type WavAudio} from '../audio/index.js'
import type {EngineModel} from '../engine/engine-model.js'
import type {NoiseSource} from '../engine/noise/index.js'
import {voiceKvFromPromptAudio} from '../engine/prefill-voice.js'
import {resolveVoice} from '../engine/resolve-voice.js'
import {KvCache} from '../flowlm/kv-cache.js'
import {HttpProblem} from './http-problem.js'
import {LruCache} from './lru-cache.js'
import type {VoiceCatalog} from './voice-catalog.js'

/** Upstream's server keeps the first 30 s of an uploaded prompt. */
export const UPLOAD_TRUNCATE_SECONDS = 30

/** What a request asks for: a catalog voice by name, or an uploaded WAV prompt (already decoded and hashed). */
export type VoiceSelection =
  | {readonly kind: 'name'; readonly name: string}
  | {readonly kind: 'upload'; readonly wav: WavAudio; readonly sha256: string; readonly warnings: readonly PromptAudioWarning[]}

export interface ResolvedServerVoice {
  /** The FlowLM state after the voice prefill; shared, never modified by generation. */
  readonly kv: KvCache
  /** For logs: `name:alba` or `upload:<sha256 prefix>`. */
  readonly label: string
  readonly cacheHit: boolean
}

export interface VoiceResolverParams {
  readonly model: EngineModel
  readonly catalog: VoiceCatalog
  /** Voice states kept in memory (named voices and uploads share the budget). */
  readonly cacheEntries: number
  readonly onCacheLookup?: (result: 'hit' | 'miss') => void
}

/** The prefill's discarded noise draw does not affect the state: zeros keep request seeds independent of the cache. */
const discardedNoise: NoiseSource = {next: (count) => new Float32Array(count)}

/**
 * Turns a voice selection into its FlowLM state, through an LRU cache keyed by voice name or by the
 * upload's sha256. States are stored compacted (exactly their prompt positions, not the model's KV capacity).
 */
export class VoiceResolver {
  private readonly cache: LruCache<KvCache>

  constructor(private readonly params: VoiceResolverParams) {
    this.cache = new LruCache({maxEntries: params.cacheEntries})
  }

  /** The voice a name (or alias) means; a 400 for an unknown name (call before queueing). */
  checkName(name: string, param: string): string {
    const resolved = this.params.catalog.resolveName(name)
    if (resolved !== undefined) return resolved
    const names = this.params.catalog.voices.map((v) => v.name)
    const aliases = Object.keys(this.params.catalog.aliases)
    throw new HttpProblem({
      status: 400,
      code: 'voice_not_found',
      message: `Unknown voice "${name}". Available: ${names.length > 0 ? names.join(', ') : 'none (upload a voice prompt)'}${aliases.length > 0 ? `; aliases: ${aliases.join(', ')}` : ''}.`,
      hint: 'GET /voices lists the voices.',
      param,
    })
  }

  /** Drops a named voice's cached state (the voice was deleted). */
  forget(name: string): void {
    this.cache.delete(`name:${name}`)
  }

  async resolve(selection: VoiceSelection): Promise<ResolvedServerVoice> {
    const key = selection.kind === 'name' ? `name:${selection.name}` : `upload:${selection.sha256}`
    const {value, hit} = this.cache.getOrCreate(key, () => this.load(selection))
    this.params.onCacheLookup?.(hit ? 'hit' : 'miss')
    return {kv: await value, label: selection.kind === 'name' ? key : `upload:${selection.sha256.slice(0, 12)}`, cacheHit: hit}
  }

  private async load(selection: VoiceSelection): Promise<KvCache> {
    const {model} = this.params
    if (selection.kind === 'name') {
      const voice = this.params.catalog.get(selection.name)
      if (voice === undefined) throw new Error(`voice ${selection.name} vanished from the catalog`)
      return compact((await resolveVoice({model, voice: voice.path, noise: discardedNoise})).kv)
    }
    const prompt = audioPromptFromWav({
      wav: selection.wav,
      source: 'voice_wav',
      truncateSeconds: UPLOAD_TRUNCATE_SECONDS,
      sampleRate: model.dims.sampleRate,
    })
    return compact((await voiceKvFromPromptAudio({model, audio: prompt.audio, noise: discardedNoise})).kv)
  }
}

function compact(kv: KvCache): KvCache {
  const out = new KvCache(kv.layout, kv.offset)
  out.copyFrom(kv)
  return out
}
