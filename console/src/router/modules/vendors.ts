import { HOSPITAL_STAFF } from '@/store/session'

import type { AppRoutes } from '../types'

// One sidebar entry, 服务商, whose page fits the role: the hospital's office invites vendors
// (only the manager may send, revoke or resend; the engineer reads), a vendor admin answers
// invitations and sees the institutions it serves and its own profile.
export default [
  {
    path: 'vendors',
    name: 'vendors',
    component: () => import('@/pages/vendors/HospitalVendors.vue'),
    meta: { title: '服务商', roles: HOSPITAL_STAFF, menu: { order: 70, icon: 'vendors' } },
  },
  {
    path: 'vendor',
    name: 'vendor-admin',
    component: () => import('@/pages/vendors/VendorAdmin.vue'),
    meta: { title: '服务商', roles: ['vendor_admin'], menu: { order: 70, icon: 'vendors' } },
  },
] satisfies AppRoutes
