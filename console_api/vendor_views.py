"""服务商管理: the vendor directory and invitations, for both sides of an invitation."""

from flask import jsonify

from console_api.http import commit, current_actor
from console_api.route_table import request_body, request_query
from console_api.routes import route
from console_api.serializers import invitation_json, vendor_json
from console_api.validation import Field, parse_fields
from models import Institution, InvitationStatus, Vendor, db
from operations import vendors

NEW_VENDOR_SCHEMA = {
    "name": Field("str", required=True, max_length=100),
    "contact_name": Field("str", max_length=50),
    "contact_phone": Field("str", max_length=20),
}
INVITE_SCHEMA = {
    "vendor_id": Field("int", minimum=1, description="从服务商目录中选择的服务商"),
    "new_vendor": Field(
        "object",
        description="目录中没有的服务商：新建后邀请",
        schema={
            "properties": {
                "name": {"type": "string", "maxLength": 100},
                "contact_name": {"type": "string", "maxLength": 50, "nullable": True},
                "contact_phone": {"type": "string", "maxLength": 20, "nullable": True},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    ),
    "message": Field("str", max_length=200),
}
DIRECTORY_QUERY = {"q": Field("str", max_length=100, description="服务商名称关键字")}
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


@route("POST", "/invitations", "邀请服务商", body=INVITE_SCHEMA, response="Invitation", status=201, errors=(409,))
def invite_vendor():
    body = request_body()
    new_vendor = body.get("new_vendor")
    if new_vendor is not None:
        new_vendor = parse_fields(new_vendor, NEW_VENDOR_SCHEMA)
    invitation = vendors.invite_vendor(
        current_actor(), vendor_id=body.get("vendor_id"), new_vendor=new_vendor, message=body.get("message")
    )
    commit()
    return jsonify(invitation_payload(invitation)), 201


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
