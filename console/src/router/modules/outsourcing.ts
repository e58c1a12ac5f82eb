import { MANAGERS } from '@/store/session'

import type { AppRoutes } from '../types'

// 委外关联 is the equipment manager's (the server lets only the manager authorize, change and
// cancel; the office's engineer reads a device's 维保商 on its detail page).
export default [
  {
    path: 'outsourcing',
    name: 'outsourcing',
    component: () => import('@/pages/outsourcing/DeviceOutsourcing.vue'),
    meta: { title: '委外关联', roles: MANAGERS, menu: { order: 20, icon: 'outsourcing' } },
  },
  {
    // 服务商授权 for one device or several: ?device_ids=12 or ?device_ids=12,13 (方法二 links here
    // from the device's page); &authorization_id= opens that authorization for 修改.
    path: 'outsourcing/authorize',
    name: 'outsourcing-authorize',
    component: () => import('@/pages/outsourcing/Authorize.vue'),
    meta: { title: '服务商授权', roles: MANAGERS },
  },
] satisfies AppRoutes
