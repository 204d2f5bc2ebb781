// The page of `pockettts serve` (GET /): plain browser JavaScript, no build step. It lists the voices
// (GET /v1/audio/voices), posts the text to /v1/audio/speech and plays the answer while it streams: mp3
// through Media Source Extensions when the browser has them, pcm through the Web Audio API; the other
// formats play once they have arrived. Statuses go to #status; the player's events tell tests that audio played.
const $ = (id) => document.getElementById(id)
const player = $('player')
const status = $('status')
const SAMPLE_RATE = 24000
const TYPES = {mp3: 'audio/mpeg', opus: 'audio/ogg', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/wav'}

$('api-key').value = sessionStorage.getItem('pockettts-api-key') ?? ''

function headers() {
  const key = $('api-key').value.trim()
  sessionStorage.setItem('pockettts-api-key', key)
  return key === '' ? {} : {authorization: `Bearer ${key}`}
}

function say(text, isError = false) {
  status.textContent = text
  status.classList.toggle('error', isError)
}

async function problem(response) {
  try {
    const body = await response.json()
    return body.error?.message ?? body.detail ?? response.statusText
  } catch {
    return response.statusText
  }
}

async function loadVoices() {
  const response = await fetch('v1/audio/voices', {headers: headers()})
  if (response.status === 401 && $('api-key').value.trim() === '') {
    say('This server needs an API key: type it above.')
    return
  }
  if (!response.ok) {
    say(`Cannot list the voices: ${await problem(response)}`, true)
    return
  }
  const {data, default: fallback} = await response.json()
  const select = $('voice')
  select.replaceChildren(...data.map((v) => new Option(v.license?.license ? `${v.id} (${v.license.license})` : v.id, v.id)))
  if (fallback !== null) select.value = fallback
  document.body.dataset.voices = String(data.length)
}

/** Appends a fetch body to a MediaSource buffer as it arrives (mp3), so playback starts with the first frames. */
async function streamToMediaSource(response, onBytes) {
  const source = new MediaSource()
  player.src = URL.createObjectURL(source)
  await new Promise((resolve) => source.addEventListener('sourceopen', resolve, {once: true}))
  const buffer = source.addSourceBuffer('audio/mpeg')
  const reader = response.body.getReader()
  const chunks = []
  let started = false
  for (;;) {
    const {done, value} = await reader.read()
    if (done) break
    chunks.push(value)
    onBytes(value.length)
    buffer.appendBuffer(value)
    await new Promise((resolve) => buffer.addEventListener('updateend', resolve, {once: true}))
    if (!started) {
      started = true
      player.play().catch(() => undefined)
    }
  }
  source.endOfStream()
  return new Blob(chunks, {type: 'audio/mpeg'})
}

/** Plays raw 16-bit pcm with the Web Audio API, chunk by chunk as it arrives; returns a WAV of it. */
async function streamPcm(response, onBytes) {
  const context = new AudioContext({sampleRate: SAMPLE_RATE})
  const reader = response.body.getReader()
  const chunks = []
  let at = context.currentTime + 0.1
  let carry = new Uint8Array(0)
  for (;;) {
    const {done, value} = await reader.read()
    if (done) break
    chunks.push(value)
    onBytes(value.length)
    const bytes = new Uint8Array(carry.length + value.length)
    bytes.set(carry)
    bytes.set(value, carry.length)
    const whole = bytes.length - (bytes.length % 2)
    carry = bytes.slice(whole)
    const samples = new Int16Array(bytes.buffer.slice(0, whole))
    if (samples.length === 0) continue
    const audio = context.createBuffer(1, samples.length, SAMPLE_RATE)
    audio.getChannelData(0).set(Float32Array.from(samples, (s) => s / 32768))
    const node = context.createBufferSource()
    node.buffer = audio
    node.connect(context.destination)
    at = Math.max(at, context.currentTime)
    node.start(at)
    at += audio.duration
    node.addEventListener('ended', () => (document.body.dataset.played = String(context.currentTime)))
  }
  setTimeout(() => (document.body.dataset.ended = 'true'), Math.max(0, at - context.currentTime) * 1000 + 50)
  return wavOf(chunks)
}

function wavOf(chunks) {
  const length = chunks.reduce((sum, c) => sum + c.length, 0)
  const header = new DataView(new ArrayBuffer(44))
  const ascii = (offset, text) => [...text].forEach((ch, i) => header.setUint8(offset + i, ch.charCodeAt(0)))
  ascii(0, 'RIFF')
  header.setUint32(4, 36 + length, true)
  ascii(8, 'WAVEfmt ')
  header.setUint32(16, 16, true)
  header.setUint16(20, 1, true)
  header.setUint16(22, 1, true)
  header.setUint32(24, SAMPLE_RATE, true)
  header.setUint32(28, SAMPLE_RATE * 2, true)
  header.setUint16(32, 2, true)
  header.setUint16(34, 16, true)
  ascii(36, 'data')
  header.setUint32(40, length, true)
  return new Blob([header, ...chunks], {type: 'audio/wav'})
}

async function collect(response, onBytes, type) {
  const reader = response.body.getReader()
  const chunks = []
  for (;;) {
    const {done, value} = await reader.read()
    if (done) break
    chunks.push(value)
    onBytes(value.length)
  }
  return new Blob(chunks, {type})
}

async function speak(event) {
  event.preventDefault()
  const format = $('format').value
  const button = $('speak')
  button.disabled = true
  for (const key of ['done', 'played', 'ended']) delete document.body.dataset[key]
  $('download').hidden = true
  const started = performance.now()
  let received = 0
  let firstBytesMs = null
  const onBytes = (n) => {
    firstBytesMs ??= Math.round(performance.now() - started)
    received += n
    say(`Streaming ${format}: ${(received / 1024).toFixed(1)} KiB, first bytes after ${firstBytesMs} ms`)
  }
  try {
    say('Generating…')
    const response = await fetch('v1/audio/speech', {
      method: 'POST',
      headers: {'content-type': 'application/json', ...headers()},
      body: JSON.stringify({
        model: 'pocket-tts',
        input: $('text').value,
        voice: $('voice').value,
        response_format: format,
        speed: Number($('speed').value),
      }),
    })
    if (!response.ok) throw new Error(await problem(response))
    let blob
    if (format === 'mp3' && window.MediaSource?.isTypeSupported('audio/mpeg')) blob = await streamToMediaSource(response, onBytes)
    else if (format === 'pcm') blob = await streamPcm(response, onBytes)
    else {
      blob = await collect(response, onBytes, TYPES[format])
      player.src = URL.createObjectURL(blob)
      player.play().catch(() => undefined)
    }
    const link = $('download')
    link.href = URL.createObjectURL(blob)
    link.download = `speech.${format === 'pcm' ? 'wav' : format}`
    link.hidden = false
    say(
      `Done: ${(received / 1024).toFixed(1)} KiB of ${format} in ${Math.round(performance.now() - started)} ms (first bytes after ${firstBytesMs} ms).`,
    )
    document.body.dataset.done = format
  } catch (error) {
    say(`Error: ${error.message}`, true)
  } finally {
    button.disabled = false
  }
}

$('speak-form').addEventListener('submit', speak)
$('api-key').addEventListener('change', loadVoices)
player.addEventListener('timeupdate', () => (document.body.dataset.played = String(player.currentTime)))
player.addEventListener('ended', () => (document.body.dataset.ended = 'true'))
loadVoices()
