"""The verification file WeChat fetches before a device's sticker link (PUBLIC_BASE_URL/d/<token>)
may open the mini-program inside WeChat (扫普通链接二维码打开小程序). Any other browser opening
the link gets the device page (weixiu.device_page).
"""

from flask import Blueprint, Response, abort, current_app

device_link = Blueprint("device_link", __name__)


@device_link.get("/<string:name>.txt")
def link_verification_file(name: str):
    """The verification file WeChat fetches from the domain's root before it lets the sticker links
    open the mini-program (扫普通链接二维码打开小程序): its name and content are given in the
    mini-program's admin console and configured here."""
    expected = current_app.config.get("WECHAT_LINK_VERIFY_FILE")
    content = current_app.config.get("WECHAT_LINK_VERIFY_CONTENT")
    if not expected or not content or f"{name}.txt" != expected:
        abort(404)
    return Response(content, mimetype="text/plain")
