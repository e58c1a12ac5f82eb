import { api, type Schema } from './client'

export type Dashboard = Schema<'Dashboard'>
export type DashboardAlert = Schema<'DashboardAlert'>
export type EndingAuthorization = Schema<'EndingAuthorization'>

export const fetchDashboard = () => api.get<Dashboard>('/dashboard')
