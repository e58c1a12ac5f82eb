"""账号管理 (the equipment manager for the institution, the vendor admin for the vendor), a
person's WeChat bindings (their administrator's view, and their own), and the 指定人员 picker."""

from __future__ import annotations

from flask import current_app, jsonify

from console_api.account_code_sms import CODE_NAMES, deliver, reserve
from console_api.http import commit, current_actor
from console_api.quotas import give_back
from console_api.route_table import request_body, request_query
from console_api.routes import paging, route
from console_api.serializers import moment
from console_api.validation import Field, all_optional
from models import AccountCodePurpose, Role, User
from models.user import ROLE_LABELS
from operations import staff
from operations.account_inputs import MOBILE, USERNAME
from operations.device_types import skill_options
from operations.errors import DomainError
from operations.masking import masked_openid
from operations.work_orders.dispatch import skills_of

USERNAME_RULE = "3-50 位字母、数字或 _ . @ -，以字母或数字开头"
ROLE_FIELD = Field(
    "enum",
    enum=Role,
    required=True,
    description="设备科：equipment_manager、institution_engineer、clinician；服务商：vendor_admin、vendor_engineer",
)

STAFF_SCHEMA = {
    "username": Field(
        "str", required=True, max_length=50, description=USERNAME_RULE, schema={"pattern": f"^{USERNAME.pattern}$"}
    ),
    "display_name": Field("str", required=True, max_length=50, description="姓名"),
    "phone": Field(
        "str",
        max_length=11,
        description="手机号（接收激活码；已激活的账号由本人在个人设置中更换）",
        schema={"pattern": f"^{MOBILE.pattern}$"},
    ),
    "department_id": Field("int", minimum=1, description="所属科室（医疗机构人员；临床科室人员必填）"),
    "role": ROLE_FIELD,
}
EDIT_SCHEMA = all_optional({name: field for name, field in STAFF_SCHEMA.items() if name != "username"})
LIST_QUERY = {
    "q": Field("str", max_length=50, description="姓名、用户名或手机号关键字"),
    "role": Field("enum", enum=Role),
    "department_id": Field("int", minimum=1),
    "is_active": Field("bool", description="true：在用；false：已停用"),
    "activated": Field("bool", description="true：已激活；false：待激活"),
    **paging(),
}
PICKER_QUERY = {
    "q": Field("str", max_length=50, description="姓名关键字（管理员还可按用户名、手机号）"),
    "role": Field("enum", enum=Role),
    "department_id": Field("int", minimum=1),
    "alert_plan_id": Field("int", minimum=1, description="为委外授权的预警计划选人：该服务商的管理员也在候选中"),
    "vendor_id": Field(
        "int", minimum=1, description="新建委外授权时（尚无预警计划）选人：该服务商（须与本院合作）的管理员也在候选中"
    ),
    **paging(),
}
KIND_LABELS = {"official_account": "公众号", "miniprogram": "小程序"}


def _department_names(user: User) -> dict[int, str]:
    return staff.department_names(user.institution_id)


def member_json(user: User, departments: dict[int, str] | None = None, skills: list[str] | None = None) -> dict:
    departments = departments if departments is not None else _department_names(user)
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "phone": user.phone,
        "role": user.role.value,
        "role_label": ROLE_LABELS[user.role],
        "department_id": user.department_id,
        "department": departments.get(user.department_id),
        "is_active": user.is_active,
        "activated": user.is_activated,
        "deactivated_at": moment(user.deactivated_at) if user.deactivated_at else None,
        "created_at": moment(user.created_at),
        "wechat_bound": {
            "official_account": user.wechat_openid is not None,
            "miniprogram": user.wechat_miniprogram_openid is not None,
        },
        "skills": skills if skills is not None else staff.skills_of(user.id),
    }


def bindings_json(user: User) -> list[dict]:
    return [
        {
            "kind": binding.kind,
            "kind_label": KIND_LABELS[binding.kind],
            "openid": masked_openid(binding.openid),
            "following": binding.following,
            "last_login_at": moment(binding.since) if binding.since else None,
        }
        for binding in staff.bindings_of(user)
    ]


def detail_json(user: User) -> dict:
    skilled = user.role in (Role.INSTITUTION_ENGINEER, Role.VENDOR_ENGINEER, Role.VENDOR_ADMIN)
    return member_json(user) | {
        "wechat_bindings": bindings_json(user),
        "skill_options": skill_options(user) if skilled else [],
    }


def _withhold(answer: dict, withheld: str | None) -> dict:
    """The delivery's answer without the code when it must reach its person by SMS only
    (operations.staff.code_withheld)."""
    if withheld is not None and "code" in answer:
        answer.pop("code")
        answer["message"] = f"未能通过短信发送{CODE_NAMES[AccountCodePurpose(answer['purpose'])]}：{withheld}"
    return answer


@route(
    "GET",
    "/staff",
    "账号列表（设备科管理员：本院账号；服务商管理员：本服务商账号）",
    query=LIST_QUERY,
    response="StaffPage",
)
def list_staff():
    query = request_query()
    page = staff.list_staff(
        current_actor(),
        keyword=query["q"],
        role=query["role"],
        department_id=query["department_id"],
        is_active=query["is_active"],
        activated=query["activated"],
        page=query["page"],
        per_page=query["per_page"],
    )
    departments = staff.department_names(current_actor().institution_id)
    skills = skills_of([user.id for user in page.items])
    return jsonify(
        {
            "items": [member_json(user, departments, skills[user.id]) for user in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )


@route(
    "POST",
    "/staff",
    "新建账号（无密码，发送激活码；未能发短信时答复中给出激活码）",
    body=STAFF_SCHEMA,
    response="StaffCreated",
    status=201,
    errors=(409,),
)
def create_staff():
    body = request_body()
    user, issued = staff.create_staff(
        current_actor(),
        secret_key=current_app.config["SECRET_KEY"],
        username=body["username"],
        display_name=body["display_name"],
        role=body["role"],
        phone=body.get("phone"),
        department_id=body.get("department_id"),
    )
    commit()
    # After the commit, with no row locked: the code reaches the person only for an account
    # that exists, and a slow SMS gateway holds up nobody else. A number at its limit leaves the
    # account waiting for a resend (the answer says so).
    activation = deliver(issued, committed=True)
    return jsonify({"user": member_json(user), "activation": activation}), 201


@route("GET", "/staff/<int:user_id>", "账号详情（含微信绑定、擅长设备类型）", response="StaffDetail")
def staff_detail(user_id: int):
    return jsonify(detail_json(staff.managed_user(current_actor(), user_id)))


@route(
    "PATCH",
    "/staff/<int:user_id>",
    "修改账号（姓名、手机号、科室、角色；只改给出的字段）",
    body=EDIT_SCHEMA,
    response="StaffMember",
    errors=(409,),
)
def edit_staff(user_id: int):
    user = staff.edit_staff(current_actor(), user_id, request_body())
    commit()
    return jsonify(member_json(user))


def deactivation_json(done: staff.Deactivated) -> dict:
    parts = []
    if done.work_orders_handed_back:
        parts.append(f"{len(done.work_orders_handed_back)} 个工单已退回待接单")
    if done.alert_plans_fell_back:
        parts.append(f"{len(done.alert_plans_fell_back)} 个预警计划改为通知设备科管理员")
    return {
        "user": member_json(done.user),
        "sessions_ended": {"pc": done.pc_sessions_ended, "miniprogram": done.miniprogram_sessions_ended},
        "bindings_removed": done.bindings_removed,
        "bind_codes_voided": done.bind_codes_voided,
        "account_codes_voided": done.account_codes_voided,
        "work_orders_handed_back": {"count": len(done.work_orders_handed_back), "ids": done.work_orders_handed_back},
        "alert_plans_left": {"count": len(done.alert_plans_left), "ids": done.alert_plans_left},
        "alert_plans_fell_back": {"count": len(done.alert_plans_fell_back), "ids": done.alert_plans_fell_back},
        "message": "；".join(["账号已停用，所有登录和微信绑定已失效", *parts]),
    }


@route(
    "POST",
    "/staff/<int:user_id>/deactivate",
    "停用账号：结束所有登录与微信绑定，退回其未完成工单，预警计划无人可通知时改为通知设备科管理员",
    response="Deactivation",
    errors=(409,),
)
def deactivate_staff(user_id: int):
    done = staff.deactivate_staff(current_actor(), user_id)
    commit()
    return jsonify(deactivation_json(done))


@route("POST", "/staff/<int:user_id>/reactivate", "启用账号（不恢复微信绑定）", response="StaffMember", errors=(409,))
def reactivate_staff(user_id: int):
    user = staff.reactivate_staff(current_actor(), user_id)
    commit()
    return jsonify(member_json(user))


@route(
    "POST",
    "/staff/<int:user_id>/account-code",
    "重新发送激活码（未激活）或发送重置码（已激活），旧码作废",
    response="CodeDelivery",
    status=201,
    errors=(409,),
)
def send_account_code(user_id: int):
    actor = current_actor()
    quotas = reserve(staff.managed_user(actor, user_id).phone)  # 429 before the person's last code is voided
    try:
        issued, withheld = staff.issue_code(actor, user_id, current_app.config["SECRET_KEY"])
    except DomainError:
        give_back(quotas or ())  # no code was issued: nothing was sent either
        raise
    commit()  # as for a new account: the code is sent once it is stored, with no row locked
    return jsonify(_withhold(deliver(issued, committed=True, quotas=quotas), withheld)), 201


@route("GET", "/staff/<int:user_id>/wechat-bindings", "账号的微信绑定", response="WeChatBindingList")
def staff_bindings(user_id: int):
    return jsonify({"items": bindings_json(staff.binding_owner(current_actor(), user_id))})


@route(
    "DELETE",
    "/staff/<int:user_id>/wechat-bindings/<any(official_account, miniprogram):kind>",
    "解除账号的一个微信绑定（公众号或小程序）",
    response="WeChatBindingList",
)
def remove_staff_binding(user_id: int, kind: str):
    user = staff.remove_binding(current_actor(), user_id, kind)
    commit()
    return jsonify({"items": bindings_json(user)})


@route("GET", "/me/wechat-bindings", "本人的微信绑定", response="WeChatBindingList")
def my_bindings():
    return jsonify({"items": bindings_json(staff.binding_owner(current_actor(), current_actor().user_id))})


@route(
    "DELETE",
    "/me/wechat-bindings/<any(official_account, miniprogram):kind>",
    "解除本人的一个微信绑定",
    response="WeChatBindingList",
)
def remove_my_binding(kind: str):
    user = staff.remove_binding(current_actor(), current_actor().user_id, kind)
    commit()
    return jsonify({"items": bindings_json(user)})


@route(
    "GET",
    "/users",
    "指定人员候选：本单位在用账号（按预警计划或服务商另含该服务商管理员）；非管理员只见姓名、角色、科室",
    query=PICKER_QUERY,
    response="PickedUserPage",
)
def pick_users():
    query = request_query()
    actor = current_actor()
    page = staff.picker(
        actor,
        keyword=query["q"],
        role=query["role"],
        department_id=query["department_id"],
        alert_plan_id=query["alert_plan_id"],
        vendor_id=query["vendor_id"],
        page=query["page"],
        per_page=query["per_page"],
    )
    departments = staff.department_names(actor.institution_id)
    vendor_ids = {user.vendor_id for user in page.items if user.vendor_id}
    vendors = staff.vendor_names(vendor_ids)
    manager = staff.is_administrator(actor)

    def picked(user: User) -> dict:
        row = {
            "id": user.id,
            "display_name": user.display_name,
            "role": user.role.value,
            "role_label": ROLE_LABELS[user.role],
            "department_id": user.department_id,
            "department": departments.get(user.department_id),
            "vendor_id": user.vendor_id,
            "vendor": vendors.get(user.vendor_id),
        }
        if manager:  # who may reach a person by phone is the administrators' business
            row |= {"username": user.username, "phone": user.phone}
        return row

    return jsonify(
        {
            "items": [picked(user) for user in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )
