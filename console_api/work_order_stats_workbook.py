"""工单统计 as .xlsx: the figures of GET /work-orders/stats, one sheet per table, the same numbers.

Edge code only: it lays out the dictionary operations.work_orders.stats.work_order_figures
returns (minutes stay minutes, a missing figure stays an empty cell).
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

SUMMARY = "概览"
VENDORS = "按服务商"
ENGINEERS = "按工程师"
OPEN_NOW = "当前未完结"

TOTALS = (
    ("created", "报修工单"),
    ("open", "未完结"),
    ("completed", "已完成待归档"),
    ("closed", "已归档"),
    ("cancelled", "已撤销"),
)
DURATIONS = (
    ("response_minutes", "响应时长（报修→接单）"),
    ("on_site_minutes", "现场时长（到场→完成）"),
    ("repair_minutes", "修复时长（报修→完成）"),
)
VENDOR_COLUMNS = (
    ("服务商", lambda item: item["vendor_name"]),
    ("工单数", lambda item: item["orders"]),
    ("未完结", lambda item: item["open"]),
    ("响应时长中位数（分钟）", lambda item: item["median_response_minutes"]),
    ("现场时长中位数（分钟）", lambda item: item["median_on_site_minutes"]),
    ("修复时长中位数（分钟）", lambda item: item["median_repair_minutes"]),
    ("评价数", lambda item: item["satisfaction"]["ratings"]),
    ("总体满意度", lambda item: item["satisfaction"]["mean_rating"]),
    ("响应速度", lambda item: item["satisfaction"]["mean_response"]),
    ("专业技能", lambda item: item["satisfaction"]["mean_skill"]),
    ("服务态度", lambda item: item["satisfaction"]["mean_attitude"]),
    ("差评率", lambda item: item["satisfaction"]["poor_share"]),
)
ENGINEER_COLUMNS = (
    ("工程师", lambda item: item["engineer_name"]),
    ("所属", lambda item: item["vendor_name"]),
    ("派给的工单", lambda item: item["assigned"]),
    ("已归档", lambda item: item["closed"]),
    ("当前未完结", lambda item: item["open_now"]),
    ("响应时长中位数（分钟）", lambda item: item["median_response_minutes"]),
    ("修复时长中位数（分钟）", lambda item: item["median_repair_minutes"]),
    ("评价数", lambda item: item["ratings"]),
    ("平均评分", lambda item: item["mean_rating"]),
)


def _append(sheet, values: list[Any]) -> None:
    """A row whose text stays text: people name themselves and their vendors, and openpyxl would
    turn a leading '=' into a formula (a name like '=HYPERLINK(…)' would run in the manager's Excel)."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value for value in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and (cell.value.startswith("=") or cell.value in ERROR_CODES):
            cell.data_type = "s"


def _bold_row(sheet, values: list[Any]) -> None:
    _append(sheet, values)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _table(sheet, columns, items: list[dict]) -> None:
    _bold_row(sheet, [title for title, _ in columns])
    for item in items:
        _append(sheet, [value(item) for _, value in columns])
    for index, (title, _) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(title) * 2 + 2)
    sheet.freeze_panes = "A2"


def write_stats(figures: dict[str, Any], *, vendor_name: str | None = None) -> bytes:
    """The workbook: 概览 (range, totals, the three durations), 按服务商, 按工程师, 当前未完结."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = SUMMARY
    summary.column_dimensions["A"].width = 26
    for letter in "BCDE":
        summary.column_dimensions[letter].width = 14
    _bold_row(summary, ["工单统计"])
    _append(summary, ["统计区间（报修日期，北京时间）", figures["from"], figures["to"]])
    _append(summary, ["服务商", vendor_name or "全部"])
    _append(summary, [])
    _bold_row(summary, ["工单", "数量"])
    for key, label in TOTALS:
        _append(summary, [label, figures["totals"][key]])
    _append(summary, [])
    _bold_row(summary, ["时长（分钟）", "工单数", "平均", "中位数", "90% 不超过"])
    for key, label in DURATIONS:
        figure = figures[key]
        _append(summary, [label, figure["count"], figure["mean"], figure["median"], figure["p90"]])
    _append(summary, [])
    open_now = figures["open_now"]
    _bold_row(summary, ["当前未完结（不限报修日期）", "数量"])
    _append(summary, ["合计", open_now["total"]])
    _append(summary, ["未派工", open_now["unassigned"]])

    _table(workbook.create_sheet(VENDORS), VENDOR_COLUMNS, figures["per_vendor"])
    _table(workbook.create_sheet(ENGINEERS), ENGINEER_COLUMNS, figures["per_engineer"])
    now_sheet = workbook.create_sheet(OPEN_NOW)
    _table(now_sheet, (("服务商", lambda i: i["vendor_name"]), ("未完结", lambda i: i["open"])), open_now["per_vendor"])
    _append(now_sheet, [])
    _bold_row(now_sheet, ["工程师", "所属", "未完结"])
    for item in open_now["per_engineer"]:
        _append(now_sheet, [item["engineer_name"], item["vendor_name"], item["open"]])

    write_equipment_sheets(workbook, figures)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the equipment figures (operations.equipment_figures) --------------------------------------

DOWNTIME = "停机时长"
PM_ON_TIME = "保养按期完成率"
METROLOGY_OVERDUE = "计量逾期"
DOWNTIME_COLUMNS = (
    ("唯一码", lambda item: item["unique_code"]),
    ("设备名称", lambda item: item["device_name"]),
    ("所属科室", lambda item: item["department"]),
    ("停机时长（小时）", lambda item: item["downtime_hours"]),
    ("当前运行状态", lambda item: item["running_state_label"]),
)
RATE_COLUMNS = (
    ("应完成", lambda item: item["due"]),
    ("按期完成", lambda item: item["on_time"]),
    ("逾期完成", lambda item: item["done_late"]),
    ("未完成", lambda item: item["not_done"]),
    ("按期完成率（%）", lambda item: item["on_time_percent"]),
)
METROLOGY_COLUMNS = (
    ("唯一码", lambda item: item["unique_code"]),
    ("设备名称", lambda item: item["device_name"]),
    ("所属科室", lambda item: item["department"]),
    ("计量到期日", lambda item: item["due_on"]),
    ("逾期天数", lambda item: item["days_overdue"]),
)


def write_equipment_sheets(workbook: Workbook, figures: dict[str, Any]) -> None:
    """停机时长 (per device, the range's), 保养按期完成率 (overall, by department, by vendor) and 计量逾期
    (now); a vendor admin's workbook has the on-time sheet only (the rest is the hospital's)."""
    downtime = figures.get("downtime")
    if downtime is not None:
        sheet = workbook.create_sheet(DOWNTIME)
        _table(sheet, DOWNTIME_COLUMNS, downtime["items"])
        _append(sheet, [])
        _bold_row(sheet, ["合计（小时）", downtime["total_hours"]])
    rate = figures.get("pm_on_time")
    if rate is not None:
        sheet = workbook.create_sheet(PM_ON_TIME)
        _table(sheet, (("范围", lambda item: "全部"), *RATE_COLUMNS), [rate])
        _append(sheet, ["到期日未到、尚未完成", rate["not_due_yet"]])
        _append(sheet, [])
        _bold_row(sheet, ["科室", *(title for title, _ in RATE_COLUMNS)])
        for item in rate["per_department"]:
            _append(sheet, [item["department"], *(value(item) for _, value in RATE_COLUMNS)])
        _append(sheet, [])
        _bold_row(sheet, ["服务商", *(title for title, _ in RATE_COLUMNS)])
        for item in rate["per_vendor"]:
            _append(sheet, [item["vendor_name"], *(value(item) for _, value in RATE_COLUMNS)])
    overdue = figures.get("metrology_overdue")
    if overdue is not None:
        _table(workbook.create_sheet(METROLOGY_OVERDUE), METROLOGY_COLUMNS, overdue["items"])
