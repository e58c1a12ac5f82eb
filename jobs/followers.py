"""New followers of the official account linked to the account they bound in the mini-program.

A follow event carries no unionid. After the webhook has answered, this job asks WeChat (user/info)
for it and binds the follower to the account whose mini-program identity has it, when both apps
are bound to one 开放平台 account; from then on template messages reach them. WeChat not
answering fails the job, which RQ tries again later (RETRY).
"""

from __future__ import annotations

import logging

from rq import Retry

from channels.followers import follower_unionid
from models import db
from operations.wechat_accounts import link_follower

log = logging.getLogger("weixiu.followers")

RETRY = Retry(max=3, interval=[30, 300, 1800])


def link_new_follower(openid: str) -> bool:
    """Whether the follower's unionid named a bound mini-program identity, now linked to them."""
    unionid = follower_unionid(openid)  # LookupFailed: RQ tries again
    linked = unionid is not None and link_follower(openid, unionid) is not None
    db.session.commit()
    if linked:
        log.info("a new follower was linked by unionid")
    return linked
