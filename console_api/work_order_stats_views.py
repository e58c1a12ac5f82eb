"""工单统计: GET /api/v1/work-orders/stats?from=YYYY-MM-DD&to=YYYY-MM-DD&vendor_id=

The days are Asia/Shanghai calendar days, both included; without them the last 30 days up to
today. The equipment manager sees the institution's figures, a vendor admin their own vendor's.
"""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify

from console_api.http import current_actor
from console_api.route_table import request_query
from console_api.routes import route
from console_api.validation import Field
from operations.clock import today_local
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
    "工单统计：响应、到场、修复时长，未完结工单，满意度",
    query=STATS_QUERY,
    response="WorkOrderStats",
)
def work_order_stats():
    """The figures of operations.work_orders.stats, as they are (every value is JSON already)."""
    query = request_query()
    date_to = query["to"] or today_local()
    date_from = query["from"] or date_to - timedelta(days=DEFAULT_DAYS - 1)
    figures = work_order_figures(current_actor(), date_from=date_from, date_to=date_to, vendor_id=query["vendor_id"])
    return jsonify(figures)
