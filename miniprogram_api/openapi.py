"""GET /mp/v1/openapi.json: the mini-program API's OpenAPI 3.0 document, generated from its route
table (miniprogram_api.http.TABLE) like the PC API's; the shapes the two APIs share (work orders,
alert plans, inbox messages) are the PC document's (console_api.openapi.SHARED_SCHEMAS).
"""

from __future__ import annotations

from flask import jsonify

from console_api.json_schema import BOOLEAN, INTEGER, STRING, array, enum, nullable, obj, ref
from console_api.openapi import PC_SCHEMAS, RUNNING_STATE, SHARED_SCHEMAS, with_idempotent_create
from miniprogram_api.http import AUTH_NOTES, TABLE, route
from miniprogram_api.order_shapes import DETAIL_FIELDS, ROW_FIELDS, extended
from models import AccountCodePurpose, ArchiveStatus, ConsentStatus, Role, Scope

N_STRING, N_INTEGER = nullable(STRING), nullable(INTEGER)

SCHEMAS: dict[str, dict] = {
    **SHARED_SCHEMAS,
    # The PC's work-order shapes, with how a phone tells a planned order (miniprogram_api.order_shapes).
    "WorkOrderRow": extended(SHARED_SCHEMAS["WorkOrderRow"], ROW_FIELDS),
    "WorkOrderDetail": extended(SHARED_SCHEMAS["WorkOrderDetail"], DETAIL_FIELDS),
    # 派工 and 邀约 answer as on the PC.
    **{name: PC_SCHEMAS[name] for name in ("Candidate", "CandidateList", "Vendor", "Invitation", "InvitationList")},
    "User": obj(
        "绑定的平台账号",
        id=INTEGER,
        display_name=STRING,
        role=enum(*(role.value for role in Role)),
        role_label=STRING,
        institution_id=N_INTEGER,
        institution=N_STRING,
        vendor_id=N_INTEGER,
        vendor=N_STRING,
        department_id=N_INTEGER,
        phone=N_STRING,
        notification_preferences=ref("NotificationPreferences"),
    ),
    "Me": obj(
        bound=BOOLEAN,
        user=nullable(ref("User")),
        optional={"token": {**STRING, "description": "解除绑定后：新的会话令牌（旧令牌已失效）"}},
    ),
    "CodeRedeemed": obj(
        "密码已设置，此微信已绑定该账号",
        bound=BOOLEAN,
        user=nullable(ref("User")),
        purpose=nullable(enum(*(purpose.value for purpose in AccountCodePurpose))),
        message=STRING,
    ),
    "Session": obj(
        token={**STRING, "description": "之后请求的 Authorization: Bearer <token>"},
        expires_in={**INTEGER, "description": "令牌有效秒数"},
        bound=BOOLEAN,
        user=nullable(ref("User")),
    ),
    "DeviceCard": obj(
        "扫码看到的设备卡片",
        id=INTEGER,
        name=STRING,
        unique_code=STRING,
        model=N_STRING,
        institution_id=INTEGER,
        institution=N_STRING,
        department_id=INTEGER,
        department=N_STRING,
        archive_status=enum(*(status.value for status in ArchiveStatus)),
        archive_status_label=STRING,
        **RUNNING_STATE,
        scopes=array(enum(*(scope.value for scope in Scope))),
        open_orders=array(ref("WorkOrderRow")),
        can_report=BOOLEAN,
        device_token={**N_STRING, "description": "报修时作为 device_token 提交"},
    ),
    "AlertPage": SHARED_SCHEMAS["AlertPlanPage"],
    "Subscriptions": obj(
        template_ids={**array(STRING), "description": "传给 wx.requestSubscribeMessage 的 tmplIds"},
        items=array(
            obj(
                purpose=STRING,
                template_id=STRING,
                status=nullable(enum(*(status.value for status in ConsentStatus))),
                status_label=STRING,
                remaining=INTEGER,
            )
        ),
    ),
}


def document() -> dict:
    return with_idempotent_create(
        "/mp/v1/work-orders",
        TABLE.document(
            prefix="/mp/v1",
            info={
                "title": "微修小程序 API",
                "version": "1",
                "description": "微信小程序使用的 JSON 接口。先 POST /mp/v1/login 取得令牌，"
                "之后以 Authorization: Bearer <token> 调用；错误统一为 {error: {code, message, fields?}}。",
            },
            schemas=SCHEMAS,
            auth_notes=AUTH_NOTES,
            security_schemes={
                "session": {"type": "http", "scheme": "bearer", "description": "POST /mp/v1/login 返回的 token"}
            },
        ),
    )


@route("GET", "/openapi.json", "本 API 的 OpenAPI 3.0 描述", auth="none", content={"application/json": {}})
def openapi_json():
    return jsonify(document())
