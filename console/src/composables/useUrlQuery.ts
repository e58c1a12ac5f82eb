// Every list keeps its filters and page in the URL: a link or a refresh shows the same list, and
// the back button steps through filters.
import { computed, reactive, watch } from 'vue'
import { type LocationQuery, useRoute, useRouter } from 'vue-router'

type Defaults = Record<string, string | number>

function fromQuery<T extends Defaults>(query: LocationQuery, defaults: T): T {
  const values = { ...defaults }
  for (const key of Object.keys(defaults) as Array<keyof T>) {
    const raw = query[key as string]
    const text = Array.isArray(raw) ? raw[0] : raw
    if (text === undefined || text === null) continue
    const fallback = defaults[key]
    if (typeof fallback === 'number') {
      const number = Number(text)
      if (Number.isFinite(number)) values[key] = number as T[keyof T]
    } else {
      values[key] = text as T[keyof T]
    }
  }
  return values
}

/**
 * `filters` mirrors the URL's query (with these defaults); `apply(changes)` writes to the URL and
 * goes back to page 1 unless the change is the page itself. `query` is what to send to the API
 * (empty values left out).
 */
export function useUrlQuery<T extends Defaults>(defaults: T) {
  const route = useRoute()
  const router = useRouter()
  const filters = reactive(fromQuery(route.query, defaults)) as T

  watch(
    () => route.query,
    (query) => Object.assign(filters, fromQuery(query, defaults)),
  )

  function apply(changes: Partial<T>) {
    const next: Record<string, string> = {}
    const merged = { ...filters, ...changes } as T
    if (!('page' in changes) && 'page' in defaults) (merged as Defaults).page = 1
    for (const [key, value] of Object.entries(merged)) {
      if (value === '' || value === undefined || value === null || value === defaults[key]) continue
      next[key] = String(value)
    }
    void router.push({ query: next })
  }

  const query = computed(() =>
    Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== '' && value !== undefined)),
  )

  function reset() {
    void router.push({ query: {} })
  }

  return { filters, apply, query, reset }
}
