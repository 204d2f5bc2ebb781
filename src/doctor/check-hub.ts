import {checkGatedAccess, GATED_REPO, UNGATED_REPO} from '../hub/index.js'
import type {DoctorCheck} from './doctor-check.js'

export interface CheckGatedRepoParams {
  readonly endpoint: string
  /** HF_TOKEN / --token; without one the check is left out. */
  readonly token?: string
  readonly fetch?: typeof fetch
  /** @default 2000 */
  readonly timeoutMs?: number
}

const WAYS_OUT =
  `accept the terms of ${GATED_REPO} on the hub with the token's account, or download ` +
  `with --allow-no-cloning to use ${UNGATED_REPO} (predefined voices only).`

/** Whether the token can download the gated weights (voice cloning). Never required: the ungated weights exist. */
export async function checkGatedRepo(params: CheckGatedRepoParams): Promise<DoctorCheck | null> {
  if (params.token === undefined || params.token === '') return null
  const title = 'Hub token (gated weights)'
  const access = await checkGatedAccess({
    endpoint: params.endpoint,
    accessToken: params.token,
    ...(params.fetch === undefined ? {} : {fetch: params.fetch}),
    ...(params.timeoutMs === undefined ? {} : {timeoutMs: params.timeoutMs}),
  })
  switch (access.status) {
    case 'ok':
      return {id: 'hub.gated', title, status: 'pass', detail: `the token reaches ${GATED_REPO} at ${params.endpoint}`, required: false}
    case 'refused':
      return access.httpStatus === 401
        ? {
            id: 'hub.gated',
            title,
            status: 'fail',
            detail: `${params.endpoint} rejected the token (HTTP 401)`,
            hint: `Check HF_TOKEN/--token (a read token from your hub settings); or ${WAYS_OUT}`,
            required: false,
          }
        : {
            id: 'hub.gated',
            title,
            status: 'warn',
            detail: `the token is valid but may not download ${GATED_REPO} (HTTP 403)`,
            hint: `Either ${WAYS_OUT}`,
            required: false,
          }
    case 'unexpected':
      return {
        id: 'hub.gated',
        title,
        status: 'warn',
        detail: `unexpected answer HTTP ${access.httpStatus} from ${access.url}`,
        hint: 'Check --endpoint / POCKETTTS_HUB_ENDPOINT.',
        required: false,
      }
    case 'unreachable':
      return {
        id: 'hub.gated',
        title,
        status: 'warn',
        detail: `not checked: ${params.endpoint} unreachable (${access.reason})`,
        hint: 'Offline is fine for synth; `model download --offline` works from the lock file.',
        required: false,
      }
  }
}
