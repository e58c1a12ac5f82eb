// The 基础设置 form of a device's 操作证 / 配置许可证, as the credential API takes it.
import type { CredentialKind, DeviceCredentialBody } from '@/api/devices'

export interface CredentialForm {
  issuing_authority: string
  number: string
  holder_name: string
  holder_gender: 'male' | 'female' | undefined
  holder_birth_month: string
  holder_title: string
  operable_devices_text: string
  issued_on: string
  valid_until: string
  warn_days: number
  send_time: string
  description: string
}

export const CREDENTIAL_FIELDS: Array<keyof CredentialForm> = [
  'issuing_authority',
  'number',
  'holder_name',
  'holder_gender',
  'holder_birth_month',
  'holder_title',
  'operable_devices_text',
  'issued_on',
  'valid_until',
  'warn_days',
  'send_time',
  'description',
]

export const KIND_LABELS: Record<CredentialKind, string> = {
  operation_certificate: '操作证',
  configuration_license: '配置许可证',
}

export function blankCredential(): CredentialForm {
  return {
    issuing_authority: '',
    number: '',
    holder_name: '',
    holder_gender: undefined,
    holder_birth_month: '',
    holder_title: '',
    operable_devices_text: '',
    issued_on: '',
    valid_until: '',
    warn_days: 5,
    send_time: '08:00:00',
    description: '',
  }
}

/** The body's fields: blanks as null (the API clears them), a 操作证's holder and devices only for that kind. */
export function credentialBody(kind: CredentialKind, form: CredentialForm): DeviceCredentialBody {
  const blank = (value: string) => (value.trim() === '' ? null : value.trim())
  const holder = kind === 'operation_certificate'
  return {
    kind,
    issuing_authority: blank(form.issuing_authority),
    number: blank(form.number),
    holder_name: holder ? blank(form.holder_name) : null,
    holder_gender: holder ? (form.holder_gender ?? null) : null,
    holder_birth_month: holder ? blank(form.holder_birth_month) : null,
    holder_title: holder ? blank(form.holder_title) : null,
    operable_devices_text: holder ? blank(form.operable_devices_text) : null,
    issued_on: blank(form.issued_on),
    valid_until: blank(form.valid_until) as string, // blank: the API answers 必填 beside the field
    warn_days: form.warn_days,
    send_time: form.send_time || '08:00:00',
    description: blank(form.description),
  }
}

/** API field names of credential `index` in the body → this page's form item names. */
export function credentialAliases(index: number, prefix: string): Record<string, string> {
  return Object.fromEntries(CREDENTIAL_FIELDS.map((field) => [`credentials.${index}.${field}`, `${prefix}.${field}`]))
}
