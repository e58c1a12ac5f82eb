// How far an alert's expiry day (a date in Asia/Shanghai, `due_on`) is from today there, whatever
// the phone's own time zone: "还有 3 天", "今天到期", "已过期 2 天".
const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000
const DAY_MS = 24 * 3600 * 1000

/** Today's date in Asia/Shanghai, YYYY-MM-DD. */
function todayInShanghai(now = Date.now()) {
  return new Date(now + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10)
}

/** Days from today (Asia/Shanghai) to `dueOn` (YYYY-MM-DD): negative once it has passed. */
function daysUntil(dueOn, now = Date.now()) {
  return Math.round((Date.parse(dueOn) - Date.parse(todayInShanghai(now))) / DAY_MS)
}

function dueText(dueOn, now = Date.now()) {
  const days = daysUntil(dueOn, now)
  if (days > 0) return `还有 ${days} 天`
  if (days === 0) return '今天到期'
  return `已过期 ${-days} 天`
}

/** A server moment (ISO with its +08:00 offset) as people read it: "2025-03-01 09:30". */
function shownTime(moment) {
  return moment ? moment.slice(0, 16).replace('T', ' ') : ''
}

module.exports = { todayInShanghai, daysUntil, dueText, shownTime }
