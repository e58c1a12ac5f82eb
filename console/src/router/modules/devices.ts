import { MANAGERS, OFFICE } from '@/store/session'

import type { AppRoutes } from '../types'

// 设备档案: the server lets managers and in-house engineers read their institution's devices and a
// vendor admin the devices its vendor is authorized for today (operations/access.py); only the
// equipment manager creates, edits and imports.
export default [
  {
    path: 'devices',
    name: 'devices',
    component: () => import('@/pages/devices/DeviceList.vue'),
    meta: { title: '设备档案', roles: OFFICE, menu: { order: 10, icon: 'devices' } },
  },
  {
    path: 'devices/new',
    name: 'device-new',
    component: () => import('@/pages/devices/DeviceForm.vue'),
    meta: { title: '新增设备档案', roles: MANAGERS },
  },
  {
    path: 'devices/import',
    name: 'device-import',
    component: () => import('@/pages/devices/DeviceImport.vue'),
    meta: { title: '设备档案导入', roles: MANAGERS },
  },
  {
    path: 'devices/:id(\\d+)',
    name: 'device-detail',
    component: () => import('@/pages/devices/DeviceDetail.vue'),
    meta: { title: '设备档案详情', roles: OFFICE },
  },
  {
    path: 'devices/:id(\\d+)/edit',
    name: 'device-edit',
    component: () => import('@/pages/devices/DeviceForm.vue'),
    meta: { title: '修改设备档案', roles: MANAGERS },
  },
] satisfies AppRoutes
