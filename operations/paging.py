"""Shared query helpers for the lists: bounded pages and literal keyword matching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, literal, select

from models import db
from operations.errors import NotFound


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int
    total_capped: bool = False  # more than `total` match: the count stopped at its cap


def count_rows(query: Select, cap: int | None = None) -> tuple[int, bool]:
    """How many rows `query` yields, and whether there are more than `cap` (then the count is
    `cap`): a capped count reads at most cap + 1 rows however many match."""
    query = query.order_by(None)
    if not query._distinct and not query._group_by_clauses:
        # Counted rows need no columns: the database then does not build each one (~10 % of a
        # capped count of 10,001 devices).
        query = query.with_only_columns(literal(1), maintain_column_froms=True)
    if cap is not None:
        query = query.limit(cap + 1)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    if cap is not None and total > cap:
        return cap, True
    return total, False


def paginate(
    query: Select, order_by, *, page: int, per_page: int, rows: bool = False, count_cap: int | None = None
) -> Page:
    """One page of `query` in `order_by` order (one expression or a tuple of them); a page past
    the end raises NotFound. Items are the first entity of each row, or whole rows (tuples).
    With `count_cap` the total stops there (Page.total_capped); pages past it are still served."""
    order = order_by if isinstance(order_by, tuple) else (order_by,)
    total, capped = count_rows(query, count_cap)
    last_page = max(1, -(-total // per_page))
    if page > last_page and not capped:
        raise NotFound(f"页码超出范围（共 {last_page} 页）")
    paged = query.order_by(*order).limit(per_page).offset((page - 1) * per_page)
    items = list(db.session.execute(paged).tuples()) if rows else list(db.session.scalars(paged))
    if capped and page > last_page and not items:
        raise NotFound("页码超出范围")
    return Page(items, total, page, per_page, capped)


def escape_like(text: str) -> str:
    """Make % and _ in a keyword literal (use with escape="\\\\")."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
