// One work order kept current on a page (the PC's 工单详情, the device page a sticker opens): read
// for each id, then again whenever the live stream (or its polling fallback) brings an event of
// its timeline — someone else's step (the engineer's 到场) shows at once, then the order's new
// status and the caller's next `actions`. A step the page takes itself is shown with `show`.
import { computed, onBeforeUnmount, type Ref, ref, watch } from 'vue'

import { ApiError } from '@/api/client'
import { getWorkOrder, type WorkOrderDetail, type WorkOrderEvent } from '@/api/workOrders'
import { live } from '@/store/live'

export function useLiveOrder(id: Ref<number>) {
  const order = ref<WorkOrderDetail | null>(null)
  const events = ref<WorkOrderEvent[]>([])
  const loadError = ref('')

  /** The timeline: the detail's events and the live ones, each once, in order. */
  const timeline = computed(() => [...events.value].sort((a, b) => a.id - b.id))
  function mergeEvents(incoming: WorkOrderEvent[]) {
    const seen = new Set(events.value.map((event) => event.id))
    const fresh = incoming.filter((event) => !seen.has(event.id))
    if (fresh.length) events.value = [...events.value, ...fresh]
  }

  function show(detail: WorkOrderDetail) {
    order.value = detail
    mergeEvents(detail.timeline)
  }

  async function load() {
    try {
      show(await getWorkOrder(id.value))
      loadError.value = ''
    } catch (error) {
      loadError.value =
        error instanceof ApiError && error.status === 404
          ? '工单不存在，或您无权查看'
          : error instanceof ApiError
            ? error.message
            : '工单加载失败，请稍后重试'
    }
  }

  watch(
    id,
    () => {
      order.value = null
      events.value = []
      void load()
    },
    { immediate: true },
  )

  let refreshTimer: number | undefined
  const stop = live.on('work_order', (event) => {
    if (event.work_order_id !== id.value) return
    mergeEvents([event])
    window.clearTimeout(refreshTimer)
    refreshTimer = window.setTimeout(() => void load(), 200)
  })
  onBeforeUnmount(() => {
    stop()
    window.clearTimeout(refreshTimer)
  })

  return { order, timeline, loadError, load, show }
}
