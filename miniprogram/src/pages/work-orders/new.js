// 报修: the form for one device (opened from its card, `?device_id=`), kept as a draft in storage
// while typed (utils/report-draft.js) and sent as JSON under the draft's Idempotency-Key; then the
// photos, one upload each (services/upload.js). A photo that fails stays with the order, to be sent again from
// the order's page (utils/pending-photos.js). The server's field errors show beside the fields.
const devices = require('../../services/devices.js')
const workOrders = require('../../services/work-orders.js')
const upload = require('../../services/upload.js')
const boundPage = require('../../utils/bound-page.js')
const drafts = require('../../utils/report-draft.js')
const pendingPhotos = require('../../utils/pending-photos.js')
const { choosePhotos } = require('../../utils/choose-photos.js')

const MAX_PHOTOS = 9
const KINDS = [
  { value: 'repair', label: '维修' },
  { value: 'maintenance', label: '预防性维护' },
  { value: 'metrology', label: '计量' },
]
const URGENCIES = [
  { value: 'normal', label: '普通' },
  { value: 'urgent', label: '紧急' },
  { value: 'downtime', label: '停机影响诊疗' },
]
const FREQUENCIES = [
  { value: 'once', label: '偶发一次' },
  { value: 'intermittent', label: '间歇出现' },
  { value: 'persistent', label: '持续存在' },
]
// The fields whose errors show beside them (the server names the contacts as one list,
// contact_methods, shown at the mobile input); any other error shows above the button.
const SHOWN_FIELDS = [
  'kind',
  'fault_description',
  'fault_occurred_at',
  'error_message',
  'recent_changes',
  'expected_outcome',
  'contact_name',
  'mobile',
]

/** "2026-12-05" + "08:30" (Beijing time) as the API's ISO time, or null. */
function occurredAt(date, time) {
  if (!date) return null
  return `${date}T${time || '00:00'}:00+08:00`
}

function bodyOf(deviceId, form) {
  const methods = [
    { kind: 'mobile', value: form.mobile },
    { kind: 'landline', value: form.landline },
  ].filter((method) => (method.value || '').trim())
  return {
    device_id: Number(deviceId),
    kind: form.kind,
    urgency: form.urgency,
    fault_description: form.fault_description,
    fault_occurred_at: occurredAt(form.fault_date, form.fault_time),
    fault_frequency: form.fault_frequency || null,
    error_message: form.error_message,
    recent_changes: form.recent_changes,
    expected_outcome: form.expected_outcome,
    contact_name: form.contact_name,
    contact_methods: methods,
  }
}

Component({
  behaviors: [boundPage],
  data: {
    device: null,
    form: {},
    photos: [],
    fields: {},
    sending: false,
    sendError: '',
    progress: '',
    kinds: KINDS,
    urgencies: URGENCIES,
    frequencies: FREQUENCIES,
  },
  methods: {
    async fetch() {
      const deviceId = this.query.device_id
      if (!deviceId) throw new Error('没有设备信息，请从设备页进入报修')
      const device = await devices.get(deviceId)
      if (!device.can_report) throw new Error('这台设备不能报修')
      const user = this.user || {}
      this.draft = drafts.load(deviceId, {
        kind: 'repair',
        urgency: 'normal',
        contact_name: user.display_name || '',
        mobile: user.phone || '',
      })
      return { device, form: this.draft.form, photos: this.draft.photos || [] }
    },
    keep() {
      this.draft.form = this.data.form
      this.draft.photos = this.data.photos
      drafts.save(this.query.device_id, this.draft)
    },
    set(name, value) {
      this.setData({ [`form.${name}`]: value, [`fields.${name}`]: '' })
      this.keep()
    },
    onInput(event) {
      this.set(event.currentTarget.dataset.field, event.detail.value)
    },
    onPick(event) {
      const { field, value } = event.currentTarget.dataset
      this.set(field, this.data.form[field] === value && field === 'fault_frequency' ? '' : value)
    },
    onDate(event) {
      this.set('fault_date', event.detail.value)
    },
    onTime(event) {
      this.set('fault_time', event.detail.value)
    },
    async addPhotos() {
      const room = MAX_PHOTOS - this.data.photos.length
      if (room <= 0) {
        wx.showToast({ title: `最多 ${MAX_PHOTOS} 张照片`, icon: 'none' })
        return
      }
      const picked = await choosePhotos(room)
      if (!picked.length) return
      this.setData({ photos: this.data.photos.concat(picked) })
      this.keep()
    },
    removePhoto(event) {
      const photos = this.data.photos.filter((_, index) => index !== event.currentTarget.dataset.index)
      this.setData({ photos })
      this.keep()
    },
    async submit() {
      if (this.data.sending) return
      this.setData({ sending: true, fields: {}, sendError: '' })
      let order
      try {
        order = await workOrders.create(bodyOf(this.query.device_id, this.data.form), this.draft.key)
      } catch (error) {
        const fields = { ...error.fields }
        if (fields.contact_methods) fields.mobile = fields.contact_methods
        const shown = Object.keys(fields).some((name) => SHOWN_FIELDS.includes(name))
        this.setData({ sending: false, fields, sendError: shown ? '请按提示修改后再提交' : error.message })
        return
      }
      drafts.clear(this.query.device_id) // the order exists: a new 报修 on this device starts afresh
      const photos = this.data.photos
      const failed = []
      if (photos.length) {
        const results = await upload.uploadPhotos(order.id, photos, (index, percent) =>
          this.setData({ progress: `正在上传照片 ${index + 1}/${photos.length}（${percent}%）` }),
        )
        results.forEach((result) => result.error && failed.push(result.filePath))
      }
      pendingPhotos.keep(order.id, failed)
      this.setData({ sending: false, progress: '' })
      wx.showToast({ title: failed.length ? `已报修，${failed.length} 张照片待重传` : '已报修', icon: 'none' })
      // created=1: the order's page offers WeChat notices of its progress (a tap asks the popup).
      wx.redirectTo({ url: `/pages/work-orders/detail?id=${order.id}&created=1` })
    },
  },
})
