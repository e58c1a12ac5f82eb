"""Platform accounts. An account belongs to exactly one organisation: an institution or a vendor."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text, true
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class Role(enum.StrEnum):
    EQUIPMENT_MANAGER = "equipment_manager"  # 设备科 / institution admin
    INSTITUTION_ENGINEER = "institution_engineer"  # the hospital's own engineers
    CLINICIAN = "clinician"  # 临床科室
    VENDOR_ADMIN = "vendor_admin"  # 服务商管理员
    VENDOR_ENGINEER = "vendor_engineer"  # 服务商工程师

    @property
    def is_vendor_side(self) -> bool:
        return self in (Role.VENDOR_ADMIN, Role.VENDOR_ENGINEER)


ROLE_LABELS = {
    Role.EQUIPMENT_MANAGER: "设备科管理员",
    Role.INSTITUTION_ENGINEER: "院内工程师",
    Role.CLINICIAN: "临床科室",
    Role.VENDOR_ADMIN: "服务商管理员",
    Role.VENDOR_ENGINEER: "服务商工程师",
}


# The password_hash of an account nobody has activated yet: no password matches it.
NO_PASSWORD = "!"


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("(institution_id IS NULL) <> (vendor_id IS NULL)", name="exactly_one_organisation"),
        # A mobile belongs to one active account on the platform: bind-by-phone and reset-by-code
        # must name one person.
        Index(
            "uq_users_active_phone",
            "phone",
            unique=True,
            postgresql_where=text("is_active AND phone IS NOT NULL"),
            sqlite_where=text("is_active AND phone IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    # NO_PASSWORD until the person activates the account with a code and sets a password themselves.
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    display_name: Mapped[str] = mapped_column(String(50), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    role: Mapped[Role] = mapped_column(
        string_enum(Role, 30),
        nullable=False,
    )
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), nullable=True, index=True)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), nullable=True, index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Bumped on sign-out and password change: every token signed with the old value stops working.
    token_version: Mapped[int] = mapped_column(nullable=False, default=1)
    # WeChat binding (小程序登录绑定账号): the official-account openid receives template messages;
    # the mini-program openid signs in. Issue-5 binding fills them; None means not bound.
    wechat_openid: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True, index=True)
    wechat_miniprogram_openid: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True, index=True)
    wechat_unionid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # False after the person unfollows the official account: WeChat cannot reach them (43004), so
    # messages that may fall back go by SMS, until they follow again.
    wechat_following: Mapped[bool] = mapped_column(nullable=False, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    @property
    def is_activated(self) -> bool:
        return self.password_hash != NO_PASSWORD


class AccountCodePurpose(enum.StrEnum):
    ACTIVATION = "activation"  # 激活: the first password of a new account
    PASSWORD_RESET = "password_reset"  # 重置密码: asked by a manager or by the person


class AccountCode(db.Model):
    """A one-time code (8 characters, 72 h) that lets its person set a password: kept as a keyed
    hash only; a newer code of the same account replaces the older ones."""

    __tablename__ = "account_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    purpose: Mapped[AccountCodePurpose] = mapped_column(string_enum(AccountCodePurpose), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    failed_attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class MessageFamily(enum.StrEnum):
    ALERT = "alert"  # 预警提醒
    WORK_ORDER = "work_order"  # 工单通知


class NotificationOptOut(db.Model):
    """A channel a person turned off for one message family (通知偏好). The inbox cannot be turned
    off; emergencies and escalations ignore these."""

    __tablename__ = "notification_opt_outs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    family: Mapped[MessageFamily] = mapped_column(string_enum(MessageFamily), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)  # sms | wechat
