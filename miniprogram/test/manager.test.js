/** @weixiu-server fresh */
// The equipment manager's journey on the phone (张三, 设备科). The demo's 设备操作证 is inside its
// warning window and its reminder goes out at the server's first sweep: the WeChat template message
// the simulator recorded names the page it opens, which the phone opens as WeChat would; 已处理 with
// a note there stops the reminders (the server's plan). The workbench lists the alerts by phase
// (预警中, 到期未处理), the inbox (unread first; a tap marks it read and opens its order or alert),
// the emergencies nobody accepted, and the orders rated poorly, whose 回访 is recorded on the
// order's page and archives it.
const backend = require('./harness/backend')
const { boundPhone } = require('./harness/phones')

const MANAGER_PHONE = '13800000001' // 张三
const DEMO_SUBJECT = '环境监测用x-r辐射空气比释动能率仪' // 000027, the demo certificate's device

let phone
afterEach(() => phone && phone.close())

/** The WeChat template messages the worker sent that open `page` (a mini-program path prefix). */
async function pushesOpening(page) {
  const sent = await backend.wechatCalls('/cgi-bin/message/template/send')
  return sent.filter((message) => ((message.payload.body.miniprogram || {}).pagepath || '').startsWith(page))
}

/** 王医生 reports a fault on a demo device (its 唯一码) through the PC API. */
async function report(doctor, device, fields) {
  return doctor.post('/work-orders', {
    device_id: device.id,
    contact_name: '王医生',
    contact_methods: [
      { kind: 'mobile', value: '13800000002' },
      { kind: 'landline', value: '8021' },
    ],
    ...fields,
  })
}

/** 张三's phone, bound, on the workbench (首页 → 预警). */
async function onTheWorkbench() {
  const bound = await boundPhone(MANAGER_PHONE)
  await bound.tap('.alerts-btn')
  return bound
}

/** YYYY-MM-DD in Asia/Shanghai, `days` from today. */
function shanghaiDay(days) {
  return new Date(Date.now() + 8 * 3600 * 1000 + days * 24 * 3600 * 1000).toISOString().slice(0, 10)
}

test('a manager handles an alert from its push, and the workbench lists the alerts by phase', async () => {
  const manager = await backend.pc('zhangsan')
  const push = await backend.eventually(
    async () => (await pushesOpening('pages/alerts/detail?id='))[0],
    'the demo certificate’s reminder on WeChat',
  )
  // It went to 张三's official account (the PC shows the binding masked: first and last 4).
  const official = (await manager.get('/me/wechat-bindings')).items.find((b) => b.kind === 'official_account')
  const [head, tail] = official.openid.split('…')
  const { touser, miniprogram } = push.payload.body
  expect(touser.startsWith(head) && touser.endsWith(tail)).toBe(true)
  const { pagepath } = miniprogram
  const planId = Number(pagepath.split('id=')[1])
  let plan = await manager.get(`/alert-plans/${planId}`)
  expect(plan).toMatchObject({ subject_name: DEMO_SUBJECT, status: 'active', phase_label: '预警中' })
  expect(plan.next_send_at).toBeTruthy() // it would remind again tomorrow

  phone = await boundPhone(MANAGER_PHONE)
  await phone.launch(`/${pagepath}`) // as WeChat opens the message's page
  expect(phone.route).toBe('pages/alerts/detail')
  expect(phone.text('.alert-subject')).toContain(DEMO_SUBJECT)
  expect(phone.text('.alert-status')).toContain('预警中')
  expect(phone.text('.alert-due')).toContain(plan.due_on)
  expect(phone.text('.alert-due')).toContain('还有 3 天')
  expect(phone.has('.handle-note-input')).toBe(false)

  await phone.tap('.handle-btn')
  await phone.input('.handle-note-input', '已联系李工送检，新证下月到')
  await phone.tap('.handle-confirm-btn')
  expect(phone.text('.alert-status')).toContain('已处理')
  expect(phone.text('.alert-handled')).toContain('张三')
  expect(phone.text('.alert-handled')).toContain('已联系李工送检，新证下月到')
  expect(phone.has('.handle-btn')).toBe(false)
  expect(phone.has('.alert-next')).toBe(false)

  plan = await manager.get(`/alert-plans/${planId}`)
  expect(plan).toMatchObject({ status: 'handled', handled_note: '已联系李工送检，新证下月到', can_handle: false })
  expect(plan.handled_by.display_name).toBe('张三')
  expect(plan.next_send_at).toBeNull() // no more reminders, to anyone
  const record = await manager.get(`/alert-plans/${planId}/deliveries`)
  expect(record.items.filter((delivery) => delivery.status === 'pending')).toEqual([])

  // A certificate that expired yesterday, nobody having handled it: 到期未处理. Its notice goes to
  // 李工 by SMS only, so 张三's inbox stays as the next journey reads it.
  const device = await backend.device(manager, '000035')
  const ligong = (await backend.pc('ligong')).user
  const expired = await manager.post('/credentials', {
    kind: 'operation_certificate',
    number: 'C-EXPIRED-1',
    holder_name: '王医生',
    valid_until: shanghaiDay(-1),
    device_ids: [device.id],
    alert: { channels: ['sms'], notify_related: false, recipient_ids: [ligong.id] },
  })
  await phone.launch()
  await phone.tap('.alerts-btn')
  expect(phone.route).toBe('packages/manager/pages/alerts/index')
  expect(phone.text('.tab-warning')).toContain('预警中（0）')
  expect(phone.has('.alert-row')).toBe(false) // the demo's one is handled
  expect(phone.text('.alerts-empty')).toContain('没有预警中的')
  expect(phone.text('.tab-overdue')).toContain('到期未处理（1）')
  await phone.tap('.tab-overdue')
  const rows = phone.texts('.alert-row')
  expect(rows).toHaveLength(1)
  expect(rows[0]).toContain(device.name)
  expect(rows[0]).toContain('设备操作证')
  expect(rows[0]).toContain(shanghaiDay(-1))
  expect(rows[0]).toContain('已过期 1 天')
  await phone.tap('.alert-row')
  expect(phone.route).toBe('pages/alerts/detail')
  expect(phone.text('.alert-status')).toContain('到期未处理')
  expect(phone.has('.handle-btn')).toBe(true)
  expect((await manager.get(`/alert-plans/${expired.alert.id}`)).phase).toBe('overdue')
}, 90000)

test('the inbox lists the unread first; a tap marks it read and opens its order or alert', async () => {
  const manager = await backend.pc('zhangsan')
  // The demo's alert reminder and its urgent order's notice are in 张三's inbox.
  const unread = await backend.eventually(async () => {
    const page = await manager.get('/inbox?unread=true&per_page=50')
    const alert = page.items.find((message) => message.alert_plan_id)
    const order = page.items.find((message) => message.work_order_id)
    return alert && order ? { page, alert, order } : null
  }, 'an alert’s and an order’s message in the inbox')

  phone = await onTheWorkbench()
  expect(phone.text('.inbox-entry')).toContain(`${unread.page.unread} 条未读`)
  await phone.tap('.inbox-entry')
  expect(phone.route).toBe('packages/manager/pages/inbox/index')
  expect(phone.texts('.unread-row')).toHaveLength(unread.page.items.length)
  expect(phone.texts('.read-row')).toHaveLength(0)
  expect(phone.text(`.message-${unread.order.id}`)).toContain(unread.order.title)

  await phone.tap(`.message-${unread.order.id}`)
  expect(phone.route).toBe('pages/work-orders/detail')
  expect(phone.page.instance.query.id).toBe(String(unread.order.work_order_id))
  const readOrder = (await manager.get('/inbox?per_page=50')).items.find((message) => message.id === unread.order.id)
  expect(readOrder.read).toBe(true)

  await phone.navigateBack()
  expect(phone.route).toBe('packages/manager/pages/inbox/index')
  expect(phone.texts('.unread-row')).toHaveLength(unread.page.items.length - 1)
  expect(phone.text('.read-group')).toContain(unread.order.title) // now among the read ones

  await phone.tap(`.message-${unread.alert.id}`)
  expect(phone.route).toBe('pages/alerts/detail')
  expect(phone.page.instance.query.id).toBe(String(unread.alert.alert_plan_id))
  expect(phone.text('.alert-subject')).toContain(DEMO_SUBJECT)
  expect((await manager.get('/inbox?unread=true&per_page=50')).unread).toBe(unread.page.unread - 2)
}, 90000)

test('the emergencies waiting, the emergency path first, with the minutes they have waited', async () => {
  const doctor = await backend.pc('wangyisheng')
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, '000036')
  const demoUrgent = (await manager.get('/work-orders?status=pending&urgency=urgent')).items
  expect(demoUrgent).toHaveLength(1) // the demo's 紧急 repair, nobody has accepted it
  const downtime = await report(doctor, device, { urgency: 'downtime', fault_description: '术中高频输出中断' })

  phone = await onTheWorkbench()
  expect(phone.text('.emergencies-entry')).toContain('2 单')
  await phone.tap('.emergencies-entry')
  expect(phone.route).toBe('packages/manager/pages/emergencies/index')
  const rows = phone.texts('.emergency-row')
  expect(rows).toHaveLength(2)
  expect(rows[0]).toContain(downtime.number)
  expect(rows[0]).toContain('停机影响诊疗')
  expect(rows[0]).toMatch(/已等待 [01] 分钟/)
  expect(rows[1]).toContain(demoUrgent[0].number)
  expect(rows[1]).toMatch(/已等待 \d+ 分钟/)

  await phone.tap('.emergency-row')
  expect(phone.route).toBe('pages/work-orders/detail')
  expect(phone.text('.order-status')).toContain('待接单')
  expect(phone.text('.order-urgency')).toContain('停机影响诊疗')
  expect(phone.has('.follow-up-btn')).toBe(false)
})

test('an order rated poorly waits for 回访, which the manager records on its page', async () => {
  const doctor = await backend.pc('wangyisheng')
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, '000033')
  const order = await report(doctor, device, { fault_description: '吸力不足' })
  const ligong = await backend.pc('ligong') // 000033 has no vendor: the in-house engineer works it
  await ligong.post(`/work-orders/${order.id}/accept`, {})
  await ligong.post(`/work-orders/${order.id}/arrive`, {})
  await ligong.post(`/work-orders/${order.id}/diagnose`, { diagnosis: '管路漏气' })
  await ligong.post(`/work-orders/${order.id}/complete`, {
    work_done: '更换吸引管路',
    test_result: '负压正常',
    test_passed: true,
    device_condition: 'normal',
  })
  await doctor.post(`/work-orders/${order.id}/confirm`, {})
  await doctor.post(`/work-orders/${order.id}/rate`, { rating: 1, comment: '等了两天才来' })
  expect((await manager.get(`/work-orders/${order.id}`)).status).toBe('follow_up')
  // The office is told on WeChat; the push opens the order's page, as the list below does.
  await backend.eventually(
    async () => (await pushesOpening(`pages/work-orders/detail?id=${order.id}`)).length,
    'the push about the poor rating',
  )

  phone = await onTheWorkbench()
  expect(phone.text('.follow-ups-entry')).toContain('1 单')
  await phone.tap('.follow-ups-entry')
  expect(phone.route).toBe('packages/manager/pages/follow-ups/index')
  const rows = phone.texts('.orders >>> .order-row')
  expect(rows).toHaveLength(1)
  expect(rows[0]).toContain(order.number)
  expect(rows[0]).toContain('待回访')

  await phone.tap('.orders >>> .order-row')
  expect(phone.route).toBe('pages/work-orders/detail')
  expect(phone.text('.order-status')).toContain('待回访')
  expect(phone.text('.order-rating')).toContain('1 分')
  expect(phone.has('.rate-btn')).toBe(false) // only what the server lists for the manager

  await phone.tap('.follow-up-btn') // nothing written: the server says the note is required
  expect(phone.text('.follow-up-note-input')).toContain('必填')
  expect((await manager.get(`/work-orders/${order.id}`)).status).toBe('follow_up')
  await phone.input('.follow-up-note-input', '已电话回访王医生，等待过久')
  await phone.input('.improvement-input', '院内报修 4 小时内到场')
  await phone.tap('.follow-up-btn')
  expect(phone.text('.order-status')).toContain('已归档')
  expect(phone.text('.order-follow-up')).toContain('已电话回访王医生，等待过久')
  expect(phone.has('.follow-up-btn')).toBe(false)

  const recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded).toMatchObject({
    status: 'closed',
    follow_up_note: '已电话回访王医生，等待过久',
    improvement_action: '院内报修 4 小时内到场',
  })
  expect(recorded.timeline.slice(-1)[0]).toMatchObject({ kind: 'followed_up', actor: '张三' })

  await phone.navigateBack()
  expect(phone.route).toBe('packages/manager/pages/follow-ups/index')
  expect(phone.has('.orders >>> .order-row')).toBe(false)
}, 90000)
