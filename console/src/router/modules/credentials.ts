import { KIND_SLUGS, KINDS } from '@/api/credentials'
import { HOSPITAL_STAFF, MANAGERS } from '@/store/session'

import type { AppRoutes } from '../types'

// 证照管理: one list per kind, and the form (新增 / 修改) they share with the device's tabs
// (方法二 links to /credentials/operation/new?device_id=12).
const slugs = KIND_SLUGS.join('|')

export default [
  ...KIND_SLUGS.map((slug) => ({
    path: `credentials/${slug}`,
    name: `credentials-${slug}`,
    component: () => import('@/pages/credentials/CredentialList.vue'),
    meta: {
      title: KINDS[slug].menu,
      roles: HOSPITAL_STAFF,
      kindSlug: slug,
      menu: { order: KINDS[slug].order, group: '证照管理', groupIcon: 'credentials' },
    },
  })),
  {
    path: `credentials/:slug(${slugs})/new`,
    name: 'credential-new',
    component: () => import('@/pages/credentials/CredentialEdit.vue'),
    meta: { title: '新增证照', roles: MANAGERS },
  },
  {
    path: `credentials/:slug(${slugs})/:id(\\d+)/edit`,
    name: 'credential-edit',
    component: () => import('@/pages/credentials/CredentialEdit.vue'),
    meta: { title: '证照详情', roles: HOSPITAL_STAFF },
  },
] satisfies AppRoutes
