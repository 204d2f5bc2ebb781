import {expect, inject} from 'vitest'

/**
 * The ONNX export that test/oracle4-setup.ts made of an oracle4 family before the tests; a test without one fails
 * here, saying why. (Apart from oracle4.ts, which the global set-up imports: vitest's expect is not there.)
 */
export function oracle4Export(family: string): string {
  const dir = inject('oracle4Onnx')[family]
  expect(dir, 'test/oracle4-setup.ts exported nothing: is ../shared/oracle4 there?').toBeDefined()
  return dir ?? ''
}
