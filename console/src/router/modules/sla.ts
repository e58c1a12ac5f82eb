import { MANAGERS } from '@/store/session'

import type { AppRoutes } from '../types'

/** 服务时限: the hospital's SLA policy, beside its other settings (科室, 设备类型). */
export default [
  {
    path: 'sla-policy',
    component: () => import('@/pages/accounts/SlaPolicy.vue'),
    meta: { title: '服务时限', roles: MANAGERS, menu: { order: 83, group: '账号管理', groupIcon: 'accounts' } },
  },
] satisfies AppRoutes
