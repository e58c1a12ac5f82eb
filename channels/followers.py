"""The official account's followers: the unionid WeChat keeps for a follower when the official
account and the mini-program are bound to one 开放平台 account (user/info; a follow event does not
carry it).

Asked while the webhook answers a follow, inside WeChat's 5-second budget: a short time-out, and
any failure (WeChat slow, down, or answering an error) is no unionid, never an exception.
"""

from __future__ import annotations

import logging

import requests
from redis.exceptions import RedisError
from wechatpy.exceptions import WeChatClientException

from channels.app_clients import app_client

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_SECONDS = 1.5
MAX_UNIONID_CHARS = 64


def follower_unionid(openid: str) -> str | None:
    """The follower's unionid, or None (none kept, the official account not configured, or
    WeChat did not answer in time)."""
    client = app_client("WECHAT_OFFICIAL_APP_ID", "WECHAT_OFFICIAL_APP_SECRET", LOOKUP_TIMEOUT_SECONDS)
    if client is None:
        return None
    try:
        info = client.get("user/info", params={"openid": openid, "lang": "zh_CN"})
    except (WeChatClientException, requests.RequestException, RedisError) as error:
        log.warning("user/info for a new follower failed, not linked by unionid: %s", type(error).__name__)
        return None
    unionid = info.get("unionid") if isinstance(info, dict) else None
    return unionid if isinstance(unionid, str) and 0 < len(unionid) <= MAX_UNIONID_CHARS else None
