// 扫码 → 设备卡片: the clinician scans a sticker (wx.scanCode answers its real link), a 小程序码
// (its page path and scene) or types the 唯一码, and sees the device with its open orders, as the
// server lists them; a sticker scanned by WeChat's camera while signed out opens the card after
// sign-in; a code from elsewhere is refused in Chinese.
const { MiniProgram } = require('./harness/runtime')
const backend = require('./harness/backend')

const DEVICE = '000036' // 法国赛特力高频电刀, with the demo's open repair order
let phone
let manager
let device
let openOrders

beforeAll(async () => {
  manager = await backend.pc('zhangsan')
  device = await backend.device(manager, DEVICE)
  openOrders = (await manager.get(`/work-orders?device_id=${device.id}&open=true`)).items
})
afterEach(() => phone && phone.close())

/** A clinician's phone (王医生), signed in and bound through the bind page. */
async function clinicianPhone() {
  const clinician = new MiniProgram()
  await clinician.launch('/pages/bind/index')
  await clinician.getPhoneNumber('.phone-btn', { phone: '13800000002' })
  await clinician.agreePrivacy()
  expect(clinician.route).toBe('pages/index/index')
  return clinician
}

function expectCardOf(page) {
  expect(page.route).toBe('pages/device/index')
  expect(page.title).toBe('法国赛特力高频电刀')
  expect(page.text('.device-name')).toBe('法国赛特力高频电刀')
  expect(page.text('.device-code')).toContain(DEVICE)
  expect(page.text('.device-department')).toContain('口腔科')
  expect(page.text('.device-institution')).toContain('医疗机构测试1')
  // The open orders the server holds for this device, each with its status.
  const rows = page.texts('.open-order')
  expect(rows).toHaveLength(openOrders.length)
  openOrders.forEach((order, index) => {
    expect(rows[index]).toContain(order.number)
    expect(rows[index]).toContain(order.status_label)
  })
}

test('the clinician scans a sticker from home and sees the card with its open orders', async () => {
  expect(openOrders.length).toBeGreaterThan(0)
  phone = await clinicianPhone()
  phone.queueScan({ result: device.link_url })

  await phone.tap('.scan-btn')

  expectCardOf(phone)
  expect(phone.stack).toHaveLength(2)
  const scan = phone.requests.find((request) => request.url.includes('/mp/v1/scan'))
  expect(decodeURIComponent(scan.url)).toContain(device.link_url)
  expect(phone.text('.open-order')).toContain('紧急')

  await phone.tap('.open-order')
  expect(phone.route).toBe('pages/work-orders/detail')
  expect(phone.text('.order-fault')).toContain('开机自检报错，无法输出能量')
})

test('a sticker scanned by WeChat’s camera while signed out opens the card after sign-in', async () => {
  phone = new MiniProgram()
  // WeChat opens the page with the link URL-encoded as q (扫普通链接二维码打开小程序).
  await phone.launch(`/pages/device/index?q=${encodeURIComponent(device.link_url)}`)
  expect(phone.route).toBe('pages/bind/index')

  await phone.getPhoneNumber('.phone-btn', { phone: '13800000002' })
  await phone.agreePrivacy()

  expectCardOf(phone)
  expect(phone.stack).toHaveLength(1)
})

test('a 小程序码 opens the card by its scene, and a typed 唯一码 by the code', async () => {
  phone = await clinicianPhone()
  const token = device.link_url.split('/d/')[1]
  phone.queueScan({
    result: '',
    scanType: 'WX_CODE',
    path: `pages/device/index?scene=${encodeURIComponent(`d=${token}`)}`,
  })

  await phone.tap('.scan-btn')
  expectCardOf(phone)

  await phone.navigateBack()
  await phone.input('.code-input', DEVICE)
  await phone.tap('.code-btn')
  expectCardOf(phone)
})

test('a QR code from elsewhere and an unknown 唯一码 are answered in Chinese', async () => {
  phone = await clinicianPhone()
  phone.queueScan({ result: 'https://example.com/d/not-ours' })

  await phone.tap('.scan-btn')
  expect(phone.route).toBe('pages/device/index')
  expect(phone.text('.device-error')).toBe('不是本平台的设备二维码')

  await phone.navigateBack()
  await phone.input('.code-input', '999999')
  await phone.tap('.code-btn')
  expect(phone.text('.device-error')).toBe('设备不存在')
})

test('a cancelled scan stays home without a word', async () => {
  phone = await clinicianPhone()
  phone.queueScan({ cancel: true })

  await phone.tap('.scan-btn')

  expect(phone.route).toBe('pages/index/index')
  expect(phone.toasts).not.toContain('扫码失败，请重试或输入唯一码')
})

describe('运行状态', () => {
  const STOPPED = '000034' // 电动吸引器, in 王医生's 口腔科, used by no other test
  let stopped

  beforeAll(async () => {
    stopped = await backend.device(manager, STOPPED)
    await manager.put(`/devices/${stopped.id}/running-state`, {
      running_state: 'out_of_service',
      reason: '吸力不足，停用待修',
    })
  })
  afterAll(() =>
    manager.put(`/devices/${stopped.id}/running-state`, { running_state: 'normal', reason: '测试结束，恢复' }),
  )

  test('a device 停用待修 shows the red banner and its state on the card', async () => {
    phone = await clinicianPhone()
    phone.queueScan({ result: stopped.link_url })

    await phone.tap('.scan-btn')

    expect(phone.route).toBe('pages/device/index')
    expect(phone.text('.out-of-service-banner')).toBe('设备停用待修：请勿使用，等待维修。')
    expect(phone.text('.device-running-state')).toContain('停用待修')
  })

  test('a device in use shows no banner', async () => {
    phone = await clinicianPhone()
    phone.queueScan({ result: device.link_url })

    await phone.tap('.scan-btn')

    expectCardOf(phone)
    expect(phone.texts('.out-of-service-banner')).toHaveLength(0)
    expect(phone.text('.device-running-state')).toContain('正常运行')
  })
})
