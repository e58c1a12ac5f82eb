// Who is signed in. The console asks the server (/me) once per load; the session itself is the
// HttpOnly cookie, which this code never sees.
import { computed, reactive } from 'vue'

import { ApiError } from '@/api/client'
import { fetchMe, type Me, type Role, signOut as endSession } from '@/api/session'

export const ROLE_LABELS: Record<Role, string> = {
  equipment_manager: '设备科管理员',
  institution_engineer: '院内工程师',
  clinician: '临床科室',
  vendor_admin: '服务商管理员',
  vendor_engineer: '服务商工程师',
}

/** The people a PC console is made for; clinicians and vendor engineers get 工单 and 首页通知 only. */
export const MANAGERS: Role[] = ['equipment_manager']
export const HOSPITAL_STAFF: Role[] = ['equipment_manager', 'institution_engineer']
export const OFFICE: Role[] = ['equipment_manager', 'institution_engineer', 'vendor_admin']
export const EVERYONE: Role[] = Object.keys(ROLE_LABELS) as Role[]

const state = reactive<{ me: Me | null; loaded: boolean }>({ me: null, loaded: false })

export const session = {
  state,
  me: computed(() => state.me),
  role: computed<Role | null>(() => state.me?.role ?? null),
  /** The signed-in person, once per page load (null when nobody is). */
  async load(): Promise<Me | null> {
    if (state.loaded) return state.me
    try {
      state.me = await fetchMe()
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error
      state.me = null
    }
    state.loaded = true
    return state.me
  },
  signedIn(me: Me) {
    state.me = me
    state.loaded = true
  },
  async signOut() {
    try {
      await endSession()
    } finally {
      this.forget()
    }
  },
  forget() {
    state.me = null
    state.loaded = true
  },
  can(roles: readonly Role[] | undefined): boolean {
    return !roles || (state.me !== null && roles.includes(state.me.role))
  },
}
