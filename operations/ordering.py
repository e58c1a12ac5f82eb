"""排序 of an institution's lists (科室, 设备类型): the manager gives the whole list in its new order,
every entry once, so two managers arranging at once cannot interleave into an order neither chose
(the rows are locked while it is written)."""

from __future__ import annotations

from sqlalchemy import select

from models import db
from operations import audit
from operations.access import require_manager
from operations.actors import Actor
from operations.errors import InvalidInput


def reorder(actor: Actor, model, ids: list[int], *, field: str, noun: str, entity_type: str) -> list:
    """Give the institution's `model` rows the order of `ids` (sort_order 1, 2, …); InvalidInput on
    `field` unless `ids` names every row once. One 操作日志 row when the order changed."""
    require_manager(actor)
    rows = list(
        db.session.scalars(
            select(model)
            .where(model.institution_id == actor.institution_id)
            .order_by(model.sort_order, model.id)
            .with_for_update()
        )
    )
    by_id = {row.id: row for row in rows}
    if len(set(ids)) != len(ids):
        raise InvalidInput({field: f"{noun}重复"})
    if set(ids) != set(by_id):
        raise InvalidInput({field: f"应按新顺序列出本院的全部{noun}，每个一次"})
    before = [row.id for row in rows]
    for position, row_id in enumerate(ids, start=1):
        by_id[row_id].sort_order = position
    db.session.flush()
    if before != ids:
        audit.record(
            actor,
            "reorder",
            entity_type,
            None,
            label=f"{noun}排序",
            changes={"order": [before, list(ids)]},
            institution_id=actor.institution_id,
        )
    return [by_id[row_id] for row_id in ids]
