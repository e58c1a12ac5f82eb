import { EVERYONE } from '@/store/session'

import type { AppRoutes } from '../types'

export default [
  {
    path: 'inbox',
    component: () => import('@/pages/inbox/Inbox.vue'),
    meta: { title: '首页通知', roles: EVERYONE, menu: { order: 90, icon: 'inbox' } },
  },
] satisfies AppRoutes
