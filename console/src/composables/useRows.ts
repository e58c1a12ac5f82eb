// A tab's rows loaded from the server: the rows, whether they are loading, and what the table says
// in their place when loading failed (TableEmpty's `error`); `load()` (again) after a change.
import { ref, shallowRef } from 'vue'

import { loadErrorText } from './useFieldErrors'

export function useRows<Row>(fetch: () => Promise<{ items: Row[] }>) {
  const rows = shallowRef<Row[]>([])
  const loading = ref(false)
  const error = ref('')
  async function load() {
    loading.value = true
    try {
      rows.value = (await fetch()).items
      error.value = ''
    } catch (failure) {
      rows.value = []
      error.value = loadErrorText(failure)
    } finally {
      loading.value = false
    }
  }
  return { rows, loading, error, load }
}
