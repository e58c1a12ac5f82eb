// The harness resolves npm component paths into the pruned miniprogram_npm: a TDesign button is
// rendered as TDesign's own markup (miniprogram-simulate alone skips npm names silently).
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
