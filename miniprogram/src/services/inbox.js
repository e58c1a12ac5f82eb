// 消息 (/mp/v1/inbox…): my messages (an alert's reminder, a work order's notice), newest first.
const request = require('./request.js')

module.exports = {
  /** {items, total, page, per_page, unread}; params: unread (true: only the unread), page, per_page. */
  list: (params) => request.get('/inbox', { params }),
  /** Mark one read: answers the message. */
  read: (id) => request.post(`/inbox/${encodeURIComponent(id)}/read`, {}),
}
