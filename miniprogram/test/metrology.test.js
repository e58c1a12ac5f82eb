/** @weixiu-server fresh */
// A 计量 order on the engineer's phone. The equipment manager (PC API) gives 000033 (no vendor: the
// in-house 李工 works it) a 计量计划 with its own checklist (a check that needs a photo, a
// measurement with an upper limit) due to be raised already; the server's minute sweep raises the
// order. On the order page 李工 records the certificate (fields and a photo of it), then every
// item: the report is refused while items are missing and while the out-of-limit value has no note;
// completed, 不合格 makes 设备当前状态 停用待修 and the certificate is the device's 计量 record.
const backend = require('./harness/backend')
const { CANVAS_PNG } = require('./harness/runtime')
const { boundPhone } = require('./harness/phones')
const fs = require('fs')
const os = require('os')
const path = require('path')

const CHECKLIST = [
  { label: '外观及附件检查', kind: 'check', photo_required: true },
  { label: '接地电阻', kind: 'measurement', unit: 'Ω', upper: 0.2 },
]

let phone
afterEach(() => phone && phone.close())

/** YYYY-MM-DD in Asia/Shanghai, `days` from today. */
function shanghaiDay(days) {
  return new Date(Date.now() + 8 * 3600 * 1000 + days * 24 * 3600 * 1000).toISOString().slice(0, 10)
}

test('the engineer attaches the certificate and records every item of a 计量 order', async () => {
  const manager = await backend.pc('zhangsan')
  const device = await backend.device(manager, '000033')
  const plan = await manager.post(`/devices/${device.id}/service-plans/metrology`, {
    interval_count: 12,
    interval_unit: 'month',
    lead_days: 7,
    first_due_on: shanghaiDay(3),
    checklist: CHECKLIST,
  })
  const order = await backend.eventually(
    async () =>
      (await manager.get('/work-orders?kind=metrology&per_page=50')).items.find(
        (row) => row.service_plan_id === plan.id,
      ),
    'the 计量 order raised by the sweep',
    100000,
  )
  const ligong = await backend.pc('ligong')
  await ligong.post(`/work-orders/${order.id}/accept`, {})
  await ligong.post(`/work-orders/${order.id}/arrive`, {})

  phone = await boundPhone('13800000003') // 李工
  await phone.launch(`/packages/engineer/pages/order/index?id=${order.id}`)
  expect(phone.texts('.checklist-item')).toEqual([
    expect.stringContaining('1. 外观及附件检查'),
    expect.stringContaining('2. 接地电阻'),
  ])
  expect(phone.texts('.checklist-item')[1]).toContain('≤0.2 Ω')

  // Nothing recorded and no certificate: the server names each missing item in Chinese.
  await phone.input('.work-done-input', '按检定规程检定')
  await phone.input('.test-result-input', '见检查项')
  await phone.tap('.complete-btn')
  expect(phone.text('.step-error')).toContain('第1项「外观及附件检查」：请选择合格或不合格')
  expect(phone.text('.step-error')).toContain('计量工单须先上传计量证书')

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weixiu-mp-metrology-'))
  const scan = path.join(dir, 'certificate.png')
  const shot = path.join(dir, 'outside.png')
  fs.copyFileSync(CANVAS_PNG, scan)
  fs.copyFileSync(CANVAS_PNG, shot)
  await phone.input('.certificate-number-input', 'JL2027-0033')
  await phone.input('.certificate-calibrated-input', shanghaiDay(0))
  await phone.input('.certificate-valid-input', shanghaiDay(365))
  await phone.input('.certificate-issuer-input', '市计量检定测试所')
  await phone.tap('.conclusion-failed')
  phone.queueMedia([scan])
  await phone.tap('.certificate-photo-btn')
  expect(phone.text('.certificate-file')).toContain('证书照片')
  await phone.tap('.certificate-save-btn')
  expect(phone.text('.certificate-current')).toContain('JL2027-0033')
  expect(phone.text('.certificate-current')).toContain('不合格')

  await phone.tap('.result-pass-0')
  phone.queueMedia([shot])
  await phone.tap('.result-photo-0')
  expect(phone.text('.result-photo-0')).toContain('已拍照')
  await phone.input('.result-value-1', '0.35')
  expect(phone.text('.result-1')).toContain('不合格')
  await phone.tap('.complete-btn')
  expect(phone.text('.step-error')).toContain('第2项「接地电阻」：测量值 0.35 Ω 超出限值（≤0.2 Ω），请填写说明')
  await phone.input('.result-note-1', '保护接地线松动，已停用')
  await phone.tap('.complete-btn')
  expect(phone.text('.order-status')).toContain('待确认')
  fs.rmSync(dir, { recursive: true, force: true })

  const recorded = await manager.get(`/work-orders/${order.id}`)
  expect(recorded.device_condition_label).toBe('停用待修') // 不合格 decides, whatever was chosen
  expect(recorded.service_report.checklist.map((row) => [row.label, row.result, row.value])).toEqual([
    ['外观及附件检查', 'pass', null],
    ['接地电阻', 'fail', 0.35],
  ])
  expect(recorded.certificate).toMatchObject({ number: 'JL2027-0033', conclusion_label: '不合格' })
  const records = await manager.get(`/devices/${device.id}/records/metrology`)
  expect(records.items[0].certificate).toMatchObject({ number: 'JL2027-0033', valid_until: shanghaiDay(365) })
  expect((await manager.get(`/service-plans/${plan.id}`)).next_due_on).toBe(shanghaiDay(365))
}, 180000)
