"""服务报告 as a PDF: what the frozen service report says, the order's timeline times, the
checklist, the customer's signatures (the images as drawn) and how the report was confirmed.

Chinese text is embedded as a subset of a TrueType CJK font (REPORT_FONT_PATH; Debian's
fonts-wqy-zenhei by default): ReportLab cannot embed the CFF outlines of OpenType fonts such as
Noto CJK. The font is read once per process, the PDF built from the database on each call.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import undefer

from models import Institution, WorkOrder, WorkOrderEvent, WorkOrderEventKind, WorkOrderSignOff, db
from models.work_order import SIGN_OFF_PLACE_LABELS, WORK_ORDER_STATUS_LABELS
from operations.actors import Actor
from operations.clock import DISPLAY_TZ
from operations.errors import Conflict
from operations.service_plans import checklists
from operations.work_orders.access import device_seen_by, visible_order
from operations.work_orders.checklist_results import RESULT_LABELS

DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
FONT_NAME = "WeixiuReportCJK"
AUTO_CONFIRMED = "系统自动确认（未签字）"
MEDIA_TYPE = "application/pdf"

_settings = {"font_path": DEFAULT_FONT_PATH}
_registered: dict[str, str] = {}
_lock = threading.Lock()


class FontMissing(RuntimeError):
    """The configured CJK font cannot be read: no report can be drawn."""


def shown(moment: datetime | None) -> str | None:
    """A moment as the printed report gives it: 北京时间 to the minute (2026-12-05 20:14)."""
    return moment.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M") if moment else None


def set_font_path(path: str | None) -> None:
    """The app's REPORT_FONT_PATH (weixiu.app sets it at start)."""
    _settings["font_path"] = path or DEFAULT_FONT_PATH


def font_path() -> str:
    return _settings["font_path"]


def _font() -> str:
    """Register the CJK font once per process (reading a 10 MB collection costs ~0.5 s)."""
    path = font_path()
    with _lock:
        if path not in _registered:
            try:
                # subfontIndex 0: the collection's first face (WenQuanYi Zen Hei, proportional).
                font = TTFont(FONT_NAME + str(len(_registered)), path, subfontIndex=0)
            except Exception as error:  # reportlab raises its own TTFError or an OSError
                raise FontMissing(f"cannot read the report font {path}: {error}") from error
            pdfmetrics.registerFont(font)
            _registered[path] = font.fontName
        return _registered[path]


def file_name(order: WorkOrder) -> str:
    return f"服务报告-{order.number}.pdf"


@dataclass
class ReportData:
    order: WorkOrder
    report: dict[str, Any]
    institution: str
    sign_offs: list[WorkOrderSignOff]
    confirmed_by_system: bool
    device: dict[str, Any]


def gather(order: WorkOrder) -> ReportData:
    if order.service_report is None:
        raise Conflict("工单尚未提交服务报告，暂无报告可下载")
    institution = db.session.scalar(select(Institution.name).where(Institution.id == order.institution_id))
    sign_offs = list(
        db.session.scalars(
            select(WorkOrderSignOff)
            .options(undefer(WorkOrderSignOff.image))
            .where(WorkOrderSignOff.work_order_id == order.id)
            .order_by(WorkOrderSignOff.id)
        )
    )
    confirmer = db.session.execute(
        select(WorkOrderEvent.actor_id)
        .where(WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.kind == WorkOrderEventKind.CONFIRMED)
        .order_by(WorkOrderEvent.id.desc())
        .limit(1)
    ).first()
    return ReportData(
        order,
        order.service_report,
        institution or "",
        sign_offs,
        bool(confirmer and confirmer[0] is None),
        dict(order.device_snapshot or order.service_report.get("device") or {}),
    )


def for_actor(actor: Actor, work_order_id: int) -> tuple[WorkOrder, bytes]:
    """The report of an order the caller may see (NotFound otherwise), made now."""
    order = visible_order(actor, work_order_id)
    # A vendor without 档案资料 sees the device's SOP fields only, as in the report's JSON.
    return order, build(order, device=device_seen_by(actor, order))


def build(order: WorkOrder, *, device: dict[str, Any] | None = None) -> bytes:
    """The order's service report as PDF bytes (`device`: the device as the reader may see it;
    the archive's snapshot in full by default). Conflict when it has none yet; FontMissing when
    the font cannot be read."""
    data = gather(order)
    if device is not None:
        data.device = device
    return render(data)


# --- drawing ------------------------------------------------------------------------------------


def render(data: ReportData) -> bytes:
    font = _font()
    styles = _Styles(font)
    order, report = data.order, data.report
    device = data.device
    engineer = report.get("engineer") or {}
    story: list = [
        Paragraph(escape(data.institution), styles.title),
        Paragraph(f"服务报告（{escape(report.get('kind') or '')}）", styles.title),
        Paragraph(f"工单号：{order.number}　　服务日期：{report.get('service_date') or ''}", styles.center),
        Spacer(1, 4 * mm),
    ]
    story += styles.section("设备信息")
    story.append(
        styles.grid(
            [
                ["设备名称", device.get("name"), "唯一码", device.get("unique_code")],
                ["品牌", device.get("brand"), "型号", device.get("model")],
                ["序列号", device.get("serial_number"), "资产编号", device.get("asset_code")],
                ["使用科室", device.get("department"), "保修截止", device.get("warranty_ends_on")],
            ],
            pairs=True,
        )
    )
    story += styles.section("服务过程")
    times = [
        ("报修时间", order.created_at),
        ("接单时间", order.accepted_at),
        ("出发时间", order.departed_at),
        ("到场时间", order.arrived_at),
        ("诊断时间", order.diagnosed_at),
        ("完成时间", order.completed_at),
        ("确认时间", order.confirmed_at),
    ]
    rows = [[label, shown(moment) or "—"] for label, moment in times]
    story.append(
        styles.grid([rows[i] + (rows[i + 1] if i + 1 < len(rows) else ["", ""]) for i in range(0, 7, 2)], pairs=True)
    )
    story += styles.section("故障与处理")
    story.append(
        styles.grid(
            [
                ["故障描述", order.fault_description or "—"],
                ["故障等级", report.get("fault_level") or "—"],
                ["诊断结论", report.get("diagnosis") or "—"],
                ["维修/维护内容", report.get("work_done") or "—"],
            ],
            widths=(32 * mm, None),
        )
    )
    checklist = _checklist(order, report)
    if checklist:
        story += styles.section("检查项目")
        story.append(
            styles.grid(
                [["序号", "检查项", "限值", "测量值", "结果", "说明"], *checklist],
                widths=(12 * mm, None, 28 * mm, 24 * mm, 16 * mm, 40 * mm),
                header=True,
            )
        )
    certificate = report.get("certificate")
    if certificate:
        story += styles.section("计量证书")
        story.append(
            styles.grid(
                [
                    ["证书编号", certificate.get("number"), "结论", certificate.get("conclusion_label")],
                    [
                        "检定/校准日期",
                        certificate.get("calibrated_on"),
                        "有效期至",
                        certificate.get("valid_until") or "—",
                    ],
                    ["发证机构", certificate.get("issuer"), "证书文件", certificate.get("filename")],
                ],
                pairs=True,
            )
        )
    story += styles.section("更换配件")
    story.append(_parts_table(styles, report.get("parts") or []))
    story += styles.section("测试与设备状态")
    passed = report.get("test_passed")
    story.append(
        styles.grid(
            [
                ["测试结果", report.get("test_result") or "—"],
                ["测试结论", "通过" if passed else ("未通过" if passed is False else "—")],
                ["设备当前状态", report.get("device_condition") or "—"],
            ],
            widths=(32 * mm, None),
        )
    )
    story += styles.section("服务工程师")
    story.append(
        styles.grid(
            [
                [
                    "工程师",
                    engineer.get("name") or "—",
                    "单位",
                    engineer.get("organisation") or "—",
                ],
                ["电话", engineer.get("phone") or "—", "", ""],
            ],
            pairs=True,
        )
    )
    story += styles.section("客户签字")
    story += _sign_off(styles, data)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"服务报告 {order.number}",
        author=data.institution,
    )
    footer = f"{order.number}　工单状态：{WORK_ORDER_STATUS_LABELS[order.status]}"

    def page_footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(16 * mm, 8 * mm, footer)
        canvas.drawRightString(A4[0] - 16 * mm, 8 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    document.build(story, onFirstPage=page_footer, onLaterPages=page_footer)
    return buffer.getvalue()


def _checklist(order: WorkOrder, report: dict[str, Any]) -> list[list[str]]:
    """The order's checklist items, with the engineer's results once the report holds them: the
    limits and the measured value with its unit, 合格 / 不合格, the note."""
    rows = []
    for number, entry in enumerate(report.get("checklist") or order.checklist or [], 1):
        item = checklists.normalized(entry)
        raw = entry if isinstance(entry, dict) else {}
        measured = item["kind"] == checklists.MEASUREMENT
        value = raw.get("value")
        result = raw.get("result")
        rows.append(
            [
                str(number),
                item["label"],
                checklists.limits_label(item) if measured else "",
                "" if value is None else f"{value} {item['unit'] or ''}".strip(),
                RESULT_LABELS.get(result, "" if result is None else str(result)),
                raw.get("note") or "",
            ]
        )
    return rows


# Optional part fields (origin, validity, the replaced part's fate) print when an order has them.
PART_COLUMNS = (
    ("name", "名称"),
    ("model", "型号"),
    ("serial_number", "序列号"),
    ("quantity", "数量"),
    ("origin", "来源"),
    ("valid_until", "有效期"),
    ("replaced_part", "旧件去向"),
    ("note", "备注"),
)
ALWAYS = ("name", "model", "serial_number", "quantity")


def _parts_table(styles: _Styles, parts: list[dict[str, Any]]) -> Table | Paragraph:
    if not parts:
        return Paragraph("无", styles.body)
    columns = [(key, label) for key, label in PART_COLUMNS if key in ALWAYS or any(part.get(key) for part in parts)]
    rows = [[label for _, label in columns]]
    rows += [[_text(part.get(key)) for key, _ in columns] for part in parts]
    return styles.grid(rows, header=True)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return "，".join(str(v) for v in value.values() if v)
    return str(value)


def _sign_off(styles: _Styles, data: ReportData) -> list:
    order = data.order
    flow: list = []
    if not data.sign_offs:
        if data.confirmed_by_system:
            flow.append(Paragraph(f"{AUTO_CONFIRMED}，确认时间：{shown(order.confirmed_at)}", styles.body))
        else:
            flow.append(Paragraph("尚无客户签字", styles.body))
        return flow
    for record in data.sign_offs:
        image = _signature(record.image) or Paragraph("（签名图片无法显示）", styles.body)
        words = [
            Paragraph(f"签字人：{escape(record.signer_name)}", styles.body),
            Paragraph(f"签字时间：{shown(record.signed_at)}", styles.body),
            Paragraph(f"签字地点：{SIGN_OFF_PLACE_LABELS[record.place]}", styles.body),
            Paragraph("已确认服务报告" if record.confirms else "签字附于报告", styles.body),
        ]
        table = Table([[words, image]], colWidths=_fill((None, 64 * mm)))
        table.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("BOX", (0, 0), (-1, -1), 0.5, colors.grey)])
        )
        flow += [table, Spacer(1, 2 * mm)]
    if data.confirmed_by_system and not any(record.confirms for record in data.sign_offs):
        flow.append(Paragraph(f"系统自动确认，确认时间：{shown(order.confirmed_at)}", styles.body))
    return flow


WIDTH = A4[0] - 32 * mm  # between the margins


def _fill(widths) -> list[float]:
    """Columns given as None share what the others leave of the page's width."""
    free = [i for i, width in enumerate(widths) if width is None]
    left = WIDTH - sum(width for width in widths if width is not None)
    return [left / len(free) if width is None else width for width in widths]


def _signature(data: bytes) -> Image | None:
    """The signature as drawn, fitted to its box; None for an image that cannot be read (the
    upload checks only the PNG signature), so one bad image does not cost the whole report."""
    try:
        with PILImage.open(io.BytesIO(data)) as probe:
            probe.load()
    except Exception:
        return None
    image = Image(io.BytesIO(data))
    scale = min(60 * mm / image.imageWidth, 22 * mm / image.imageHeight, 1.0)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    return image


class _Styles:
    def __init__(self, font: str) -> None:
        self.font = font
        self.title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20, alignment=1)
        self.center = ParagraphStyle("center", fontName=font, fontSize=9.5, leading=13, alignment=1)
        self.heading = ParagraphStyle("heading", fontName=font, fontSize=11, leading=15, spaceBefore=4, spaceAfter=2)
        self.body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12.5, wordWrap="CJK")
        self.label = ParagraphStyle("label", parent=self.body, textColor=colors.HexColor("#444444"))

    def section(self, title: str) -> list:
        return [Spacer(1, 2 * mm), Paragraph(title, self.heading)]

    def grid(self, rows: list[list[Any]], *, pairs: bool = False, widths=None, header: bool = False) -> Table:
        """A bordered table of wrapped text. `pairs`: label, value, label, value columns."""
        cells = [
            [Paragraph(escape(_text(cell)) if cell is not None else "—", self.body) for cell in row] for row in rows
        ]
        if pairs:
            widths = (24 * mm, None, 24 * mm, None)
        widths = _fill(widths or (None,) * len(rows[0]))
        table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        if pairs:
            style += [
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("BACKGROUND", (2, 0), (2, -1), colors.whitesmoke),
            ]
        elif header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke))
        else:
            style.append(("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke))
        table.setStyle(TableStyle(style))
        return table
