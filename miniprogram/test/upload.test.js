// Photos go by wx.uploadFile over HTTP, one file a call, at most 3 at a time, each with its
// progress (services/upload.js); the server keeps each on the order. A file it refuses comes back
// as that photo's failure, in Chinese, and the others still go.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { MiniProgram, SRC, CANVAS_PNG } = require('./harness/runtime')
const backend = require('./harness/backend')

const PNG = fs.readFileSync(CANVAS_PNG) // a picture, as the camera would hand a temp file path
let phone
let dir
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weixiu-mp-photos-'))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
afterEach(() => phone && phone.close())

test('four photos go three at a time and land on the order', async () => {
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, '000036')
  const [order] = (await manager.get(`/work-orders?device_id=${device.id}&open=true`)).items
  const before = (await manager.get(`/work-orders/${order.id}`)).photos.length
  const files = [1, 2, 3, 4].map((n) => path.join(dir, `fault-${n}.png`))
  files.forEach((file) => fs.writeFileSync(file, PNG))
  files.push(path.join(dir, 'notes.txt'))
  fs.writeFileSync(files[4], 'not a photo')
  phone = new MiniProgram({ privacyAgreed: true })
  await phone.launch('/pages/bind/index')
  await phone.getPhoneNumber('.phone-btn', { phone: '13800000002' }) // 王医生, the reporter

  const upload = require(path.join(SRC, 'services', 'upload.js'))
  const progress = []
  const results = await upload.uploadPhotos(order.id, files, (index, percent) => progress.push([index, percent]))

  expect(phone.mostUploadsAtOnce).toBe(3)
  expect(results.slice(0, 4).every((result) => result.photo && result.photo.url)).toBe(true)
  expect(results[4].error.status).toBe(422)
  expect(results[4].error.fields.file || results[4].error.message).toMatch(/[\u4e00-\u9fa5]/)
  expect(
    progress
      .filter(([, percent]) => percent === 100)
      .map(([index]) => index)
      .sort(),
  ).toEqual([0, 1, 2, 3, 4])
  const after = await manager.get(`/work-orders/${order.id}`)
  expect(after.photos.length).toBe(before + 4)
})
