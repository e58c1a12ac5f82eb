/** @weixiu-server fresh */
// 服务时限 and 待备件 on the engineer's phone: a 停机 repair on the vendor-serviced 000036 is taken
// to the site (PC API, as 孙工); his order page shows the three clocks (响应 met, 到场 met, 完成
// running with the time left); he sets 待备件 with the reason (refused without one), the completion
// clock shows 已暂停, the reporter's page says so too, and 备件到货 brings the order back to 已到场.
const backend = require('./harness/backend')
const { boundPhone } = require('./harness/phones')

let phone
afterEach(() => phone && phone.close())

test('待备件 pauses the completion clock and 备件到货 resumes the work', async () => {
  const doctor = await backend.pc('wangyisheng')
  const manager = await backend.pc('zhangsan')
  const engineer = await backend.pc('sungong')
  const device = await backend.device(manager, '000036')
  const order = await doctor.post('/work-orders', {
    device_id: device.id,
    kind: 'repair',
    urgency: 'downtime',
    contact_name: '王医生',
    contact_methods: [
      { kind: 'mobile', value: '13800000002' },
      { kind: 'landline', value: '8021' },
    ],
    fault_description: '高频输出中断',
  })
  await engineer.post(`/work-orders/${order.id}/accept`, {})
  await engineer.post(`/work-orders/${order.id}/arrive`, {})

  phone = await boundPhone('13900000002') // 孙工
  await phone.launch(`/packages/engineer/pages/order/index?id=${order.id}`)
  expect(phone.text('.order-status')).toContain('已到场')
  expect(phone.texts('.sla-row')).toHaveLength(3)
  expect(phone.text('.sla-response')).toContain('响应时限（15分钟）')
  expect(phone.text('.sla-response')).toContain('达标')
  expect(phone.text('.sla-arrival')).toContain('达标')
  expect(phone.text('.sla-completion')).toContain('剩余 7小时')
  expect(phone.has('.parts-arrived-btn')).toBe(false)

  await phone.tap('.wait-parts-btn') // no reason yet: the server's words beside the field
  expect(phone.text('.step-error')).toContain('必填')
  expect((await manager.get(`/work-orders/${order.id}`)).status).toBe('on_site')
  await phone.input('.parts-reason-input', '高频模块缺货，厂家发货中')
  await phone.tap('.wait-parts-btn')
  expect(phone.text('.order-status')).toContain('待备件')
  expect(phone.text('.sla-completion')).toContain('已暂停（待备件）')
  expect(phone.has('.complete-btn')).toBe(false)
  expect(phone.has('.parts-arrived-btn')).toBe(true)
  const waiting = await manager.get(`/work-orders/${order.id}`)
  expect(waiting.status).toBe('waiting_parts')
  expect(waiting.paused_from).toBe('on_site')
  expect(waiting.timeline.map((event) => event.label)).toContain('等待备件')

  await phone.tap('.parts-arrived-btn')
  expect(phone.text('.order-status')).toContain('已到场')
  expect(phone.text('.sla-completion')).toContain('剩余')
  expect(phone.has('.complete-btn')).toBe(true)
  expect((await manager.get(`/work-orders/${order.id}`)).timeline.map((event) => event.label)).toContain(
    '备件到货，继续维修',
  )
})
