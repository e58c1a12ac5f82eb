"""工单统计: GET /api/v1/work-orders/stats?from=YYYY-MM-DD&to=YYYY-MM-DD&vendor_id=

The days are Asia/Shanghai calendar days, both included; without them the last 30 days up to
today. The equipment manager sees the institution's figures, a vendor admin their own vendor's.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import jsonify, request

from console_api import api
from console_api.http import current_actor, signed_in
from console_api.validation import parse_date, query_int
from operations.clock import today_local
from operations.errors import InvalidInput
from operations.work_orders.stats import work_order_figures

DEFAULT_DAYS = 30


def query_date(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse_date(raw.strip())
    except ValueError as reason:
        raise InvalidInput({name: str(reason)}) from None


@api.get("/work-orders/stats")
@signed_in
def work_order_stats():
    """The figures of operations.work_orders.stats, as they are (every value is JSON already)."""
    errors: dict[str, str] = {}

    def collect(parse, *args):
        try:
            return parse(*args)
        except InvalidInput as error:
            errors.update(error.fields)
            return None

    date_to = collect(query_date, "to", today_local())
    date_from = collect(query_date, "from", (date_to or today_local()) - timedelta(days=DEFAULT_DAYS - 1))
    vendor_id = collect(query_int, "vendor_id")
    if errors:
        raise InvalidInput(errors)
    figures = work_order_figures(current_actor(), date_from=date_from, date_to=date_to, vendor_id=vendor_id)
    return jsonify(figures)
