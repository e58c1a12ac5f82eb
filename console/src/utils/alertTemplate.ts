// 发送内容模板 filled in the browser exactly as the server fills it (operations/alerts/templates.py
// `render`, with the values of operations/alerts/subjects.py and sweep.py `_notice`), so the
// preview beside the template is the message people will receive.
import type { ChosenDevice, CredentialKind } from '@/api/credentials'

const PLACEHOLDER = /\[([^[\]]{1,20})\]/g
const NAMES_SHOWN = 3

const COMMON: Record<string, string> = {
  设备名称: 'subject',
  唯一码: 'unique_codes',
  到期日: 'due_on',
  剩余天数: 'days_left',
}
export const CREDENTIAL_PLACEHOLDERS: Record<string, string> = {
  ...COMMON,
  证照类型: 'kind',
  证件号: 'number',
  姓名: 'holder_name',
  颁证单位: 'issuing_authority',
  设备操作证到期日: 'due_on',
  配置许可证到期日: 'due_on',
  人员资质到期日: 'due_on',
}
export const AUTHORIZATION_PLACEHOLDERS: Record<string, string> = {
  ...COMMON,
  服务商名称: 'vendor_name',
  授权到期日: 'due_on',
}

export const DEFAULT_TEMPLATES: Record<CredentialKind, string> = {
  operation_certificate: '[设备名称]已经快到设备操作证到期日了, 设备操作证到期日是: [设备操作证到期日], 请及时处理!',
  configuration_license: '[设备名称]已经快到配置许可证到期日了, 配置许可证到期日是: [配置许可证到期日], 请及时处理!',
  staff_qualification: '[姓名]的人员资质快到期了, 人员资质到期日是: [人员资质到期日], 请及时处理!',
}
const KIND_LABELS: Record<CredentialKind, string> = {
  operation_certificate: '设备操作证',
  configuration_license: '配置许可证',
  staff_qualification: '人员资质',
}

function names(items: string[], unit: string): string {
  if (items.length <= 1) return items[0] ?? ''
  if (items.length <= NAMES_SHOWN) return items.join('、')
  return `${items.slice(0, NAMES_SHOWN).join('、')}等${items.length}${unit}`
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

/** The values a credential's reminder is filled from, as the reminder sent on `day` would have them. */
export function credentialValues(
  form: {
    kind: CredentialKind
    devices: ChosenDevice[]
    number?: string | null
    holder_name?: string | null
    issuing_authority?: string | null
    valid_until?: string | null
  },
  day: string,
): Record<string, string> {
  const devices = [...form.devices].sort((a, b) =>
    a.unique_code < b.unique_code ? -1 : a.unique_code > b.unique_code ? 1 : 0,
  )
  const label = KIND_LABELS[form.kind]
  const due = form.valid_until ?? ''
  return {
    subject:
      names(
        devices.map((d) => d.name),
        '台设备',
      ) ||
      form.holder_name ||
      label,
    kind: label,
    unique_codes: names(
      devices.map((d) => d.unique_code),
      '台',
    ),
    number: form.number ?? '',
    holder_name: form.holder_name ?? '',
    issuing_authority: form.issuing_authority ?? '',
    due_on: due || '（有效期至）',
    days_left: due ? String(Math.max(daysBetween(day, due), 0)) : '',
  }
}

/** The template with its [占位符] filled; an unknown one stays visible, as on the server. */
export function renderTemplate(template: string, placeholders: Record<string, string>, values: Record<string, string>) {
  return template.trim().replace(PLACEHOLDER, (whole, name: string) => {
    const key = placeholders[name]
    if (key === undefined) return whole
    return values[key] ?? ''
  })
}

/** The placeholders the server would refuse ("模板中有无法识别的占位符"), to warn before saving. */
export function unknownPlaceholders(template: string, placeholders: Record<string, string>): string[] {
  const found = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!)
  return [...new Set(found.filter((name) => !(name in placeholders)))].sort()
}
