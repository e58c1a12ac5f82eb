// 订阅消息 (/mp/v1/subscriptions): the templates to ask for and what this WeChat user answered.
const request = require('./request.js')

module.exports = {
  /** {template_ids, items: [{purpose, template_id, status, status_label, remaining}]} */
  list: () => request.get('/subscriptions'),
  /** wx.requestSubscribeMessage's answer as it came ({[tmplId]: 'accept' | 'reject' | 'ban', errMsg}). */
  report: (results) => request.post('/subscriptions', { results }),
}
