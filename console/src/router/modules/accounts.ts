import type { Role } from '@/api/session'
import { MANAGERS } from '@/store/session'

import type { AppRoutes } from '../types'

/** 账号: the equipment manager for the hospital's accounts, the vendor admin for the vendor's. */
export const ACCOUNT_ADMINS: Role[] = ['equipment_manager', 'vendor_admin']
const GROUP = { group: '账号管理', groupIcon: 'accounts' }

export default [
  {
    path: 'staff',
    component: () => import('@/pages/accounts/Staff.vue'),
    meta: { title: '账号', roles: ACCOUNT_ADMINS, menu: { order: 80, icon: 'accounts', ...GROUP } },
  },
  {
    path: 'departments',
    component: () => import('@/pages/accounts/Departments.vue'),
    meta: { title: '科室管理', roles: MANAGERS, menu: { order: 81, ...GROUP } },
  },
  {
    path: 'device-types',
    component: () => import('@/pages/accounts/DeviceTypes.vue'),
    meta: { title: '设备类型', roles: MANAGERS, menu: { order: 82, ...GROUP } },
  },
] satisfies AppRoutes
