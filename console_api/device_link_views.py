"""The device a QR sticker names, for the page the sticker opens in a phone's own browser
(/d/<token>, the console's mobile route; inside WeChat the mini-program opens instead).

Anyone holding the sticker may read what is printed around it: the device's name, 唯一码, hospital
and department, no archive details. Signed in, a person learns what they may do with it: the open
work orders of it they may see, and whether they may report a fault on it (its hospital's own
people, the device not 报废). Someone of another organisation is told so, not shown a form.
"""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from console_api.http import current_actor
from console_api.routes import route
from console_api.work_order_views import rows
from models import Device, Institution, db
from models.device import ArchiveStatus
from operations.access import visible_devices
from operations.devices import device_by_link_token, sticker_card
from operations.errors import PermissionDenied
from operations.work_orders import orders as work_orders

LINK = "/device-links/<token>"
SCRAPPED = "设备已报废，不能报修"
VENDOR_SIDE = "服务商账号不能报修；可查看本设备您有权查看的未完成工单"


@route(
    "GET",
    LINK,
    "二维码设备卡片：名称、唯一码、医疗机构、科室（无需登录，不含档案资料）",
    auth="none",
    response="DeviceLink",
)
def device_link(token: str):
    return jsonify(sticker_card(device_by_link_token(token)))


@route(
    "GET",
    f"{LINK}/orders",
    "二维码设备：本人可查看的未完成工单，及能否为它报修（其他医疗机构的账号 403）",
    response="DeviceLinkOrders",
    errors=(403,),
)
def device_link_orders(token: str):
    actor, device = current_actor(), device_by_link_token(token)
    if db.session.scalar(visible_devices(actor).where(Device.id == device.id).with_only_columns(Device.id)) is None:
        hospital = db.session.scalar(select(Institution.name).where(Institution.id == device.institution_id))
        raise PermissionDenied(f"该设备属于{hospital}，您的账号不能查看它的工单，也不能为它报修")
    may_report = work_orders.may_report(actor, device)
    # Whoever sees the device and may not report is a vendor's person, or it is 报废.
    notice = None if may_report else SCRAPPED if device.archive_status is ArchiveStatus.SCRAPPED else VENDOR_SIDE
    return jsonify(
        {
            "device_id": device.id,
            "open_orders": rows(work_orders.open_orders_of_device(actor, device.id)),
            "can_report": may_report,
            "notice": notice,
        }
    )
