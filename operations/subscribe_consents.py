"""订阅消息 consents: what a person answered for each subscribe-message template, from the
mini-program (wx.requestSubscribeMessage's result) or from the webhook's subscribe-message events.

A one-time subscription is used up by one message: every accept adds one to `remaining` (at
most MAX_REMAINING); a reject from the popup keeps what was accepted before (WeChat does too)
but records the latest answer; a ban, or a change of settings to reject, leaves nothing to send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from models import ConsentStatus, SubscribeConsent, db

MAX_REMAINING = 100


def record_consent(
    openid: str, template_id: str, status: ConsentStatus, now: datetime, *, revoke: bool = False
) -> None:
    """One answer: an atomic update of the row, or its insert (a concurrent insert retried).
    `revoke`: the person switched the template off in settings (subscribe_msg_change_event)."""
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status is ConsentStatus.ACCEPT:
        values["remaining"] = case(
            (SubscribeConsent.remaining >= MAX_REMAINING, MAX_REMAINING), else_=SubscribeConsent.remaining + 1
        )
    elif status is ConsentStatus.BAN or revoke:
        values["remaining"] = 0
    key = (SubscribeConsent.openid == openid, SubscribeConsent.template_id == template_id)
    statement = update(SubscribeConsent).where(*key).values(**values)
    if db.session.execute(statement, execution_options={"synchronize_session": False}).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                SubscribeConsent(
                    openid=openid,
                    template_id=template_id,
                    status=status,
                    remaining=1 if status is ConsentStatus.ACCEPT else 0,
                    updated_at=now,
                )
            )
    except IntegrityError:  # inserted by a concurrent request a moment ago
        db.session.execute(statement, execution_options={"synchronize_session": False})


def consents_of(openid: str, template_ids: list[str]) -> dict[str, SubscribeConsent]:
    return {
        consent.template_id: consent
        for consent in db.session.scalars(
            select(SubscribeConsent).where(
                SubscribeConsent.openid == openid, SubscribeConsent.template_id.in_(template_ids)
            )
        )
    }
