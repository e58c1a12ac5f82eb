"""The app's channels by name, built once per app from its config.

Cached in `app.extensions` so a worker reuses each provider client (and its pooled HTTP
connections) for every batch it sends; tests that change the config call `reset_channels`.
"""

from __future__ import annotations

import threading

from flask import Flask, current_app

from channels.app_clients import APP_CLIENTS
from channels.base import Channel
from connections import redis as redis_connection

CHANNEL_NAMES = ("inbox", "sms", "wechat")
_EXTENSION = "weixiu.channels"
_build_lock = threading.Lock()  # two threads of one worker must not build two clients


def get_channel(name: str) -> Channel:
    """The channel called `name` ("inbox", "sms" or "wechat") for the current app."""
    if name not in CHANNEL_NAMES:
        raise ValueError(f"unknown channel {name!r}")
    app = current_app._get_current_object()
    channels = app.extensions.setdefault(_EXTENSION, {})
    channel = channels.get(name)
    if channel is None:
        with _build_lock:
            channel = channels.get(name)
            if channel is None:
                channel = channels[name] = _build(name, app)
    return channel


def reset_channels(app: Flask) -> None:
    """Forget the app's channels and its WeChat app clients (channels.app_clients), closing their
    HTTP pools and the access tokens they hold; the next use rebuilds them."""
    with _build_lock:
        channels = app.extensions.pop(_EXTENSION, {})
    clients = app.extensions.pop(APP_CLIENTS, {})
    for held in (*channels.values(), *clients.values()):
        close = getattr(held, "close", None)
        if close is not None:
            close()


def forget_channels(app: Flask) -> None:
    """Drop the app's channels and WeChat app clients without closing them, in a process forked
    from one that used them: their pooled connections belong to the parent, which goes on using
    them. The next use here builds new ones. (No lock: the fork left this process one thread.)"""
    app.extensions.pop(_EXTENSION, None)
    app.extensions.pop(APP_CLIENTS, None)


def _build(name: str, app: Flask) -> Channel:
    if name == "inbox":
        from channels.inbox import InboxChannel  # written alongside; imported when first used

        return InboxChannel()
    if name == "sms":
        from channels.sms import SmsChannel, SmsSettings

        return SmsChannel(SmsSettings.from_config(app.config))
    from channels.wechat import WeChatChannel, WeChatSettings

    settings = WeChatSettings.from_config(app.config)
    # Only a usable channel needs Redis (for the shared access token).
    redis = redis_connection.redis() if settings.unavailable_reason() is None else None
    return WeChatChannel(settings, redis=redis)
