"""派工 in the mini-program: the vendor admin's (or the equipment office's) list of open orders,
waiting for an engineer or in hand, the candidates with their load, and 派工 / 改派.

The body, the candidates' shape and the rules are the PC API's (console_api.work_order_views,
operations.work_orders.dispatch); the answer to 派工 is the order as the mini-program shows it.
"""

from __future__ import annotations

from flask import jsonify

from console_api.http import current_actor
from console_api.route_table import request_body, request_query
from console_api.routes import paging
from console_api.validation import Field
from console_api.work_order_serializers import candidate_json
from console_api.work_order_views import ASSIGN_SCHEMA
from miniprogram_api.http import route
from miniprogram_api.order_shapes import mp_rows
from miniprogram_api.work_order_views import ORDER, answer
from operations.work_orders import dispatch

BOARD_QUERY = {
    "assigned": Field("bool", description="false 或不给出：待派工（无人负责）；true：进行中（已派工或已接单）"),
    **paging(),
}


@route(
    "GET",
    "/work-orders/dispatch",
    "派工列表：未完结、无人负责的（待派工），或已有工程师负责的（assigned=true，进行中）；紧急优先，其次等待最久的",
    query=BOARD_QUERY,
    response="WorkOrderPage",
)
def dispatch_board():
    query = request_query()
    page = dispatch.board(
        current_actor(), assigned=bool(query["assigned"]), page=query["page"], per_page=query["per_page"]
    )
    return jsonify({"items": mp_rows(page.items), "total": page.total, "page": page.page, "per_page": page.per_page})


@route(
    "GET",
    f"{ORDER}/candidates",
    "派工候选工程师：本单位的在职工程师及其在办工单数，擅长该设备类型的在前，其次负荷少的",
    response="CandidateList",
)
def work_order_candidates(work_order_id: int):
    return jsonify({"items": [candidate_json(c) for c in dispatch.candidates(current_actor(), work_order_id)]})


@route(
    "POST",
    f"{ORDER}/assign",
    "派工 / 改派给本单位的工程师（engineer_id；不指定时派给排在第一的候选人），该工程师须接单",
    body=ASSIGN_SCHEMA,
    body_required=False,
    response="WorkOrderDetail",
    errors=(409,),
)
def assign_work_order(work_order_id: int):
    return answer(dispatch.assign(current_actor(), work_order_id, **request_body()))
