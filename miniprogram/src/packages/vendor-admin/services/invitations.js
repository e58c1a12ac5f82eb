// 邀约 (/mp/v1/invitations…): what hospitals sent this vendor, and the admin's answer.
const request = require('../../../services/request.js')

module.exports = {
  /** {items}: pending first; `status` narrows (pending, accepted, declined, revoked). */
  list: (status) => request.get('/invitations', { params: { status } }),
  accept: (id) => request.post(`/invitations/${encodeURIComponent(id)}/accept`, {}),
  decline: (id) => request.post(`/invitations/${encodeURIComponent(id)}/decline`, {}),
}
