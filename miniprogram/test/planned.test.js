/** @weixiu-server fresh */
// Planned orders (保养计划) on the phone. The equipment manager (PC API) gives three 口腔科 devices
// serviced by 服务商测试1 a monthly 保养计划 whose first order is due to be raised already; the
// server's own minute sweep (scheduler and worker, no clock of the test's) raises the three orders
// and 孙工 gets ONE WeChat summary, "今日新增保养工单3张", whose page lists them: he opens it as WeChat
// would, sees the three with the system as reporter and their due date, and accepts one. Then the
// plan's 科室联系人 (王医生) finds another, completed by the engineer, under 我的工单's 待我确认,
// follows its timeline live, confirms it with his own signature and rates it.
const backend = require('./harness/backend')
const { boundPhone, signOwnOrder } = require('./harness/phones')

const DEVICES = ['000033', '000034', '000036'] // 口腔科; 000036 is the demo's vendor-serviced one
const CHECKLIST = ['外观清洁', '吸引压力测试', '管路密封检查']
const SUMMARY_PAGE = 'pages/work-orders/planned'
const ENGINEER_PHONE = '13900000002' // 孙工, 服务商测试1
const CONTACT_PHONE = '13800000002' // 王医生, 口腔科

let phone
afterEach(() => phone && phone.close())

/** YYYY-MM-DD in Asia/Shanghai, `days` from today. */
function shanghaiDay(days) {
  return new Date(Date.now() + 8 * 3600 * 1000 + days * 24 * 3600 * 1000).toISOString().slice(0, 10)
}

async function templateSends() {
  return backend.wechatCalls('/cgi-bin/message/template/send')
}

const pagepathOf = (message) => (message.payload.body.miniprogram || {}).pagepath || ''

let raised
/** The plans made and their orders raised by the server's sweep (once for the file): the summary
 * push, the three orders and who is who. */
function raiseOnce() {
  raised = raised || raise()
  return raised
}

async function raise() {
  const manager = await backend.pc('zhangsan')
  const doctor = await backend.pc('wangyisheng')
  const vendorAdmin = await backend.pc('fuwushang1')
  const devices = []
  for (const code of DEVICES) devices.push(await backend.device(manager, code))
  // 000033 and 000034 join 000036 with the demo's vendor, 保养 included.
  await manager.post('/authorizations', {
    device_ids: devices.slice(0, 2).map((device) => device.id),
    vendor_id: vendorAdmin.user.vendor_id,
    starts_on: shanghaiDay(0),
    ends_on: shanghaiDay(365),
    scopes: ['repair', 'maintenance', 'metrology', 'archive'],
  })
  const due = shanghaiDay(3)
  for (const device of devices) {
    // Due in 3 days, raised 7 days before: the next minute's sweep raises it.
    await manager.post(`/devices/${device.id}/service-plans/maintenance`, {
      interval_count: 1,
      interval_unit: 'month',
      lead_days: 7,
      first_due_on: due,
      checklist: CHECKLIST,
      contact_id: doctor.user.id,
    })
  }
  const summary = await backend.eventually(
    async () => (await templateSends()).find((message) => pagepathOf(message).startsWith(`${SUMMARY_PAGE}?`)),
    'the summary of the new planned orders on WeChat',
    100000, // the scheduler's next minute, then the worker
  )
  const page = await manager.get('/work-orders?kind=maintenance&per_page=50')
  const orders = page.items.filter((order) => order.service_plan_id)
  return { manager, doctor, summary, orders, due }
}

test('one summary push opens the planned orders its sweep raised; the engineer accepts one', async () => {
  const { summary, orders, due } = await raiseOnce()
  expect(orders).toHaveLength(3)
  expect(JSON.stringify(summary.payload)).toContain('今日新增保养工单3张')
  // ONE push on WeChat for the three orders: none of them was pushed one by one to the engineer.
  const sends = await templateSends()
  const toEngineer = sends.filter((message) => message.payload.body.touser === summary.payload.body.touser)
  expect(toEngineer.filter((message) => pagepathOf(message).startsWith(SUMMARY_PAGE))).toHaveLength(1)
  const ids = orders.map((order) => order.id)
  const oneByOne = toEngineer.filter((message) => ids.some((id) => pagepathOf(message).endsWith(`?id=${id}`)))
  expect(oneByOne).toEqual([])

  phone = await boundPhone(ENGINEER_PHONE)
  await phone.launch(`/${pagepathOf(summary)}`) // as WeChat opens the message's page
  expect(phone.route).toBe(SUMMARY_PAGE)
  expect(phone.text('.planned-heading')).toContain('今日新增保养工单 3 张，待接单 3 张')
  const rows = phone.texts('.planned-orders >>> .order-row')
  expect(rows).toHaveLength(3)
  for (const order of orders) expect(rows.join(' ')).toContain(order.number)
  for (const row of rows) {
    expect(row).toContain('系统（保养计划）')
    expect(row).toContain(`保养计划 · 到期日 ${due}`)
    expect(row).not.toContain('null')
  }

  await phone.tap('.planned-orders >>> .order-row')
  expect(phone.route).toBe('packages/engineer/pages/order/index')
  expect(phone.text('.order-source')).toContain(`保养计划 · 到期日 ${due}`)
  expect(phone.text('.order-planned-by')).toContain(due)
  expect(phone.text('.order-contact')).toContain('科室联系人')
  expect(phone.text('.order-contact')).toContain('王医生')
  expect(phone.texts('.checklist-item')).toEqual(CHECKLIST.map((item, index) => `${index + 1}. ${item}`))
  expect(phone.has('.order-fault')).toBe(false) // nothing was reported broken
  await phone.tap('.accept-btn')
  expect(phone.text('.order-status')).toContain('已接单')

  await phone.navigateBack() // the list reads the orders again
  expect(phone.route).toBe(SUMMARY_PAGE)
  expect(phone.text('.planned-heading')).toContain('待接单 2 张')
}, 180000)

test('the plan’s contact finds the completed order under 待我确认, signs to confirm and rates', async () => {
  const { manager, orders } = await raiseOnce()
  const engineer = await backend.pc('sungong')
  const order = orders[0] // the newest (the list is newest first): not the one the engineer accepted above
  await engineer.post(`/work-orders/${order.id}/accept`)
  await engineer.post(`/work-orders/${order.id}/arrive`, {})

  phone = await boundPhone(CONTACT_PHONE)
  await phone.launch(`/pages/work-orders/detail?id=${order.id}`)
  expect(phone.text('.order-source')).toContain('保养计划')
  expect(phone.text('.order-reporter')).toContain('系统（保养计划）')
  expect(phone.text('.order-contact')).toContain('王医生')
  expect(phone.texts('.checklist-item')).toHaveLength(3)
  expect(phone.has('.confirm-btn')).toBe(false)

  // The live timeline: the engineer's service report shows on the open page by itself.
  await engineer.post(`/work-orders/${order.id}/complete`, {
    work_done: '按检查项完成保养',
    test_result: '吸引压力正常',
    test_passed: true,
    device_condition: 'normal',
    checklist: CHECKLIST.map(() => ({ result: 'pass' })), // every item recorded
  })
  const deadline = Date.now() + 15000
  while (!phone.has('.confirm-btn') && Date.now() < deadline) {
    await phone.settle()
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  expect(phone.text('.order-status')).toContain('待确认')
  expect(phone.texts('.timeline-event').join(' ')).toContain('完成服务')

  // 我的工单 opens on 待我确认, where the order waits.
  await phone.launch()
  await phone.tap('.my-orders-btn')
  expect(phone.route).toBe('pages/work-orders/mine')
  expect(phone.page.data.tab).toBe('confirm')
  const waiting = phone.texts('.my-orders >>> .order-row')
  expect(waiting).toHaveLength(1)
  expect(waiting[0]).toContain(order.number)
  await phone.tap('.my-orders >>> .order-row')
  expect(phone.route).toBe('pages/work-orders/detail')
  expect(phone.has('.reject-btn')).toBe(true)

  // His own signature on his phone confirms it: the sign page fills in his name.
  await signOwnOrder(phone, '王医生')
  expect(phone.route).toBe('pages/work-orders/detail')
  expect(phone.text('.order-status')).toContain('待评价')
  await phone.tap('.rating-rating .score-5')
  await phone.tap('.rating-skill .score-4')
  await phone.tap('.rate-btn')
  expect(phone.text('.order-rating')).toContain('5 分')

  const recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded).toMatchObject({ rating: 5, rating_skill: 4 })
  const signOffs = await manager.get(`/work-orders/${order.id}/sign-offs`)
  expect(signOffs.items.map((item) => [item.signer_name, item.place, item.confirms])).toEqual([
    ['王医生', 'reporter_phone', true],
  ])
  const labels = recorded.timeline.map((event) => event.label)
  expect(labels).toContain('客户确认')
}, 180000)
