import type { Role } from '@/api/session'

import type { AppRoutes } from '../types'

/** Who may read the figures (operations.work_orders.stats.STATS_ROLES); everyone else gets 403. */
export const STATS_READERS: Role[] = ['equipment_manager', 'vendor_admin']

export default [
  {
    path: 'stats',
    name: 'stats',
    component: () => import('@/pages/stats/WorkOrderStats.vue'),
    meta: { title: '统计', roles: STATS_READERS, menu: { order: 60, icon: 'stats' } },
  },
] satisfies AppRoutes
