import {readFile} from 'node:fs/promises'
import {UsageError} from '../errors/index.js'

export interface ReadTextInputParams {
  /** The positional TEXT argument. */
  readonly arg?: string
  /** `--text`: the text, or `-` for standard input. */
  readonly text?: string
  /** `--file`: a UTF-8 text file. */
  readonly file?: string
  /** Longest text accepted, in characters. */
  readonly maxChars: number
  /** @default process.stdin */
  readonly stdin?: NodeJS.ReadableStream
}

/** The text to speak from exactly one of TEXT, --text (or `-` for stdin) and --file; blank or too long is refused. */
export async function readTextInput(params: ReadTextInputParams): Promise<string> {
  const given = [params.arg, params.text, params.file].filter((v) => v !== undefined)
  if (given.length !== 1) {
    throw new UsageError({
      code: given.length === 0 ? 'TEXT_REQUIRED' : 'TEXT_AMBIGUOUS',
      message: given.length === 0 ? 'No text to speak was given.' : 'Give the text once: TEXT, --text or --file.',
      hint: 'Pass the text as an argument, with --text - to read standard input, or with --file FILE.',
    })
  }
  let text: string
  if (params.file !== undefined) {
    text = await readFile(params.file, 'utf8').catch((error: unknown) => {
      throw new UsageError({
        code: 'TEXT_FILE_UNREADABLE',
        message: `Cannot read ${params.file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`,
        hint: 'Pass an existing UTF-8 text file.',
        cause: error,
      })
    })
  } else if (params.text === '-') {
    const chunks: Buffer[] = []
    for await (const chunk of params.stdin ?? process.stdin) chunks.push(Buffer.from(chunk as Buffer))
    text = Buffer.concat(chunks).toString('utf8')
  } else {
    text = (params.text ?? params.arg) as string
  }
  if (text.trim() === '') {
    throw new UsageError({code: 'EMPTY_TEXT', message: 'The text is empty or only whitespace.', hint: 'Pass some text to speak.'})
  }
  if (text.length > params.maxChars) {
    throw new UsageError({
      code: 'TEXT_TOO_LONG',
      message: `The text has ${text.length} characters; the limit is ${params.maxChars}.`,
      hint: 'Split the text, or raise the limit with --max-text-chars.',
      details: {chars: text.length, limit: params.maxChars},
    })
  }
  return text
}
