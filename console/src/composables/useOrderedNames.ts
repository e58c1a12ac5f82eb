// A list that the office keeps in its own order and names itself (科室, 设备类型): load, reorder by
// drag or by a step up/down (saved at once, put back if the server refuses), add and rename in one
// dialog with the server's field errors beside the name.
import {
  type DragSortContext,
  type FormInstanceFunctions,
  type FormRules,
  MessagePlugin,
  type SubmitContext,
  type TableRowData,
} from 'tdesign-vue-next'
import { reactive, ref, type Ref } from 'vue'

import { showApiError } from './useFieldErrors'

interface Named {
  id: number
  name: string
}

export function useOrderedNames<T extends Named>(options: {
  /** what the rows are, in messages: 科室, 设备类型 */
  noun: string
  list: () => Promise<{ items: T[] }>
  reorder: (ids: number[]) => Promise<{ items: T[] }>
  create: (name: string) => Promise<unknown>
  rename: (id: number, name: string) => Promise<unknown>
}) {
  const items = ref([]) as Ref<T[]>
  const loading = ref(false)
  const saving = ref(false)

  async function load() {
    loading.value = true
    try {
      items.value = (await options.list()).items
    } catch (error) {
      showApiError(error)
    } finally {
      loading.value = false
    }
  }

  async function saveOrder(ordered: T[]) {
    const before = items.value
    items.value = ordered
    saving.value = true
    try {
      items.value = (await options.reorder(ordered.map((row) => row.id))).items
      void MessagePlugin.success('顺序已保存')
    } catch (error) {
      items.value = before
      showApiError(error)
    } finally {
      saving.value = false
    }
  }

  function move(index: number, step: -1 | 1) {
    const ordered = [...items.value]
    const [row] = ordered.splice(index, 1)
    ordered.splice(index + step, 0, row!)
    void saveOrder(ordered)
  }

  function onDragSort({ newData }: DragSortContext<TableRowData>) {
    void saveOrder(newData as T[])
  }

  // 新增 / 重命名
  const nameForm = ref<FormInstanceFunctions>()
  const nameVisible = ref(false)
  const renaming = ref(null) as Ref<T | null>
  const form = reactive({ name: '' })
  const rules: FormRules<typeof form> = { name: [{ required: true, message: `请输入${options.noun}名称` }] }

  function openName(row: T | null) {
    renaming.value = row
    form.name = row?.name ?? ''
    nameVisible.value = true
  }

  async function onSaveName({ validateResult }: SubmitContext) {
    if (validateResult !== true) return
    saving.value = true
    try {
      const name = form.name.trim()
      if (renaming.value) {
        if (name !== renaming.value.name) await options.rename(renaming.value.id, name)
        void MessagePlugin.success(`${options.noun}已重命名`)
      } else {
        await options.create(name)
        void MessagePlugin.success(`${options.noun}已添加`)
      }
      nameVisible.value = false
      await load()
    } catch (error) {
      showApiError(error, nameForm)
    } finally {
      saving.value = false
    }
  }

  void load()
  return {
    items,
    loading,
    saving,
    load,
    move,
    onDragSort,
    nameForm,
    nameVisible,
    renaming,
    form,
    rules,
    openName,
    onSaveName,
  }
}
