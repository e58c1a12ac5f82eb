"""The mini-program app's WeChat client: code2session, getuserphonenumber, mini-program codes
(getwxacodeunlimit) and subscribe messages all use its own access token, shared in Redis like the
official account's (channels.providers.SharedTokenWeChatClient). Built once per app."""

from __future__ import annotations

from flask import current_app

from channels.providers import SharedTokenWeChatClient
from connections import redis as redis_connection

_CLIENT_KEY = "weixiu.miniprogram_client"


def miniprogram_client() -> SharedTokenWeChatClient | None:
    """The client, or None when the mini-program is not configured."""
    app = current_app._get_current_object()
    config = app.config
    settings = (
        config.get("WECHAT_MINIPROGRAM_APP_ID"),
        config.get("WECHAT_MINIPROGRAM_APP_SECRET"),
        config.get("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com",
    )
    if not (settings[0] and settings[1]):
        return None
    client = app.extensions.get(_CLIENT_KEY)
    if client is None or client.settings != settings:  # tests change the config between apps
        client = SharedTokenWeChatClient(
            settings[0],
            settings[1],
            redis=redis_connection.redis(),
            base_url=settings[2],
            timeout=config.get("WECHAT_TIMEOUT_SECONDS", 5),
        )
        client.settings = settings
        app.extensions[_CLIENT_KEY] = client
    return client
