import { api, type QueryOf, type Schema } from './client'

export type InboxMessage = Schema<'InboxMessage'>
export type InboxPage = Schema<'InboxPage'>

export const listInbox = (query: QueryOf<'/api/v1/inbox', 'get'> = {}) => api.get<InboxPage>('/inbox', query)
export const unreadCount = () => api.get<Schema<'UnreadCount'>>('/inbox/unread-count')
export const markRead = (id: number) => api.post<InboxMessage>(`/inbox/${id}/read`)
export const markAllRead = () => api.post<Schema<'ReadAll'>>('/inbox/read-all')
