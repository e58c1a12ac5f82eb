/** @weixiu-server fresh */
// 我的 and 激活账号, through taps on rendered pages and asserted on what the server recorded: the
// subscribe popup asked from a tap (with the answers reported), a notice channel turned off,
// 解除绑定 after a confirmation; an account the office made, activated with the code its SMS
// carried (a wrong code and a mismatched password answered beside their fields first); 忘记密码
// by a reset code; and the notices offered right after 报修.
const backend = require('./harness/backend')
const { MiniProgram } = require('./harness/runtime')
const { boundPhone } = require('./harness/phones')

const ACCOUNT_CODE_TEMPLATE = 'SMS_SIM_ACCOUNT_CODE' // simulators/local.py
const SUBSCRIBE = { work_order: 'sim-subscribe-work-order', alert: 'sim-subscribe-alert' }

let phone
afterEach(() => phone && phone.close())

/** The code in the newest account-code SMS to `number`. */
async function accountCode(number) {
  const deadline = Date.now() + 15000
  while (Date.now() < deadline) {
    const [newest] = await backend.smsTo(number, ACCOUNT_CODE_TEMPLATE)
    if (newest) {
      const params = newest.payload.TemplateParam
      return (typeof params === 'string' ? JSON.parse(params) : params).code
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`no account-code SMS to ${number}`)
}

/** The mini-program API as this phone's session sees it. */
async function mp(path) {
  const token = phone.storage.get('weixiu.token')
  const answer = await backend.call(`${process.env.WEIXIU_MP_TEST_API}/mp/v1${path}`, { token })
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${JSON.stringify(answer.data)}`)
  return answer.data
}

test('我的: the subscribe popup from a tap, a channel turned off, then 解除绑定', async () => {
  const manager = await backend.pc('zhangsan')
  phone = await boundPhone('13800000001') // 张三, 设备科
  await phone.tap('.me-link')
  expect(phone.route).toBe('pages/me/index')
  expect(phone.text('.me-name')).toContain('张三')
  expect(phone.text('.me-phone')).toContain('138****0001')
  expect(phone.text('.subscribe >>> .subscription-work_order')).toContain('未订阅')
  expect(phone.text('.subscribe >>> .subscription-alert')).toContain('未订阅')

  // One popup for both templates; the manager accepts the order notices, refuses the alerts.
  phone.queueSubscribe({ [SUBSCRIBE.alert]: 'reject' })
  await phone.tap('.subscribe >>> .subscribe-btn')
  expect(phone.subscribeAsked).toEqual([[SUBSCRIBE.work_order, SUBSCRIBE.alert]])
  expect(phone.text('.subscribe >>> .subscription-work_order')).toContain('可接收 1 条')
  expect(phone.text('.subscribe >>> .subscription-alert')).toContain('已拒绝')
  const recorded = Object.fromEntries((await mp('/subscriptions')).items.map((item) => [item.purpose, item]))
  expect(recorded.work_order).toMatchObject({ status: 'accept', remaining: 1 })
  expect(recorded.alert).toMatchObject({ status: 'reject', remaining: 0 })

  // Closing the popup records nothing and says nothing.
  phone.queueSubscribe({ cancel: true })
  await phone.tap('.subscribe >>> .subscribe-btn')
  expect(phone.has('.subscribe >>> .subscribe-error')).toBe(false)
  expect((await mp('/subscriptions')).items.find((item) => item.purpose === 'work_order').remaining).toBe(1)

  // 工单通知 by SMS off: kept by the server, the switch shows it.
  await phone.tap('.switch-work_order-sms')
  expect((await manager.get('/me')).notification_preferences.work_order).toEqual({
    inbox: true,
    sms: false,
    wechat: true,
  })
  expect(phone.page.instance.data.families[0].channels.find((c) => c.key === 'sms').on).toBe(false)

  await phone.tap('.unbind-btn') // the confirmation is answered 确定
  expect(phone.toasts).toContain('解除后此微信不再收到工单和预警通知，也不能报修或接单，直到重新绑定。确定解除吗？')
  expect(phone.route).toBe('pages/index/index')
  expect(phone.stack).toHaveLength(1)
  expect(phone.has('.bind-btn')).toBe(true)
  expect((await backend.staffRow(manager, 'zhangsan')).wechat_bound.miniprogram).toBe(false)
})

test('激活账号 with the SMS code: a wrong code and a mismatch first, then bound and home', async () => {
  const manager = await backend.pc('zhangsan')
  const departments = await manager.get('/departments')
  const dental = departments.items.find((row) => row.name === '口腔科')
  const created = await manager.post('/staff', {
    username: 'zhaohushi',
    display_name: '赵护士',
    role: 'clinician',
    phone: '13900000123',
    department_id: dental.id,
  })
  expect(created.user.activated).toBe(false)
  const code = await accountCode('13900000123')

  phone = new MiniProgram({ privacyAgreed: true })
  await phone.launch()
  await phone.tap('.activate-btn')
  expect(phone.route).toBe('pages/activate/index')

  await phone.input('.code-input', code)
  await phone.input('.password-input', 'Zhao2026ok')
  await phone.input('.confirm-input', 'Zhao2026no')
  await phone.tap('.redeem-btn')
  expect(phone.text('.confirm-input')).toContain('两次输入的密码不一致')

  const wrong = code === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA'
  await phone.input('.code-input', wrong)
  await phone.input('.confirm-input', 'Zhao2026ok')
  await phone.tap('.redeem-btn')
  expect(phone.route).toBe('pages/activate/index')
  const shown = (phone.has('.activate-error') ? phone.text('.activate-error') : '') + phone.text('.code-input')
  expect(shown).toContain('激活码错误或已过期')
  expect((await backend.staffRow(manager, 'zhaohushi')).activated).toBe(false)

  await phone.input('.code-input', code)
  await phone.tap('.redeem-btn')
  expect(phone.toasts).toContain('账号已激活，已为您登录')
  expect(phone.route).toBe('pages/index/index')
  expect(phone.text('.me-name')).toContain('赵护士')
  const row = await backend.staffRow(manager, 'zhaohushi')
  expect(row.activated).toBe(true)
  expect(row.wechat_bound.miniprogram).toBe(true)
  // The password set here signs in on the PC.
  const session = await backend.call(`${process.env.WEIXIU_MP_TEST_API}/api/v1/session`, {
    method: 'POST',
    body: { username: 'zhaohushi', password: 'Zhao2026ok' },
  })
  expect(session.status).toBe(200)
})

test('忘记密码: a reset code to the registered mobile, a new password, bound', async () => {
  const manager = await backend.pc('zhangsan')
  phone = new MiniProgram({ privacyAgreed: true })
  await phone.launch('/pages/activate/index')
  await phone.tap('.use-reset-btn')
  await phone.input('.phone-input', '13800000003') // 李工
  await phone.tap('.send-reset-btn')
  expect(phone.text('.reset-sent')).toContain('138****0003')
  const code = await accountCode('13800000003')

  await phone.input('.code-input', code)
  await phone.input('.password-input', 'Ligong2026new')
  await phone.input('.confirm-input', 'Ligong2026new')
  await phone.tap('.redeem-btn')
  expect(phone.toasts).toContain('密码已重置，已为您登录')
  expect(phone.route).toBe('pages/index/index')
  expect(phone.text('.me-name')).toContain('李工')
  expect((await backend.staffRow(manager, 'ligong')).wechat_bound.miniprogram).toBe(true)
})

test('right after 报修 the order page offers its notices; the popup is asked from the tap', async () => {
  phone = await boundPhone('13800000002') // 王医生
  const doctor = await backend.pc('wangyisheng')
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, '000036')
  const order = await doctor.post('/work-orders', {
    device_id: device.id,
    kind: 'repair',
    urgency: 'normal',
    fault_description: '开机无显示',
    contact_name: '王医生',
    contact_methods: [
      { kind: 'mobile', value: '13800000002' },
      { kind: 'landline', value: '8021' },
    ],
  })
  await phone.launch(`/pages/work-orders/detail?id=${order.id}&created=1`)
  expect(phone.text('.subscribe >>> .subscription-work_order')).toContain('未订阅')
  await phone.tap('.subscribe >>> .subscribe-btn')
  expect(phone.subscribeAsked).toEqual([[SUBSCRIBE.work_order]])
  expect(phone.text('.subscribe >>> .subscription-work_order')).toContain('可接收 1 条')

  // Opened later (from the list or a push), the page does not ask again.
  await phone.launch(`/pages/work-orders/detail?id=${order.id}`)
  expect(phone.has('.subscribe')).toBe(false)
})
