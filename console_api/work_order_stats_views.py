"""工单统计: GET /api/v1/work-orders/stats?from=YYYY-MM-DD&to=YYYY-MM-DD&vendor_id=, and the same
figures as an Excel workbook (GET /api/v1/work-orders/stats.xlsx with the same query).

The days are Asia/Shanghai calendar days, both included; without them the last 30 days up to
today. The equipment manager sees the institution's figures, a vendor admin their own vendor's.
"""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify

from console_api.device_workbook import XLSX_MIMETYPE
from console_api.http import current_actor, file_response
from console_api.route_table import request_query
from console_api.routes import route
from console_api.validation import Field
from console_api.work_order_stats_workbook import write_stats
from models import Vendor, db
from operations.clock import today_local
from operations.equipment_figures import equipment_figures
from operations.work_orders.stats import work_order_figures

DEFAULT_DAYS = 30
STATS_QUERY = {
    "from": Field("date", description=f"起始日（北京时间，含）；默认为截止日前 {DEFAULT_DAYS - 1} 天"),
    "to": Field("date", description="截止日（含）；默认为今天"),
    "vendor_id": Field("int", minimum=1, description="只看一个服务商（设备科）"),
}


@route(
    "GET",
    "/work-orders/stats",
    "工单统计：响应、到场、修复时长，未完结工单，满意度；设备停机时长、保养按期完成率、计量逾期设备",
    query=STATS_QUERY,
    response="WorkOrderStats",
)
def work_order_stats():
    """The figures of operations.work_orders.stats, as they are (every value is JSON already)."""
    return jsonify(_figures(request_query()))


def _figures(query: dict) -> dict:
    date_to = query["to"] or today_local()
    date_from = query["from"] or date_to - timedelta(days=DEFAULT_DAYS - 1)
    span = {"date_from": date_from, "date_to": date_to, "vendor_id": query["vendor_id"]}
    figures = work_order_figures(current_actor(), **span)
    # 停机时长, 保养按期完成率, 计量逾期: the equipment figures, a section of their own.
    return figures | equipment_figures(current_actor(), **span)


WORKBOOK = {XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}


@route(
    "GET",
    "/work-orders/stats.xlsx",
    "导出Excel：工单统计（与 /work-orders/stats 相同的筛选条件和数字）",
    query=STATS_QUERY,
    content=WORKBOOK,
)
def export_work_order_stats():
    """The figures of GET /work-orders/stats as a workbook: 概览, 按服务商, 按工程师, 当前未完结, and the
    equipment sheets (停机时长, 保养按期完成率, 计量逾期)."""
    actor = current_actor()
    figures = _figures(request_query())  # refuses whoever may not read the figures, before anything else
    vendor_name = None
    vendor_id = figures["vendor_id"]
    # The vendor's name only to whom may know it: the hospital, or the vendor's own admin.
    if vendor_id is not None and (not actor.is_vendor_side or actor.vendor_id == vendor_id):
        vendor = db.session.get(Vendor, vendor_id)
        vendor_name = vendor.name if vendor else None
    data = write_stats(figures, vendor_name=vendor_name or (f"服务商 {vendor_id}" if vendor_id else None))
    span = f"{figures['from']}_{figures['to']}"
    return file_response(
        data, XLSX_MIMETYPE, filename=f"工单统计_{span}.xlsx", ascii_filename=f"work-order-stats_{span}.xlsx"
    )
