// 设备科工作台 (the manager's home from 首页's 预警): the alerts by phase, 预警中 and 到期未处理
// (GET /alerts?phase=…, the earliest due first), each with its subject, kind, expiry day and how
// far it is; a tap opens the alert page a push would (pages/alerts/detail, where 已处理 is). Above
// them, what else waits for the office: 消息 (unread), 紧急待接单, 待回访.
const alerts = require('../../../../services/alerts.js')
const inbox = require('../../../../services/inbox.js')
const office = require('../../services/office.js')
const boundPage = require('../../../../utils/bound-page.js')
const { dueText } = require('../../../../utils/due.js')

const PHASES = ['warning', 'overdue'] // 预警中, 到期未处理
const SHOWN = 50

Component({
  behaviors: [boundPage],
  data: {
    tab: 'warning',
    byPhase: { warning: [], overdue: [] },
    totals: { warning: 0, overdue: 0 },
    plans: [],
    dues: {},
    unread: 0,
    emergencies: 0,
    followUps: 0,
  },
  methods: {
    async fetch() {
      const [warning, overdue, messages, emergencies, followUps] = await Promise.all([
        ...PHASES.map((phase) => alerts.list({ phase, per_page: SHOWN })),
        inbox.list({ unread: true, per_page: 1 }),
        office.emergenciesWaiting(),
        office.followUpsWaiting(1),
      ])
      const dues = {}
      warning.items.concat(overdue.items).forEach((plan) => {
        dues[plan.id] = dueText(plan.due_on)
      })
      const byPhase = { warning: warning.items, overdue: overdue.items }
      return {
        byPhase,
        totals: { warning: warning.total, overdue: overdue.total },
        plans: byPhase[this.data.tab],
        dues,
        unread: messages.unread,
        emergencies: emergencies.length,
        followUps: followUps.total,
      }
    },
    switchTab(event) {
      const tab = event.currentTarget.dataset.tab
      this.setData({ tab, plans: this.data.byPhase[tab] })
    },
    open(event) {
      wx.navigateTo({ url: `/pages/alerts/detail?id=${event.currentTarget.dataset.id}` })
    },
    openInbox() {
      wx.navigateTo({ url: '/packages/manager/pages/inbox/index' })
    },
    openEmergencies() {
      wx.navigateTo({ url: '/packages/manager/pages/emergencies/index' })
    },
    openFollowUps() {
      wx.navigateTo({ url: '/packages/manager/pages/follow-ups/index' })
    },
  },
})
