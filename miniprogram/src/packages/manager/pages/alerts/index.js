// 设备科: the alerts waiting (GET /alerts, the earliest due first); a tap opens the alert page a
// push would. 已处理 with a note, the inbox and the orders needing the office come with the
// manager's pages.
const api = require('../../../../utils/api.js');
const session = require('../../../../utils/session.js');

const ROUTE = 'packages/manager/pages/alerts/index';

Component({
  data: { loading: true, error: '', plans: [] },
  methods: {
    async onLoad(query) {
      try {
        if (!(await session.requireBound(session.pageUrl(ROUTE, query || {})))) return;
        const answer = await api.get('/alerts');
        this.setData({ loading: false, plans: answer.items });
      } catch (error) {
        this.setData({ loading: false, error: error.message });
      }
    },
    open(event) {
      wx.navigateTo({ url: `/pages/alerts/detail?id=${event.currentTarget.dataset.id}` });
    },
  },
});
