/** @weixiu-server fresh */
// The engineer's journey on the phone: an order reported (the PC API, as the clinician) reaches
// the vendor engineer by WeChat (the simulator's record); from the queue, emergencies first, the
// order page offers only the server's `actions`: 接单 → 出发 with 预计到场 → 到场 by the device's
// own sticker (another device's refused) → 诊断 → photos → parts → 完工 service report → the customer's
// signature on the canvas, which confirms the order because the contact person signs.
const { CANVAS_PNG } = require('./harness/runtime')
const backend = require('./harness/backend')
const { boundPhone, signOwnOrder } = require('./harness/phones')
const fs = require('fs')
const os = require('os')
const path = require('path')

let phone
afterEach(() => phone && phone.close())

/** The WeChat message the worker sent about `number` (the outbox delivers after the commit). */
async function pushAbout(number) {
  const deadline = Date.now() + 20000
  while (Date.now() < deadline) {
    const sent = await backend.wechatCalls('/cgi-bin/message/template/send')
    const found = sent.find((message) => JSON.stringify(message.payload).includes(number))
    if (found) return found
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`no WeChat message about ${number}`)
}

async function report(doctor, device) {
  return doctor.post('/work-orders', {
    device_id: device.id,
    kind: 'repair',
    urgency: 'downtime',
    contact_name: '王医生',
    contact_methods: [
      { kind: 'mobile', value: '13800000002' },
      { kind: 'landline', value: '8021' },
    ],
    fault_description: '术中高频输出中断',
  })
}

test('from the push to the customer’s signature', async () => {
  const doctor = await backend.pc('wangyisheng')
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, '000036')
  const otherDevice = await backend.device(manager, '000035')
  const order = await report(doctor, device)
  const push = await pushAbout(order.number)
  expect(JSON.stringify(push.payload)).toContain('法国赛特力高频电刀')

  phone = await boundPhone('13900000002') // 孙工, 服务商测试1
  // The page a push opens (WECHAT_WORK_ORDER_PAGE) hands the engineer on to the engineer's page.
  await phone.launch(`/pages/work-orders/detail?id=${order.id}`)
  expect(phone.route).toBe('packages/engineer/pages/order/index')
  expect(phone.text('.order-status')).toContain('待接单')
  await phone.launch()
  await phone.tap('.queue-btn')
  const rows = phone.texts('.orders >>> .order-row')
  expect(rows[0]).toContain(order.number) // 停机影响诊疗 before the demo's 紧急
  expect(rows[0]).toContain('停机影响诊疗')

  await phone.tap('.orders >>> .order-row')
  expect(phone.route).toBe('packages/engineer/pages/order/index')
  expect(phone.text('.order-status')).toContain('待接单')
  expect(phone.texts('.repair-row')[0]).toContain('更换主控板') // the device's history, within scope
  expect(phone.has('.accept-btn')).toBe(true)
  for (const later of ['.depart-btn', '.arrive-scan-btn', '.complete-btn', '.sign-btn']) {
    expect(phone.has(later)).toBe(false)
  }

  await phone.tap('.accept-btn')
  expect(phone.text('.order-status')).toContain('已接单')
  expect(phone.has('.accept-btn')).toBe(false)

  await phone.input('.eta-input', '0')
  await phone.tap('.depart-btn')
  expect(phone.text('.step-error')).toContain('预计')
  expect((await manager.get(`/work-orders/${order.id}`)).status).toBe('accepted')
  await phone.input('.eta-input', '25')
  await phone.tap('.depart-btn')
  expect(phone.text('.order-status')).toContain('已出发')
  let recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded.status).toBe('departed')
  const minutesAway = (Date.parse(recorded.eta) - Date.now()) / 60000
  expect(minutesAway).toBeGreaterThan(20)
  expect(minutesAway).toBeLessThan(26)

  phone.queueScan({ result: otherDevice.link_url }) // the wrong device's sticker
  await phone.tap('.arrive-scan-btn')
  expect(phone.text('.step-error')).toContain('不是本工单的设备')
  expect((await manager.get(`/work-orders/${order.id}`)).status).toBe('departed')
  phone.queueScan({ result: device.link_url })
  await phone.tap('.arrive-scan-btn')
  expect(phone.text('.order-status')).toContain('已到场')
  expect(phone.has('.step-error')).toBe(false)

  await phone.input('.diagnosis-input', '主控板电源模块损坏')
  await phone.tap('.diagnose-btn')
  expect(phone.text('.order-status')).toContain('已诊断')

  // photos of the site: two go, a file that is no picture is refused and offered again
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weixiu-mp-site-'))
  const shots = ['board.png', 'label.png'].map((name) => path.join(dir, name))
  shots.forEach((shot) => fs.copyFileSync(CANVAS_PNG, shot))
  const notAPicture = path.join(dir, 'notes.txt')
  fs.writeFileSync(notAPicture, 'not a photo')
  phone.queueMedia([...shots, notAPicture])
  await phone.tap('.photos-btn')
  expect(phone.text('.step-error')).toContain('1 张照片上传失败')
  expect(phone.text('.retry-photos-btn')).toContain('1 张')
  expect((await manager.get(`/work-orders/${order.id}`)).photos).toHaveLength(2)
  fs.rmSync(dir, { recursive: true, force: true })

  await phone.input('.part-name-input', '电源模块')
  await phone.input('.part-model-input', 'PM-25')
  await phone.input('.part-serial-input', 'SN-7788')
  await phone.tap('.part-origin-certified')
  await phone.trigger('.part-valid-until', 'change', { value: '2020-01-31' }) // past its validity
  await phone.tap('.part-fate-vendor_recovered')
  await phone.tap('.add-part-btn')
  expect(phone.text('.part-valid-until-error')).toBe('该备件已过有效期，不能使用')
  expect(phone.has('.part-row')).toBe(false)
  await phone.trigger('.part-valid-until', 'change', { value: '2099-06-30' })
  await phone.tap('.add-part-btn')
  expect(phone.texts('.part-row')[0]).toContain('电源模块')
  expect(phone.texts('.part-row')[0]).toContain('认证合格 · 有效期至 2099-06-30 · 旧件厂家回收')

  await phone.tap('.complete-btn') // nothing written yet: the server says what is missing
  expect(phone.text('.step-error')).toMatch(/[\u4e00-\u9fa5]/)
  await phone.input('.work-done-input', '更换电源模块')
  await phone.input('.test-result-input', '输出功率正常')
  await phone.tap('.test-passed-yes')
  await phone.tap('.condition-limited')
  await phone.tap('.complete-btn')
  expect(phone.text('.order-status')).toContain('待确认')
  recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded.status).toBe('completed')
  expect(recorded.device_condition).toBe('limited')
  expect(
    recorded.parts.map((part) => [part.name, part.model, part.serial_number, part.origin, part.valid_until]),
  ).toEqual([['电源模块', 'PM-25', 'SN-7788', 'certified', '2099-06-30']])
  expect(recorded.parts[0].replaced_part).toBe('vendor_recovered')
  expect(recorded.timeline.map((event) => event.label)).toEqual(
    expect.arrayContaining(['接单', '出发', '到达现场', '故障诊断', '登记更换配件']),
  )
  // 出发 carried the 预计到场 in the same step: no separate ETA entry.
  expect(recorded.timeline.map((event) => event.label)).not.toContain('确认预计到场时间')
  expect(recorded.eta).toBeTruthy()

  await phone.tap('.sign-btn')
  expect(phone.route).toBe('packages/engineer/pages/sign/index')
  await phone.tap('.submit-sign-btn')
  expect(phone.text('.sign-error')).toBe('请在签名区内签名')
  await phone.stroke('.signature-canvas', [
    { x: 20, y: 60 },
    { x: 60, y: 30 },
    { x: 100, y: 80 },
  ])
  await phone.tap('.submit-sign-btn')
  expect(phone.text('.signer-name-input')).toContain('请签字人填写姓名')
  await phone.input('.signer-name-input', '王医生')
  await phone.tap('.submit-sign-btn')
  expect(phone.text('.sign-result-title')).toContain('已签字确认')

  recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded.status).toBe('confirmed')
  expect(recorded.timeline.map((event) => event.label).slice(-2)).toEqual(['客户签字', '客户确认'])
  await phone.tap('.back-btn')
  expect(phone.route).toBe('packages/engineer/pages/order/index')
  expect(phone.text('.order-status')).toContain('待评价')
  expect(phone.has('.sign-btn')).toBe(false)

  // what the server keeps: the signature as drawn (the canvas's PNG), by whom, where
  const records = require('../src/services/request.js')
  const signOffs = await records.get(`/work-orders/${order.id}/sign-offs`)
  expect(signOffs.items).toHaveLength(1)
  expect(signOffs.items[0]).toMatchObject({ signer_name: '王医生', place: 'engineer_phone', confirms: true })
  expect(signOffs.items[0].size).toBe(fs.statSync(CANVAS_PNG).size)
})

test('without a sticker, 到场 needs a reason and the timeline says 未扫码到场', async () => {
  const doctor = await backend.pc('wangyisheng')
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, '000036')
  const order = await report(doctor, device)
  phone = await boundPhone('13900000002')
  await phone.launch(`/packages/engineer/pages/order/index?id=${order.id}`)
  await phone.tap('.accept-btn')

  await phone.tap('.no-sticker-btn')
  await phone.tap('.arrive-reason-btn')
  expect(phone.text('.arrive-reason-input')).toContain('没有二维码时请填写未扫码的原因')
  await phone.input('.arrive-reason-input', '二维码标签被污损')
  await phone.tap('.arrive-reason-btn')
  expect(phone.text('.order-status')).toContain('已到场')
  expect(phone.texts('.timeline-event').pop()).toContain('未扫码到场')
  const recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded.timeline.pop()).toMatchObject({
    label: '未扫码到场',
    detail: { scanned: false, reason: '二维码标签被污损' },
  })

  // finish it (the journeys share one server: no open order is left behind)
  const work = require('../src/packages/engineer/services/work.js')
  await work.diagnose(order.id, '标签污损，设备正常')
  await work.complete(order.id, {
    work_done: '检查设备',
    test_result: '正常',
    test_passed: true,
    device_condition: 'normal',
  })
  await doctor.post(`/work-orders/${order.id}/confirm`, {})
})

test('the reporter signs the report on their own phone, which confirms the order', async () => {
  const doctor = await backend.pc('wangyisheng')
  const manager = await backend.pc('zhangsan')
  const engineer = await backend.pc('sungong')
  const device = await backend.device(manager, '000036')
  const order = await report(doctor, device)
  await engineer.post(`/work-orders/${order.id}/accept`, {})
  await engineer.post(`/work-orders/${order.id}/arrive`, {})
  await engineer.post(`/work-orders/${order.id}/complete`, {
    diagnosis: '高频发生器过热保护',
    work_done: '清洁散热风道，更换风扇',
    test_result: '连续输出 30 分钟正常',
    test_passed: true,
    device_condition: 'normal',
  })

  phone = await boundPhone('13800000002') // 王医生, the reporter
  await phone.launch(`/pages/work-orders/detail?id=${order.id}`)
  expect(phone.text('.order-status')).toContain('待确认')
  await signOwnOrder(phone, '王医生') // the reporter's own name, filled in
  expect(phone.route).toBe('pages/work-orders/detail')
  expect(phone.text('.order-status')).toContain('待评价')
  expect(phone.has('.sign-btn')).toBe(false)

  const recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded.status).toBe('confirmed')
  expect(recorded.timeline.pop().detail.note).toBe('王医生（报修人）在报修人手机签字确认')
  const signOffs = await manager.get(`/work-orders/${order.id}/sign-offs`)
  expect(signOffs.items.map((item) => [item.signer_name, item.place, item.confirms])).toEqual([
    ['王医生', 'reporter_phone', true],
  ])
})
