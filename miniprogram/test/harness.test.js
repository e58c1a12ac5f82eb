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
