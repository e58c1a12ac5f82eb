"""The mini-program app's WeChat client: code2session, getuserphonenumber, mini-program codes
(getwxacodeunlimit) and subscribe messages all use its own access token, shared in Redis like the
official account's (channels.providers.SharedTokenWeChatClient). Built once per app."""

from __future__ import annotations

from channels.app_clients import app_client
from channels.providers import SharedTokenWeChatClient


def miniprogram_client() -> SharedTokenWeChatClient | None:
    """The client, or None when the mini-program is not configured."""
    return app_client("WECHAT_MINIPROGRAM_APP_ID", "WECHAT_MINIPROGRAM_APP_SECRET")
