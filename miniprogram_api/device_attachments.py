"""A device's 附件 on the phone: the hospital's people who may see the device, and a vendor's with
an authorization for it in force, list its files and open one (wx.downloadFile with the session's
bearer token, then wx.openDocument or wx.previewImage). The rules are operations.device_attachments'."""

from __future__ import annotations

from console_api.device_attachment_views import CATEGORY, attachment_download, attachment_list
from console_api.http import current_actor
from console_api.routes import DOCUMENTS
from miniprogram_api.http import route
from models import DeviceAttachment
from operations import device_attachments


def mp_url(attachment: DeviceAttachment) -> str:
    return f"/mp/v1/devices/{attachment.device_id}/attachments/{attachment.id}"


@route(
    "GET",
    "/devices/<int:device_id>/attachments",
    "设备的附件（说明书、合同、验收资料等；服务商在授权期内可查看）",
    query={"category": CATEGORY},
    response="DeviceAttachmentList",
)
def list_device_attachments(device_id: int):
    return attachment_list(device_id, mp_url)


@route(
    "GET",
    "/devices/<int:device_id>/attachments/<int:attachment_id>",
    "下载设备附件（wx.downloadFile 带 Authorization 头）",
    content=DOCUMENTS,
)
def download_device_attachment(device_id: int, attachment_id: int):
    return attachment_download(device_attachments.get_attachment(current_actor(), device_id, attachment_id))
