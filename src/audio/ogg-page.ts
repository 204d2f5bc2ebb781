/**
 * Ogg pages (RFC 3533), written by hand: the registry's Ogg packages are native bindings or tied to one
 * encoder's framing, and a page is a 27-byte header, a segment table and a CRC.
 */
export interface OggPageParams {
  readonly serial: number
  readonly sequence: number
  /** Granule position after the last packet that ends on this page. */
  readonly granule: bigint
  readonly packets: readonly Uint8Array[]
  readonly beginOfStream?: boolean
  readonly endOfStream?: boolean
}

/** Packets that fit one page (255 lacing values); callers put fewer, small packets on each page. */
export const MAX_SEGMENTS = 255

export function oggPage(params: OggPageParams): Uint8Array {
  const lacing: number[] = []
  for (const packet of params.packets) {
    let left = packet.length
    while (left >= 255) {
      lacing.push(255)
      left -= 255
    }
    lacing.push(left)
  }
  if (lacing.length > MAX_SEGMENTS) throw new Error(`An Ogg page holds ${MAX_SEGMENTS} segments; these packets need ${lacing.length}.`)
  const bodyLength = params.packets.reduce((sum, packet) => sum + packet.length, 0)
  const page = new Uint8Array(27 + lacing.length + bodyLength)
  const view = new DataView(page.buffer)
  page.set([0x4f, 0x67, 0x67, 0x53]) // "OggS"
  page[4] = 0
  page[5] = (params.beginOfStream === true ? 0x02 : 0) | (params.endOfStream === true ? 0x04 : 0)
  view.setBigInt64(6, params.granule, true)
  view.setUint32(14, params.serial >>> 0, true)
  view.setUint32(18, params.sequence >>> 0, true)
  page[26] = lacing.length
  page.set(lacing, 27)
  let offset = 27 + lacing.length
  for (const packet of params.packets) {
    page.set(packet, offset)
    offset += packet.length
  }
  view.setUint32(22, oggCrc(page), true)
  return page
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i += 1) {
    let r = i << 24
    for (let bit = 0; bit < 8; bit += 1) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1
    table[i] = r >>> 0
  }
  return table
})()

/** Ogg's CRC-32: polynomial 0x04c11db7, not reflected, initial value 0, over the page with its CRC field zero. */
export function oggCrc(bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0
  return crc
}
