"""委外授权: authorize (from the 未委外设备 list or a device's 维保商 tab), modify, cancel, history."""

from flask import jsonify

from console_api.alert_views import ALERT_FIELD, alert_errors_under, alert_plans_of, alert_settings
from console_api.http import commit, current_actor
from console_api.route_table import request_body
from console_api.routes import route
from console_api.serializers import authorization_event_json, authorization_json
from console_api.sla_views import SLA_TARGETS_FIELD
from console_api.validation import Field
from models import AlertPlan, Device, Scope, User, Vendor, db
from operations import authorizations
from operations.authorizations import MAX_WARN_DAYS, Terms
from operations.errors import InvalidInput

TERMS_SCHEMA = {
    "starts_on": Field("date", required=True),
    "ends_on": Field("date", required=True),
    "scopes": Field(
        "enum_list", required=True, enum=Scope, max_items=len(Scope), schema={"minItems": 1, "uniqueItems": True}
    ),
    "warn_enabled": Field("bool", nullable=False),
    "warn_days": Field("int", minimum=1, maximum=MAX_WARN_DAYS),
    "sla_targets": SLA_TARGETS_FIELD,
}
AUTHORIZE_SCHEMA = {
    "device_ids": Field("int_list", required=True, max_items=500),
    "vendor_id": Field("int", required=True, minimum=1),
    **TERMS_SCHEMA,
}
# 到期预警's 人员通知 (see console_api.alert_views.alert_settings); only read with warn_enabled.
TERMS_SCHEMA["alert"] = AUTHORIZE_SCHEMA["alert"] = ALERT_FIELD
CANCEL_SCHEMA = {"reason": Field("str", max_length=200)}


def terms_from(body: dict) -> Terms:
    return Terms(
        starts_on=body["starts_on"],
        ends_on=body["ends_on"],
        scopes=frozenset(body["scopes"]),
        warn_enabled=body.get("warn_enabled", False),
        warn_days=body.get("warn_days"),
        sla_targets=body.get("sla_targets"),
    )


def payloads(items, devices: dict | None = None):
    """Authorizations as JSON; `devices` (authorization id -> device or None) when the caller
    decided which devices are shown, else every authorization's own."""
    if devices is None:
        by_id = {
            d.id: d for d in db.session.scalars(db.select(Device).where(Device.id.in_({a.device_id for a in items})))
        }
        devices = {a.id: by_id[a.device_id] for a in items}
    vendors = dict(
        db.session.execute(db.select(Vendor.id, Vendor.name).where(Vendor.id.in_({a.vendor_id for a in items}))).all()
    )
    plans = (
        alert_plans_of(AlertPlan.authorization_id, [a.id for a in items]) if not current_actor().is_vendor_side else {}
    )
    return [authorization_json(a, devices[a.id], vendors[a.vendor_id]) | {"alert": plans.get(a.id)} for a in items]


@route(
    "POST",
    "/authorizations",
    "立即委外：一台或多台设备授权给服务商",
    body=AUTHORIZE_SCHEMA,
    response="AuthorizationList",
    status=201,
    errors=(409,),
)
def authorize():
    """立即委外 for one device (维保商 tab) or several (未委外设备 list)."""
    body = request_body()
    with alert_errors_under():
        created = authorizations.authorize_devices(
            current_actor(), body["device_ids"], body["vendor_id"], terms_from(body), alert_settings(body.get("alert"))
        )
    commit()
    return jsonify({"items": payloads(created)}), 201


@route(
    "PUT",
    "/authorizations/<int:authorization_id>",
    "修改授权（生效中或未生效的）",
    body=TERMS_SCHEMA,
    response="Authorization",
    errors=(409,),
)
def modify(authorization_id: int):
    body = request_body()
    with alert_errors_under():
        authorization = authorizations.modify_authorization(
            current_actor(), authorization_id, terms_from(body), alert_settings(body.get("alert"))
        )
    commit()
    return jsonify(payloads([authorization])[0])


@route(
    "POST",
    "/authorizations/<int:authorization_id>/cancel",
    "取消授权",
    body=CANCEL_SCHEMA,
    body_required=False,
    response="Authorization",
    errors=(409,),
)
def cancel(authorization_id: int):
    body = request_body()
    authorization = authorizations.cancel_authorization(current_actor(), authorization_id, body.get("reason"))
    commit()
    return jsonify(payloads([authorization])[0])


@route("GET", "/authorizations/<int:authorization_id>/events", "授权的历史变更", response="AuthorizationEventList")
def events(authorization_id: int):
    found = authorizations.authorization_events(current_actor(), authorization_id)
    names = dict(
        db.session.execute(db.select(User.id, User.display_name).where(User.id.in_({e.actor_id for e in found}))).all()
    )
    return jsonify({"items": [authorization_event_json(e, names.get(e.actor_id, "")) for e in found]})


@route(
    "GET", "/devices/<int:device_id>/authorizations", "维保商页：设备的授权及历史关联记录", response="AuthorizationList"
)
def device_authorizations(device_id: int):
    """维保商 tab: the current authorizations and the 历史关联记录."""
    return jsonify({"items": payloads(authorizations.device_authorizations(current_actor(), device_id))})


@route("GET", "/authorizations", "服务商：本服务商的全部授权", response="AuthorizationList", errors=(422,))
def vendor_authorizations():
    """A vendor's users: every authorization their vendor holds, with its institution; the device
    only of those in force or to come (operations.authorizations.vendor_authorizations)."""
    if not current_actor().is_vendor_side:
        raise InvalidInput({"vendor": "医疗机构请在设备的维保商页查看授权"})
    found = authorizations.vendor_authorizations(current_actor())
    shown = payloads([view.authorization for view in found], {view.authorization.id: view.device for view in found})
    return jsonify(
        {"items": [payload | {"institution": view.institution} for view, payload in zip(found, shown, strict=True)]}
    )
