// Routes come from one module per area (router/modules/*.ts), so an area adds its pages and its
// sidebar entries in one place. Every page names the roles that may open it; the server enforces
// the same rules and answers 403 to anyone else.
import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'

import { whenSignedOut } from '@/api/client'
import { session } from '@/store/session'

import type { AppRoutes } from './types'

const modules = import.meta.glob<{ default: AppRoutes }>('./modules/*.ts', { eager: true })
export const areaRoutes: AppRoutes = Object.values(modules).flatMap((module) => module.default)

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    {
      path: '/login',
      name: 'login',
      component: () => import('@/pages/login/SignIn.vue'),
      meta: { title: '登录', public: true },
    },
    {
      path: '/activate',
      name: 'activate',
      component: () => import('@/pages/login/Activate.vue'),
      meta: { title: '激活账号 / 重置密码', public: true },
    },
    {
      // A device's QR sticker opened in a phone's own browser (the server answers /d/<token> with
      // this build for a device it knows): a mobile page with a layout of its own, not the shell,
      // in chunks of its own. It signs in by SMS code itself, so the router lets it open signed out.
      path: '/d/:token',
      name: 'device-link',
      component: () => import('@/pages/device-link/DeviceLink.vue'),
      meta: { title: '设备报修', public: true },
    },
    {
      path: '/',
      component: () => import('@/layouts/Shell.vue'),
      children: [
        ...areaRoutes,
        {
          path: 'forbidden',
          name: 'forbidden',
          component: () => import('@/pages/errors/Forbidden.vue'),
          meta: { title: '无权访问' },
        },
        {
          path: ':unknown(.*)*',
          name: 'not-found',
          component: () => import('@/pages/errors/NotFound.vue'),
          meta: { title: '页面不存在' },
        },
      ],
    },
  ],
  scrollBehavior: () => ({ top: 0 }),
})

/** The page a role lands on: 首页 for the office, 工单 for clinicians and vendor engineers. */
export function homeFor(): string {
  const landing = areaRoutes.find((route) => route.path === '' && session.can(route.meta?.roles))
  return landing ? '/' : '/work-orders'
}

function signInFor(to: RouteLocationNormalized) {
  return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
}

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  // Fetch the page's code while /me is on its way, not after it (a cold load saves a round trip).
  for (const record of to.matched) {
    const view = record.components?.default
    if (typeof view === 'function') void (view as () => Promise<unknown>)()
  }
  const me = await session.load()
  if (!me) return signInFor(to)
  if (to.path === '/' && !session.can(to.meta.roles)) return homeFor()
  if (!session.can(to.meta.roles)) return { name: 'forbidden', query: { from: to.fullPath } }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} - 微修` : '微修'
})

// A 401 from any call (the session expired, or ended elsewhere): back to sign-in, then here again.
whenSignedOut(() => {
  const current = router.currentRoute.value
  session.forget()
  if (!current.meta.public) void router.replace(signInFor(current))
})
