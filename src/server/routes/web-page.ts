import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {FastifyInstance} from 'fastify'
import {packageRoot} from '../../config/project-paths.js'

/** The page's files (the package's `web/` folder: static HTML and browser JavaScript, no build step). */
const FILES = [
  {route: '/', file: 'index.html', type: 'text/html; charset=utf-8'},
  {route: '/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8'},
] as const

/** Routes of the page, answered without the API key (the page asks for it and sends it with its requests). */
export const WEB_PAGE_ROUTES: readonly string[] = FILES.map((f) => f.route)

/** Only the page's own origin; audio plays from blob: URLs (the streamed answer). */
const CONTENT_SECURITY_POLICY = "default-src 'self'; style-src 'unsafe-inline'; media-src 'self' blob:; connect-src 'self'"

/** `GET /`: a small page to type a text, pick a voice, a format and a speed, and hear the streamed result. */
export async function registerWebPageRoutes(app: FastifyInstance): Promise<void> {
  for (const {route, file, type} of FILES) {
    const body = await readFile(join(packageRoot(), 'web', file))
    app.get(route, async (_request, reply) =>
      reply
        .header('content-type', type)
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('cache-control', 'no-cache')
        .send(body),
    )
  }
}
