"""服务时限达标率: of the deadlines of the orders reported in a range, how many were met, per
vendor (the hospital's own engineers are the vendor None) and overall, per clock and all clocks
together. A deadline counts once it is decided: met, or missed (marked by the sweep, or past due
and not done yet though the sweep has not come by); a running or paused one, and a cancelled
order's, count neither way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_

from models import DeadlineKind, DeadlineOutcome, WorkOrder, WorkOrderDeadline, db

D = WorkOrderDeadline


def sla_figures(in_range: Select, vendor_names: dict, now: datetime) -> dict[str, Any]:
    """`in_range`: the orders counted (a select of WorkOrder, already filtered to what the caller
    may see and the range). `vendor_names`: vendor id → name, None → 院内工程师."""
    missed = or_(
        D.outcome == DeadlineOutcome.MISSED,
        and_(D.outcome.is_(None), D.paused_at.is_(None), D.due_at <= now),
    )
    query = (
        in_range.join(D, D.work_order_id == WorkOrder.id)
        .with_only_columns(
            WorkOrder.vendor_id,
            D.kind,
            func.sum(case((D.outcome == DeadlineOutcome.MET, 1), else_=0)),
            func.sum(case((missed, 1), else_=0)),
        )
        .group_by(WorkOrder.vendor_id, D.kind)
        .order_by(None)
    )
    per_vendor: dict[int | None, dict[str, list[int]]] = {}
    for vendor_id, kind, met, late in db.session.execute(query):
        per_vendor.setdefault(vendor_id, {})[DeadlineKind(kind).value] = [int(met or 0), int(late or 0)]
    overall: dict[str, list[int]] = {}
    for counts in per_vendor.values():
        for kind, (met, late) in counts.items():
            total = overall.setdefault(kind, [0, 0])
            total[0] += met
            total[1] += late
    vendors = [
        {"vendor_id": vendor_id, "vendor_name": vendor_names.get(vendor_id, str(vendor_id)), **_shares(counts)}
        for vendor_id, counts in per_vendor.items()
    ]
    vendors.sort(key=lambda item: (-(item["met"] + item["missed"]), item["vendor_id"] is not None, item["vendor_name"]))
    return {**_shares(overall), "per_vendor": vendors}


def _share(met: int, missed: int) -> dict[str, Any]:
    decided = met + missed
    return {"met": met, "missed": missed, "met_percent": round(met * 100 / decided, 1) if decided else None}


def _shares(counts: dict[str, list[int]]) -> dict[str, Any]:
    """All clocks together, and each clock."""
    met = sum(pair[0] for pair in counts.values())
    missed = sum(pair[1] for pair in counts.values())
    return {
        **_share(met, missed),
        "by_kind": {kind.value: _share(*counts.get(kind.value, [0, 0])) for kind in DeadlineKind},
    }
