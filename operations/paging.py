"""Shared query helpers for the lists: bounded pages and literal keyword matching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from models import db
from operations.errors import NotFound


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int


def paginate(query: Select, order_by, *, page: int, per_page: int, rows: bool = False) -> Page:
    """One page of `query` in `order_by` order (one expression or a tuple of them); a page past
    the end raises NotFound. Items are the first entity of each row, or whole rows (tuples)."""
    order = order_by if isinstance(order_by, tuple) else (order_by,)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    last_page = max(1, -(-total // per_page))
    if page > last_page:
        raise NotFound(f"页码超出范围（共 {last_page} 页）")
    paged = query.order_by(*order).limit(per_page).offset((page - 1) * per_page)
    items = list(db.session.execute(paged).tuples()) if rows else list(db.session.scalars(paged))
    return Page(items, total, page, per_page)


def escape_like(text: str) -> str:
    """Make % and _ in a keyword literal (use with escape="\\\\")."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
