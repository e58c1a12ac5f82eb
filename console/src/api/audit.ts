// 操作日志 (console_api/audit_views.py): the institution's or the vendor's rows, newest first.
import { api, type QueryOf, type Schema } from './client'

export type AuditEntry = Schema<'AuditEntry'>
export type AuditQuery = QueryOf<'/api/v1/audit-log', 'get'>

export const listAuditLog = (query: AuditQuery = {}) => api.get<Schema<'AuditLogPage'>>('/audit-log', query)
