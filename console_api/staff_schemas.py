"""The answers of 账号管理, 科室管理 and 设备类型 in the PC API's document (console_api.openapi
adds them to its schemas)."""

from __future__ import annotations

from console_api.json_schema import BOOLEAN, INTEGER, MOMENT, STRING, array, enum, items_of, nullable, obj, page_of, ref
from models import Role

N_STRING, N_INTEGER, N_MOMENT, N_BOOLEAN = (nullable(s) for s in (STRING, INTEGER, MOMENT, BOOLEAN))
ROLE = enum(*(role.value for role in Role))
BINDING_KIND = enum("official_account", "miniprogram")

ACCOUNT_SCHEMAS: dict[str, dict] = {
    "DepartmentRow": obj(
        "科室（排序、是否启用、在档设备数、在用人员数）",
        id=INTEGER,
        name=STRING,
        phone={**N_STRING, "description": "科室电话"},
        sort_order=INTEGER,
        is_active=BOOLEAN,
        device_count={**INTEGER, "description": "在档（未报废）设备数"},
        people_count={**INTEGER, "description": "在用账号数"},
    ),
    "DepartmentRows": items_of("DepartmentRow"),
    "DeviceType": obj(
        "设备类型",
        id=INTEGER,
        name=STRING,
        sort_order=INTEGER,
        device_count={**INTEGER, "description": "使用此类型的设备数"},
        checklist={**array(ref("ChecklistItem")), "description": "检查项模板"},
    ),
    "DeviceTypeList": items_of("DeviceType"),
    "StaffMember": obj(
        "账号（管理员所见）",
        id=INTEGER,
        username=STRING,
        display_name=STRING,
        phone=N_STRING,
        role=ROLE,
        role_label=STRING,
        department_id=N_INTEGER,
        department=N_STRING,
        is_active=BOOLEAN,
        activated={**BOOLEAN, "description": "本人是否已用激活码设置密码"},
        deactivated_at=N_MOMENT,
        created_at=MOMENT,
        wechat_bound=obj(official_account=BOOLEAN, miniprogram=BOOLEAN),
        skills={**array(STRING), "description": "擅长设备类型（工程师；其他角色为空）"},
    ),
    "StaffPage": page_of("StaffMember"),
    "WeChatBinding": obj(
        "一个微信绑定（openid 已打码）",
        kind=BINDING_KIND,
        kind_label=STRING,
        openid=STRING,
        following=N_BOOLEAN,
        last_login_at=N_MOMENT,
    ),
    "WeChatBindingList": items_of("WeChatBinding"),
    "StaffDetail": {
        "allOf": [
            ref("StaffMember"),
            obj(
                wechat_bindings=array(ref("WeChatBinding")),
                skill_options={**array(STRING), "description": "可选的擅长设备类型（工程师）"},
            ),
        ]
    },
    "CodeDelivery": obj(
        "激活码 / 重置码的发送结果：未能发短信时 code 给出，请当面告知本人",
        purpose=enum("activation", "password_reset"),
        purpose_label=STRING,
        expires_at=MOMENT,
        sent=BOOLEAN,
        phone=N_STRING,
        message=STRING,
        optional={"code": STRING},
    ),
    "StaffCreated": obj(user=ref("StaffMember"), activation=ref("CodeDelivery")),
    "Deactivation": obj(
        "停用账号的结果",
        user=ref("StaffMember"),
        sessions_ended=obj(
            pc=BOOLEAN,
            miniprogram=array(INTEGER),
        ),
        bindings_removed=array(BINDING_KIND),
        bind_codes_voided=INTEGER,
        account_codes_voided=INTEGER,
        work_orders_handed_back=obj(count=INTEGER, ids=array(INTEGER)),
        alert_plans_left=obj(count=INTEGER, ids=array(INTEGER)),
        alert_plans_fell_back=obj(count=INTEGER, ids=array(INTEGER)),
        message=STRING,
    ),
    "PickedUser": obj(
        "指定人员候选；管理员另见 username、phone",
        id=INTEGER,
        display_name=STRING,
        role=ROLE,
        role_label=STRING,
        department_id=N_INTEGER,
        department=N_STRING,
        vendor_id=N_INTEGER,
        vendor=N_STRING,
        optional={"username": STRING, "phone": N_STRING},
    ),
    "PickedUserPage": page_of("PickedUser"),
}
