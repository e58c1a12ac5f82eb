"""邀约 in the mini-program: the invitations a vendor admin received (or an equipment office sent),
pending first, and the vendor admin's 接受 / 拒绝.

Shapes and rules are the PC API's (console_api.vendor_views, operations.vendors).
"""

from __future__ import annotations

from flask import jsonify

from console_api.http import commit, current_actor
from console_api.route_table import request_body, request_query
from console_api.vendor_views import INVITATIONS_QUERY, invitation_payload
from miniprogram_api.http import route
from models import InvitationStatus
from operations import vendors

INVITATION = "/invitations/<int:invitation_id>"


@route(
    "GET",
    "/invitations",
    "邀约列表（服务商管理员收到的，或设备科发出的）：待处理的在前，其余按邀约时间从新到旧",
    query=INVITATIONS_QUERY,
    response="InvitationList",
)
def list_invitations():
    found = vendors.list_invitations(current_actor(), request_query()["status"])
    found.sort(key=lambda invitation: invitation.status is not InvitationStatus.PENDING)  # stable: newest first
    return jsonify({"items": [invitation_payload(invitation) for invitation in found]})


def respond(invitation_id: int, *, accept: bool):
    request_body()
    invitation = vendors.respond_to_invitation(current_actor(), invitation_id, accept=accept)
    commit()
    return jsonify(invitation_payload(invitation))


@route(
    "POST",
    f"{INVITATION}/accept",
    "服务商管理员接受邀约：此后该医疗机构可将设备授权给本服务商",
    body={},
    body_required=False,
    response="Invitation",
    errors=(409,),
)
def accept_invitation(invitation_id: int):
    return respond(invitation_id, accept=True)


@route(
    "POST",
    f"{INVITATION}/decline",
    "服务商管理员拒绝邀约",
    body={},
    body_required=False,
    response="Invitation",
    errors=(409,),
)
def decline_invitation(invitation_id: int):
    return respond(invitation_id, accept=False)
