"""服务商管理: the vendor directory and invitations, for both sides of an invitation."""

from flask import jsonify

from console_api import api
from console_api.http import commit, current_actor, signed_in
from console_api.serializers import invitation_json, vendor_json
from console_api.validation import Field, parse_body, parse_fields, query_enum, query_str
from models import Institution, InvitationStatus, Vendor, db
from operations import vendors

NEW_VENDOR_SCHEMA = {
    "name": Field("str", required=True, max_length=100),
    "contact_name": Field("str", max_length=50),
    "contact_phone": Field("str", max_length=20),
}
INVITE_SCHEMA = {
    "vendor_id": Field("int", minimum=1),
    "new_vendor": Field("object"),
    "message": Field("str", max_length=200),
}


def invitation_payload(invitation):
    return invitation_json(
        invitation,
        db.session.get(Vendor, invitation.vendor_id),
        db.session.get(Institution, invitation.institution_id).name,
    )


@api.get("/vendor-directory")
@signed_in
def vendor_directory():
    found = vendors.search_vendor_directory(current_actor(), query_str("q", max_length=100))
    return jsonify({"items": [vendor_json(vendor) for vendor in found]})


@api.get("/invitations")
@signed_in
def list_invitations():
    status = query_enum("status", InvitationStatus)
    return jsonify({"items": [invitation_payload(i) for i in vendors.list_invitations(current_actor(), status)]})


@api.post("/invitations")
@signed_in
def invite_vendor():
    body = parse_body(INVITE_SCHEMA)
    new_vendor = body.get("new_vendor")
    if new_vendor is not None:
        new_vendor = parse_fields(new_vendor, NEW_VENDOR_SCHEMA)
    invitation = vendors.invite_vendor(
        current_actor(), vendor_id=body.get("vendor_id"), new_vendor=new_vendor, message=body.get("message")
    )
    commit()
    return jsonify(invitation_payload(invitation)), 201


@api.post("/invitations/<int:invitation_id>/accept")
@signed_in
def accept_invitation(invitation_id: int):
    invitation = vendors.respond_to_invitation(current_actor(), invitation_id, accept=True)
    commit()
    return jsonify(invitation_payload(invitation))


@api.post("/invitations/<int:invitation_id>/decline")
@signed_in
def decline_invitation(invitation_id: int):
    invitation = vendors.respond_to_invitation(current_actor(), invitation_id, accept=False)
    commit()
    return jsonify(invitation_payload(invitation))


@api.post("/invitations/<int:invitation_id>/revoke")
@signed_in
def revoke_invitation(invitation_id: int):
    invitation = vendors.revoke_invitation(current_actor(), invitation_id)
    commit()
    return jsonify(invitation_payload(invitation))
