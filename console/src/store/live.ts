// Live updates for one tab: work-order timeline events and inbox changes. Pages subscribe with
// `live.on(kind, handler)` and unsubscribe with what it returns.
//
// Until the multiplexed stream lands this polls the unread count; pages that need work-order
// events keep polling /work-orders/events themselves.
import { unreadCount } from '@/api/inbox'

export interface InboxChange {
  unread: number
}

type Handlers = { inbox: (change: InboxChange) => void; work_order: (event: unknown) => void }
type Kind = keyof Handlers

const handlers: { [K in Kind]: Set<Handlers[K]> } = { inbox: new Set(), work_order: new Set() }
let timer: number | undefined

const POLL_MS = 15_000

async function pollInbox() {
  try {
    const { unread } = await unreadCount()
    handlers.inbox.forEach((handler) => handler({ unread }))
  } catch {
    // signed out (the client sends the page to sign-in) or offline: the next round tries again
  }
}

export const live = {
  on<K extends Kind>(kind: K, handler: Handlers[K]): () => void {
    handlers[kind].add(handler)
    return () => handlers[kind].delete(handler)
  },
  start() {
    if (timer !== undefined) return
    void pollInbox()
    timer = window.setInterval(pollInbox, POLL_MS)
  },
  stop() {
    window.clearInterval(timer)
    timer = undefined
  },
  /** Something on this tab changed the inbox (marked read): tell every subscriber now. */
  refreshInbox: pollInbox,
}
