// 服务时限 as a phone shows them: one row per clock (响应 / 到场 / 完成) of an order's `sla`, with its
// due time and what it says now: 剩余 2小时 / 已超时 15分钟 / 达标 / 超时 / 已暂停（待备件）.

/** 90 → "1小时30分钟" */
function duration(minutes) {
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const rest = minutes % 60
  return `${days ? `${days}天` : ''}${hours ? `${hours}小时` : ''}${rest ? `${rest}分钟` : ''}` || '0分钟'
}

function stateText(deadline) {
  const left = deadline.minutes_left
  if (left !== null && left !== undefined) return left >= 0 ? `剩余 ${duration(left)}` : `已超时 ${duration(-left)}`
  return deadline.state_label
}

/** The rows of the 服务时限 section: [{kind, title, due, text, late}]. */
function rows(sla) {
  return (sla || []).map((deadline) => ({
    kind: deadline.kind,
    title: `${deadline.kind_label}时限（${duration(deadline.minutes)}）`,
    due: `截止 ${(deadline.due_at || '').slice(5, 16).replace('T', ' ')}`,
    text: stateText(deadline),
    late: ['missed', 'missed_open', 'overdue'].includes(deadline.state),
  }))
}

module.exports = { duration, rows }
