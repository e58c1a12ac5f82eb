/** @weixiu-server fresh */
// The whole repair on two phones, through taps on rendered pages: the clinician scans the sticker
// and reports with photos (and asks for the order's WeChat notices); the vendor's engineer opens
// the push WeChat delivered (its page path, as WeChat opens it), accepts, departs with an ETA,
// arrives by scanning the device's own sticker, diagnoses, writes the service report and takes the
// customer's signature; the clinician, told by a subscribe message, rates; the order is archived in
// the device's records with its signature.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { MiniProgram, CANVAS_PNG } = require('./harness/runtime')
const backend = require('./harness/backend')
const { boundPhone } = require('./harness/phones')

const DEVICE = '000036' // authorized to 服务商测试1: its orders go to 孙工
let clinician
let engineer
let dir
afterAll(() => dir && fs.rmSync(dir, { recursive: true, force: true }))
afterEach(() => {
  if (clinician) clinician.close()
  if (engineer) engineer.close()
})

/** What the WeChat simulator received at `endpoint` that mentions `text`, waiting for the worker. */
async function sentAbout(endpoint, text, timeout = 20000) {
  const deadline = Date.now() + timeout
  while (Date.now() < deadline) {
    const found = (await backend.wechatCalls(endpoint)).find((call) => JSON.stringify(call.payload).includes(text))
    if (found) return found
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`no ${endpoint} about ${text}`)
}

test('scan → 报修 with photos → the push → the engineer at the device → signature → rating → archived', async () => {
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, DEVICE)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weixiu-mp-journey-'))
  const photos = [1, 2].map((n) => path.join(dir, `fault-${n}.png`))
  photos.forEach((file) => fs.copyFileSync(CANVAS_PNG, file))

  // 王医生 scans the sticker and reports.
  clinician = new MiniProgram()
  await clinician.launch('/pages/bind/index')
  await clinician.getPhoneNumber('.phone-btn', { phone: '13800000002' })
  await clinician.agreePrivacy()
  clinician.queueScan({ result: device.link_url })
  await clinician.tap('.scan-btn')
  await clinician.tap('.report-btn')
  await clinician.tap('.urgency-urgent')
  await clinician.input('.fault-input', '注射压力报警，无法推注')
  await clinician.input('.landline-input', '8021')
  clinician.queueMedia(photos)
  await clinician.tap('.add-photos-btn')
  await clinician.tap('.submit-btn')
  expect(clinician.route).toBe('pages/work-orders/detail')
  expect(clinician.texts('.order-photo')).toHaveLength(2)
  const id = Number(clinician.stack[clinician.stack.length - 1].query.id)
  const { number } = await manager.get(`/work-orders/${id}`)
  // Right after 报修: the notices of this order, asked from the tap.
  await clinician.tap('.subscribe >>> .subscribe-btn')
  expect(clinician.text('.subscribe >>> .subscription-work_order')).toContain('可接收 1 条')

  // The push reaches 孙工; WeChat opens its page path, which hands him on to the engineer's page.
  const push = await sentAbout('/cgi-bin/message/template/send', number)
  const pagepath = push.payload.body.miniprogram.pagepath
  expect(pagepath).toBe(`pages/work-orders/detail?id=${id}`)
  engineer = await boundPhone('13900000002')
  await engineer.launch(`/${pagepath}`)
  expect(engineer.route).toBe('packages/engineer/pages/order/index')

  await engineer.tap('.accept-btn')
  expect(engineer.text('.order-status')).toContain('已接单')
  // 王医生's accepted notice goes as the subscribe message he allowed.
  const notice = await sentAbout('/cgi-bin/message/subscribe/send', number)
  expect(notice.payload.body.page).toContain(`id=${id}`)

  await engineer.input('.eta-input', '30')
  await engineer.tap('.depart-btn')
  expect(engineer.text('.order-status')).toContain('已出发')
  engineer.queueScan({ result: device.link_url })
  await engineer.tap('.arrive-scan-btn')
  expect(engineer.text('.order-status')).toContain('已到场')
  await engineer.input('.diagnosis-input', '压力传感器漂移')
  await engineer.tap('.diagnose-btn')
  await engineer.input('.work-done-input', '更换压力传感器并校准')
  await engineer.input('.test-result-input', '推注 3 次正常')
  await engineer.tap('.test-passed-yes')
  await engineer.tap('.condition-normal')
  await engineer.tap('.complete-btn')
  expect(engineer.text('.order-status')).toContain('待确认')

  // The customer signs on the engineer's phone: the contact person, so the order is confirmed.
  await engineer.tap('.sign-btn')
  await engineer.stroke('.signature-canvas', [
    { x: 20, y: 60 },
    { x: 70, y: 20 },
    { x: 120, y: 80 },
  ])
  await engineer.input('.signer-name-input', '王医生')
  await engineer.tap('.submit-sign-btn')
  expect(engineer.text('.sign-result-title')).toContain('已签字确认')
  engineer.close()
  engineer = null

  // 王医生 opens the order again and rates it.
  await clinician.launch(`/pages/work-orders/detail?id=${id}`)
  expect(clinician.text('.order-status')).toContain('待评价')
  await clinician.tap('.rating-rating .score-5')
  await clinician.tap('.rate-btn')
  expect(clinician.text('.order-rating')).toContain('5 分')

  // What the server keeps: the order archived with its timeline, the signature, the device's record.
  const recorded = await manager.get(`/work-orders/${id}`)
  expect(recorded.status).toBe('closed')
  expect(recorded.photos).toHaveLength(2)
  const labels = recorded.timeline.map((event) => event.label)
  for (const step of ['提交报修', '接单', '出发', '到达现场', '故障诊断', '客户签字', '客户确认']) {
    expect(labels).toContain(step)
  }
  expect(labels).not.toContain('未扫码到场')
  const signOffs = await manager.get(`/work-orders/${id}/sign-offs`)
  expect(signOffs.items.map((item) => [item.signer_name, item.place, item.confirms])).toEqual([
    ['王医生', 'engineer_phone', true],
  ])
  const records = await manager.get(`/devices/${device.id}/records/repair`)
  const archived = records.items.find((record) => record.summary.startsWith(number))
  expect(archived.details).toContain('更换压力传感器并校准')
}, 120000)
