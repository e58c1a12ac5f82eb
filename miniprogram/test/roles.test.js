// Each role's home opens its subpackage: the engineer's queue, the vendor admin's orders waiting
// for dispatch, the manager's alerts (and from there the alert page a push opens). What each
// lists is what the server holds for that person.
const backend = require('./harness/backend')
const { boundPhone } = require('./harness/phones')

let phone
afterEach(() => phone && phone.close())

test('the vendor engineer’s queue lists the demo’s urgent repair', async () => {
  phone = await boundPhone('13900000002') // 孙工, 服务商测试1
  expect(phone.has('.scan-btn')).toBe(false) // a vendor engineer reports nothing

  await phone.tap('.queue-btn')

  expect(phone.route).toBe('packages/engineer/pages/queue/index')
  const rows = phone.texts('.orders >>> .order-row')
  expect(rows).toHaveLength(1)
  expect(rows[0]).toContain('法国赛特力高频电刀')
  expect(rows[0]).toContain('紧急')
})

test('the vendor admin sees the orders waiting for dispatch', async () => {
  const manager = await backend.pc('zhangsan')
  const waiting = (await manager.get('/work-orders?status=pending')).items.filter((order) => !order.assignee)
  phone = await boundPhone('13900000001') // 赵经理

  await phone.tap('.dispatch-btn')

  expect(phone.route).toBe('packages/vendor-admin/pages/dispatch/index')
  const rows = phone.texts('.order-row')
  expect(rows).toHaveLength(waiting.length)
  expect(rows[0]).toContain(waiting[0].number)
})

test('the manager opens an alert from the list as a push would', async () => {
  phone = await boundPhone('13800000001') // 张三

  await phone.tap('.alerts-btn')
  expect(phone.route).toBe('packages/manager/pages/alerts/index')
  expect(phone.text('.alert-row')).toContain('设备操作证')

  await phone.tap('.alert-row')
  expect(phone.route).toBe('pages/alerts/detail')
  expect(phone.stack).toHaveLength(3)
  expect(phone.text('.alert-subject')).toContain('环境监测用x-r辐射空气比释动能率仪')
  expect(phone.text('.alert-status')).toMatch(/预警中|到期未处理/)
})
