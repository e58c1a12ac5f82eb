/** @weixiu-server fresh */
// The vendor admin on the phone (赵经理, 服务商测试1): an emergency reported on the vendor's device
// waits under 待派工; its dispatch page shows what was reported and the vendor's engineers with
// their load; 派工 to 孙工 (who gets the WeChat push) after a confirmation, then 改派 to a second
// engineer; a refused step is answered in the server's Chinese. Then a vendor new to the platform:
// its admin declines the hospital's invitation, the hospital invites again, the admin accepts.
// Each step is checked on the page and in what the server recorded (the PC API as the manager).
const backend = require('./harness/backend')
const env = require('./harness/env')
const { boundPhone } = require('./harness/phones')

const ORDER_PAGE = 'packages/vendor-admin/pages/order/index'
let phone
afterEach(() => phone && phone.close())

/** The WeChat template message about `number` that says `text` (the outbox sends after commit). */
async function pushAbout(number, text) {
  const deadline = Date.now() + 20000
  while (Date.now() < deadline) {
    const sent = await backend.wechatCalls('/cgi-bin/message/template/send')
    const found = sent.find((message) => {
      const payload = JSON.stringify(message.payload)
      return payload.includes(number) && payload.includes(text)
    })
    if (found) return found
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`no WeChat message about ${number} saying ${text}`)
}

async function report(doctor, device, urgency, fault) {
  return doctor.post('/work-orders', {
    device_id: device.id,
    kind: 'repair',
    urgency,
    contact_name: '王医生',
    contact_methods: [
      { kind: 'mobile', value: '13800000002' },
      { kind: 'landline', value: '8021' },
    ],
    fault_description: fault,
  })
}

/** The vendor admin's phone on the dispatch page, from the home page's button. */
async function dispatchPage(number) {
  const admin = await boundPhone(number)
  await admin.tap('.dispatch-btn')
  expect(admin.route).toBe('packages/vendor-admin/pages/dispatch/index')
  return admin
}

test('an emergency dispatched to 孙工, then handed on to a second engineer', async () => {
  const doctor = await backend.pc('wangyisheng')
  const manager = await backend.pc('zhangsan')
  const vendorAdmin = await backend.pc('fuwushang1')
  const device = await backend.device(manager, '000036') // authorized to 服务商测试1
  // The demo's vendor has one engineer: its admin adds a second on the PC.
  const added = await vendorAdmin.post('/staff', {
    username: 'chengong',
    display_name: '陈工',
    role: 'vendor_engineer',
    phone: '13900000003',
  })
  const sun = (await backend.staffRow(vendorAdmin, 'sungong')).id
  const chen = added.user.id
  const order = await report(doctor, device, 'downtime', '术中高频输出中断')

  phone = await dispatchPage('13900000001') // 赵经理
  // TDesign renders: its classes are on the page, not bare tags
  expect(phone.has('.tab-pending >>> .t-button')).toBe(true)
  expect(phone.has('.invitations-cell >>> .t-cell')).toBe(true)
  expect(phone.text('.tab-pending')).toContain('待派工（2）') // ours and the demo's urgent one
  const rows = phone.texts('.order-row')
  expect(rows[0]).toContain(order.number) // 停机影响诊疗 first
  expect(rows[0]).toContain('停机影响诊疗')
  expect(rows[0]).toContain('口腔科')
  expect(rows[1]).toContain('紧急')
  expect(phone.text('.invitations-cell')).toContain('无待处理')

  await phone.tap(`.order-${order.id}`)
  expect(phone.route).toBe(ORDER_PAGE)
  expect(phone.has('.order-device >>> .t-cell')).toBe(true)
  expect(phone.text('.order-device')).toContain('法国赛特力高频电刀')
  expect(phone.text('.order-department')).toContain('口腔科')
  expect(phone.text('.order-fault')).toContain('术中高频输出中断')
  expect(phone.text('.order-urgency')).toContain('停机影响诊疗')
  expect(phone.text('.order-reported')).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/)
  expect(phone.text('.order-assignee')).toContain('未派工')
  expect(phone.text(`.candidate-${sun}`)).toContain('在办 0 单')
  expect(phone.text(`.candidate-${chen}`)).toContain('在办 0 单')
  expect(phone.text('.assign-btn')).toBe('派工')

  await phone.tap('.assign-btn') // nobody picked yet: said on the page, nothing sent
  expect(phone.text('.step-error')).toBe('请先选择工程师')
  await phone.tap(`.candidate-${sun}`)
  expect(phone.text(`.candidate-${sun}`)).toContain('已选择')
  expect(phone.text('.assign-btn')).toBe('派工给 孙工')
  await phone.tap('.assign-btn')
  expect(phone.toasts).toContainEqual(expect.stringContaining(`将工单 ${order.number} 派工给 孙工`))
  expect(phone.text('.assign-done')).toContain('已派工给 孙工')
  expect(phone.text('.order-assignee')).toContain('孙工')
  expect(phone.text(`.candidate-${sun}`)).toContain('在办 1 单')
  expect(phone.text(`.candidate-${sun}`)).toContain('当前负责')
  let recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded.assignee).toMatchObject({ id: sun, name: '孙工' })
  expect(recorded.status).toBe('pending') // 孙工 still has to accept
  expect(recorded.timeline.pop()).toMatchObject({ label: '派工', detail: { engineer: '孙工' } })
  const push = await pushAbout(order.number, '工程师：孙工')
  expect(JSON.stringify(push.payload)).toContain('法国赛特力高频电刀')

  // Back on the list (read again): the order has left 待派工 for 进行中, with who holds it.
  await phone.navigateBack()
  expect(phone.text('.tab-pending')).toContain('待派工（1）')
  expect(phone.has(`.order-${order.id}`)).toBe(false)
  await phone.tap('.tab-assigned')
  expect(phone.text(`.order-${order.id}`)).toContain('负责：孙工')

  // 改派 to 陈工: the dispatch page offers it while nobody is on site.
  await phone.tap(`.order-${order.id}`)
  expect(phone.text('.assign-btn')).toBe('改派')
  await phone.tap(`.candidate-${sun}`) // already his: nothing to pick
  expect(phone.text('.assign-btn')).toBe('改派')
  await phone.tap(`.candidate-${chen}`)
  await phone.tap('.assign-btn')
  expect(phone.toasts).toContainEqual(expect.stringContaining('改派给 陈工（原负责：孙工）'))
  expect(phone.text('.order-assignee')).toContain('陈工')
  expect(phone.text('.assign-done')).toContain('已改派给 陈工')
  recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded.assignee).toMatchObject({ id: chen, name: '陈工' })
  expect(recorded.timeline.pop()).toMatchObject({
    label: '派工',
    detail: { engineer: '陈工', previous_engineer: '孙工' },
  })
  await pushAbout(order.number, '工程师：陈工') // 孙工 is told he is off the order

  // A refused step: the hospital cancels an order while its dispatch page is open.
  const other = await report(doctor, device, 'normal', '脚踏开关失灵')
  await phone.navigateBack()
  await phone.tap('.tab-pending')
  await phone.tap(`.order-${other.id}`)
  await phone.tap(`.candidate-${sun}`)
  await manager.post(`/work-orders/${other.id}/cancel`, { reason: '误报' })
  await phone.tap('.assign-btn')
  expect(phone.text('.step-error')).toMatch(/已撤销/)
  recorded = await manager.get(`/work-orders/${other.id}`)
  expect(recorded.status).toBe('cancelled')
  expect(recorded.assignee).toBeNull()
})

test('a new vendor’s admin declines the hospital’s invitation, then accepts it when invited again', async () => {
  const manager = await backend.pc('zhangsan')
  const invited = await manager.post('/invitations', {
    credit_code: '913501000202612136',
    message: '请为口腔科设备提供维保',
    new_vendor: { name: '服务商测试2', admin_name: '钱经理', admin_mobile: '13900000011' },
  })
  // The new admin activates the account with the code the SMS brought, then binds this phone.
  const [sms] = await backend.smsTo('13900000011', 'SMS_SIM_ACCOUNT_CODE')
  const params = sms.payload.TemplateParam
  const code = (typeof params === 'string' ? JSON.parse(params) : params).code
  const activated = await backend.call(`${env.apiBaseUrl}/api/v1/account-code`, {
    method: 'POST',
    body: { code, password: 'Qian-2026-weixiu' },
  })
  expect(activated.status).toBe(200)

  phone = await dispatchPage('13900000011')
  expect(phone.text('.invitations-cell')).toContain('1 个待处理')
  await phone.tap('.invitations-cell')
  expect(phone.route).toBe('packages/vendor-admin/pages/invitations/index')
  const id = invited.invitation.id
  expect(phone.has(`.accept-${id} >>> .t-button`)).toBe(true)
  expect(phone.text(`.invitation-${id}`)).toContain('医疗机构测试1')
  expect(phone.text(`.invitation-${id}`)).toContain('请为口腔科设备提供维保')
  expect(phone.text(`.invitation-${id}`)).toMatch(/邀约于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}/)

  await phone.tap(`.decline-${id}`)
  expect(phone.toasts).toContainEqual(expect.stringContaining('拒绝「医疗机构测试1」的邀约？'))
  expect(phone.has('.pending-invitation')).toBe(false)
  expect(phone.text(`.handled-${id}`)).toContain('已拒绝')
  let sent = (await manager.get('/invitations')).items.find((item) => item.id === id)
  expect(sent.status).toBe('declined')

  // The hospital invites again; back on the dispatch page the count says so.
  await manager.post('/invitations', { vendor_id: invited.invitation.vendor.id, message: '再次邀请' })
  await phone.navigateBack()
  expect(phone.text('.invitations-cell')).toContain('1 个待处理')
  await phone.tap('.invitations-cell')
  expect(phone.text(`.invitation-${id}`)).toContain('再次邀请')
  await phone.tap(`.accept-${id}`)
  expect(phone.toasts).toContainEqual(expect.stringContaining('接受「医疗机构测试1」的邀约？'))
  expect(phone.text(`.handled-${id}`)).toContain('已接受')
  sent = (await manager.get('/invitations')).items.find((item) => item.id === id)
  expect(sent.status).toBe('accepted')
  // Answered once: a second answer is refused by the server, in Chinese.
  const again = require('../src/packages/vendor-admin/services/invitations.js')
  await expect(again.decline(id)).rejects.toMatchObject({ status: 409, message: '该邀约已处理，不能重复操作' })
})
