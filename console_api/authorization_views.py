"""委外授权: authorize (from the 未委外设备 list or a device's 维保商 tab), modify, cancel, history."""

from flask import jsonify

from console_api import api
from console_api.alert_views import alert_errors_under, alert_plans_of, alert_settings
from console_api.http import commit, current_actor, signed_in
from console_api.serializers import authorization_event_json, authorization_json
from console_api.validation import Field, parse_body
from models import AlertPlan, Device, Institution, Scope, User, Vendor, db
from operations import authorizations
from operations.authorizations import MAX_WARN_DAYS, Terms
from operations.errors import InvalidInput

TERMS_SCHEMA = {
    "starts_on": Field("date", required=True),
    "ends_on": Field("date", required=True),
    "scopes": Field("enum_list", required=True, enum=Scope, max_items=len(Scope)),
    "warn_enabled": Field("bool", nullable=False),
    "warn_days": Field("int", minimum=1, maximum=MAX_WARN_DAYS),
}
AUTHORIZE_SCHEMA = {
    "device_ids": Field("int_list", required=True, max_items=500),
    "vendor_id": Field("int", required=True, minimum=1),
    **TERMS_SCHEMA,
}
# 到期预警's 人员通知 (see console_api.alert_views.alert_settings); only read with warn_enabled.
TERMS_SCHEMA["alert"] = AUTHORIZE_SCHEMA["alert"] = Field("object")


def terms_from(body: dict) -> Terms:
    return Terms(
        starts_on=body["starts_on"],
        ends_on=body["ends_on"],
        scopes=frozenset(body["scopes"]),
        warn_enabled=body.get("warn_enabled", False),
        warn_days=body.get("warn_days"),
    )


def payloads(items):
    devices = {
        d.id: d for d in db.session.scalars(db.select(Device).where(Device.id.in_({a.device_id for a in items})))
    }
    vendors = dict(
        db.session.execute(db.select(Vendor.id, Vendor.name).where(Vendor.id.in_({a.vendor_id for a in items}))).all()
    )
    plans = (
        alert_plans_of(AlertPlan.authorization_id, [a.id for a in items]) if not current_actor().is_vendor_side else {}
    )
    return [
        authorization_json(a, devices[a.device_id], vendors[a.vendor_id]) | {"alert": plans.get(a.id)} for a in items
    ]


@api.post("/authorizations")
@signed_in
def authorize():
    """立即委外 for one device (维保商 tab) or several (未委外设备 list)."""
    body = parse_body(AUTHORIZE_SCHEMA)
    with alert_errors_under():
        created = authorizations.authorize_devices(
            current_actor(), body["device_ids"], body["vendor_id"], terms_from(body), alert_settings(body.get("alert"))
        )
    commit()
    return jsonify({"items": payloads(created)}), 201


@api.put("/authorizations/<int:authorization_id>")
@signed_in
def modify(authorization_id: int):
    body = parse_body(TERMS_SCHEMA)
    with alert_errors_under():
        authorization = authorizations.modify_authorization(
            current_actor(), authorization_id, terms_from(body), alert_settings(body.get("alert"))
        )
    commit()
    return jsonify(payloads([authorization])[0])


@api.post("/authorizations/<int:authorization_id>/cancel")
@signed_in
def cancel(authorization_id: int):
    body = parse_body({"reason": Field("str", max_length=200)})
    authorization = authorizations.cancel_authorization(current_actor(), authorization_id, body.get("reason"))
    commit()
    return jsonify(payloads([authorization])[0])


@api.get("/authorizations/<int:authorization_id>/events")
@signed_in
def events(authorization_id: int):
    found = authorizations.authorization_events(current_actor(), authorization_id)
    names = dict(
        db.session.execute(db.select(User.id, User.display_name).where(User.id.in_({e.actor_id for e in found}))).all()
    )
    return jsonify({"items": [authorization_event_json(e, names.get(e.actor_id, "")) for e in found]})


@api.get("/devices/<int:device_id>/authorizations")
@signed_in
def device_authorizations(device_id: int):
    """维保商 tab: the current authorizations and the 历史关联记录."""
    return jsonify({"items": payloads(authorizations.device_authorizations(current_actor(), device_id))})


@api.get("/authorizations")
@signed_in
def vendor_authorizations():
    """A vendor's users: every authorization their vendor holds, with its institution; the device
    only of those in force or to come (operations.authorizations.vendor_sees_device)."""
    if not current_actor().is_vendor_side:
        raise InvalidInput({"vendor": "医疗机构请在设备的维保商页查看授权"})
    found = authorizations.vendor_authorizations(current_actor())
    institutions = dict(
        db.session.execute(
            db.select(Institution.id, Institution.name).where(Institution.id.in_({a.institution_id for a in found}))
        ).all()
    )
    items = []
    for authorization, payload in zip(found, payloads(found), strict=True):
        payload["institution"] = institutions[authorization.institution_id]
        if not authorizations.vendor_sees_device(authorization):
            payload |= dict.fromkeys(("device_id", "device_name", "unique_code"))
        items.append(payload)
    return jsonify({"items": items})
