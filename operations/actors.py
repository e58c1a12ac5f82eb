"""Who is acting: the identity every operation receives, whatever edge it came through."""

from __future__ import annotations

from dataclasses import dataclass

from models import Edge, Role, User


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    institution_id: int | None
    vendor_id: int | None
    edge: Edge = Edge.SYSTEM  # where the person acts from, for the 操作日志

    @classmethod
    def of(cls, user: User, edge: Edge = Edge.SYSTEM) -> Actor:
        return cls(user.id, user.role, user.institution_id, user.vendor_id, edge)

    @property
    def is_vendor_side(self) -> bool:
        return self.vendor_id is not None

    @property
    def is_manager(self) -> bool:
        return self.role is Role.EQUIPMENT_MANAGER
