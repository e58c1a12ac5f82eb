import type { RouteRecordRaw } from 'vue-router'

import type { Role } from '@/api/session'

/** What a page tells the shell: its title, who may open it, and where it sits in the sidebar. */
declare module 'vue-router' {
  interface RouteMeta {
    title?: string
    /** who may open the page (the server answers 403 to everyone else all the same) */
    roles?: readonly Role[]
    /** open without signing in (sign-in, activation) */
    public?: boolean
    /** a sidebar entry: its order, icon (a key of layouts/menuIcons.ts) and optional group (证照管理) */
    menu?: { order: number; icon?: string; group?: string; groupIcon?: string; label?: string }
    /** 证照管理: which of the three lists a page is (a key of api/credentials.ts KINDS) */
    kindSlug?: string
  }
}

export type AppRoutes = RouteRecordRaw[]
