/** @weixiu-server fresh */
// The clinician's journey, through taps and inputs on rendered pages: scan a sticker → the card →
// 报修 (the form kept as a draft across a closed mini-program) → photos (one lost on the way,
// sent again from the order's page) → the vendor engineer works it (driven through the PC API)
// while the order's page follows live → 退回返修 with a reason → 确认 → the rating with its
// sub-ratings → the archived record. Asserted on what the pages show and what the server recorded.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { MiniProgram, CANVAS_PNG } = require('./harness/runtime')
const backend = require('./harness/backend')
const env = require('./harness/env')

const DEVICE = '000036' // authorized to 服务商测试1: its orders go to the vendor's engineer (孙工)
let phone
let manager
let device
let dir
let photos

beforeAll(async () => {
  manager = await backend.pc('zhangsan')
  device = await backend.device(manager, DEVICE)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weixiu-mp-report-'))
  photos = [1, 2, 3].map((n) => path.join(dir, `fault-${n}.png`))
  photos.forEach((file) => fs.copyFileSync(CANVAS_PNG, file))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
afterEach(() => phone && phone.close())

/** 王医生's phone, bound through the bind page, on the device's card after a scan. */
async function onTheCard() {
  const clinician = new MiniProgram()
  await clinician.launch('/pages/bind/index')
  await clinician.getPhoneNumber('.phone-btn', { phone: '13800000002' })
  await clinician.agreePrivacy()
  clinician.queueScan({ result: device.link_url })
  await clinician.tap('.scan-btn')
  expect(clinician.route).toBe('pages/device/index')
  return clinician
}

/** Wait (real time) until the page shows `text` at `selector`: the page reads the order again by
 * itself every few seconds while shown. */
async function until(selector, text, timeout = 15000) {
  const deadline = Date.now() + timeout
  while (Date.now() < deadline) {
    if (phone.has(selector) && phone.text(selector).includes(text)) return
    await phone.settle()
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${selector} never showed “${text}” (it shows “${phone.has(selector) ? phone.text(selector) : ''}”)`)
}

function draftOf(clinician) {
  return clinician.storage.get(`weixiu.report-draft.${device.id}`)
}

test('scan → 报修 with photos → live timeline → 退回返修 → 确认 → rating → archived record', async () => {
  phone = await onTheCard()
  await phone.tap('.report-btn')
  expect(phone.route).toBe('pages/work-orders/new')
  expect(phone.text('.report-device')).toContain('法国赛特力高频电刀')

  // The server's refusal, in Chinese, beside the field; the contact comes from the account.
  await phone.tap('.submit-btn')
  expect(phone.text('.fault-error')).toBe('请描述故障现象')
  expect(phone.text('.send-error')).toBe('请按提示修改后再提交')

  await phone.tap('.urgency-urgent')
  await phone.input('.fault-input', '开机后屏幕闪烁，电切模式无输出')
  await phone.trigger('.fault-date', 'change', { value: '2026-12-04' })
  await phone.trigger('.fault-time', 'change', { value: '16:30' })
  await phone.tap('.frequency-intermittent')
  await phone.input('.error-code-input', 'E-17')
  await phone.input('.changes-input', '上周搬到 3 号诊室')
  await phone.input('.outcome-input', '恢复电切输出')
  await phone.input('.landline-input', '8021')
  expect(phone.text('.fault-date')).toContain('2026-12-04')
  phone.queueMedia(photos)
  await phone.tap('.add-photos-btn')
  expect(phone.texts('.photo')).toHaveLength(3)

  // The mini-program is closed and opened again: the draft is all there, under the same key.
  const { key } = draftOf(phone)
  expect(key).toMatch(/^[A-Za-z0-9_-]{8,64}$/)
  await phone.launch(`/pages/work-orders/new?device_id=${device.id}`)
  expect(phone.route).toBe('pages/work-orders/new')
  expect(phone.page.data.form).toMatchObject({
    urgency: 'urgent',
    fault_description: '开机后屏幕闪烁，电切模式无输出',
    fault_frequency: 'intermittent',
    error_message: 'E-17',
    landline: '8021',
    contact_name: '王医生',
  })
  expect(phone.texts('.photo')).toHaveLength(3)
  expect(phone.text('.fault-time')).toContain('16:30')

  // Sent: the order, then the photos, one of which the signal drops.
  phone.failUploads(1)
  await phone.tap('.submit-btn')
  expect(phone.route).toBe('pages/work-orders/detail')
  expect(draftOf(phone)).toBeUndefined()
  const id = Number(phone.stack[phone.stack.length - 1].query.id)
  expect(phone.text('.order-status')).toContain('待接单')
  expect(phone.text('.order-urgency')).toContain('紧急')
  expect(phone.text('.pending-photos')).toBe('1 张照片尚未上传')
  expect(phone.texts('.order-photo')).toHaveLength(2)
  expect(phone.has('.confirm-btn')).toBe(false) // not a step the server lists now
  expect(phone.has('.rate-btn')).toBe(false)

  let recorded = await manager.get(`/work-orders/${id}`)
  expect(recorded).toMatchObject({
    urgency: 'urgent',
    fault_description: '开机后屏幕闪烁，电切模式无输出',
    fault_frequency: 'intermittent',
    error_message: 'E-17',
    recent_changes: '上周搬到 3 号诊室',
    expected_outcome: '恢复电切输出',
    contact_name: '王医生',
  })
  expect(recorded.fault_occurred_at).toMatch(/^2026-12-04[T ]16:30/)
  expect(recorded.contact_methods.map((method) => method.value)).toEqual(['13800000002', '8021'])
  expect(recorded.photos).toHaveLength(2)

  // The draft's key named this order: sending it again answers the same one.
  const again = await backend.call(`${env.apiBaseUrl}/mp/v1/work-orders`, {
    method: 'POST',
    token: phone.storage.get('weixiu.token'),
    headers: { 'Idempotency-Key': key },
    body: { device_id: device.id, contact_name: '王医生', fault_description: '重复提交' },
  })
  expect([again.status, again.data.id]).toEqual([200, id])

  // The dropped photo goes from the order's page; the photos show through signed links that need
  // no bearer header.
  await phone.tap('.retry-photos-btn')
  expect(phone.has('.pending-photos')).toBe(false)
  expect(phone.texts('.order-photo')).toHaveLength(3)
  // (simulate renders no attributes of a native <image>: its src is the page's photoLinks)
  const link = phone.page.data.photoLinks[0]
  expect(link).toContain('/mp/v1/photo-links/')
  const image = await backend.call(link)
  expect(image.status).toBe(200)
  expect((await manager.get(`/work-orders/${id}`)).photos).toHaveLength(3)

  // The vendor's engineer works it (the engineer's own pages are tested elsewhere); the order's
  // page follows by itself.
  const engineer = await backend.pc('sungong')
  await engineer.post(`/work-orders/${id}/accept`, {})
  await until('.order-status', '已接单')
  expect(phone.text('.order-assignee')).toContain('孙工')
  await engineer.post(`/work-orders/${id}/arrive`, {})
  const report = {
    diagnosis: '电切模块损坏',
    work_done: '更换电切模块',
    test_result: '输出正常',
    test_passed: true,
    device_condition: 'normal',
  }
  await engineer.post(`/work-orders/${id}/complete`, report)
  await until('.order-status', '待确认')
  expect(phone.texts('.timeline-event').join(' ')).toContain('孙工')

  // 退回返修: a reason is asked for in Chinese, then recorded.
  await phone.tap('.reject-btn')
  expect(phone.text('.reason-input')).toMatch(/[\u4e00-\u9fa5]/)
  expect(phone.page.data.fields.reason).toMatch(/[\u4e00-\u9fa5]/)
  await phone.input('.reason-input', '仍有闪烁')
  await phone.tap('.reject-btn')
  expect(phone.text('.order-status')).toContain('退回返修')
  expect(phone.has('.confirm-btn')).toBe(false)
  expect(phone.texts('.timeline-event').join(' ')).toContain('仍有闪烁')
  recorded = await manager.get(`/work-orders/${id}`)
  expect(recorded.status).toBe('rework')

  await engineer.post(`/work-orders/${id}/arrive`, {})
  await engineer.post(`/work-orders/${id}/complete`, { ...report, work_done: '更换电切模块与脚踏开关' })
  await until('.order-status', '待确认')

  await phone.tap('.confirm-btn')
  expect(phone.text('.order-status')).toContain('待评价')
  expect(phone.has('.reject-btn')).toBe(false)

  // The rating: the overall score is required (said in Chinese), then the sub-ratings.
  await phone.tap('.rate-btn')
  expect(phone.page.data.fields.rating).toMatch(/[\u4e00-\u9fa5]/)
  await phone.tap('.rating-rating .score-5')
  await phone.tap('.rating-response .score-4')
  await phone.tap('.rating-skill .score-5')
  await phone.tap('.rating-attitude .score-5')
  await phone.input('.comment-input', '响应及时')
  await phone.tap('.rate-btn')
  expect(phone.has('.rate-btn')).toBe(false)
  expect(phone.text('.order-rating')).toContain('5 分')

  recorded = await manager.get(`/work-orders/${id}`)
  expect(recorded.status).toBe('closed')
  expect(recorded).toMatchObject({ rating: 5, rating_response: 4, rating_skill: 5, rating_attitude: 5 })
  const records = await manager.get(`/devices/${device.id}/records/repair`)
  const archived = records.items.find((record) => record.summary.startsWith(recorded.number))
  expect(archived.details).toContain('更换电切模块与脚踏开关')

  // 我的工单: the order is among the done ones.
  await phone.launch('/pages/index/index')
  await phone.tap('.my-orders-btn')
  expect(phone.route).toBe('pages/work-orders/mine')
  expect(phone.texts('.my-orders >>> .order-row').join(' ')).not.toContain(recorded.number)
  await phone.tap('.tab-done')
  expect(phone.texts('.my-orders >>> .order-row').join(' ')).toContain(recorded.number)
  await phone.tap('.my-orders >>> .order-row')
  expect(phone.route).toBe('pages/work-orders/detail')
}, 120000) // a long journey, with three waits for the page's own reading of the order

test('the order page shows only the steps the server lists, and answers in Chinese', async () => {
  // An order 王医生 reported, completed by the engineer (through the API).
  phone = await onTheCard()
  await phone.tap('.report-btn')
  await phone.input('.fault-input', '电极线接触不良')
  await phone.input('.landline-input', '8022')
  await phone.tap('.submit-btn')
  expect(phone.route).toBe('pages/work-orders/detail')
  const id = Number(phone.stack[phone.stack.length - 1].query.id)
  const engineer = await backend.pc('sungong')
  await engineer.post(`/work-orders/${id}/accept`, {})
  await engineer.post(`/work-orders/${id}/arrive`, {})
  await engineer.post(`/work-orders/${id}/complete`, {
    diagnosis: '电极线老化',
    work_done: '更换电极线',
    test_result: '输出正常',
    test_passed: true,
    device_condition: 'normal',
  })

  // A file that is not a photo: refused by the server, said in Chinese, kept to send again.
  const notes = path.join(dir, 'notes.txt')
  fs.writeFileSync(notes, 'not a photo')
  phone.queueMedia([notes])
  await phone.tap('.more-photos-btn')
  expect(phone.text('.step-error')).toBe('1 张照片上传失败：只能上传 JPG 或 PNG 图片')
  expect(phone.text('.pending-photos')).toBe('1 张照片尚未上传')
  expect(phone.text('.order-status')).toContain('待确认')
  expect(phone.has('.confirm-btn') && phone.has('.reject-btn')).toBe(true)

  // The equipment manager opens the same order: not the reporter, so neither 确认 nor 退回.
  const office = new MiniProgram({ privacyAgreed: true })
  await office.launch('/pages/bind/index')
  await office.getPhoneNumber('.phone-btn', { phone: '13800000001' }) // 张三
  await office.launch(`/pages/work-orders/detail?id=${id}`)
  expect(office.text('.order-status')).toContain('待确认')
  expect(office.has('.confirm-btn') || office.has('.reject-btn') || office.has('.rate-btn')).toBe(false)
  office.close()

  // An order of another hospital, or none: 工单不存在.
  await phone.launch('/pages/work-orders/detail?id=999999')
  expect(phone.text('.order-error')).toBe('工单不存在')
})
