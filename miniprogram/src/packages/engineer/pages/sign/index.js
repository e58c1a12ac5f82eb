// 客户签字 on the engineer's phone, or the reporter's own: the signer draws with a finger on the
// canvas (the strokes are utils/signature-pad.js's) and types their name (the reporter's is filled
// in, as a planned order's 科室联系人's is); the picture (canvasToTempFilePath) goes up as the sign-off record. The server decides: the
// reporter's signature, or the order's contact person's on the engineer's phone, confirms the
// order; anyone else's is attached to the report and the reporter still confirms.
const workOrders = require('../../../../services/work-orders.js')
const upload = require('../../../../services/upload.js')
const boundPage = require('../../../../utils/bound-page.js')
const { createPad } = require('../../utils/signature-pad.js')

const CANVAS = 'signature'

/** The finger's point on the canvas: a canvas's touches have x / y (a view's, clientX / clientY). */
function touchOf(event) {
  const touch = (event.touches && event.touches[0]) || (event.changedTouches && event.changedTouches[0])
  if (!touch) return null
  return touch.x !== undefined ? { x: touch.x, y: touch.y } : { x: touch.clientX, y: touch.clientY }
}

function canvasImage(component) {
  return new Promise((resolve, reject) => {
    wx.canvasToTempFilePath({ canvasId: CANVAS, fileType: 'png', success: resolve, fail: reject }, component)
  })
}

Component({
  behaviors: [boundPage],
  data: { order: null, signerName: '', signed: false, busy: false, signError: '', fields: {}, signOff: null },
  lifetimes: {
    attached() {
      this.pad = createPad()
    },
  },
  methods: {
    async fetch() {
      const order = await workOrders.get(this.query.id || '')
      if (!(order.actions || []).includes('sign_off')) throw new Error('该工单当前不能签字')
      // The reporter, or a planned order's 科室联系人, on their own phone: their own name.
      return { order, signerName: this.data.signerName || (order.requester ? this.user.display_name : '') }
    },
    context() {
      if (!this.ctx) {
        this.ctx = wx.createCanvasContext(CANVAS, this)
        this.ctx.setStrokeStyle('#000000')
        this.ctx.setLineWidth(3)
        this.ctx.setLineCap('round')
      }
      return this.ctx
    },
    onTouchStart(event) {
      const touch = touchOf(event)
      if (touch) this.pad.begin(touch)
    },
    onTouchMove(event) {
      const touch = touchOf(event)
      const segment = touch && this.pad.extend(touch)
      if (!segment) return
      const ctx = this.context()
      ctx.beginPath()
      ctx.moveTo(segment[0].x, segment[0].y)
      ctx.lineTo(segment[1].x, segment[1].y)
      ctx.stroke()
      ctx.draw(true)
    },
    onTouchEnd() {
      this.pad.end()
      this.setData({ signed: this.pad.isSigned() })
    },
    clear() {
      this.pad.clear()
      this.context().draw(false) // an empty draw clears the canvas
      this.setData({ signed: false })
    },
    onNameInput(event) {
      this.setData({ signerName: event.detail.value })
    },
    async submit() {
      if (this.data.busy) return
      if (!this.pad.isSigned()) {
        this.setData({ signError: '请在签名区内签名' })
        return
      }
      if (!this.data.signerName.trim()) {
        this.setData({ signError: '', fields: { signer_name: '请签字人填写姓名' } })
        return
      }
      this.setData({ busy: true, signError: '', fields: {} })
      try {
        const image = await canvasImage(this)
        const signOff = await upload.uploadSignOff(this.data.order.id, image.tempFilePath, this.data.signerName.trim())
        this.setData({ signOff })
        wx.showToast({ title: signOff.confirms ? '已签字确认' : '签字已提交', icon: 'success' })
      } catch (error) {
        const fields = error.fields || {}
        this.setData({ signError: fields.signer_name ? '' : error.message || '签名保存失败，请重试', fields })
      } finally {
        this.setData({ busy: false })
      }
    },
    back() {
      wx.navigateBack()
    },
  },
})
