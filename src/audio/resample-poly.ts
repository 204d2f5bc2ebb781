export interface ResamplePolyParams {
  readonly input: Float32Array
  /** Upsampling factor (reduced by the gcd with `down`, as scipy does). */
  readonly up: number
  readonly down: number
}

/** scipy's default window for `resample_poly`: ('kaiser', 5.0). */
const KAISER_BETA = 5.0

/**
 * `scipy.signal.resample_poly(x, up, down)` for a float32 signal with scipy's defaults: a zero-phase
 * low-pass FIR of 2·10·max(up, down)+1 taps (firwin, cutoff 1/max(up, down), Kaiser window β = 5, scaled
 * to unit DC gain, rounded to float32 like scipy does for float32 input, times `up`), applied by
 * polyphase upfirdn with zero padding, keeping the ceil(n·up/down) centred outputs. Sums run in float64
 * (scipy sums in float32), so results agree to float32 rounding.
 */
export function resamplePoly(params: ResamplePolyParams): Float32Array {
  const {input} = params
  if (!Number.isInteger(params.up) || !Number.isInteger(params.down) || params.up < 1 || params.down < 1) {
    throw new RangeError(`up and down must be positive integers (got ${params.up}, ${params.down})`)
  }
  const g = gcd(params.up, params.down)
  const up = params.up / g
  const down = params.down / g
  if (up === 1 && down === 1) return Float32Array.from(input)

  const nIn = input.length
  const nOut = Math.ceil((nIn * up) / down)
  const maxRate = Math.max(up, down)
  const halfLen = 10 * maxRate
  const taps = lowpassTaps(2 * halfLen + 1, 1 / maxRate).map((h) => Math.fround(Math.fround(h) * up))

  const prePad = down - (halfLen % down)
  const preRemove = Math.floor((halfLen + prePad) / down)
  // h is implicitly preceded by `prePad` zeros: padded[j] = taps[j - prePad].
  const output = new Float32Array(nOut)
  for (let i = 0; i < nOut; i += 1) {
    const t = (i + preRemove) * down - prePad
    const nMax = Math.min(nIn - 1, Math.floor(t / up))
    const nMin = Math.max(0, Math.ceil((t - (taps.length - 1)) / up))
    let acc = 0
    for (let n = nMin; n <= nMax; n += 1) acc += input[n]! * taps[t - n * up]!
    output[i] = acc
  }
  return output
}

/** `scipy.signal.firwin(numTaps, cutoff, window=('kaiser', 5.0))`: windowed sinc, unit gain at DC. */
function lowpassTaps(numTaps: number, cutoff: number): number[] {
  const alpha = (numTaps - 1) / 2
  const i0Beta = besselI0(KAISER_BETA)
  const h: number[] = []
  for (let n = 0; n < numTaps; n += 1) {
    const m = n - alpha
    const ratio = (n - alpha) / alpha
    const window = besselI0(KAISER_BETA * Math.sqrt(1 - ratio * ratio)) / i0Beta
    h.push(cutoff * sinc(cutoff * m) * window)
  }
  const sum = h.reduce((a, b) => a + b, 0)
  return h.map((v) => v / sum)
}

function sinc(x: number): number {
  if (x === 0) return 1
  const y = Math.PI * x
  return Math.sin(y) / y
}

/** Modified Bessel function of the first kind, order 0 (power series; exact to double precision for |x| ≤ 20). */
function besselI0(x: number): number {
  const q = (x / 2) ** 2
  let term = 1
  let sum = 1
  for (let k = 1; k < 200 && term > sum * 1e-17; k += 1) {
    term *= q / (k * k)
    sum += term
  }
  return sum
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}
