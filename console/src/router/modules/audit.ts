import type { AppRoutes } from '../types'
import { ACCOUNT_ADMINS } from './accounts'

export default [
  {
    path: 'audit-log',
    component: () => import('@/pages/audit/AuditLog.vue'),
    meta: { title: '操作日志', roles: ACCOUNT_ADMINS, menu: { order: 85, icon: 'audit' } },
  },
] satisfies AppRoutes
