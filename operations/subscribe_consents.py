"""订阅消息 consents: what a person answered for each subscribe-message template of one app.

Consents are per app (an openid and a template belong to one): the mini-program's come from
wx.requestSubscribeMessage's result and from its message push's popup / change events, and only
they are spent by mini-program subscribe messages; the official account's (服务号订阅通知, from
its webhook's events) are recorded for messages sent with subscribe/bizsend.

A one-time subscription is used up by one message: every accept adds one to `remaining` (at
most MAX_REMAINING); a reject from the popup keeps what was accepted before (WeChat does too)
but records the latest answer; a ban, or a change of settings to reject, leaves nothing to send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from models import ConsentStatus, SubscribeConsent, WeChatApp, db

MAX_REMAINING = 100


def _consent(app: WeChatApp, openid: str, template_id: str):
    return (SubscribeConsent.app == app, SubscribeConsent.openid == openid, SubscribeConsent.template_id == template_id)


def record_consent(
    app: WeChatApp,
    openid: str,
    template_id: str,
    status: ConsentStatus,
    now: datetime,
    *,
    settings_change: bool = False,
    counted: bool = True,
) -> None:
    """One answer: an atomic update of the row, or its insert (a concurrent insert retried).
    `settings_change`: the person switched the template in WeChat's settings
    (subscribe_msg_change_event): off takes away what is left, on grants no message by itself.
    `counted=False`: the answer is recorded, but an accept adds no message, because another
    report of the same popup counts it (see miniprogram_api.subscriptions)."""
    values: dict[str, Any] = {"status": status, "updated_at": now}
    adds = status is ConsentStatus.ACCEPT and not settings_change and counted
    if adds:
        values["remaining"] = case(
            (SubscribeConsent.remaining >= MAX_REMAINING, MAX_REMAINING), else_=SubscribeConsent.remaining + 1
        )
    elif status is ConsentStatus.BAN or (settings_change and status is not ConsentStatus.ACCEPT):
        values["remaining"] = 0
    statement = update(SubscribeConsent).where(*_consent(app, openid, template_id)).values(**values)
    if db.session.execute(statement, execution_options={"synchronize_session": False}).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                SubscribeConsent(
                    app=app,
                    openid=openid,
                    template_id=template_id,
                    status=status,
                    remaining=1 if adds else 0,
                    updated_at=now,
                )
            )
    except IntegrityError:  # inserted by a concurrent request a moment ago
        db.session.execute(statement, execution_options={"synchronize_session": False})


def consents_of(app: WeChatApp, openid: str, template_ids: list[str]) -> dict[str, SubscribeConsent]:
    return {
        consent.template_id: consent
        for consent in db.session.scalars(
            select(SubscribeConsent).where(
                SubscribeConsent.app == app,
                SubscribeConsent.openid == openid,
                SubscribeConsent.template_id.in_(template_ids),
            )
        )
    }


def use_consent(app: WeChatApp, openid: str, template_id: str) -> bool:
    """Take one of the person's subscriptions to `template_id` for one message; False when none
    is left. One atomic UPDATE … WHERE remaining > 0: two jobs racing for the last one cannot both
    have it (PostgreSQL's row lock makes the second re-check `remaining`; SQLite writes one at a
    time). A popup's later reject keeps what was accepted before (see `record_consent`), so the
    status is not asked for; a ban or a revoke has left nothing. The caller commits before sending."""
    taken = db.session.execute(
        update(SubscribeConsent)
        .where(
            *_consent(app, openid, template_id),
            SubscribeConsent.remaining > 0,
            SubscribeConsent.status != ConsentStatus.BAN,
        )
        .values(remaining=SubscribeConsent.remaining - 1)
        .returning(SubscribeConsent.remaining),
        execution_options={"synchronize_session": False},
    ).first()
    return taken is not None


def give_back_consent(app: WeChatApp, openid: str, template_id: str) -> None:
    """The message did not reach WeChat (a transient error, tried again later; or a failure of
    ours): WeChat still counts the subscription, so it is ours to use again. Not after a ban."""
    db.session.execute(
        update(SubscribeConsent)
        .where(*_consent(app, openid, template_id), SubscribeConsent.status != ConsentStatus.BAN)
        .values(
            remaining=case(
                (SubscribeConsent.remaining >= MAX_REMAINING, MAX_REMAINING), else_=SubscribeConsent.remaining + 1
            )
        ),
        execution_options={"synchronize_session": False},
    )


def consent_refused(app: WeChatApp, openid: str, template_id: str, now: datetime) -> None:
    """WeChat refused a message to this template (43101): whatever we counted is gone there."""
    db.session.execute(
        update(SubscribeConsent)
        .where(*_consent(app, openid, template_id), SubscribeConsent.status != ConsentStatus.BAN)
        .values(remaining=0, status=ConsentStatus.REJECT, updated_at=now),
        execution_options={"synchronize_session": False},
    )
