"""服务商管理: the vendor directory and invitations, for both sides of an invitation."""

from flask import current_app, jsonify

from console_api.account_code_sms import deliver
from console_api.http import Refused, commit, current_actor
from console_api.route_table import request_body, request_query
from console_api.routes import route
from console_api.serializers import invitation_json, moment, vendor_json
from console_api.validation import Field, parse_fields
from models import Institution, InvitationStatus, Vendor, db
from operations import account_codes, vendors
from operations.errors import InvalidInput

INVITE_SCHEMA = {
    "vendor_id": Field("int", minimum=1, description="从服务商目录中选择的服务商（与 credit_code 二选一）"),
    "credit_code": Field(
        "str",
        max_length=30,
        description="服务商的统一社会信用代码（18 位）：已在平台上的服务商直接邀请，否则需同时填写 new_vendor",
    ),
    "new_vendor": Field(
        "object",
        description="统一社会信用代码尚未入驻平台时：新服务商及其管理员（管理员账号待激活，激活码发到其手机）",
        schema={
            "properties": {
                "name": {"type": "string", "maxLength": 100, "description": "服务商名称"},
                "admin_name": {"type": "string", "maxLength": 50, "description": "管理员姓名"},
                "admin_mobile": {"type": "string", "maxLength": 20, "description": "管理员手机号（接收激活码）"},
                "admin_username": {
                    "type": "string",
                    "maxLength": 50,
                    "nullable": True,
                    "description": "管理员用户名；不填则为其手机号",
                },
            },
            "required": ["name", "admin_name", "admin_mobile"],
            "additionalProperties": False,
        },
    ),
    "message": Field("str", max_length=200),
}
NEW_VENDOR_SCHEMA = {
    "name": Field("str", required=True, max_length=100),
    "admin_name": Field("str", required=True, max_length=50),
    "admin_mobile": Field("str", required=True, max_length=20),
    "admin_username": Field("str", max_length=50),
}
CREDIT_CODE_SCHEMA = {
    "credit_code": Field("str", required=True, max_length=30, description="统一社会信用代码（18 位）")
}
DIRECTORY_QUERY = {"q": Field("str", max_length=100, description="服务商名称或统一社会信用代码（部分即可）")}
INVITATIONS_QUERY = {"status": Field("enum", enum=InvitationStatus)}


def invitation_payload(invitation):
    return invitation_json(
        invitation,
        db.session.get(Vendor, invitation.vendor_id),
        db.session.get(Institution, invitation.institution_id).name,
    )


@route("GET", "/vendor-directory", "服务商目录（邀请服务商时搜索）", query=DIRECTORY_QUERY, response="VendorList")
def vendor_directory():
    found = vendors.search_vendor_directory(current_actor(), request_query()["q"])
    return jsonify({"items": [vendor_json(vendor) for vendor in found]})


@route(
    "GET",
    "/invitations",
    "邀约列表（医疗机构发出的或服务商收到的）",
    query=INVITATIONS_QUERY,
    response="InvitationList",
)
def list_invitations():
    status = request_query()["status"]
    return jsonify({"items": [invitation_payload(i) for i in vendors.list_invitations(current_actor(), status)]})


@route(
    "POST",
    "/invitations",
    "邀请服务商：从目录选择，或按统一社会信用代码（未入驻的同时登记服务商及其管理员，激活码发到管理员手机）",
    body=INVITE_SCHEMA,
    response="InvitationSent",
    status=201,
    errors=(409,),
)
def invite_vendor():
    """The activation code is delivered after the commit (console_api.account_code_sms): the
    account is the vendor's, so the code goes by SMS or not at all, never into the hospital's
    answer; an SMS refused or limited leaves the invitation done and says who can send it again
    (POST /invitations/<id>/resend-activation, or the platform operator)."""
    body = request_body()
    new_vendor = body.get("new_vendor")
    if new_vendor is not None:
        try:
            new_vendor = parse_fields(new_vendor, NEW_VENDOR_SCHEMA)
        except InvalidInput as invalid:
            raise InvalidInput({f"new_vendor.{field}": reason for field, reason in invalid.fields.items()}) from None
    sent = vendors.send_invitation(
        current_actor(),
        vendor_id=body.get("vendor_id"),
        credit_code=body.get("credit_code"),
        new_vendor=new_vendor,
        message=body.get("message"),
        secret_key=current_app.config["SECRET_KEY"],
    )
    commit()
    # After the commit: the code reaches the person only for an account that exists.
    activation = deliver(sent.activation, may_show_code=False, committed=True) if sent.activation is not None else None
    admin = sent.registered_admin
    return jsonify(
        {
            "invitation": invitation_payload(sent.invitation),
            "vendor_registered": admin is not None,
            "vendor_admin": {"id": admin.id, "username": admin.username, "display_name": admin.display_name}
            if admin
            else None,
            "activation": activation,
            "admins_notified": sent.admins_notified,
        }
    ), 201


@route(
    "POST",
    "/invitations/<int:invitation_id>/resend-activation",
    "重新发送激活短信给本机构邀请时登记、尚未激活的服务商管理员（仅短信，激活码不在答复中）",
    response="AccountCodeDelivery",
    status=201,
    errors=(409, 429, 502, 503),
)
def resend_vendor_admin_activation(invitation_id: int):
    """The new code goes by SMS or not at all: when it cannot go, nothing is kept (the older code
    still works) and the answer says why."""
    issued = account_codes.reissue_to_invited_admin(current_actor(), invitation_id, current_app.config["SECRET_KEY"])
    answer = deliver(issued, may_show_code=False)  # a full number: 429, nothing kept
    if not answer["sent"]:
        status = answer.get("failure", {}).get("status", 503)
        raise Refused(status, "bad_gateway" if status == 502 else "unavailable", answer["message"])
    commit()
    return jsonify(answer), 201


@route("POST", "/invitations/<int:invitation_id>/accept", "服务商接受邀约", response="Invitation", errors=(409,))
def accept_invitation(invitation_id: int):
    invitation = vendors.respond_to_invitation(current_actor(), invitation_id, accept=True)
    commit()
    return jsonify(invitation_payload(invitation))


@route("POST", "/invitations/<int:invitation_id>/decline", "服务商拒绝邀约", response="Invitation", errors=(409,))
def decline_invitation(invitation_id: int):
    invitation = vendors.respond_to_invitation(current_actor(), invitation_id, accept=False)
    commit()
    return jsonify(invitation_payload(invitation))


@route("POST", "/invitations/<int:invitation_id>/revoke", "医疗机构撤回邀约", response="Invitation", errors=(409,))
def revoke_invitation(invitation_id: int):
    invitation = vendors.revoke_invitation(current_actor(), invitation_id)
    commit()
    return jsonify(invitation_payload(invitation))


@route("GET", "/vendor-profile", "本服务商的信息（服务商人员）", response="Vendor")
def vendor_profile():
    return jsonify(vendor_json(vendors.own_vendor(current_actor())))


@route(
    "PUT",
    "/vendor-profile/credit-code",
    "服务商管理员登记本服务商的统一社会信用代码（仅限尚未登记时，一次）",
    body=CREDIT_CODE_SCHEMA,
    response="Vendor",
    errors=(409,),
)
def set_vendor_credit_code():
    vendor = vendors.set_credit_code(current_actor(), request_body()["credit_code"])
    commit()
    return jsonify(vendor_json(vendor))


@route(
    "GET",
    "/served-institutions",
    "服务商服务的医疗机构（已接受邀约），含当前授权设备数和未关闭工单数（服务商管理员）",
    response="ServedInstitutionList",
)
def served_institutions():
    return jsonify(
        {
            "items": [
                {
                    "institution_id": served.institution.id,
                    "institution": served.institution.name,
                    "active": served.institution.is_active,
                    "accepted_at": moment(served.accepted_at),
                    "authorized_devices": served.authorized_devices,
                    "open_work_orders": served.open_work_orders,
                }
                for served in vendors.served_institutions(current_actor())
            ]
        }
    )
