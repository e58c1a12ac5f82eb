// Every destructive action asks first, in words that say what will happen.
import { DialogPlugin } from 'tdesign-vue-next'

export function confirmAction(options: {
  header: string
  body: string
  confirmText?: string
  danger?: boolean
}): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = DialogPlugin.confirm({
      header: options.header,
      body: options.body,
      theme: options.danger === false ? 'info' : 'warning',
      confirmBtn: { content: options.confirmText ?? '确定', theme: options.danger === false ? 'primary' : 'danger' },
      cancelBtn: '取消',
      onConfirm: () => {
        dialog.destroy()
        resolve(true)
      },
      onClose: () => {
        dialog.destroy()
        resolve(false)
      },
    })
  })
}
