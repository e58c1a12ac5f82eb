"""预警计划: the list, a plan's 人员通知 settings and delivery history, and 处理 (acknowledge).

`alert_settings(body)` parses the 人员通知 object that the credential and authorization forms
send as "alert"; errors come back under "alert.<field>".
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import jsonify

from console_api.alert_serializers import delivery_json, dropped_json, plan_json
from console_api.http import commit, current_actor
from console_api.route_table import body_schema, request_body, request_query
from console_api.routes import paging, route
from console_api.validation import Field, parse_fields
from models import AlertDroppedDay, AlertPlan, AlertPlanStatus, AlertSubject, ChannelName, User, db
from models.alert_plan import MAX_TEMPLATE_LENGTH
from operations.actors import Actor
from operations.alerts import plans as alert_plans
from operations.alerts.phases import AlertPhase
from operations.alerts.plans import MAX_RECIPIENTS, NotifySettings
from operations.alerts.subjects import describe_subjects
from operations.clock import now_utc
from operations.errors import InvalidInput

SETTINGS_SCHEMA = {
    "channels": Field("enum_list", required=True, enum=ChannelName, max_items=len(ChannelName)),
    "notify_related": Field("bool", nullable=False),
    "recipient_ids": Field("int_list", max_items=MAX_RECIPIENTS),
    "template": Field("str", max_length=MAX_TEMPLATE_LENGTH),
    "send_time": Field("time"),
}
# The 人员通知 object of the credential and authorization forms.
ALERT_FIELD = Field(
    "object", description="人员通知（发送形式、通知人员、发送内容模板）", schema=body_schema(SETTINGS_SCHEMA)
)
LIST_QUERY = {
    "status": Field("enum", enum=AlertPlanStatus),
    "phase": Field(
        "enum",
        enum=AlertPhase,
        description="waiting：未到预警期；warning：预警中；overdue：到期未处理；handled：已处理；cancelled：已取消",
    ),
    "subject": Field("enum", enum=AlertSubject, description="credential：证照到期；authorization：委外授权到期"),
    "q": Field("str", max_length=100, description="设备名称、服务商、证件号、持证人关键字"),
    **paging(),
}
HANDLE_SCHEMA = {"note": Field("str", max_length=200)}
RECORD_QUERY = paging(default_size=20, max_size=100)


def alert_settings(value, *, prefix: str = "alert.", allow_send_time: bool = True) -> NotifySettings | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput({prefix.rstrip("."): "应为对象"})
    try:
        parsed = parse_fields(value, SETTINGS_SCHEMA)
    except InvalidInput as error:
        raise InvalidInput({f"{prefix}{name}": reason for name, reason in error.fields.items()}) from None
    if parsed.get("send_time") is not None and not allow_send_time:
        raise InvalidInput({f"{prefix}send_time": "证照的发送时间请填写在基础设置中"})
    return NotifySettings(
        channels=frozenset(parsed["channels"]),
        notify_related=parsed.get("notify_related", True),
        recipient_ids=tuple(parsed.get("recipient_ids") or ()),
        template=parsed.get("template"),
        send_time=parsed.get("send_time"),
    )


# The names plan operations raise errors under (send_time is left out: a credential form has its own).
SETTING_NAMES = frozenset({"channels", "notify_related", "recipient_ids", "template"})


@contextmanager
def alert_errors_under(prefix: str = "alert."):
    """The plan operations name settings fields plainly; on a form they live under "alert"."""
    try:
        yield
    except InvalidInput as error:
        fields = {(prefix + name if name in SETTING_NAMES else name): reason for name, reason in error.fields.items()}
        raise InvalidInput(fields) from None


def plan_payloads(actor: Actor, plans: list[AlertPlan]) -> list[dict]:
    """Plans with their subjects, people and deliveries, in a few queries."""
    if not plans:
        return []
    now = now_utc()
    subjects = describe_subjects(plans)
    summaries = alert_plans.delivery_summaries([plan.id for plan in plans])
    designated = alert_plans.designated_by_plan([plan.id for plan in plans])
    user_ids = {user_id for ids in designated.values() for user_id in ids}
    user_ids |= {user_id for info in subjects.values() for user_id in info.related if user_id}
    user_ids |= {plan.handled_by_id for plan in plans if plan.handled_by_id}
    names = dict(db.session.execute(db.select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    payloads = []
    for plan in plans:
        info = subjects.get(plan.id)
        related = info.related if info and plan.notify_related else []
        recipients = [*related, *designated[plan.id]]  # as loaded above: no query per plan
        payloads.append(
            plan_json(
                plan,
                info,
                names,
                recipient_ids=designated[plan.id],
                summary=summaries[plan.id],
                can_handle=alert_plans.can_handle_now(actor, plan, recipients),
                now=now,
            )
        )
    return payloads


def alert_plans_of(subject_column, subject_ids: list[int]) -> dict[int, dict]:
    """Subject id -> its plan's JSON, for the credential and authorization payloads."""
    plans = list(db.session.scalars(db.select(AlertPlan).where(subject_column.in_(subject_ids))))
    payloads = plan_payloads(current_actor(), plans)
    column = subject_column.key
    return {getattr(plan, column): payload for plan, payload in zip(plans, payloads, strict=True)}


@route("GET", "/alert-plans", "预警计划（到期日最近的在前）", query=LIST_QUERY, response="AlertPlanPage")
def list_alert_plans():
    actor = current_actor()
    query = request_query()
    page = alert_plans.list_plans(
        actor,
        status=query["status"],
        phase=query["phase"],
        subject=query["subject"],
        keyword=query["q"],
        page=query["page"],
        per_page=query["per_page"],
    )
    return jsonify(
        {
            "items": plan_payloads(actor, page.items),
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )


@route("GET", "/alert-plans/<int:plan_id>", "预警计划详情", response="AlertPlan")
def alert_plan_detail(plan_id: int):
    actor = current_actor()
    return jsonify(plan_payloads(actor, [alert_plans.get_plan(actor, plan_id)])[0])


@route("PUT", "/alert-plans/<int:plan_id>", "修改人员通知设置", body=SETTINGS_SCHEMA, response="AlertPlan")
def update_alert_plan(plan_id: int):
    """人员通知: channels, 相关人员 / 指定人员, the template (and an authorization's send time)."""
    actor = current_actor()
    settings = alert_settings(request_body(), prefix="")
    plan = alert_plans.update_settings(actor, plan_id, settings)
    commit()
    return jsonify(plan_payloads(actor, [plan])[0])


@route(
    "POST",
    "/alert-plans/<int:plan_id>/handle",
    "处理：此后不再提醒",
    body=HANDLE_SCHEMA,
    body_required=False,
    response="AlertPlan",
    errors=(409,),
)
def handle_alert_plan(plan_id: int):
    """处理: stops the reminders for every recipient; who and when are kept."""
    actor = current_actor()
    body = request_body()
    plan = alert_plans.handle_plan(actor, plan_id, body.get("note"))
    commit()
    return jsonify(plan_payloads(actor, [plan])[0])


@route(
    "GET",
    "/alert-plans/<int:plan_id>/deliveries",
    "发送记录：每条发送及错过的日子，新的在前",
    query=RECORD_QUERY,
    response="AlertRecordPage",
)
def alert_plan_deliveries(plan_id: int):
    """发送记录: every message of the plan, its channel, recipient and outcome, and the days
    dropped (``{"date", "status": "dropped", "reason"}``), newest day first."""
    query = request_query()
    page = alert_plans.plan_record(current_actor(), plan_id, page=query["page"], per_page=query["per_page"])
    sent = [item for item in page.items if not isinstance(item, AlertDroppedDay)]
    user_ids = {delivery.recipient_id for delivery, _ in sent}
    names = dict(db.session.execute(db.select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    return jsonify(
        {
            "items": [
                dropped_json(item) if isinstance(item, AlertDroppedDay) else delivery_json(*item, names)
                for item in page.items
            ],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )
