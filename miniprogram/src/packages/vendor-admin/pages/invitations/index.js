// 邀约: what hospitals sent this vendor. The pending ones first, each with 接受 / 拒绝 after a
// confirmation (accepting lets the hospital authorize its devices to this vendor); the answered
// ones below with their outcome. Only a vendor admin may answer: the server says so to anyone else.
const invitations = require('../../services/invitations.js')
const boundPage = require('../../../../utils/bound-page.js')
const { confirm } = require('../../utils/confirm.js')

const ANSWERS = {
  accept: { verb: '接受', done: '已接受', note: '接受后该机构可将设备委托给本服务商维保。' },
  decline: { verb: '拒绝', done: '已拒绝', note: '拒绝后该机构可再次邀约。' },
}

Component({
  behaviors: [boundPage],
  data: { pending: [], handled: [], busy: false, stepError: '' },
  methods: {
    async fetch() {
      const items = (await invitations.list()).items
      return {
        pending: items.filter((item) => item.status === 'pending'),
        handled: items.filter((item) => item.status !== 'pending'),
      }
    },
    accept(event) {
      return this.answer(event.currentTarget.dataset.id, 'accept')
    },
    decline(event) {
      return this.answer(event.currentTarget.dataset.id, 'decline')
    },
    async answer(id, how) {
      if (this.data.busy) return
      const invitation = this.data.pending.find((item) => item.id === Number(id))
      const { verb, done, note } = ANSWERS[how]
      if (!(await confirm(`${verb}邀约`, `${verb}「${invitation.institution}」的邀约？${note}`, verb))) return
      this.setData({ busy: true, stepError: '' })
      try {
        await invitations[how](invitation.id)
        wx.showToast({ title: done, icon: 'success' })
        this.setData(await this.fetch())
      } catch (error) {
        this.setData({ stepError: error.message })
      } finally {
        this.setData({ busy: false })
      }
    },
  },
})
