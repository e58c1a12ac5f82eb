// 绑定: getPhoneNumber is paid per success and its quota can run out (errno 1400001): the page
// falls back to the SMS code, which arrives in the Aliyun simulator. A wrong code is answered
// beside its field and binds nothing; the privacy popup comes before the phone number.
const { MiniProgram } = require('./harness/runtime')
const backend = require('./harness/backend')

let phone
afterEach(() => phone && phone.close())

test('getPhoneNumber without quota (1400001) falls back to the SMS code', async () => {
  const manager = await backend.pc('zhangsan')
  phone = new MiniProgram({ privacyAgreed: true })
  await phone.launch('/pages/bind/index')
  expect(phone.has('.sms-code-input')).toBe(false)

  await phone.getPhoneNumber('.phone-btn', { errno: 1400001 })
  expect(phone.text('.sms-reason')).toBe('微信手机号快速验证暂不可用，请用短信验证码绑定')
  expect(phone.has('.phone-btn')).toBe(false)

  await phone.input('.phone-input', '13800000003') // 李工
  await phone.tap('.send-code-btn')
  expect(phone.text('.sms-sent')).toBe('验证码已发送（138****0003）')
  expect(phone.text('.send-code-btn')).toBe('已发送')
  expect(await backend.smsTo('13800000003', backend.VERIFY_TEMPLATE)).toHaveLength(1)
  const code = await backend.verificationCode('13800000003')

  const wrong = code === '000000' ? '111111' : '000000'
  await phone.input('.sms-code-input', wrong)
  await phone.tap('.sms-bind-btn')
  expect(phone.route).toBe('pages/bind/index')
  expect(phone.text('.sms-code-input')).toContain('验证码错误')
  expect((await backend.staffRow(manager, 'ligong')).wechat_bound.miniprogram).toBe(false)

  await phone.input('.sms-code-input', code)
  await phone.tap('.sms-bind-btn')
  expect(phone.route).toBe('pages/index/index') // opened directly: home, as the only page
  expect(phone.stack).toHaveLength(1)
  expect(phone.text('.me-name')).toContain('李工')
  expect(phone.text('.queue-btn')).toBe('我的待办工单')
  expect((await backend.staffRow(manager, 'ligong')).wechat_bound.miniprogram).toBe(true)
})

test('a phone number no account uses is answered in Chinese', async () => {
  phone = new MiniProgram({ privacyAgreed: true })
  await phone.launch('/pages/bind/index')

  await phone.getPhoneNumber('.phone-btn', { phone: '13700000999' })

  expect(phone.route).toBe('pages/bind/index')
  expect(phone.text('.bind-error')).toBe('没有使用该手机号的账号，请联系设备科或使用绑定码')
})

test('a phone code WeChat did not issue is answered on top of the page', async () => {
  phone = new MiniProgram({ privacyAgreed: true })
  await phone.launch('/pages/bind/index')

  await phone.getPhoneNumber('.phone-btn', { code: 'not-a-code-from-wechat' })

  expect(phone.route).toBe('pages/bind/index')
  expect(phone.text('.bind-error')).toBe('手机号授权无效或已使用，请重新授权')
})

test('declining the privacy agreement binds nothing and offers the SMS code', async () => {
  phone = new MiniProgram()
  await phone.launch('/pages/bind/index')

  await phone.getPhoneNumber('.phone-btn', { phone: '13800000002' })
  expect(phone.text('.privacy >>> .privacy-text')).toContain('手机号')
  await phone.tap('.privacy >>> .privacy-disagree')

  expect(phone.has('.privacy >>> .privacy-sheet')).toBe(false)
  expect(phone.requests.some((request) => request.url.includes('/bind/phone'))).toBe(false)
  expect(phone.text('.sms-reason')).toBe('未能获取微信手机号，请用短信验证码绑定')
})
