"""预计到场时间 (ETA): when the engineer expects to be at the device, agreed with the reporter
(与客户确认). Set on its own (dispatch.set_eta) or with 出发 (flow.depart); the same rules hold
for both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models import WorkOrderStatus
from operations.clock import to_local
from operations.errors import InvalidInput

S = WorkOrderStatus
# Until the engineer is on site the expected arrival can still change.
ETA_STATUSES = frozenset({S.PENDING, S.ACCEPTED, S.DEPARTED, S.REWORK})
ETA_HORIZON = timedelta(days=60)
# A time picked to the minute a moment ago is still "now".
ETA_GRACE = timedelta(minutes=5)


def check_eta(eta: datetime, now: datetime) -> None:
    """Refuse (422 on `eta`) a time in the past or beyond the horizon."""
    if not now - ETA_GRACE <= eta <= now + ETA_HORIZON:
        raise InvalidInput({"eta": "预计到场时间应在现在之后的 60 天内"})


def eta_label(eta: datetime) -> str:
    """The ETA as the timeline's event detail keeps it: Beijing time, to the minute."""
    return to_local(eta).isoformat(timespec="minutes")
