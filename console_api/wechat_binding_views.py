"""绑定微信 from the PC: a one-time bind code for an account, and the official-account QR that
carries it. The person scans the QR with WeChat (following the account binds their official
openid), or types the code in the mini-program (binding their mini-program sign-in)."""

from __future__ import annotations

import base64
import logging

import requests
from flask import jsonify
from redis.exceptions import RedisError
from wechatpy.exceptions import WeChatClientException

from channels.registry import get_channel
from channels.wechat_qrcodes import png, temporary_qr_url
from console_api import reconfirmation
from console_api.http import commit, current_actor, current_user
from console_api.reconfirmation import reconfirm
from console_api.route_table import request_body
from console_api.routes import route
from console_api.serializers import moment
from operations import wechat_accounts
from operations.clock import now_utc

log = logging.getLogger(__name__)


def _official_qr(code: str) -> dict:
    """The bind QR, or why there is none (the code still works in the mini-program)."""
    channel = get_channel("wechat")
    if channel.client is None:
        return {"available": False, "reason": channel.unavailable}
    try:
        url = temporary_qr_url(channel.client, f"bind:{code}", int(wechat_accounts.BIND_CODE_TTL.total_seconds()))
    except (WeChatClientException, requests.RequestException, RedisError) as error:
        log.warning("bind QR not created: %s", error)
        return {"available": False, "reason": "暂时无法生成公众号二维码，请使用绑定码"}
    return {"available": True, "png_base64": base64.b64encode(png(url)).decode()}


def _reconfirmed(user_id: int) -> bool:
    """For one's own account, who is at the keyboard is asked again (console_api.reconfirmation)."""
    if user_id != current_user().id:
        return False
    reconfirm(request_body())
    return True


@route(
    "POST",
    "/users/<int:user_id>/bind-code",
    "绑定微信：一次性绑定码及带码的公众号二维码（为本人生成需验证密码或短信验证码）",
    body=reconfirmation.FIELDS,
    body_required=False,
    response="BindCode",
    status=201,
    errors=(429, 503),
)
def issue_bind_code(user_id: int):
    """绑定微信: for an account the caller manages, or for oneself with the password or an SMS code."""
    reconfirmed = _reconfirmed(user_id)
    code, expires_at = wechat_accounts.issue_bind_code(current_actor(), user_id, now_utc(), reconfirmed=reconfirmed)
    commit()
    return jsonify({"code": code, "expires_at": moment(expires_at), "official_account_qr": _official_qr(code)}), 201
