"""首页 (GET /dashboard): the figures that need attention, each with the list it summarizes.

The figures are operations.dashboard's; this edge shapes them and names, for each, the console
list (with its query) that shows the rows behind it.
"""

from __future__ import annotations

from datetime import date

from flask import jsonify

from console_api.http import current_actor
from console_api.routes import route
from console_api.serializers import moment
from console_api.work_order_views import rows
from models import ALERT_PLAN_STATUS_LABELS, AlertPlan, AlertSubject
from models.work_order import WORK_ORDER_STATUS_LABELS
from operations import dashboard as dashboard_ops
from operations import equipment_figures
from operations.alerts.plans import schedule_of, shown_due_on
from operations.alerts.subjects import describe_subjects

SUBJECT_LABELS = {
    AlertSubject.CREDENTIAL: "证照到期",
    AlertSubject.AUTHORIZATION: "委外授权到期",
    AlertSubject.SERVICE_PLAN: "保养/计量逾期",
}


def _alert_rows(plans: list[AlertPlan], today: date) -> list[dict]:
    subjects = describe_subjects(plans) if plans else {}
    items = []
    for plan in plans:
        values = subjects[plan.id].values if plan.id in subjects else {}
        items.append(
            {
                "id": plan.id,
                "subject": plan.subject.value,
                "subject_label": SUBJECT_LABELS[plan.subject],
                "kind_label": values.get("kind"),
                "subject_name": values.get("subject"),
                "vendor_name": values.get("vendor_name") if plan.subject is AlertSubject.AUTHORIZATION else None,
                "credential_id": plan.credential_id,
                "authorization_id": plan.authorization_id,
                "due_on": shown_due_on(plan).isoformat(),
                "window_starts_on": schedule_of(plan).first_day.isoformat(),
                "days_left": (shown_due_on(plan) - today).days,
                "status": plan.status.value,
                "status_label": ALERT_PLAN_STATUS_LABELS[plan.status],
            }
        )
    return items


def _alerts(counted: dashboard_ops.Counted | None, today: date, link: str) -> dict | None:
    if counted is None:
        return None
    return {"total": counted.total, "items": _alert_rows(counted.items, today), "link": link}


def _ending_rows(counted: dashboard_ops.Counted, today: date) -> list[dict]:
    return [
        {
            "id": authorization.id,
            "device_id": authorization.device_id,
            "device_name": device_name,
            "unique_code": unique_code,
            "vendor_id": authorization.vendor_id,
            "vendor_name": vendor_name,
            "institution_name": institution_name,
            "starts_on": authorization.starts_on.isoformat(),
            "ends_on": authorization.ends_on.isoformat(),
            "days_left": (authorization.ends_on - today).days,
            "warn_enabled": authorization.warn_enabled,
            "warn_days": authorization.warn_days,
        }
        for authorization, device_name, unique_code, vendor_name, institution_name in counted.items
    ]


def _ending_link(actor) -> str:
    """Where 即将到期的授权 leads: 委外关联 for who manages authorizations, else the devices behind them."""
    if actor.is_manager:
        return "/outsourcing"
    return "/devices" if actor.is_vendor_side else "/devices?outsourced=true"


def dashboard_json(figures: dashboard_ops.Dashboard, *, ending_link: str) -> dict:
    today = figures.today
    open_statuses = ",".join(status.value for status in dashboard_ops.OPEN_ORDER_STATUSES)
    waiting = ",".join(status.value for status in dashboard_ops.NOT_ARRIVED)
    return {
        "today": today.isoformat(),
        "alerts_in_window": _alerts(figures.in_window, today, "/alert-plans?phase=warning"),
        "alerts_overdue": _alerts(figures.overdue, today, "/alert-plans?phase=overdue"),
        "work_orders": {
            "total": sum(figures.orders_by_status.values()),
            "link": f"/work-orders?status={open_statuses}",
            "by_status": [
                {
                    "status": status.value,
                    "status_label": WORK_ORDER_STATUS_LABELS[status],
                    "count": count,
                    "link": f"/work-orders?status={status.value}",
                }
                for status, count in figures.orders_by_status.items()
            ],
        },
        "emergencies": {
            "total": figures.emergencies.total,
            "items": rows(figures.emergencies.items),
            # The list filters one urgency at a time: its link shows the orders nobody reached yet.
            "link": f"/work-orders?status={waiting}",
        },
        "ending_authorizations": {
            "total": figures.ending.total,
            "items": _ending_rows(figures.ending, today),
            "default_days": dashboard_ops.DEFAULT_ENDING_DAYS,
            "link": ending_link,
        },
    }


# 首页's device flags and the device list each one opens.
DEVICE_FLAG_LINKS = {
    "out_of_service": "/devices?running_state=out_of_service",
    "scrap_suggested": "/devices?running_state=scrap_suggested",
    "metrology_overdue": "/devices?metrology_overdue=true",
}


def device_flags_json(actor) -> dict | None:
    flags = equipment_figures.device_flags(actor, dashboard_ops.NEAREST)
    if flags is None:
        return None
    for name, flag in flags.items():
        flag["link"] = DEVICE_FLAG_LINKS[name]
        for item in flag["items"]:
            if "since" in item:
                item["since"] = moment(item["since"])
    return flags


@route(
    "GET",
    "/dashboard",
    "首页：预警、未完结工单、待响应的紧急工单、即将到期的授权；停用待修、建议报废、计量逾期的设备",
    response="Dashboard",
)
def dashboard():
    actor = current_actor()
    figures = dashboard_ops.dashboard(actor)
    return jsonify(dashboard_json(figures, ending_link=_ending_link(actor)) | {"devices": device_flags_json(actor)})
