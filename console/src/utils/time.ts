// The server sends times as ISO strings with +08:00 (北京时间); show them in Asia/Shanghai
// whatever the PC's own zone is.
const ZONE = 'Asia/Shanghai'

const dateTime = new Intl.DateTimeFormat('zh-CN', {
  timeZone: ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
})
const dateOnly = new Intl.DateTimeFormat('zh-CN', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' })

function parts(format: Intl.DateTimeFormat, value: Date) {
  return Object.fromEntries(format.formatToParts(value).map((part) => [part.type, part.value]))
}

/** 2026-12-05 10:30 */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—'
  const p = parts(dateTime, new Date(value))
  return `${p.year}-${p.month}-${p.day} ${p.hour === '24' ? '00' : p.hour}:${p.minute}`
}

/** 2026-12-05 (a date-only string stays as it is) */
export function formatDate(value: string | null | undefined): string {
  if (!value) return '—'
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value
  const p = parts(dateOnly, new Date(value))
  return `${p.year}-${p.month}-${p.day}`
}

/** Today in Shanghai as YYYY-MM-DD (date pickers' defaults, report ranges). */
export function todayInShanghai(): string {
  return formatDate(new Date().toISOString())
}
