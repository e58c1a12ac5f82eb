// The 统计 charts' options. A status group has one colour in every chart (the donut and the bars
// alike); the durations use other hues, so no colour means two things on the page.
import type { WorkOrderStats } from '@/api/workOrders'

import type { ChartOption } from './charts'

type Counts = WorkOrderStats['totals']
type Group = 'open' | 'completed' | 'closed' | 'cancelled'

/** The orders by their status now, as the server counts them (operations/work_orders/stats.py). */
export const STATUS_GROUPS: { key: Group; name: string; color: string }[] = [
  { key: 'open', name: '未完结', color: '#e37318' },
  { key: 'completed', name: '已完成待归档', color: '#2ba471' },
  { key: 'closed', name: '已归档', color: '#0052d9' },
  { key: 'cancelled', name: '已撤销', color: '#8b8b8b' },
]
const DURATION_COLORS = ['#029cd4', '#8e56dd', '#36475d']
// Every bar's name under it, cut short rather than skipped.
const LABELS = { interval: 0, width: 90, overflow: 'truncate' }

export function statusOption(totals: Counts): ChartOption {
  return {
    color: STATUS_GROUPS.map((group) => group.color),
    tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）' },
    legend: { bottom: 0 },
    series: [
      {
        type: 'pie',
        radius: ['40%', '68%'],
        center: ['50%', '45%'],
        label: { formatter: '{b} {c}' },
        // An empty slice would only crowd the labels; the legend keeps every name.
        data: STATUS_GROUPS.map(({ key, name }) => ({ name, value: totals[key] > 0 ? totals[key] : null })),
      },
    ],
  }
}

/** Orders per vendor or per engineer (the bars' names), stacked by status group. */
export function ordersOption(rows: (Record<Group, number> & { name: string })[]): ChartOption {
  return {
    color: STATUS_GROUPS.map((group) => group.color),
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    grid: { left: 40, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: rows.map((row) => row.name), axisLabel: LABELS },
    yAxis: { type: 'value', minInterval: 1 },
    series: STATUS_GROUPS.map(({ key, name }) => ({
      name,
      type: 'bar',
      stack: 'orders',
      barMaxWidth: 48,
      data: rows.map((row) => row[key]),
    })),
  }
}

interface Medians {
  name: string
  median_response_minutes: number | null
  median_on_site_minutes: number | null
  median_repair_minutes: number | null
}

export function durationOption(rows: Medians[]): ChartOption {
  return {
    color: DURATION_COLORS,
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    grid: { left: 56, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: rows.map((row) => row.name), axisLabel: LABELS },
    yAxis: { type: 'value', name: '分钟' },
    series: [
      { name: '响应（报修→接单）', type: 'bar', barMaxWidth: 32, data: rows.map((row) => row.median_response_minutes) },
      { name: '现场（到场→完成）', type: 'bar', barMaxWidth: 32, data: rows.map((row) => row.median_on_site_minutes) },
      { name: '修复（报修→完成）', type: 'bar', barMaxWidth: 32, data: rows.map((row) => row.median_repair_minutes) },
    ],
  }
}
