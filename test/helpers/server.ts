import {PassThrough} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'
import {expect} from 'vitest'
import type {EngineModel} from '../../src/engine/engine-model.js'
import {createServer, type CreateServerParams, type PocketTtsServer} from '../../src/server/index.js'
import {prepareChunks} from '../../src/text/index.js'

/** A generation that never meets EOS runs exactly `maxGenLen` frames per chunk: deterministic lengths. */
export const NEVER_EOS = {eosThreshold: 1e9} as const

export interface TestServer {
  readonly server: PocketTtsServer
  readonly url: string
  /** Every JSON log line so far. */
  logs(): Record<string, unknown>[]
  close(): Promise<void>
}

/** Starts a server on 127.0.0.1 (free port) with logs captured in memory; no process metrics (speed). */
export async function startTestServer(params: CreateServerParams): Promise<TestServer> {
  const stream = new PassThrough()
  const lines: string[] = []
  let pending = ''
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    const parts = pending.split('\n')
    pending = parts.pop() ?? ''
    lines.push(...parts.filter((l) => l.trim() !== ''))
  })
  const server = await createServer({processMetrics: false, log: {level: 'info', stream}, ...params})
  const address = await server.listen({host: '127.0.0.1', port: 0})
  return {
    server,
    url: address.url,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    close: async () => {
      await server.close({deadlineMs: 0})
    },
  }
}

/** Frames a never-EOS generation of `text` yields: the sum of the chunks' max_gen_len. */
export async function framesWithoutEos(model: EngineModel, text: string): Promise<number> {
  const {chunks} = await prepareChunks({tokenizer: model.text.tokenizer, text, config: model.text.config, maxTokens: 50})
  return chunks.reduce((sum, chunk) => sum + chunk.maxGenLen, 0)
}

export interface WavHeader {
  readonly format: number
  readonly channels: number
  readonly sampleRate: number
  readonly bits: number
  readonly dataBytes: number
}

export function parseWavHeader(bytes: Buffer): WavHeader {
  expect(bytes.length).toBeGreaterThanOrEqual(44)
  expect(bytes.toString('ascii', 0, 4)).toBe('RIFF')
  expect(bytes.toString('ascii', 8, 12)).toBe('WAVE')
  expect(bytes.toString('ascii', 36, 40)).toBe('data')
  return {
    format: bytes.readUInt16LE(20),
    channels: bytes.readUInt16LE(22),
    sampleRate: bytes.readUInt32LE(24),
    bits: bytes.readUInt16LE(34),
    dataBytes: bytes.readUInt32LE(40),
  }
}

/** Reads a response body to the end. */
export async function readAll(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer())
}

/** Reads from a streamed body until at least `bytes` have arrived; returns them and the reader (still open). */
export async function readAtLeast(
  response: Response,
  bytes: number,
): Promise<{readonly head: Buffer; readonly reader: ReadableStreamDefaultReader<Uint8Array>}> {
  const reader = response.body!.getReader()
  const chunks: Buffer[] = []
  let total = 0
  while (total < bytes) {
    const {done, value} = await reader.read()
    if (done) throw new Error(`the body ended after ${total} bytes (wanted ${bytes})`)
    chunks.push(Buffer.from(value))
    total += value.length
  }
  return {head: Buffer.concat(chunks), reader}
}

/** The value of one Prometheus sample (`name{labels}`), 0 when absent. */
export async function metric(url: string, sample: string, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, {headers})).text()
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1))
  }
  return 0
}

/** Polls until `check` holds (the test's own timeout bounds the wait). */
export async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(25)
}

export function postTts(url: string, fields: Record<string, string | Blob>, init: RequestInit = {}): Promise<Response> {
  const form = new FormData()
  for (const [key, value] of Object.entries(fields)) form.append(key, value)
  return fetch(`${url}/tts`, {method: 'POST', body: form, ...init})
}

export function postSpeech(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  const headers = {'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined)}
  return fetch(`${url}/v1/audio/speech`, {method: 'POST', ...init, headers, body: typeof body === 'string' ? body : JSON.stringify(body)})
}

/** Decodes an OpenAI SSE speech stream: the audio bytes of its deltas and its other events. */
export function parseSpeechSse(text: string): {readonly audio: Buffer; readonly events: Record<string, unknown>[]} {
  const events = text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      expect(block.startsWith('data: ')).toBe(true)
      return JSON.parse(block.slice('data: '.length)) as Record<string, unknown>
    })
  const audio = Buffer.concat(
    events.filter((e) => e['type'] === 'speech.audio.delta').map((e) => Buffer.from(String(e['audio']), 'base64')),
  )
  return {audio, events: events.filter((e) => e['type'] !== 'speech.audio.delta')}
}
