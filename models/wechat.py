"""WeChat identities: who signed in to the mini-program, the one-time codes that bind an identity
to a platform account, and which subscribe-message templates a person accepted."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class WeChatIdentity(db.Model):
    """A mini-program user (openid from code2session), bound to a platform account or not yet.
    The session token names this row; session_key is never stored or returned."""

    __tablename__ = "wechat_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    miniprogram_openid: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, unique=True)
    # Bumped on unbind and sign-out: older session tokens stop working.
    token_version: Mapped[int] = mapped_column(nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BindCodeChannel(enum.StrEnum):
    MINIPROGRAM = "miniprogram"
    OFFICIAL_ACCOUNT = "official_account"  # scanned as the scene of a parametric QR


class BindCode(db.Model):
    """A one-time code the PC issues for an account (绑定码 / 绑定二维码). Only its hash is kept."""

    __tablename__ = "bind_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_via: Mapped[BindCodeChannel | None] = mapped_column(string_enum(BindCodeChannel), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class WeChatApp(enum.StrEnum):
    """The two WeChat apps a person meets: each gives them an openid of its own."""

    MINIPROGRAM = "miniprogram"
    OFFICIAL_ACCOUNT = "official_account"


class ConsentStatus(enum.StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    BAN = "ban"  # the template was banned by WeChat for this user


class SubscribeConsent(db.Model):
    """What the person answered to a subscribe-message template of one app: the mini-program's
    (wx.requestSubscribeMessage, or the popup / change events of its message push), spent by its
    subscribe messages; or the official account's 服务号订阅通知 (the popup / change events of its
    webhook), for messages sent with subscribe/bizsend. One row per app, person and template."""

    __tablename__ = "subscribe_consents"

    app: Mapped[WeChatApp] = mapped_column(string_enum(WeChatApp), primary_key=True)
    # The openid the answer came with, the person's in `app`.
    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[ConsentStatus] = mapped_column(string_enum(ConsentStatus, 10), nullable=False)
    # A one-time subscription is used up by one message; accepting again adds one.
    remaining: Mapped[int] = mapped_column(nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
