// A short confirmation at the bottom of the device page (已提交报修, 已确认…), gone after a moment.
import { ref } from 'vue'

export const toastText = ref('')
let timer: number | undefined

export function toast(text: string) {
  toastText.value = text
  window.clearTimeout(timer)
  timer = window.setTimeout(() => (toastText.value = ''), 2500)
}
