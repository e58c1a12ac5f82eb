"""WeChat clients of the app's two WeChat apps for calls outside the outbox (code2session, phone
numbers, mini-program codes, a follower's unionid): built once per app and settings, each with
its access token shared in Redis like the channels' (channels.providers.SharedTokenWeChatClient)."""

from __future__ import annotations

from flask import current_app

from channels.providers import WECHAT_BASE_URL, SharedTokenWeChatClient
from connections import redis as redis_connection

APP_CLIENTS = "weixiu.wechat_app_clients"  # app.extensions key; channels.registry.reset_channels forgets them


def app_client(app_id_setting: str, secret_setting: str) -> SharedTokenWeChatClient | None:
    """The client of the WeChat app named by these settings, or None when it is not configured."""
    app = current_app._get_current_object()
    config = app.config
    settings = (
        config.get(app_id_setting),
        config.get(secret_setting),
        config.get("WECHAT_API_BASE_URL") or WECHAT_BASE_URL,
        config.get("WECHAT_TIMEOUT_SECONDS", 5),
    )
    if not (settings[0] and settings[1]):
        return None
    clients = app.extensions.setdefault(APP_CLIENTS, {})
    client = clients.get(app_id_setting)
    if client is None or client.settings != settings:  # tests change the config between apps
        client = SharedTokenWeChatClient(
            settings[0], settings[1], redis=redis_connection.redis(), base_url=settings[2], timeout=settings[3]
        )
        client.settings = settings
        clients[app_id_setting] = client
    return client
