"""The mini-program's 消息推送 (`/wechat/miniprogram`): what WeChat pushes about the mini-program,
here its subscribe-message events — a popup answered, a template switched off in the settings, a
message sent. XML or JSON (the data format chosen in the mini-program's console), plain or safe
mode, signed with the mini-program's own token and EncodingAESKey (WECHAT_MINIPROGRAM_TOKEN,
WECHAT_MINIPROGRAM_ENCODING_AES_KEY); without a token it answers 404.

Checked as the official account's webhook is (webhooks.inbound). The answers are the
mini-program's consents, the ones its subscribe messages spend; everything else it pushes
(customer-service messages, other events) is acknowledged and left alone. The mini-program takes
no passive reply: every push is answered `success`.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app

from models import WeChatApp, db
from webhooks import consents
from webhooks.inbound import SUCCESS, Webhook, plain, receive

log = logging.getLogger(__name__)

message_push = Blueprint("wechat_miniprogram", __name__)


@message_push.route("/wechat/miniprogram", methods=["GET", "POST"])
def push() -> Response:
    received = receive(Webhook.of(current_app.config, "miniprogram", json_allowed=True))
    if isinstance(received, Response):
        return received
    try:
        if consents.handle(WeChatApp.MINIPROGRAM, received.openid, received.message):
            db.session.commit()
    except Exception:  # taken (a retry would be dropped as a duplicate): logged, never a 500
        db.session.rollback()
        log.exception("mini-program push: %s from %s failed", received.message.get("Event"), received.openid)
    return plain(SUCCESS)
