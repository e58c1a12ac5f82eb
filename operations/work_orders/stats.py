"""工单统计: the figures a manager asks for, over a range of days.

- 响应时长 response (created → accepted), 现场时长 on site (arrived → completed) and 修复时长 repair
  (created → completed), in minutes: count, mean, median and p90 (nearest rank: 90% of the orders
  took at most this long). Each figure counts only the orders that have both stamps; an order sent
  back for rework (退回返修) counts for on-site and repair time only once it is completed again.
- Per vendor (the hospital's own engineers are the vendor None, 院内工程师): orders, how many of them
  are still open, the three medians, and the satisfaction survey.
- Per engineer: orders assigned, closed, medians and mean rating over the range, and the orders
  open on their desk right now.
- Open now: the open orders (OPEN_STATUSES) per vendor and per engineer at this moment, whatever
  day they were raised on.

The range holds the orders *created* on [date_from, date_to], Asia/Shanghai calendar days. Who
asks decides what is counted: the equipment manager sees the institution's orders, a vendor
admin only the orders of their own vendor that they may see today (visible_orders: an order on a
lapsed authorization drops out, as it does from their lists). Durations are computed here from
one query of the needed columns, so the figures are the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean, median
from typing import Any

from sqlalchemy import func, select

from models import Role, User, Vendor, WorkOrder, WorkOrderStatus, db
from models.work_order import OPEN_STATUSES
from operations.actors import Actor
from operations.clock import LOCAL_TZ, now_utc
from operations.errors import InvalidInput, PermissionDenied
from operations.work_orders.access import visible_orders
from operations.work_orders.flow import POOR_RATING
from operations.work_orders.sla_stats import sla_figures

S = WorkOrderStatus
MAX_RANGE_DAYS = 366
IN_HOUSE_NAME = "院内工程师"
# The engineer's work is done, the order is not archived yet (待确认 / 待评价 / 待回访).
DONE_NOT_CLOSED = frozenset({S.COMPLETED, S.CONFIRMED, S.FOLLOW_UP})
STATS_ROLES = frozenset({Role.EQUIPMENT_MANAGER, Role.VENDOR_ADMIN})

# The columns the figures are computed from, in this order.
_COLUMNS = (
    WorkOrder.id,
    WorkOrder.vendor_id,
    WorkOrder.assignee_id,
    WorkOrder.status,
    WorkOrder.created_at,
    WorkOrder.accepted_at,
    WorkOrder.arrived_at,
    WorkOrder.completed_at,
    WorkOrder.rating,
    WorkOrder.rating_response,
    WorkOrder.rating_skill,
    WorkOrder.rating_attitude,
)


def require_stats_reader(actor: Actor) -> None:
    """The equipment manager (设备科) or a vendor admin (服务商管理员, their own vendor only)."""
    if actor.role not in STATS_ROLES or (actor.role is Role.VENDOR_ADMIN and actor.vendor_id is None):
        raise PermissionDenied("仅设备科管理员或服务商管理员可以查看工单统计")


def check_range(date_from: date, date_to: date) -> None:
    if date_from > date_to:
        raise InvalidInput({"to": "结束日期不能早于开始日期"})
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput({"from": f"统计区间最长 {MAX_RANGE_DAYS} 天"})


def local_day_start(day: date) -> datetime:
    """00:00 Asia/Shanghai of `day`, in UTC (how created_at is stored)."""
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def work_order_figures(actor: Actor, *, date_from: date, date_to: date, vendor_id: int | None = None) -> dict:
    """The figures over the orders created on [date_from, date_to] (Asia/Shanghai days, both
    included) that the actor may see, optionally of one vendor.

    Returns {"from", "to", "vendor_id", "totals", "response_minutes", "on_site_minutes",
    "repair_minutes", "per_vendor", "per_engineer", "open_now"}. "totals" splits the orders
    created by their status now: open (OPEN_STATUSES), completed (the engineer is done, the order
    is not archived yet: 待确认 / 待评价 / 待回访), closed, cancelled; each vendor and engineer has
    the same four counts. In "per_engineer", "assigned", those counts, the medians and
    "mean_rating" are over the range, while "open_now" counts the
    engineer's open orders right now (OPEN_STATUSES), regardless of the date range; an engineer
    with open orders but none in the range is listed too. "open_now" at the top level is likewise
    not limited to the range.
    """
    require_stats_reader(actor)
    check_range(date_from, date_to)
    visible = visible_orders(actor)
    if vendor_id is not None:
        visible = visible.where(WorkOrder.vendor_id == vendor_id)

    created_in_range = visible.where(
        WorkOrder.created_at >= local_day_start(date_from),
        WorkOrder.created_at < local_day_start(date_to + timedelta(days=1)),
    )
    in_range = created_in_range.with_only_columns(*_COLUMNS)
    rows = db.session.execute(in_range.order_by(WorkOrder.id)).all()

    open_query = (
        visible.where(WorkOrder.status.in_(OPEN_STATUSES))
        .with_only_columns(WorkOrder.vendor_id, WorkOrder.assignee_id, func.count())
        .group_by(WorkOrder.vendor_id, WorkOrder.assignee_id)
    )
    open_counts = list(db.session.execute(open_query).tuples())

    engineer_ids = {row.assignee_id for row in rows if row.assignee_id} | {a for _, a, _ in open_counts if a}
    engineers = _engineers(engineer_ids)
    vendor_ids = {row.vendor_id for row in rows} | {v for v, _, _ in open_counts}
    vendor_ids |= {engineer["vendor_id"] for engineer in engineers.values()}
    vendor_names = _vendor_names(vendor_ids)

    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "vendor_id": vendor_id,
        "totals": _totals(rows),
        **_durations(rows, summarize),
        "per_vendor": _per_vendor(rows, vendor_names),
        "per_engineer": _per_engineer(rows, open_counts, engineers, vendor_names),
        "open_now": _open_now(open_counts, engineers, vendor_names),
        "sla": sla_figures(created_in_range, vendor_names, now_utc()),  # 服务时限达标率
    }


# --- the pieces ------------------------------------------------------------------------------


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 60


def response_minutes(row) -> float | None:
    return _minutes(row.created_at, row.accepted_at)


def on_site_minutes(row) -> float | None:
    return None if row.status is S.REWORK else _minutes(row.arrived_at, row.completed_at)


def repair_minutes(row) -> float | None:
    return None if row.status is S.REWORK else _minutes(row.created_at, row.completed_at)


MEASURES = {
    "response_minutes": response_minutes,
    "on_site_minutes": on_site_minutes,
    "repair_minutes": repair_minutes,
}


def _values(rows: Iterable, measure) -> list[float]:
    return [value for value in map(measure, rows) if value is not None]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summarize(values: list[float]) -> dict[str, Any]:
    """count, mean, median and p90 (nearest rank); None for each figure when there is no data."""
    if not values:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[max(math.ceil(0.9 * len(ordered)), 1) - 1]
    return {
        "count": len(ordered),
        "mean": _round(fmean(ordered)),
        "median": _round(median(ordered)),
        "p90": _round(p90),
    }


def median_of(values: list[float]) -> float | None:
    return _round(median(values)) if values else None


def _durations(rows: list, shape) -> dict[str, Any]:
    return {name: shape(_values(rows, measure)) for name, measure in MEASURES.items()}


def _totals(rows: list) -> dict[str, int]:
    return {"created": len(rows), **_by_status(rows)}


def _by_status(rows: list) -> dict[str, int]:
    """The orders by their status now, in the four groups every chart colours alike."""
    statuses = [row.status for row in rows]
    return {
        "open": sum(status in OPEN_STATUSES for status in statuses),
        "completed": sum(status in DONE_NOT_CLOSED for status in statuses),
        "closed": statuses.count(S.CLOSED),
        "cancelled": statuses.count(S.CANCELLED),
    }


def satisfaction(rows: list) -> dict[str, Any]:
    rated = [row for row in rows if row.rating is not None]

    def mean_of(column: str) -> float | None:
        values = [getattr(row, column) for row in rated if getattr(row, column) is not None]
        return _round(fmean(values), 2) if values else None

    return {
        "ratings": len(rated),
        "mean_rating": mean_of("rating"),
        "mean_response": mean_of("rating_response"),
        "mean_skill": mean_of("rating_skill"),
        "mean_attitude": mean_of("rating_attitude"),
        # 差评率: the share of ratings that asked for a follow-up call (≤ POOR_RATING).
        "poor_share": round(sum(row.rating <= POOR_RATING for row in rated) / len(rated), 3) if rated else None,
    }


def _per_vendor(rows: list, vendor_names: dict[int | None, str]) -> list[dict[str, Any]]:
    groups: dict[int | None, list] = defaultdict(list)
    for row in rows:
        groups[row.vendor_id].append(row)
    found = [
        {
            "vendor_id": vendor_id,
            "vendor_name": vendor_names.get(vendor_id, IN_HOUSE_NAME),
            "orders": len(group),
            **_by_status(group),
            **{f"median_{name}": value for name, value in _durations(group, median_of).items()},
            "satisfaction": satisfaction(group),
        }
        for vendor_id, group in groups.items()
    ]
    return _vendors_first(found, "orders")


def _per_engineer(
    rows: list,
    open_counts: list[tuple[int | None, int | None, int]],
    engineers: dict[int, dict[str, Any]],
    vendor_names: dict[int | None, str],
) -> list[dict[str, Any]]:
    groups: dict[int, list] = defaultdict(list)
    for row in rows:
        if row.assignee_id:
            groups[row.assignee_id].append(row)
    open_now: dict[int, int] = defaultdict(int)
    for _, assignee_id, count in open_counts:
        if assignee_id:
            open_now[assignee_id] += count
    found = []
    for engineer_id in groups.keys() | open_now.keys():
        group = groups.get(engineer_id, [])
        engineer = engineers.get(engineer_id, {"name": None, "vendor_id": None})
        ratings = [row.rating for row in group if row.rating is not None]
        found.append(
            {
                "engineer_id": engineer_id,
                "engineer_name": engineer["name"],
                "vendor_id": engineer["vendor_id"],
                "vendor_name": vendor_names.get(engineer["vendor_id"], IN_HOUSE_NAME),
                "assigned": len(group),
                "open_now": open_now.get(engineer_id, 0),
                **_by_status(group),
                **{f"median_{name}": value for name, value in _durations(group, median_of).items()},
                "ratings": len(ratings),
                "mean_rating": _round(fmean(ratings), 2) if ratings else None,
            }
        )
    return _engineers_first(found, "assigned", "open_now")


def _open_now(
    open_counts: list[tuple[int | None, int | None, int]],
    engineers: dict[int, dict[str, Any]],
    vendor_names: dict[int | None, str],
) -> dict[str, Any]:
    by_vendor: dict[int | None, int] = defaultdict(int)
    by_engineer: dict[int, int] = defaultdict(int)
    unassigned = 0
    for vendor_id, assignee_id, count in open_counts:
        by_vendor[vendor_id] += count
        if assignee_id:
            by_engineer[assignee_id] += count
        else:
            unassigned += count
    vendors = [
        {"vendor_id": vendor_id, "vendor_name": vendor_names.get(vendor_id, IN_HOUSE_NAME), "open": count}
        for vendor_id, count in by_vendor.items()
    ]
    people = []
    for engineer_id, count in by_engineer.items():
        engineer = engineers.get(engineer_id, {"name": None, "vendor_id": None})
        people.append(
            {
                "engineer_id": engineer_id,
                "engineer_name": engineer["name"],
                "vendor_id": engineer["vendor_id"],
                "vendor_name": vendor_names.get(engineer["vendor_id"], IN_HOUSE_NAME),
                "open": count,
            }
        )
    return {
        "total": sum(by_vendor.values()),
        "unassigned": unassigned,
        "per_vendor": _vendors_first(vendors, "open"),
        "per_engineer": _engineers_first(people, "open"),
    }


def _vendors_first(items: list[dict[str, Any]], count: str) -> list[dict[str, Any]]:
    """Most orders first; on a tie the hospital's own engineers, then by name."""
    return sorted(items, key=lambda item: (-item[count], item["vendor_id"] is not None, item["vendor_name"]))


def _engineers_first(items: list[dict[str, Any]], *counts: str) -> list[dict[str, Any]]:
    return sorted(
        items, key=lambda item: (*(-item[count] for count in counts), item["engineer_name"] or "", item["engineer_id"])
    )


def _engineers(user_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not user_ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name, User.vendor_id).where(User.id.in_(user_ids)))
    return {user_id: {"name": name, "vendor_id": vendor_id} for user_id, name, vendor_id in rows}


def _vendor_names(vendor_ids: set[int | None]) -> dict[int | None, str]:
    names: dict[int | None, str] = {None: IN_HOUSE_NAME}
    ids = {vendor_id for vendor_id in vendor_ids if vendor_id is not None}
    if ids:
        names.update(db.session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(ids))).all())
    return names
