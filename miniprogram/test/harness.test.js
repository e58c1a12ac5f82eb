// The harness itself: npm component paths resolve into the pruned miniprogram_npm, so a TDesign
// button renders as TDesign's own markup (miniprogram-simulate alone skips npm names silently);
// two phones take turns, each keeping its storage (its session) between launches.
const fs = require('fs')
const { MiniProgram } = require('./harness/runtime')

let phone
afterEach(() => phone && phone.close())

test('a TDesign button renders with its own classes', async () => {
  phone = new MiniProgram()
  await phone.launch('/pages/index/index')
  const button = phone.find('.bind-btn')
  const inner = button.querySelector('.t-button')
  expect(inner).toBeTruthy()
  expect(inner.dom.className).toMatch(/t-button--primary/)
  expect(phone.text('.bind-btn')).toBe('绑定账号')
})

test('two phones take turns, each keeping its session', async () => {
  const clinician = new MiniProgram({ privacyAgreed: true })
  await clinician.launch('/pages/bind/index')
  await clinician.getPhoneNumber('.phone-btn', { phone: '13800000002' })
  expect(clinician.text('.me-name')).toContain('王医生')

  phone = new MiniProgram()
  await phone.launch('/pages/index/index')
  expect(clinician.stack).toHaveLength(0) // closed: only one phone runs at a time
  expect(phone.text('.bind-btn')).toBe('绑定账号')

  await clinician.launch('/pages/index/index')
  expect(clinician.text('.me-name')).toContain('王医生')
  expect(clinician.requests.filter((request) => request.url.endsWith('/mp/v1/login'))).toHaveLength(1)
  phone = clinician
})

test('canvasToTempFilePath hands back the fixture signature, a PNG file', async () => {
  phone = new MiniProgram()
  await phone.launch('/pages/index/index')

  const answer = await new Promise((resolve, reject) =>
    wx.canvasToTempFilePath({ canvasId: 'signature', success: resolve, fail: reject }),
  )

  expect(fs.readFileSync(answer.tempFilePath).subarray(1, 4).toString()).toBe('PNG')
})

test('the subscribe popup opens only inside a tap, before its handler awaits', async () => {
  phone = new MiniProgram()
  await phone.launch('/pages/index/index')
  const ask = () =>
    new Promise((resolve) => {
      wx.requestSubscribeMessage({ tmplIds: ['sim-subscribe-work-order'], success: resolve, fail: resolve })
    })
  // Outside a tap (a page's onLoad, or after an await in the handler): refused as WeChat does.
  expect(await ask()).toMatchObject({ errCode: 20003, errMsg: expect.stringContaining('TAP gesture') })
  expect(phone.subscribeAsked).toEqual([])

  phone.inTap = true // what tap() sets while the handler's synchronous part runs
  const inside = ask()
  phone.inTap = false
  expect(await inside).toEqual({ errMsg: 'requestSubscribeMessage:ok', 'sim-subscribe-work-order': 'accept' })
  phone.inTap = true
  const tooMany = new Promise((resolve) => {
    wx.requestSubscribeMessage({ tmplIds: ['a', 'b', 'c', 'd'], fail: resolve })
  })
  phone.inTap = false
  expect(await tooMany).toMatchObject({ errCode: 20003 })
  expect(phone.subscribeAsked).toEqual([['sim-subscribe-work-order']])
})
