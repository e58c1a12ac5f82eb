import { HOSPITAL_STAFF } from '@/store/session'

import type { AppRoutes } from '../types'

// 计划管理: the hospital's 保养 / 计量 plans; the server lets the in-house engineer read them and
// only the equipment manager make, import or end them.
export default [
  {
    path: 'service-plans',
    name: 'service-plans',
    component: () => import('@/pages/service-plans/ServicePlans.vue'),
    meta: { title: '计划管理', roles: HOSPITAL_STAFF, menu: { order: 45, icon: 'plans' } },
  },
] satisfies AppRoutes
