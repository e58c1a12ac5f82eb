"""小程序码 of a device (getwxacodeunlimit): an alternative sticker that opens the mini-program's
device page directly. Its scene is `d=<link token>`, which the mini-program hands to
/mp/v1/scan like a scanned link. The ordinary QR (/devices/<id>/qrcode.png) stays the default: it
also works outside WeChat."""

from __future__ import annotations

import logging

import requests
from flask import current_app
from redis.exceptions import RedisError
from wechatpy.exceptions import WeChatClientException

from channels.miniprogram import miniprogram_client
from console_api import api
from console_api.device_label_views import QR_CACHE_CONTROL, label_filename
from console_api.http import current_actor, error_response, file_response, signed_in
from operations import devices

log = logging.getLogger(__name__)
SCENE_PREFIX = "d="  # miniprogram_api.scan reads it back


@api.get("/devices/<int:device_id>/wxacode.png")
@signed_in
def device_wxacode_png(device_id: int):
    device, _ = devices.get_device(current_actor(), device_id)
    client = miniprogram_client()
    if client is None:
        return error_response(503, "miniprogram_not_configured", "小程序未配置，无法生成小程序码")
    page = current_app.config["WECHAT_DEVICE_PAGE"]
    try:
        answer = client.wxa.get_wxa_code_unlimited(f"{SCENE_PREFIX}{device.link_token}", page=page)
    except (WeChatClientException, requests.RequestException, RedisError) as error:
        log.warning("mini-program code for device %s not created: %s", device.id, error)
        return error_response(502, "wechat_unavailable", "微信接口暂时不可用，请稍后重试")
    content = getattr(answer, "content", b"")
    if not content.startswith(b"\x89PNG"):
        return error_response(502, "wechat_unavailable", "微信未返回小程序码图片，请稍后重试")
    return file_response(
        content,
        "image/png",
        filename=label_filename(device, "png", prefix="wxacode"),
        cache_control=QR_CACHE_CONTROL,
    )
