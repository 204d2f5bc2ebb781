import {isPocketTtsError, PocketTtsError} from '../errors/index.js'
import {PoolFullError} from './generation-pool.js'

export interface HttpProblemParams {
  readonly status: number
  /** Stable machine-readable code (OpenAI's `error.code`). */
  readonly code: string
  readonly message: string
  readonly hint?: string
  /** The request field at fault (OpenAI's `error.param`). */
  readonly param?: string | null
  /** Sent as `Retry-After` (429, 503). */
  readonly retryAfterSeconds?: number
  readonly cause?: unknown
}

/** An error with the HTTP status it answers with; the message is safe to show to the client. */
export class HttpProblem extends PocketTtsError {
  readonly status: number
  readonly param: string | null
  readonly retryAfterSeconds: number | undefined

  constructor(params: HttpProblemParams) {
    super({
      code: params.code,
      message: params.message,
      ...(params.hint === undefined ? {} : {hint: params.hint}),
      ...(params.cause === undefined ? {} : {cause: params.cause}),
    })
    this.status = params.status
    this.param = params.param ?? null
    this.retryAfterSeconds = params.retryAfterSeconds
  }
}
HttpProblem.prototype.name = 'HttpProblem'

/** Library error codes that mean "the upload is not audio we can read" (415) rather than "bad input" (400). */
const UNSUPPORTED_MEDIA = new Set(['AUDIO_FORMAT_UNSUPPORTED'])

/** Fastify and plugin error codes: the status and the code we answer with. */
const FRAMEWORK_ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large'],
  FST_REQ_FILE_TOO_LARGE: [413, 'upload_too_large'],
  FST_PARTS_LIMIT: [413, 'too_many_parts'],
  FST_FILES_LIMIT: [413, 'too_many_files'],
  FST_FIELDS_LIMIT: [413, 'too_many_fields'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_body'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_body'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_body'],
  FST_PROTO_VIOLATION: [400, 'invalid_body'],
}

/**
 * Any thrown value as an HttpProblem: typed pockettts input errors become 400 (415 for unreadable audio),
 * framework errors keep their status (body too large 413, bad JSON 400), anything else is a 500 whose
 * message does not leak internals.
 */
export function toHttpProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error
  if (error instanceof PoolFullError) {
    return new HttpProblem({
      status: 429,
      code: 'queue_full',
      message: error.message,
      ...(error.hint === undefined ? {} : {hint: error.hint}),
      cause: error,
    })
  }
  if (isPocketTtsError(error) && error.exitCode === 2) {
    return new HttpProblem({
      status: UNSUPPORTED_MEDIA.has(error.code) ? 415 : 400,
      code: error.code.toLowerCase(),
      message: error.message,
      ...(error.hint === undefined ? {} : {hint: error.hint}),
      cause: error,
    })
  }
  const framework = error as {code?: unknown; statusCode?: unknown; message?: unknown}
  const known = typeof framework.code === 'string' ? FRAMEWORK_ERRORS[framework.code] : undefined
  if (known !== undefined) return new HttpProblem({status: known[0], code: known[1], message: String(framework.message), cause: error})
  if (
    typeof framework.code === 'string' &&
    typeof framework.statusCode === 'number' &&
    framework.statusCode >= 400 &&
    framework.statusCode < 500
  ) {
    return new HttpProblem({
      status: framework.statusCode,
      code: framework.code.toLowerCase(),
      message: String(framework.message),
      cause: error,
    })
  }
  if (error instanceof SyntaxError || (typeof framework.statusCode === 'number' && framework.statusCode === 400)) {
    return new HttpProblem({
      status: 400,
      code: 'invalid_body',
      message: `The request body could not be parsed: ${String(framework.message)}`,
      cause: error,
    })
  }
  return new HttpProblem({
    status: 500,
    code: 'internal_error',
    message: 'Internal server error.',
    hint: 'See the server log (by request id).',
    cause: error,
  })
}

/** Upstream's FastAPI error shape `{detail}`, with our stable code beside it. */
export function upstreamErrorBody(problem: HttpProblem): {detail: string; code: string} {
  return {detail: problem.message, code: problem.code}
}

/** OpenAI's error shape. */
export interface OpenAiErrorBody {
  readonly error: {readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null}
}

export function openAiErrorBody(problem: HttpProblem): OpenAiErrorBody {
  const type =
    problem.status === 401
      ? 'authentication_error'
      : problem.status === 429
        ? 'rate_limit_error'
        : problem.status >= 500
          ? 'server_error'
          : 'invalid_request_error'
  return {error: {message: problem.message, type, param: problem.param, code: problem.code}}
}
