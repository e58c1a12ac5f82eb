// 操作日志 (console_api/audit_views.py): the institution's or the vendor's rows, newest first.
import { api, type QueryOf, type Schema } from './client'

export type AuditEntry = Schema<'AuditEntry'>
export type AuditQuery = QueryOf<'/api/v1/audit-log', 'get'>
export type AuditAction = NonNullable<AuditQuery['action']>
export type AuditEdge = NonNullable<AuditQuery['edge']>

export const listAuditLog = (query: AuditQuery = {}) => api.get<Schema<'AuditLogPage'>>('/audit-log', query)

// The filters' words, as the rows say them (action_label, edge_label): typed by the API's own
// lists, so an action the server adds or drops breaks the build until it is named here.
export const ACTION_LABELS: Record<AuditAction, string> = {
  create: '新增',
  update: '修改',
  delete: '删除',
  import: '导入',
  import_queued: '提交后台导入',
  rename: '重命名',
  merge: '合并',
  reorder: '调整顺序',
  deactivate: '停用',
  reactivate: '启用',
  activate: '激活账号',
  reset_password: '重置密码',
  change_password: '修改密码',
  issue_activation_code: '发放激活码',
  issue_password_reset_code: '发放重置码',
  update_profile: '修改姓名',
  change_mobile: '更换手机号',
  update_notification_preferences: '修改通知设置',
  set_credit_code: '登记统一社会信用代码',
  add_attachment: '上传附件',
  remove_attachment: '删除附件',
  transfer: '转科',
  invite: '邀约',
  accept: '接受',
  decline: '拒绝',
  revoke: '终止合作',
  cancel: '取消',
  handle: '已处理',
  set_skills: '设置技能',
  issue_bind_code: '生成绑定码',
  bind: '绑定微信',
  unbind: '解除绑定',
  sign_out_everywhere: '退出所有设备并解除绑定',
  assign: '派工',
  depart: '出发',
  arrive: '到场',
  diagnose: '提交诊断',
  complete: '完成维修',
  confirm: '确认',
  reject: '退回返修',
  rate: '评价',
  follow_up: '回访',
  close: '归档',
  escalate: '超时升级',
  wait_parts: '等待备件',
  parts_arrived: '备件到货',
  hand_back: '退回待接单',
  fall_back: '改为通知设备科管理员',
  drop_recipient: '移出已停用的指定人员',
  triage: '初步诊断',
  set_eta: '确认上门时间',
  add_part: '登记配件',
  remove_part: '删除配件',
  add_photo: '上传照片',
  attach_certificate: '上传计量证书',
  update_checklist: '修改检查项模板',
  sign_off: '客户签字',
  set_running_state: '设置运行状态',
}
/** The names one action has on particular objects (报修 is a work order's 新增). */
export const ACTION_ALIASES: Partial<Record<AuditAction, string[]>> = {
  create: ['报修', '委外授权'],
  accept: ['接单', '接受邀约'],
  cancel: ['撤销', '取消授权'],
  decline: ['拒绝邀约'],
}
export const EDGE_LABELS: Record<AuditEdge, string> = {
  pc: '电脑端',
  miniprogram: '小程序',
  official_account: '公众号',
  cli: '平台运维',
  system: '系统',
}
