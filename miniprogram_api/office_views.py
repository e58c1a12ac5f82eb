"""设备科 on the phone: 回访 (follow-up) of an order the reporter rated poorly.

The body is the PC API's (console_api.work_order_views.FOLLOW_UP_SCHEMA) and the rule is the
operation's (operations.work_orders.flow.follow_up: only the institution's equipment manager, only
an order waiting for 回访); the answer is the mini-program's order detail, with the caller's next
`actions`. The lists the manager reads are the shared ones: GET /work-orders?status=follow_up (待回访),
?status=pending&urgency=… (紧急待接单), GET /alerts?phase=… and GET /inbox.
"""

from __future__ import annotations

from console_api.http import current_actor
from console_api.route_table import request_body
from console_api.work_order_views import FOLLOW_UP_SCHEMA
from miniprogram_api.http import route
from miniprogram_api.work_order_views import ORDER, answer
from operations.work_orders import flow


@route(
    "POST",
    f"{ORDER}/follow-up",
    "设备科回访：评价不满意（2 分及以下）的工单，记下回访情况（note）和改进措施（improvement_action，选填）后归档",
    body=FOLLOW_UP_SCHEMA,
    response="WorkOrderDetail",
    errors=(409,),
)
def follow_up_work_order(work_order_id: int):
    return answer(flow.follow_up(current_actor(), work_order_id, **request_body()))
