// Live updates for one tab: work-order timeline events and inbox changes. Pages subscribe with
// `live.on(kind, handler)` and unsubscribe with what it returns; the shell starts and stops it.
//
// For now this polls: the unread count, and — while a page listens for them — the work-order
// events after the last one seen (GET /work-orders/events?after=). The multiplexed stream
// replaces the polling behind the same interface.
import { api, type Schema } from '@/api/client'
import { unreadCount } from '@/api/inbox'

export type WorkOrderEvent = Schema<'Event'>
export interface InboxChange {
  unread: number
}

type Handlers = { inbox: (change: InboxChange) => void; work_order: (event: WorkOrderEvent) => void }
type Kind = keyof Handlers

const handlers: { [K in Kind]: Set<Handlers[K]> } = { inbox: new Set(), work_order: new Set() }
let timer: number | undefined
let lastEventId: number | undefined

const POLL_MS = 15_000

async function pollInbox() {
  try {
    const { unread } = await unreadCount()
    handlers.inbox.forEach((handler) => handler({ unread }))
  } catch {
    // signed out (the client sends the page to sign-in) or offline: the next round tries again
  }
}

async function pollWorkOrders() {
  if (handlers.work_order.size === 0) return
  try {
    let more = true
    while (more) {
      const feed = await api.get<Schema<'EventFeed'>>('/work-orders/events', { after: lastEventId })
      if (lastEventId !== undefined)
        feed.items.forEach((event) => handlers.work_order.forEach((handler) => handler(event)))
      lastEventId = feed.last_id
      more = feed.more
    }
  } catch {
    // as above
  }
}

function poll() {
  void pollInbox()
  void pollWorkOrders()
}

export const live = {
  on<K extends Kind>(kind: K, handler: Handlers[K]): () => void {
    handlers[kind].add(handler)
    if (kind === 'work_order' && lastEventId === undefined) void pollWorkOrders()
    return () => handlers[kind].delete(handler)
  },
  start() {
    if (timer !== undefined) return
    poll()
    timer = window.setInterval(poll, POLL_MS)
  },
  stop() {
    window.clearInterval(timer)
    timer = undefined
  },
  /** Something on this tab changed the inbox (marked read): tell every subscriber now. */
  refreshInbox: pollInbox,
}
