import { EVERYONE } from '@/store/session'

import type { AppRoutes } from '../types'

// 个人设置: no sidebar entry; the header's user menu leads here, for every role.
export default [
  {
    path: 'account',
    name: 'account',
    component: () => import('@/pages/account/AccountSettings.vue'),
    meta: { title: '个人设置', roles: EVERYONE },
  },
] satisfies AppRoutes
