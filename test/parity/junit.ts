import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {expect} from 'vitest'

export interface JunitCase {
  readonly name: string
  readonly classname: string
  readonly failure?: {readonly message: string; readonly text: string}
  readonly skipped?: {readonly message: string}
}

export interface JunitSuite {
  readonly name: string
  readonly tests: number
  readonly failures: number
  readonly skipped: number
  readonly testcases: readonly JunitCase[]
}

/**
 * Checks that `xml` is well-formed XML (fast-xml-parser's validator) with the JUnit structure CI tools read:
 * <testsuites> holding <testsuite name tests failures errors skipped time> holding <testcase name classname>
 * with an optional <failure message> or <skipped/>; the counts must match the children.
 */
export function validateJunit(xml: string): JunitSuite[] {
  expect(XMLValidator.validate(xml)).toBe(true)
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
    textNodeName: 'text',
  })
  const doc = parser.parse(xml) as {testsuites?: {testsuite?: Record<string, unknown>[]; tests?: string; failures?: string}}
  expect(doc.testsuites).toBeDefined()
  const root = doc.testsuites!
  const suites = (root.testsuite ?? []).map((s): JunitSuite => {
    for (const attr of ['name', 'tests', 'failures', 'errors', 'skipped', 'time']) expect(s[attr], `testsuite @${attr}`).toBeDefined()
    const testcases = ((s['testcase'] ?? []) as Record<string, unknown>[]).map((t): JunitCase => {
      expect(typeof t['name']).toBe('string')
      expect(t['classname']).toBe(s['name'])
      const failure = t['failure'] as {message?: string; text?: string} | undefined
      const skipped = t['skipped'] as {message?: string} | undefined
      expect(failure !== undefined && skipped !== undefined).toBe(false)
      if (failure !== undefined) expect(typeof failure.message).toBe('string')
      return {
        name: String(t['name']),
        classname: String(t['classname']),
        ...(failure === undefined ? {} : {failure: {message: String(failure.message), text: String(failure.text ?? '')}}),
        ...(skipped === undefined ? {} : {skipped: {message: String(skipped.message ?? '')}}),
      }
    })
    const suite = {
      name: String(s['name']),
      tests: Number(s['tests']),
      failures: Number(s['failures']),
      skipped: Number(s['skipped']),
      testcases,
    }
    expect(suite.tests).toBe(testcases.length)
    expect(suite.failures).toBe(testcases.filter((t) => t.failure !== undefined).length)
    expect(suite.skipped).toBe(testcases.filter((t) => t.skipped !== undefined).length)
    return suite
  })
  expect(Number(root.tests)).toBe(suites.reduce((n, s) => n + s.tests, 0))
  expect(Number(root.failures)).toBe(suites.reduce((n, s) => n + s.failures, 0))
  return suites
}
