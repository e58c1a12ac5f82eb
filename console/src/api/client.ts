// Every request the console makes goes through here: the session cookie rides along, a change
// echoes the CSRF cookie in X-CSRF-Token (console_api/http.py), and errors arrive as ApiError with
// the server's Chinese message and, for a form, its field errors.
import type { components, paths } from './schema'

export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name]

export const API_BASE = '/api/v1'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** field → Chinese reason, beside the field in a form */
    readonly fields: Record<string, string> = {},
    /** the import's row errors and similar lists the server attaches */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

type QueryValue = string | number | boolean | null | undefined | Array<string | number>
export type Query = Record<string, QueryValue>

export interface RequestOptions {
  query?: Query
  body?: unknown
  form?: FormData
  signal?: AbortSignal
  /** The answer carries this tab's new session cookies (修改密码 ends every session signed before). */
  renewsSession?: boolean
  /** Headers of the call's own (报修's Idempotency-Key). */
  headers?: Record<string, string>
}

/** Called on a 401 (the session ended or expired): the app returns to sign-in. */
let onSignedOut: (() => void) | null = null
export function whenSignedOut(handler: () => void) {
  onSignedOut = handler
}

// A renewal ends the old session on the server before its answer brings this tab the new cookies:
// a request that went out with the old ones meanwhile (the live stream reconnecting, a poll) meets
// a 401 that does not mean this tab was signed out. Those 401s are the caller's error only.
let renewing = 0
let renewals = 0

/** Whether a 401 to a request sent at renewal `sentAt` can be the old session's, since renewed. */
function oldSessionRefused(sentAt: number): boolean {
  return renewing > 0 || sentAt !== renewals
}

function readCookie(name: string): string {
  const found = document.cookie.split('; ').find((part) => part.startsWith(`${name}=`))
  return found ? decodeURIComponent(found.slice(name.length + 1)) : ''
}

/** `/api/v1/devices?page=2&status=in_use` — also for links that open in a tab (exports, labels). */
export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) value.forEach((item) => params.append(key, String(item)))
    else params.append(key, String(value))
  }
  const search = params.toString()
  return `${API_BASE}${path}${search ? `?${search}` : ''}`
}

/** The calls that sign in: their 401 is a refusal to say, not a session that ended. */
const SIGN_INS = ['/session', '/session/sms', '/account-code']

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  let body: BodyInit | undefined
  if (options.form) {
    body = options.form
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = readCookie('csrf_token')
  const sentAt = renewals
  if (options.renewsSession) renewing += 1
  let response: Response
  try {
    response = await fetch(apiUrl(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    })
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error
    throw new ApiError(0, 'network', '网络连接失败，请检查网络后重试')
  } finally {
    if (options.renewsSession) renewing -= 1
  }
  // The browser has stored the answer's cookies by now (they come with its headers).
  if (options.renewsSession && response.ok) renewals += 1
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let payload: any = null
  try {
    payload = text ? JSON.parse(text) : null
  } catch {
    payload = null
  }
  if (!response.ok) {
    const { code, message, fields, ...extra } = payload?.error ?? {}
    const error = new ApiError(
      response.status,
      code ?? 'http_error',
      message ?? `服务器暂时无法处理（${response.status}），请稍后重试`,
      fields ?? {},
      extra,
    )
    if (response.status === 401 && !SIGN_INS.includes(path) && !oldSessionRefused(sentAt)) onSignedOut?.()
    throw error
  }
  return payload as T
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, { body }),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, { body }),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body }),
  delete: <T>(path: string) => request<T>('DELETE', path),
  upload: <T>(path: string, form: FormData) => request<T>('POST', path, { form }),
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'
/** The JSON body an operation takes: `JsonBody<'/api/v1/devices', 'post'>`. */
export type JsonBody<P extends keyof paths, M extends Method> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } }
}
  ? B
  : never
/** The query an operation takes: `QueryOf<'/api/v1/devices', 'get'>`. */
export type QueryOf<P extends keyof paths, M extends Method> = paths[P][M] extends {
  parameters: { query?: infer Q }
}
  ? NonNullable<Q>
  : never
