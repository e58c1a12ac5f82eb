"""Platform accounts. An account belongs to exactly one organisation: an institution or a vendor."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, true
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


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("(institution_id IS NULL) <> (vendor_id IS NULL)", name="exactly_one_organisation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
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
