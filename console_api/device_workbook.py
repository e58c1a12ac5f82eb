"""设备档案 as .xlsx: the export, the import template, and reading an uploaded workbook.

Edge code only. It turns devices into cells and cells into typed field values; what a row
means (科室 by name, 唯一码 clashes, all or nothing) is decided by
operations.devices.import_devices.
"""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from console_api.device_views import CREATE_SCHEMA
from console_api.validation import Field
from models import Department, Device
from models.device import ARCHIVE_STATUS_LABELS
from operations.devices import format_unique_code
from operations.errors import InvalidInput

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "设备档案"
GUIDE_TITLE = "填写说明"
NOT_A_WORKBOOK = "文件不是有效的 Excel 工作簿（.xlsx）"
# 20,000 real rows unpack to a few dozen MB; a file claiming far more is a zip bomb, refused
# before anything is inflated. (Blank rows parse at ~4 MB per second: this also bounds the time.)
MAX_UNPACKED_BYTES = 128 * 1024 * 1024
DATE_TEXT = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})")
STATUS_BY_LABEL = {label: status for status, label in ARCHIVE_STATUS_LABELS.items()}
STATUS_CHOICES = "、".join(ARCHIVE_STATUS_LABELS.values())
DATE_NOTE = "Excel 日期，或 YYYY-MM-DD、YYYY/MM/DD 格式的文本"
TEMPLATE_ROWS = 10_000  # how far down the template's drop-downs reach


@dataclass(frozen=True)
class Column:
    label: str  # the header, as on the 新增设备档案 form
    key: str  # the field name in import_devices' rows
    kind: str  # text, date or status
    note: str  # shown on the template's 填写说明 sheet
    width: int = 14


# The order of the 新增设备档案 form, then the status; export, template and import share it.
COLUMNS = (
    Column("唯一码", "unique_code", "text", "留空则自动生成；只能包含数字、字母和短横线", 10),
    Column("设备名称", "name", "text", "", 24),
    Column("所属科室", "department", "text", "须与本院科室名称一致（见下方科室列表）"),
    Column("设备类型", "category", "text", ""),
    Column("规格型号", "model", "text", "", 18),
    Column("设备编码", "asset_code", "text", ""),
    Column("单位", "unit", "text", "如：台、套", 8),
    Column("设备品牌", "brand", "text", ""),
    Column("产地", "origin", "text", "", 10),
    Column("生产厂家", "manufacturer", "text", "", 20),
    Column("序列号", "serial_number", "text", "", 16),
    Column("质保类型", "warranty_type", "text", ""),
    Column("UDI码", "udi", "text", "", 18),
    Column("生产日期", "manufactured_on", "date", DATE_NOTE),
    Column("质保到期日", "warranty_ends_on", "date", DATE_NOTE),
    Column("购买日期", "purchased_on", "date", DATE_NOTE),
    Column("安装日期", "installed_on", "date", DATE_NOTE),
    Column("计量方式", "metrology_method", "text", ""),
    Column("保养方式", "maintenance_method", "text", ""),
    Column("设备描述", "description", "text", "", 30),
    Column("在档状态", "archive_status", "status", f"{STATUS_CHOICES} 之一；留空为新设备记“在档”、已有设备不变", 10),
)
COLUMN_BY_LABEL = {column.label: column for column in COLUMNS}
REQUIRED_LABELS = ("设备名称", "所属科室")
# The edge's own rules for each text cell: the API's, so a workbook cannot store what the form refuses.
TEXT_FIELDS = {
    **CREATE_SCHEMA,
    "department": Field("str", max_length=Department.__table__.c.name.type.length),
}

EXAMPLE_DEPARTMENT = "示例科室"
EXAMPLE_ROW = {
    "name": "高压注射器",
    "department": EXAMPLE_DEPARTMENT,
    "category": "放射设备",
    "model": "Spectris Solaris EP",
    "asset_code": "011",
    "unit": "台",
    "brand": "拜耳",
    "origin": "美国",
    "manufacturer": "拜耳医药保健有限公司",
    "serial_number": "SN20210001",
    "warranty_type": "原厂保修",
    "udi": "(01)00643169007222",
    "manufactured_on": date(2021, 3, 1),
    "warranty_ends_on": date(2026, 3, 31),
    "purchased_on": date(2021, 3, 15),
    "installed_on": date(2021, 4, 1),
    "metrology_method": "外部检定",
    "maintenance_method": "厂家保养",
    "description": "示例行：导入时自动跳过，可保留或删除，请从下一行起填写",
    "archive_status": "在档",
}
# The example row is grey and italic, as a form's placeholder is.
EXAMPLE_FONT = Font(italic=True, color="808080")
GUIDE_NOTES = (
    "第 1 行是列名，请勿修改；第 2 行（灰色斜体，所属科室为“示例科室”）是示例，导入时自动跳过，"
    "可保留或删除；请从第 3 行起填写。",
    "列的顺序可以调整，不需要的列可以删除，但“设备名称”“所属科室”两列必须保留。",
    "“新增”方式导入：唯一码已存在的行会报错。“更新”方式导入：唯一码已存在的行更新该设备，"
    "表中的空白单元格会清空该项，表中没有的列保持不变；其余行新增。已有设备的所属科室须与档案一致："
    "科室变动请在设备详情中点击“转科”办理。",
    "任何一行有错误时整个文件都不会导入，请按提示修改后重新上传。",
)


# ---------------------------------------------------------------------------------------
# Writing


def bold(sheet, text: str, color: str | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, text)
    cell.font = Font(bold=True, color=color)
    return cell


def _header_cells(sheet) -> list[WriteOnlyCell]:
    # Red marks the columns the import cannot do without.
    return [bold(sheet, c.label, "C00000" if c.label in REQUIRED_LABELS else None) for c in COLUMNS]


def _new_sheet(workbook: Workbook, title: str):
    sheet = workbook.create_sheet(title)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    return sheet


def text_cell(sheet, value: str):
    """Text as text: openpyxl would turn a leading '=' into a formula and '#N/A' into an error."""
    # The API refuses control characters, but a row written around it must not fail the export.
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith("=") or value in ERROR_CODES:
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


def row_cells(sheet, values: Iterable[Any]) -> list:
    # Dates pass as they are: openpyxl stores them as Excel dates formatted yyyy-mm-dd.
    return [text_cell(sheet, value) if isinstance(value, str) else value for value in values]


def _device_values(device: Device, departments: dict[int, str]) -> Iterator[Any]:
    for column in COLUMNS:
        if column.key == "department":
            yield departments.get(device.department_id)
        elif column.key == "archive_status":
            yield ARCHIVE_STATUS_LABELS[device.archive_status]
        else:
            yield getattr(device, column.key)


def saved(workbook: Workbook) -> bytes:
    # In memory: openpyxl spools the rows to disk, and even EXPORT_MAX_ROWS devices pack into ~12 MB.
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write_devices(devices: Iterable[Device], departments: dict[int, str]) -> bytes:
    """The archive as .xlsx, one device a row, streamed from `devices` (department names by id)."""
    workbook = Workbook(write_only=True)
    sheet = _new_sheet(workbook, SHEET_TITLE)
    try:
        sheet.append(_header_cells(sheet))
        for device in devices:
            sheet.append(row_cells(sheet, _device_values(device, departments)))
    except BaseException:
        # Saving is the only public way to close a write-only sheet and delete its temporary
        # file; without it a failed export (say, the database went away) leaks one per request.
        with contextlib.suppress(Exception):
            workbook.save(io.BytesIO())
        raise
    return saved(workbook)


def write_template(department_names: list[str]) -> bytes:
    """The header, one example row, and a 填写说明 sheet listing the institution's 科室."""
    workbook = Workbook(write_only=True)
    sheet = _new_sheet(workbook, SHEET_TITLE)
    guide = workbook.create_sheet(GUIDE_TITLE)
    guide.column_dimensions["A"].width = 14
    guide.column_dimensions["B"].width = 8
    guide.column_dimensions["C"].width = 60

    guide_rows: list[list] = [[bold(guide, text) for text in ("列名", "必填", "说明")]]
    for column in COLUMNS:
        limit = TEXT_FIELDS[column.key].max_length if column.kind == "text" else None
        note = "；".join(part for part in (column.note, f"最多 {limit} 个字符" if limit else "") if part)
        guide_rows.append([column.label, "是" if column.label in REQUIRED_LABELS else "", note])
    guide_rows += [[], [bold(guide, "注意事项")], *([note] for note in GUIDE_NOTES), [], [bold(guide, "本院科室")]]
    first_department_row = len(guide_rows) + 1
    guide_rows += [[name] for name in department_names]
    for row in guide_rows:
        guide.append(row_cells(guide, row))

    # Drop-downs spare typing and typos; they only check what is typed, never the import.
    def drop_down(key: str, formula: str, **options) -> None:
        letter = get_column_letter(next(i for i, column in enumerate(COLUMNS, 1) if column.key == key))
        validation = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True, **options)
        validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
        sheet.data_validations.append(validation)

    drop_down("archive_status", f'"{",".join(ARCHIVE_STATUS_LABELS.values())}"')
    if department_names:
        last_department_row = first_department_row + len(department_names) - 1
        # A 科室 added after the download is still accepted: warn, do not block.
        drop_down(
            "department",
            f"{quote_sheetname(GUIDE_TITLE)}!$A${first_department_row}:$A${last_department_row}",
            errorStyle="warning",
        )

    sheet.append(_header_cells(sheet))
    example = [WriteOnlyCell(sheet, EXAMPLE_ROW.get(column.key)) for column in COLUMNS]
    for cell in example:
        cell.font = EXAMPLE_FONT
    sheet.append(example)
    return saved(workbook)


# ---------------------------------------------------------------------------------------
# Reading


@dataclass
class ParsedSheet:
    """The rows import_devices takes, and the cells that could not be read (row -> label -> reason)."""

    rows: list[tuple[int, dict[str, Any]]]
    cell_errors: dict[int, dict[str, str]]


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError("应为文本")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel keeps every number as a float: 11.0 was typed as 11.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        raise ValueError("应为文本（Excel 把它当成了日期，请将单元格设为文本后重新填写）")
    raise ValueError("应为文本")


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = DATE_TEXT.fullmatch(value.strip())
        if match:
            try:
                return date(int(match[1]), int(match[3]), int(match[4]))
            except ValueError:
                raise ValueError("不是有效的日期") from None
    raise ValueError("日期格式应为 YYYY-MM-DD")


def _as_status(value: Any):
    status = STATUS_BY_LABEL.get(value.strip()) if isinstance(value, str) else None
    if status is None:
        raise ValueError(f"应为 {STATUS_CHOICES} 之一")
    return status


def _cell_value(column: Column, value: Any) -> Any:
    """The typed value of a non-blank cell, or ValueError with the reason."""
    if column.key == "unique_code" and _is_whole_number(value):
        # Excel drops the leading zeros of a number typed into a General cell: 36 was 000036.
        return format_unique_code(int(value))
    if column.kind == "date":
        return as_date(value)
    if column.kind == "status":
        return _as_status(value)
    return TEXT_FIELDS[column.key].parse(as_text(value))


def _is_whole_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 and float(value).is_integer()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def open_sheet(data: bytes, title: str = SHEET_TITLE):
    """The workbook (read-only) and its sheet named `title` (else its first), or InvalidInput when
    it is not an .xlsx."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise InvalidInput({"file": NOT_A_WORKBOOK}) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise InvalidInput({"file": NOT_A_WORKBOOK})
    try:
        # data_only: a formula cell counts as the value Excel last computed for it.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises whatever its parser met (KeyError, XML errors, ...)
        raise InvalidInput({"file": NOT_A_WORKBOOK}) from None
    if not workbook.worksheets:
        workbook.close()
        raise InvalidInput({"file": NOT_A_WORKBOOK})
    sheet = workbook[title] if title in workbook.sheetnames else workbook.worksheets[0]
    # The size a sheet declares may be wrong (some tools write A1); read what is there.
    sheet.reset_dimensions()
    return workbook, sheet


def sheet_rows(sheet) -> Iterator[tuple]:
    """The sheet's rows from row 1, gaps filled, so the n-th row yielded is Excel row n."""
    rows = sheet.iter_rows(values_only=True)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception:  # a malformed sheet part fails only when the parser reaches it
            raise InvalidInput({"file": NOT_A_WORKBOOK}) from None
        yield row


def read_header(
    header: tuple, by_label: dict[str, Column] = COLUMN_BY_LABEL, required: tuple[str, ...] = REQUIRED_LABELS
) -> dict[int, Column]:
    """Column position -> Column, or InvalidInput naming missing, unknown or repeated columns."""
    columns: dict[int, Column] = {}
    unknown, repeated = [], []
    for position, value in enumerate(header):
        if is_blank(value):
            continue
        label = str(value).strip()
        column = by_label.get(label)
        if column is None:
            unknown.append(label)
        elif column in columns.values():
            repeated.append(label)
        else:
            columns[position] = column
    present = {column.label for column in columns.values()}
    problems = []
    if missing := [label for label in required if label not in present]:
        problems.append(f"缺少必填列：{'、'.join(missing)}")
    if unknown:
        problems.append(f"无法识别的列：{'、'.join(unknown)}")
    if repeated:
        problems.append(f"列重复：{'、'.join(repeated)}")
    if problems:
        raise InvalidInput({"file": "；".join(problems)})
    return columns


def _read_row(columns: dict[int, Column], values: tuple) -> tuple[dict[str, Any], dict[str, str]]:
    """A non-blank row's fields and its unreadable cells (label -> reason)."""
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for position, column in columns.items():
        value = values[position] if position < len(values) else None
        if is_blank(value):
            # Blank clears the field on update; a blank 唯一码 / 在档状态 means "not given".
            if column.key not in ("unique_code", "archive_status"):
                fields[column.key] = None
            continue
        try:
            fields[column.key] = _cell_value(column, value)
        except ValueError as reason:
            errors[column.label] = str(reason)
    return fields, errors


def _is_example(fields: dict[str, Any], errors: dict[str, str]) -> bool:
    """The template's example row, left in: 所属科室 示例科室 and every other cell as the template
    wrote it or blank (设备描述 aside: older templates said something else there). A row a person
    changed into a device is data, and its unknown 科室 is then reported."""
    if errors or fields.get("department") != EXAMPLE_DEPARTMENT:
        return False
    example = {
        column.key: _cell_value(column, EXAMPLE_ROW[column.key]) for column in COLUMNS if column.key in EXAMPLE_ROW
    }
    return all(value is None or value == example.get(key) for key, value in fields.items() if key != "description")


def data_rows(rows: Iterator[tuple], columns: dict[int, Column], max_rows: int) -> Iterator[tuple[int, tuple]]:
    """The non-blank rows after the header as (Excel row number, values); InvalidInput past
    `max_rows` rows read (blank ones count) or for a value under no header."""
    for row_number, values in enumerate(rows, start=2):
        # Every row read counts, blank or not: a sheet of empty rows costs as much to parse.
        if row_number - 1 > max_rows:
            raise InvalidInput({"file": f"一次最多导入 {max_rows} 行（含空行），请删除多余的行或分批导入"})
        if all(is_blank(value) for value in values):
            continue
        unnamed = [p for p, value in enumerate(values) if p not in columns and not is_blank(value)]
        if unnamed:
            # Data under no header would be silently lost.
            letters = "、".join(get_column_letter(p + 1) for p in unnamed)
            raise InvalidInput({"file": f"第 {row_number} 行的 {letters} 列有内容，但该列没有列名"})
        yield row_number, values


def read_devices(data: bytes, *, max_rows: int) -> ParsedSheet:
    """Parse an uploaded workbook: row 1 is the header, blank rows are skipped (but count towards
    `max_rows`, which bounds the rows read after the header).

    The template's example row is skipped (`_is_example`). Every other non-blank row is returned
    (its unreadable cells left out, so the domain can still check the rest); the unreadable cells
    are in `cell_errors`. Whole-file problems (not an .xlsx, bad header, data under no header, no
    data, too many rows) raise InvalidInput.
    """
    workbook, sheet = open_sheet(data)
    try:
        rows = sheet_rows(sheet)
        columns = read_header(next(rows, ()))
        parsed: list[tuple[int, dict[str, Any]]] = []
        cell_errors: dict[int, dict[str, str]] = {}
        examples = 0
        for row_number, values in data_rows(rows, columns, max_rows):
            fields, errors = _read_row(columns, values)
            if _is_example(fields, errors):
                examples += 1
                continue
            if errors:
                cell_errors[row_number] = errors
            parsed.append((row_number, fields))
    finally:
        workbook.close()
    if not parsed:
        only_example = "文件中只有示例行，请从第 3 行起填写设备" if examples else "文件中没有设备数据"
        raise InvalidInput({"file": only_example})
    return ParsedSheet(parsed, cell_errors)
