import { OFFICE } from '@/store/session'

import type { AppRoutes } from '../types'

export default [
  {
    path: '',
    name: 'home',
    component: () => import('@/pages/home/Dashboard.vue'),
    meta: { title: '首页', roles: OFFICE, menu: { order: 0, icon: 'home' } },
  },
] satisfies AppRoutes
