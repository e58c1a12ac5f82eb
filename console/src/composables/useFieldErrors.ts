// The server's field errors (422 {error: {fields}}) beside the fields of a TDesign form.
import type { FormInstanceFunctions } from 'tdesign-vue-next'
import { MessagePlugin } from 'tdesign-vue-next'
import type { Ref } from 'vue'

import { ApiError } from '@/api/client'

/**
 * Show an API error where a person reads it: each field's reason under its field (the form item's
 * `name` is the API's field name, or `aliases` maps it), the rest as a message at the top.
 * Returns the message shown at the top, if any.
 */
export function showApiError(
  error: unknown,
  form?: Ref<FormInstanceFunctions | undefined>,
  aliases: Record<string, string> = {},
): string {
  if (!(error instanceof ApiError)) {
    void MessagePlugin.error('操作失败，请稍后重试')
    return '操作失败，请稍后重试'
  }
  const fields = Object.entries(error.fields)
  if (form?.value && fields.length > 0) {
    form.value.setValidateMessage(
      Object.fromEntries(fields.map(([name, message]) => [aliases[name] ?? name, [{ type: 'error', message }]])),
    )
    // A list's rows (checklist.2.note) have no form item of their own: their reasons go on top.
    const rows = fields.filter(([name]) => name.includes('.') && !(name in aliases)).map(([, message]) => message)
    void MessagePlugin.error(rows.length ? rows.join('；') : error.message || '请检查标红的内容')
    return ''
  }
  void MessagePlugin.error(error.message)
  return error.message
}

/**
 * What a list or tab says in place of its rows when loading them failed (a table's empty slot:
 * TableEmpty). A refusal says so; it is never shown as "nothing here".
 */
export function loadErrorText(error: unknown): string {
  if (error instanceof ApiError && error.status === 403) return `无权查看：${error.message}`
  if (error instanceof ApiError) return `加载失败：${error.message}`
  return '加载失败，请稍后重试'
}
