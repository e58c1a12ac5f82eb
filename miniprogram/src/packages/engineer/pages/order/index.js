// 工程师的工单: the order as the engineer works it, with the device's repair history within the
// authorization's scope, and only the steps the server lists in `actions`: 接单; 出发 with 预计到场
// (one POST /depart carrying the ETA); 到场 by scanning the device's own sticker (wx.scanCode; the server
// checks it is this order's device) or, without one, with a reason (未扫码到场); 诊断; parts; photos
// (wx.chooseMedia, then services/upload.js, 3 at a time; failed ones are offered again); the service
// report (完工); then the customer's signature (sign_off) on the sign page. 待备件 (with the reason) stops
// the completion clock until 备件到货; the 服务时限 rows say the time left or how late each clock is.
const workOrders = require('../../../../services/work-orders.js')
const boundPage = require('../../../../utils/bound-page.js')
const scan = require('../../../../utils/scan.js')
const upload = require('../../../../services/upload.js')
const work = require('../../services/work.js')
const sla = require('../../../../utils/sla.js')

const ETA_MINUTES = '30'
const CONDITIONS = [
  { value: 'normal', label: '正常运行' },
  { value: 'limited', label: '限制使用' },
  { value: 'out_of_service', label: '停用待修' },
  { value: 'scrap_suggested', label: '建议报废' },
]
const CONCLUSIONS = [
  { value: 'passed', label: '合格' },
  { value: 'failed', label: '不合格' },
  { value: 'restricted', label: '限用' },
]
const EMPTY_CERTIFICATE = { number: '', calibrated_on: '', valid_until: '', conclusion: 'passed', issuer: '' }
// The SOP's 备件 rules: original or certified, within its validity, and the old part's fate.
const PART_ORIGINS = [
  { value: 'original', label: '原厂' },
  { value: 'certified', label: '认证合格' },
]
const REPLACED_PART_FATES = [
  { value: 'returned', label: '交还医院' },
  { value: 'vendor_recovered', label: '厂家回收' },
  { value: 'scrapped', label: '报废销毁' },
  { value: 'none', label: '无旧件' },
]
const EMPTY_PART = { name: '', model: '', serial_number: '', origin: 'original', valid_until: '', replaced_part: '' }

/** The part as the server takes it: fields left empty are not sent. */
function partBody(part) {
  const body = {}
  for (const [key, value] of Object.entries(part)) if (value !== '') body[key] = value
  return body
}

/** 原厂 · 有效期至 2028-06-30 · 旧件厂家回收: what the row under a part's name says. */
function partTrace(part) {
  return [
    part.model,
    part.serial_number,
    part.origin_label,
    part.valid_until && `有效期至 ${part.valid_until}`,
    part.replaced_part_label && `旧件${part.replaced_part_label}`,
  ]
    .filter(Boolean)
    .join(' · ')
}
const EMPTY_REPORT = { work_done: '', test_result: '', test_passed: true, device_condition: 'normal' }

/** A measurement's limits as the engineer reads them: 0.5–1.5 V, ≥10 MΩ, ≤0.2 Ω. */
function limits(item) {
  if (item.kind !== 'measurement') return ''
  let text = ''
  if (item.lower !== null && item.upper !== null) text = `${item.lower}–${item.upper}`
  else if (item.lower !== null) text = `≥${item.lower}`
  else if (item.upper !== null) text = `≤${item.upper}`
  return `限值 ${text} ${item.unit || ''}`.trim()
}

/** What the server will decide of an entry: a measurement passes within its limits. */
function verdict(item, entry) {
  if (item.kind === 'check') return entry.result === 'pass' ? '合格' : entry.result === 'fail' ? '不合格' : ''
  if (entry.value === '' || entry.value === undefined || Number.isNaN(Number(entry.value))) return ''
  const value = Number(entry.value)
  const inside = (item.lower === null || value >= item.lower) && (item.upper === null || value <= item.upper)
  return inside ? '合格' : '不合格'
}

/** {accept: true, …}: the steps the server lists for this caller now. */
function allowed(actions) {
  const can = {}
  for (const name of actions || []) can[name] = true
  return can
}

/** What the camera read: a sticker's link, or a 小程序码's scene (d=<token>) from its page path. */
function scannedText(result) {
  if (!result.path) return result.result
  const match = /[?&]scene=([^&]*)/.exec(result.path)
  return match ? decodeURIComponent(match[1]) : result.path
}

/** Today in Beijing as YYYY-MM-DD: the earliest 有效期至 the date picker offers. */
function localToday() {
  return new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10)
}

/** The server's time (UTC, ISO) `minutes` from now. */
function etaIn(minutes) {
  return new Date(Date.now() + minutes * 60000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

Component({
  behaviors: [boundPage],
  data: {
    order: null,
    can: {},
    repairs: [],
    repairsError: '',
    conditions: CONDITIONS,
    partOrigins: PART_ORIGINS,
    replacedPartFates: REPLACED_PART_FATES,
    partTraces: [],
    today: '',
    etaMinutes: ETA_MINUTES,
    noSticker: false,
    reason: '',
    diagnosis: '',
    newPart: EMPTY_PART,
    report: EMPTY_REPORT,
    results: [],
    conclusions: CONCLUSIONS,
    certificate: EMPTY_CERTIFICATE,
    certificateFile: null,
    failedPhotos: [],
    slaRows: [],
    partsReason: '',
    uploading: false,
    busy: false,
    stepError: '',
    fields: {},
  },
  methods: {
    async fetch() {
      const order = await workOrders.get(this.query.id || '')
      wx.setNavigationBarTitle({ title: order.number })
      let repairs = []
      let repairsError = ''
      try {
        repairs = (await work.repairs(order.device_id)).items
      } catch (error) {
        repairsError = error.message // outside the authorization's scope: said, not fatal
      }
      return { ...this.shown(order), repairs, repairsError }
    },
    shown(order) {
      const checklist = (order.checklist || []).map((item) => ({ ...item, limits: limits(item) }))
      // The entries typed so far stay while the order is reloaded (a photo, a refused report).
      const results = checklist.map((item, index) => {
        const entry = this.data.results[index] || { result: '', value: '', note: '', photo_id: null }
        return { ...entry, verdict: verdict(item, entry) }
      })
      const current = order.certificate
      const certificate =
        this.data.certificate.number || !current
          ? this.data.certificate
          : { ...EMPTY_CERTIFICATE, ...current, valid_until: current.valid_until || '' }
      return {
        order: { ...order, checklist },
        results,
        certificate,
        can: allowed(order.actions),
        diagnosis: this.data.diagnosis || order.diagnosis || '',
        partTraces: (order.parts || []).map(partTrace), // beside order.parts, index for index
        today: localToday(),
        slaRows: sla.rows(order.sla),
      }
    },
    /** One step: the order as the server now has it, or its Chinese error (beside a field when named). */
    async step(call) {
      if (this.data.busy) return false
      this.setData({ busy: true, stepError: '', fields: {} })
      try {
        const order = await call()
        this.setData(this.shown(order))
        return true
      } catch (error) {
        const fields = error.fields || {}
        this.setData({ stepError: Object.values(fields).join('；') || error.message, fields })
        return false
      } finally {
        this.setData({ busy: false })
      }
    },
    accept() {
      return this.step(() => work.accept(this.data.order.id))
    },
    onEtaInput(event) {
      this.setData({ etaMinutes: event.detail.value })
    },
    depart() {
      const id = this.data.order.id
      const minutes = Number(this.data.etaMinutes)
      if (this.data.can.eta && !(minutes > 0 && minutes <= 24 * 60)) {
        this.setData({ stepError: '请填写预计多少分钟到场（1–1440）', fields: { eta: '请填写预计到场分钟数' } })
        return null
      }
      return this.step(() => work.depart(id, this.data.can.eta ? etaIn(minutes) : undefined))
    },
    scanToArrive() {
      const id = this.data.order.id
      return new Promise((resolve) => {
        scan
          .scanCode()
          .then((result) => resolve(this.step(() => work.arrive(id, { q: scannedText(result) }))))
          .catch((error) => {
            if (!scan.cancelled(error)) this.setData({ stepError: '扫码失败，请重试；没有二维码时请填写原因' })
            resolve(false)
          })
      })
    },
    showNoSticker() {
      this.setData({ noSticker: true })
    },
    onReasonInput(event) {
      this.setData({ reason: event.detail.value })
    },
    arriveWithoutSticker() {
      return this.step(() => work.arrive(this.data.order.id, { reason: this.data.reason }))
    },
    onDiagnosisInput(event) {
      this.setData({ diagnosis: event.detail.value })
    },
    diagnose() {
      return this.step(() => work.diagnose(this.data.order.id, this.data.diagnosis))
    },
    onPartInput(event) {
      this.setData({ [`newPart.${event.currentTarget.dataset.field}`]: event.detail.value })
    },
    chooseOrigin(event) {
      this.setData({ 'newPart.origin': event.currentTarget.dataset.value })
    },
    onPartValidUntil(event) {
      this.setData({ 'newPart.valid_until': event.detail.value })
    },
    chooseReplacedPart(event) {
      this.setData({ 'newPart.replaced_part': event.currentTarget.dataset.value })
    },
    async addPart() {
      const id = this.data.order.id
      const added = await this.step(async () => {
        await work.addPart(id, partBody(this.data.newPart))
        return workOrders.get(id)
      })
      if (added) this.setData({ newPart: EMPTY_PART })
    },
    onReportInput(event) {
      this.setData({ [`report.${event.currentTarget.dataset.field}`]: event.detail.value })
    },
    chooseTestPassed(event) {
      this.setData({ 'report.test_passed': event.currentTarget.dataset.passed === 'yes' })
    },
    chooseCondition(event) {
      this.setData({ 'report.device_condition': event.currentTarget.dataset.value })
    },
    chooseResult(event) {
      const { index, result } = event.currentTarget.dataset
      this.setResult(index, { result })
    },
    onResultInput(event) {
      const { index, field } = event.currentTarget.dataset
      this.setResult(index, { [field]: event.detail.value })
    },
    setResult(index, change) {
      const entry = { ...this.data.results[index], ...change }
      entry.verdict = verdict(this.data.order.checklist[index], entry)
      this.setData({ [`results[${index}]`]: entry })
    },
    /** An item's photo: taken now, uploaded as the order's photo, named in its record. */
    takeResultPhoto(event) {
      const { index } = event.currentTarget.dataset
      wx.chooseMedia({
        count: 1,
        mediaType: ['image'],
        sizeType: ['compressed'],
        success: async (result) => {
          try {
            const photo = await upload.uploadPhoto(this.data.order.id, result.tempFiles[0].tempFilePath)
            this.setResult(index, { photo_id: photo.id })
          } catch (error) {
            this.setData({ stepError: `照片上传失败：${error.message}` })
          }
        },
      })
    },
    checklistBody() {
      return this.data.order.checklist.map((item, index) => {
        const entry = this.data.results[index]
        const value = entry.value === '' || entry.value === undefined ? null : Number(entry.value)
        return {
          result: item.kind === 'check' ? entry.result || null : null,
          value: item.kind === 'measurement' ? value : null,
          note: (entry.note || '').trim() || null,
          photo_id: entry.photo_id || null,
        }
      })
    },
    complete() {
      const body = { ...this.data.report, diagnosis: this.data.diagnosis }
      if (this.data.order.checklist.length) body.checklist = this.checklistBody()
      return this.step(() => work.complete(this.data.order.id, body))
    },
    onCertificateInput(event) {
      this.setData({ [`certificate.${event.currentTarget.dataset.field}`]: event.detail.value })
    },
    chooseConclusion(event) {
      this.setData({ 'certificate.conclusion': event.currentTarget.dataset.value })
    },
    chooseCertificatePdf() {
      wx.chooseMessageFile({
        count: 1,
        type: 'file',
        extension: ['pdf', 'jpg', 'jpeg', 'png'],
        success: (result) =>
          this.setData({ certificateFile: { path: result.tempFiles[0].path, name: result.tempFiles[0].name } }),
      })
    },
    chooseCertificatePhoto() {
      wx.chooseMedia({
        count: 1,
        mediaType: ['image'],
        success: (result) =>
          this.setData({ certificateFile: { path: result.tempFiles[0].tempFilePath, name: '证书照片' } }),
      })
    },
    /** 上传计量证书: the fields as formData beside the file (or, correcting the fields, without one). */
    saveCertificate() {
      const id = this.data.order.id
      const fields = {}
      for (const [name, value] of Object.entries(this.data.certificate)) if (value) fields[name] = value
      const file = this.data.certificateFile
      return this.step(async () => {
        await upload.uploadCertificate(id, file && file.path, fields)
        this.setData({ certificateFile: null })
        return workOrders.get(id)
      })
    },
    choosePhotos() {
      wx.chooseMedia({
        count: 9,
        mediaType: ['image'],
        sizeType: ['compressed'],
        success: (result) => this.uploadPhotos(result.tempFiles.map((file) => file.tempFilePath)),
        fail: (error) => {
          if (!/cancel/.test(error.errMsg || '')) this.setData({ stepError: '未能选择照片，请重试' })
        },
      })
    },
    retryPhotos() {
      return this.uploadPhotos(this.data.failedPhotos)
    },
    async uploadPhotos(filePaths) {
      const id = this.data.order.id
      this.setData({ uploading: true, stepError: '' })
      const results = await upload.uploadPhotos(id, filePaths)
      const failed = results.filter((result) => result.error)
      let shown = {}
      try {
        shown = this.shown(await workOrders.get(id)) // the photo count as the server has it
      } catch {
        // the photos went or not as said below; the count catches up on the next visit
      }
      this.setData({
        ...shown,
        uploading: false,
        failedPhotos: failed.map((result) => result.filePath),
        stepError: failed.length ? `${failed.length} 张照片上传失败：${failed[0].error.message}` : '',
      })
    },
    onPartsReasonInput(event) {
      this.setData({ partsReason: event.detail.value })
    },
    /** 待备件: the completion clock stops until the parts arrive. */
    async waitForParts() {
      const waited = await this.step(() => work.waitParts(this.data.order.id, this.data.partsReason))
      if (waited) this.setData({ partsReason: '' })
    },
    partsArrived() {
      return this.step(() => work.partsArrived(this.data.order.id))
    },
    sign() {
      wx.navigateTo({ url: `/packages/engineer/pages/sign/index?id=${this.data.order.id}` })
    },
  },
})
