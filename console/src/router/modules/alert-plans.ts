import { EVERYONE, HOSPITAL_STAFF } from '@/store/session'

import type { AppRoutes } from '../types'

export default [
  {
    path: 'alert-plans',
    name: 'alert-plans',
    component: () => import('@/pages/alert-plans/AlertPlanList.vue'),
    meta: { title: '预警计划', roles: HOSPITAL_STAFF, menu: { order: 40, icon: 'alerts' } },
  },
  {
    // The notice bell links here: a clinician named as 指定人员 may open (and handle) the plan
    // it was told about; the server answers 404 to everyone else.
    path: 'alert-plans/:id(\\d+)',
    name: 'alert-plan',
    component: () => import('@/pages/alert-plans/AlertPlanDetail.vue'),
    meta: { title: '预警计划详情', roles: EVERYONE },
  },
] satisfies AppRoutes
