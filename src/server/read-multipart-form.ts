import type {FastifyRequest} from 'fastify'
import {HttpProblem} from './http-problem.js'

/** A form's text fields and its one uploaded file (undefined when none was sent). */
export interface MultipartForm {
  readonly fields: Readonly<Record<string, string>>
  readonly upload: Buffer | undefined
}

/** A file part as the route sees it, to decide whether it is the upload. */
export interface FilePart {
  readonly fieldname: string
  readonly filename: string
  readonly bytes: Buffer
}

/**
 * Reads a multipart request: every text field, and the file part that `isUpload` accepts (the last one wins); a
 * truncated text field is a 413 naming it.
 */
export async function readMultipartForm(request: FastifyRequest, isUpload: (part: FilePart) => boolean): Promise<MultipartForm> {
  const fields: Record<string, string> = {}
  let upload: Buffer | undefined
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const bytes = await part.toBuffer()
      if (isUpload({fieldname: part.fieldname, filename: part.filename, bytes})) upload = bytes
      continue
    }
    if (part.valueTruncated)
      throw new HttpProblem({
        status: 413,
        code: 'field_too_large',
        message: `The form field ${part.fieldname} is too large.`,
        param: part.fieldname,
      })
    fields[part.fieldname] = String(part.value)
  }
  return {fields, upload}
}
