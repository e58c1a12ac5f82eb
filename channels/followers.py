"""The official account's followers: the unionid WeChat keeps for a follower when the official
account and the mini-program are bound to one 开放平台 account (user/info; a follow event does not
carry it). Asked by a job after the webhook has answered (jobs.followers), never inside
WeChat's 5-second budget.
"""

from __future__ import annotations

import requests
from redis.exceptions import RedisError
from wechatpy.exceptions import WeChatClientException

from channels.app_clients import app_client

MAX_UNIONID_CHARS = 64


class LookupFailed(Exception):
    """WeChat did not answer user/info (down, slow, busy): worth asking again later."""


def follower_unionid(openid: str) -> str | None:
    """The follower's unionid, or None (WeChat keeps none for them, or the official account is not
    configured); LookupFailed when WeChat could not be asked."""
    client = app_client("WECHAT_OFFICIAL_APP_ID", "WECHAT_OFFICIAL_APP_SECRET")
    if client is None:
        return None
    try:
        info = client.get("user/info", params={"openid": openid, "lang": "zh_CN"})
    except (WeChatClientException, requests.RequestException, RedisError) as error:
        raise LookupFailed(f"user/info failed: {type(error).__name__}") from error
    unionid = info.get("unionid") if isinstance(info, dict) else None
    return unionid if isinstance(unionid, str) and 0 < len(unionid) <= MAX_UNIONID_CHARS else None
