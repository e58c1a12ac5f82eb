import type { Role } from '@/api/session'
import { EVERYONE } from '@/store/session'

import type { AppRoutes } from '../types'

/** Who may report a fault (operations.work_orders.orders.REPORTERS): the hospital's own people. */
export const REPORTERS: Role[] = ['clinician', 'equipment_manager', 'institution_engineer']

export default [
  {
    path: 'work-orders',
    name: 'work-orders',
    component: () => import('@/pages/work-orders/WorkOrders.vue'),
    meta: { title: '工单', roles: EVERYONE, menu: { order: 50, icon: 'work-orders' } },
  },
  {
    path: 'work-orders/new',
    name: 'work-order-new',
    component: () => import('@/pages/work-orders/ReportFault.vue'),
    meta: { title: '报修', roles: REPORTERS },
  },
  {
    path: 'work-orders/:id(\\d+)',
    name: 'work-order',
    component: () => import('@/pages/work-orders/WorkOrderDetail.vue'),
    meta: { title: '工单详情', roles: EVERYONE },
  },
  {
    path: 'work-orders/:id(\\d+)/report',
    name: 'work-order-report',
    component: () => import('@/pages/work-orders/ServiceReport.vue'),
    meta: { title: '服务报告', roles: EVERYONE },
  },
] satisfies AppRoutes
