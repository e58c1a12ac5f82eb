"""计划导入 as .xlsx: the template and reading an uploaded workbook, one 保养 / 计量 plan a row.

Edge code only: cells become typed fields here; which device and person they name, and whether
the plan holds, is operations.service_plans.imports'. The sheet is read the way the 设备档案
import reads its own (console_api.device_workbook): row 1 the header, the example row skipped.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from console_api.device_workbook import (
    DATE_NOTE,
    EXAMPLE_FONT,
    GUIDE_TITLE,
    Column,
    ParsedSheet,
    as_date,
    as_text,
    bold,
    data_rows,
    is_blank,
    open_sheet,
    read_header,
    row_cells,
    saved,
    sheet_rows,
)
from models import WorkOrderKind
from models.service_plan import IntervalUnit, PlanAnchor
from operations.devices import format_unique_code
from operations.errors import InvalidInput
from operations.service_plans.plans import MAX_CHECKLIST_ITEMS, MAX_ITEM_LENGTH

SHEET_TITLE = "保养计量计划"
TEMPLATE_ROWS = 5000
KINDS = {"保养": WorkOrderKind.MAINTENANCE, "计量": WorkOrderKind.METROLOGY}
UNITS = {"天": IntervalUnit.DAY, "月": IntervalUnit.MONTH, "个月": IntervalUnit.MONTH}
ANCHORS = {
    "按计划": PlanAnchor.SCHEDULE,
    "按计划日期": PlanAnchor.SCHEDULE,
    "按完成": PlanAnchor.COMPLETION,
    "按完成日期": PlanAnchor.COMPLETION,
}
CHECKLIST_SEPARATORS = re.compile(r"[；;\n]")
EXAMPLE_CODE = "示例"

COLUMNS = (
    Column("设备唯一码", "unique_code", "text", "设备档案中的唯一码，如 000036", 12),
    Column("计划类型", "kind", "kind", "保养 或 计量", 10),
    Column("周期", "interval_count", "count", "整数：每隔几天或几个月", 8),
    Column("周期单位", "interval_unit", "unit", "天 或 月", 10),
    Column("提前天数", "lead_days", "count", "到期日前几天生成工单；留空为 0，须小于周期", 10),
    Column(
        "基准",
        "anchor",
        "anchor",
        "按计划（按上次到期日起算）或 按完成（按完成日期起算）；留空时保养按计划、计量按完成",
        10,
    ),
    Column("首次到期日", "first_due_on", "date", f"{DATE_NOTE}；不能早于今天", 12),
    Column("科室联系人", "contact", "text", "设备所属科室在用账号的用户名或手机号；留空为设备科管理员", 14),
    Column(
        "检查项",
        "checklist",
        "checklist",
        f"多项用“；”分隔，最多 {MAX_CHECKLIST_ITEMS} 项，每项最多 {MAX_ITEM_LENGTH} 字",
        40,
    ),
    Column("备注", "note", "text", "最多 200 个字符", 20),
)
COLUMN_BY_LABEL = {column.label: column for column in COLUMNS}
REQUIRED_LABELS = ("设备唯一码", "计划类型", "周期", "周期单位", "首次到期日")
TEXT_LIMITS = {"unique_code": 20, "contact": 50, "note": 200}
EXAMPLE_ROW = {
    "unique_code": EXAMPLE_CODE,
    "kind": "保养",
    "interval_count": 3,
    "interval_unit": "月",
    "lead_days": 7,
    "anchor": "按计划",
    "first_due_on": date(2030, 1, 31),
    "contact": "13800000000",
    "checklist": "外观检查；电气安全检测；功能测试",
    "note": "示例行：设备唯一码为“示例”，导入时自动跳过；请从下一行起填写",
}
GUIDE_NOTES = (
    "第 1 行是列名，请勿修改；第 2 行（灰色斜体，设备唯一码为“示例”）是示例，导入时自动跳过。",
    "一行一个计划；同一台设备的保养计划和计量计划各占一行。已有执行中的同类计划的设备会报错。",
    "任何一行有错误时整个文件都不会导入，请按提示修改后重新上传。",
)


def write_template() -> bytes:
    """The header (required columns in red), one example row, and a 填写说明 sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    guide = workbook.create_sheet(GUIDE_TITLE)
    guide.column_dimensions["A"].width = 14
    guide.column_dimensions["B"].width = 8
    guide.column_dimensions["C"].width = 70
    guide.append([bold(guide, text) for text in ("列名", "必填", "说明")])
    for column in COLUMNS:
        guide.append(row_cells(guide, [column.label, "是" if column.label in REQUIRED_LABELS else "", column.note]))
    guide.append([])
    guide.append([bold(guide, "注意事项")])
    for note in GUIDE_NOTES:
        guide.append(row_cells(guide, [note]))

    for key, choices in (("kind", KINDS), ("interval_unit", ("天", "月")), ("anchor", ("按计划", "按完成"))):
        letter = get_column_letter(next(i for i, column in enumerate(COLUMNS, 1) if column.key == key))
        validation = DataValidation(
            type="list", formula1=f'"{",".join(choices)}"', allow_blank=True, showErrorMessage=True
        )
        validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
        sheet.data_validations.append(validation)

    sheet.append([bold(sheet, c.label, "C00000" if c.label in REQUIRED_LABELS else None) for c in COLUMNS])
    example = [WriteOnlyCell(sheet, EXAMPLE_ROW.get(column.key)) for column in COLUMNS]
    for cell in example:
        cell.font = EXAMPLE_FONT
    sheet.append(example)
    return saved(workbook)


def _choice(value: Any, choices: dict[str, Any], wanted: str) -> Any:
    found = choices.get(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"应为 {wanted}")
    return found


def _count(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer() and value >= 0:
        return int(value)
    raise ValueError("应为非负整数")


def _checklist(value: Any) -> list[str]:
    return [item.strip() for item in CHECKLIST_SEPARATORS.split(as_text(value)) if item.strip()]


def _text(column: Column, value: Any) -> str:
    text = as_text(value).strip()
    limit = TEXT_LIMITS[column.key]
    if len(text) > limit:
        raise ValueError(f"最多 {limit} 个字符")
    return text


def _cell_value(column: Column, value: Any) -> Any:
    if column.key == "unique_code" and isinstance(value, int | float) and not isinstance(value, bool):
        # Excel drops the leading zeros of a number typed into a General cell: 36 was 000036.
        return format_unique_code(_count(value))
    readers = {
        "kind": lambda v: _choice(v, KINDS, "保养 或 计量"),
        "unit": lambda v: _choice(v, UNITS, "天 或 月"),
        "anchor": lambda v: _choice(v, ANCHORS, "按计划 或 按完成"),
        "count": _count,
        "date": as_date,
        "checklist": _checklist,
        "text": lambda v: _text(column, v),
    }
    return readers[column.kind](value)


def read_plans(data: bytes, *, max_rows: int) -> ParsedSheet:
    """The rows import_plans takes and the cells that could not be read; whole-file problems
    (not an .xlsx, bad header, no rows, too many) raise InvalidInput."""
    workbook, sheet = open_sheet(data, SHEET_TITLE)
    try:
        rows = sheet_rows(sheet)
        columns = read_header(next(rows, ()), COLUMN_BY_LABEL, REQUIRED_LABELS)
        parsed: list[tuple[int, dict[str, Any]]] = []
        cell_errors: dict[int, dict[str, str]] = {}
        for row_number, values in data_rows(rows, columns, max_rows):
            fields: dict[str, Any] = {}
            errors: dict[str, str] = {}
            for position, column in columns.items():
                value = values[position] if position < len(values) else None
                if is_blank(value):
                    continue
                try:
                    fields[column.key] = _cell_value(column, value)
                except ValueError as reason:
                    errors[column.label] = str(reason)
            if fields.get("unique_code") == EXAMPLE_CODE:
                continue
            if errors:
                cell_errors[row_number] = errors
            parsed.append((row_number, fields))
    finally:
        workbook.close()
    if not parsed:
        raise InvalidInput({"file": "文件中没有计划数据"})
    return ParsedSheet(parsed, cell_errors)
