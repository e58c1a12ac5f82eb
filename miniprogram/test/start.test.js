// 开始: wx.login → our session; binding with a code made on the PC; a page opened from a push
// while signed out goes through sign-in and binding and lands where it was meant to.
const { MiniProgram } = require('./harness/runtime')
const backend = require('./harness/backend')

let phone
afterEach(() => phone && phone.close())

test('a new phone signs in with wx.login and is asked to bind', async () => {
  phone = new MiniProgram()
  await phone.launch('/pages/index/index')

  expect(phone.text('.welcome')).toBe('微修：医疗设备报修与维护')
  expect(phone.text('.bind-btn')).toBe('绑定账号')
  expect(phone.has('.scan-btn')).toBe(false)
  // The code wx.login got from WeChat (the simulator) was redeemed by the server, once.
  const login = phone.requests.find((request) => request.url.endsWith('/mp/v1/login'))
  expect(login.status).toBe(200)
  const redeemed = await backend.wechatCalls('/sns/jscode2session')
  expect(redeemed.filter((call) => JSON.stringify(call.response).includes(phone.openid))).toHaveLength(1)
})

test('binding with the PC bind code goes back home with the role’s actions', async () => {
  const manager = await backend.pc('zhangsan')
  const { code } = await manager.post(`/users/${manager.user.id}/bind-code`, { password: backend.DEMO_PASSWORD })
  phone = new MiniProgram()
  await phone.launch('/pages/index/index')

  await phone.tap('.bind-btn')
  expect(phone.route).toBe('pages/bind/index')
  expect(phone.stack).toHaveLength(2)
  await phone.input('.bind-code-input', code)
  await phone.tap('.bind-code-btn')

  expect(phone.route).toBe('pages/index/index')
  expect(phone.stack).toHaveLength(1)
  expect(phone.toasts).toContain('绑定成功')
  expect(phone.text('.me-name')).toContain('张三')
  expect(phone.text('.me-name')).toContain('设备科')
  expect(phone.text('.me-org')).toBe('医疗机构测试1')
  expect(phone.text('.scan-btn')).toBe('扫码报修')
  expect(phone.text('.alerts-btn')).toBe('设备科工作台')
  expect(phone.has('.dispatch-btn')).toBe(false)
  const row = await backend.staffRow(manager, 'zhangsan')
  expect(row.wechat_bound.miniprogram).toBe(true)
})

test('a wrong bind code is answered in Chinese and binds nothing', async () => {
  phone = new MiniProgram()
  await phone.launch('/pages/bind/index')

  await phone.input('.bind-code-input', 'NOTACODE')
  await phone.tap('.bind-code-btn')

  expect(phone.route).toBe('pages/bind/index')
  const shown = `${phone.text('.bind-error')}`
  expect(shown).toMatch(/绑定码/)
  const binds = phone.requests.filter((request) => request.url.endsWith('/mp/v1/bind'))
  expect(binds.map((request) => request.status)).toEqual([404])
})

test('a work-order push opened while signed out lands on the order after binding', async () => {
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, '000036')
  const orders = await manager.get(`/work-orders?device_id=${device.id}&open=true`)
  const order = orders.items[0]
  phone = new MiniProgram()
  await phone.launch(`/pages/work-orders/detail?id=${order.id}`)

  expect(phone.route).toBe('pages/bind/index') // redirected: not bound yet
  await phone.getPhoneNumber('.phone-btn', { phone: '13800000002' }) // 王医生, the reporter
  expect(phone.privacyAsked).toEqual(['getPhoneNumber'])
  expect(phone.text('.privacy >>> .privacy-title')).toBe('用户隐私保护提示')
  await phone.agreePrivacy()

  expect(phone.route).toBe('pages/work-orders/detail')
  expect(phone.stack).toHaveLength(1)
  expect(phone.text('.order-status')).toContain(order.status_label)
  expect(phone.text('.order-device')).toContain('法国赛特力高频电刀')
  expect(phone.text('.order-fault')).toContain('开机自检报错，无法输出能量')
  expect(phone.texts('.timeline-event')[0]).toContain('王医生')
})

test('a binding removed on the PC sends the phone through binding again, back to its page', async () => {
  const manager = await backend.pc('zhangsan')
  phone = new MiniProgram({ privacyAgreed: true })
  await phone.launch('/pages/bind/index')
  await phone.getPhoneNumber('.phone-btn', { phone: '13800000002' }) // 王医生
  expect(phone.text('.me-name')).toContain('王医生')
  const doctor = await backend.staffRow(manager, 'wangyisheng')

  await manager.delete(`/staff/${doctor.id}/wechat-bindings/miniprogram`)
  await phone.input('.code-input', '000036')
  await phone.tap('.code-btn')

  // The device page's call was refused (the session ended with the binding): bind again.
  expect(phone.route).toBe('pages/bind/index')
  expect(phone.requests.some((request) => request.url.includes('/mp/v1/scan') && request.status === 401)).toBe(true)
  await phone.getPhoneNumber('.phone-btn', { phone: '13800000002' })
  expect(phone.route).toBe('pages/device/index')
  expect(phone.text('.device-name')).toBe('法国赛特力高频电刀')
  expect((await backend.staffRow(manager, 'wangyisheng')).wechat_bound.miniprogram).toBe(true)
})
