// Live updates for one tab: work-order timeline events and inbox changes. Pages subscribe with
// `live.on(kind, handler)` and unsubscribe with what it returns; the shell starts and stops it.
//
// One stream per tab: GET /api/v1/live (Server-Sent Events, the session cookie authenticates),
// read with fetch rather than EventSource so that its status can be seen: a 429 (this person has
// 5 streams open already) or a 503 (Redis away) makes the tab poll instead — the work-order
// events after the last one seen (GET /work-orders/events?after=) and the unread count every
// 15 s — and try the stream again a few minutes later. A broken stream reconnects with backoff
// (1 s, 2 s, 4 s … 30 s), resuming after the last work-order event it got (Last-Event-ID). A 401
// goes to sign-in, as every request does (unless it was only the old cookies of a renewal).
import { api, apiUrl, type Schema } from '@/api/client'
import { unreadCount } from '@/api/inbox'

export type WorkOrderEvent = Schema<'Event'>
export interface InboxChange {
  unread: number
  /** The new message, when this change is one (the stream sends it; polling does not). */
  message?: Schema<'InboxMessage'> | null
}

type Handlers = { inbox: (change: InboxChange) => void; work_order: (event: WorkOrderEvent) => void }
type Kind = keyof Handlers

const handlers: { [K in Kind]: Set<Handlers[K]> } = { inbox: new Set(), work_order: new Set() }
let running = false
let lastEventId: number | undefined
let controller: AbortController | undefined
let retryTimer: number | undefined
let pollTimer: number | undefined
let failures = 0

const POLL_MS = 15_000
const STREAM_AGAIN_MS = 5 * 60_000 // after a 429 / 503: poll, and try the stream again this much later
const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000]

function emitInbox(change: InboxChange) {
  handlers.inbox.forEach((handler) => handler(change))
}

function emitWorkOrder(event: WorkOrderEvent) {
  if (lastEventId === undefined || event.id > lastEventId) lastEventId = event.id
  handlers.work_order.forEach((handler) => handler(event))
}

// ---------------------------------------------------------------- polling (the fallback)

async function pollInbox() {
  try {
    const { unread } = await unreadCount()
    emitInbox({ unread })
  } catch {
    // signed out (the client sends the page to sign-in) or offline: the next round tries again
  }
}

async function pollWorkOrders() {
  try {
    let more = true
    while (more) {
      const feed = await api.get<Schema<'EventFeed'>>('/work-orders/events', { after: lastEventId })
      if (lastEventId !== undefined) feed.items.forEach(emitWorkOrder)
      lastEventId = feed.last_id
      more = feed.more
    }
  } catch {
    // as above
  }
}

function poll() {
  void pollInbox()
  if (handlers.work_order.size > 0 || lastEventId !== undefined) void pollWorkOrders()
}

function startPolling() {
  if (pollTimer !== undefined) return
  poll()
  pollTimer = window.setInterval(poll, POLL_MS)
}

function stopPolling() {
  window.clearInterval(pollTimer)
  pollTimer = undefined
}

// ---------------------------------------------------------------- the stream

function dispatch(event: string, data: string) {
  let payload: unknown
  try {
    payload = JSON.parse(data)
  } catch {
    return
  }
  if (event === 'work_order') emitWorkOrder(payload as WorkOrderEvent)
  else if (event === 'inbox') emitInbox(payload as InboxChange)
}

/** Reads `text/event-stream` frames: `event:`, `data:`, `id:` lines, a blank line ends one. */
async function readFrames(body: ReadableStream<Uint8Array>, signal: AbortSignal) {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let event = 'message'
  let data: string[] = []
  signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined))
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '')
      buffer = buffer.slice(end + 1)
      if (line === '') {
        if (data.length) dispatch(event, data.join('\n'))
        event = 'message'
        data = []
      } else if (line.startsWith(':')) {
        failures = 0 // a heartbeat: the stream is healthy
      } else {
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') event = value
        else if (field === 'data') data.push(value)
      }
    }
  }
}

function scheduleStream(delay: number) {
  window.clearTimeout(retryTimer)
  retryTimer = window.setTimeout(() => void openStream(), delay)
}

async function openStream() {
  if (!running) return
  controller = new AbortController()
  const headers: Record<string, string> = { Accept: 'text/event-stream' }
  if (lastEventId !== undefined) headers['Last-Event-ID'] = String(lastEventId)
  let response: Response
  try {
    response = await fetch(apiUrl('/live'), { headers, credentials: 'same-origin', signal: controller.signal })
  } catch {
    if (!running) return
    failures += 1
    scheduleStream(BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)])
    return
  }
  if (response.status === 401) {
    // Signed out: the poll meets the 401 too, the client takes the page to sign-in and the shell
    // stops this. A 401 to the old cookies while 修改密码 renews them is not that: try again.
    await pollInbox()
    failures += 1
    scheduleStream(BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)])
    return
  }
  if (response.status === 429 || response.status === 503 || !response.ok || !response.body) {
    void response.body?.cancel().catch(() => undefined)
    startPolling() // too many tabs, or live updates unavailable: poll as before
    scheduleStream(STREAM_AGAIN_MS)
    return
  }
  stopPolling()
  failures = 0
  try {
    await readFrames(response.body, controller.signal)
  } catch {
    // the connection broke (network, server restart) or was aborted by stop()
  }
  if (!running) return
  failures += 1
  scheduleStream(BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)])
}

export const live = {
  on<K extends Kind>(kind: K, handler: Handlers[K]): () => void {
    handlers[kind].add(handler)
    if (kind === 'work_order' && pollTimer !== undefined && lastEventId === undefined) void pollWorkOrders()
    return () => handlers[kind].delete(handler)
  },
  start() {
    if (running) return
    running = true
    failures = 0
    void openStream()
  },
  stop() {
    running = false
    controller?.abort()
    controller = undefined
    window.clearTimeout(retryTimer)
    stopPolling()
  },
  /** Something on this tab changed the inbox (marked read): tell every subscriber now. */
  refreshInbox: pollInbox,
}
