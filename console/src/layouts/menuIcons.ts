// The sidebar's icons, imported one by one: the whole icon set would put every icon in the first
// page's download.
import {
  AppIcon,
  CalendarIcon,
  CertificateIcon,
  ChartBarIcon,
  HistoryIcon,
  HomeIcon,
  LinkIcon,
  NotificationIcon,
  ServerIcon,
  ShopIcon,
  TimeIcon,
  ToolsIcon,
  UsergroupIcon,
} from 'tdesign-icons-vue-next'
import type { Component } from 'vue'

export const MENU_ICONS: Record<string, Component> = {
  home: HomeIcon,
  devices: ServerIcon,
  outsourcing: LinkIcon,
  credentials: CertificateIcon,
  alerts: TimeIcon,
  plans: CalendarIcon,
  'work-orders': ToolsIcon,
  stats: ChartBarIcon,
  vendors: ShopIcon,
  accounts: UsergroupIcon,
  audit: HistoryIcon,
  inbox: NotificationIcon,
}

export const DEFAULT_MENU_ICON: Component = AppIcon
