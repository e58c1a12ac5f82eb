// 设备卡片 → 附件: the equipment office uploads a manual (PDF) and an acceptance photo (PNG) on the
// PC; the clinician of the hospital and the vendor's engineer (an authorization in force) see them
// under the card and open them — the PDF with wx.openDocument, the photo with wx.previewImage — from
// a download signed in with their own token (the bytes are the uploaded ones); a device whose
// authorization ended is not theirs to see; a file deleted meanwhile says so.
const fs = require('fs')
const backend = require('./harness/backend')
const { boundPhone } = require('./harness/phones')

const DEVICE = '000036' // authorized to 服务商测试1 (孙工) for the year
const EXPIRED = '000035' // its authorization ended in 2026-01
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n')
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
)
let manager
let device
let manual
let photo
let phone

beforeAll(async () => {
  manager = await backend.pc('zhangsan')
  device = await backend.device(manager, DEVICE)
  const path = `/devices/${device.id}/attachments`
  manual = await manager.upload(
    path,
    { category: 'manual', title: '高频电刀操作手册', note: '随机附带' },
    { filename: 'manual.pdf', type: 'application/pdf', data: PDF },
  )
  photo = await manager.upload(
    path,
    { category: 'acceptance', title: '验收照片' },
    { filename: 'acceptance.png', type: 'image/png', data: PNG },
  )
})
afterEach(() => phone && phone.close())

/** The rows of the 附件 section whose titles are ours (other journeys may add files too). */
function ourRows(page) {
  return page.texts('.attachment').filter((text) => text.includes('高频电刀操作手册') || text.includes('验收照片'))
}

async function openCard(number, deviceId) {
  phone = await boundPhone(number)
  await phone.launch(`/pages/device/index?id=${deviceId}`)
  expect(phone.route).toBe('pages/device/index')
}

test('the clinician sees the files under the card and opens the PDF and the photo', async () => {
  await openCard('13800000002', device.id)

  expect(phone.text('.device-name')).toBe('法国赛特力高频电刀')
  const rows = ourRows(phone)
  expect(rows).toHaveLength(2)
  expect(rows.find((row) => row.includes('高频电刀操作手册'))).toContain('说明书 · manual.pdf')
  expect(rows.find((row) => row.includes('验收照片'))).toContain('验收资料 · acceptance.png')

  await phone.tap(`.attachment-${manual.id}`)
  expect(phone.documents).toHaveLength(1)
  expect(phone.documents[0].fileType).toBe('pdf')
  expect(fs.readFileSync(phone.documents[0].filePath)).toEqual(PDF)
  const download = phone.downloads[0]
  expect(download.url).toContain(`/mp/v1/devices/${device.id}/attachments/${manual.id}`)
  expect(download.status).toBe(200)

  await phone.tap(`.attachment-${photo.id}`)
  expect(phone.previews).toHaveLength(1)
  expect(fs.readFileSync(phone.previews[0].urls[0])).toEqual(PNG)
})

test('the vendor’s engineer opens the manual of a device he is authorized for, and no other', async () => {
  await openCard('13900000002', device.id)
  expect(ourRows(phone)).toHaveLength(2)
  await phone.tap(`.attachment-${manual.id}`)
  expect(fs.readFileSync(phone.documents[0].filePath)).toEqual(PDF)

  const expired = (await manager.get(`/devices?q=${EXPIRED}`)).items.find((row) => row.unique_code === EXPIRED)
  await phone.launch(`/pages/device/index?id=${expired.id}`)
  expect(phone.text('.device-error')).toBe('设备不存在')
})

test('a file deleted meanwhile says so instead of opening', async () => {
  const gone = await manager.upload(
    `/devices/${device.id}/attachments`,
    { category: 'other', title: '旧版说明' },
    { filename: 'old.pdf', type: 'application/pdf', data: PDF },
  )
  await openCard('13800000002', device.id)
  await manager.delete(`/devices/${device.id}/attachments/${gone.id}`)

  await phone.tap(`.attachment-${gone.id}`)

  expect(phone.documents).toHaveLength(0)
  expect(phone.toasts).toContain('附件不存在或已删除')
})
