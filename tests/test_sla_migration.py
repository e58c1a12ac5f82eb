"""0020 (服务时限): the old WORK_ORDER_EMERGENCY_ACCEPT_MINUTES becomes every institution's 停机
response deadline, and each order's emergency deadline (respond_by, escalated_at) its response
deadline with what became of it; the rows of 0016 keep every value, and the way back restores
the columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask_migrate import downgrade

from models import db
from operations.work_orders import sla_policy

NOW = "2026-12-01 01:00:00"
BEFORE = "0016_device_record_documents"
ORDER_COLUMNS = (
    "id, institution_id, device_id, kind, urgency, status, reporter_id, department_id, contact_name,"
    " contact_methods, device_snapshot, created_at, updated_at, respond_by, escalated_at, accepted_at, cancelled_at"
)
# id, urgency, status, respond_by, escalated_at, accepted_at, cancelled_at
ORDERS = [
    (1, "downtime", "pending", "2026-12-01 01:20:00", None, None, None),  # still waiting
    (2, "downtime", "pending", "2026-12-01 00:50:00", "2026-12-01 00:50:00", None, None),  # escalated
    (3, "downtime", "accepted", "2026-12-01 01:20:00", None, "2026-12-01 01:05:00", None),  # in time
    (4, "downtime", "on_site", "2026-12-01 01:20:00", None, "2026-12-01 01:30:00", None),  # late
    (5, "downtime", "cancelled", "2026-12-01 01:20:00", None, None, "2026-12-01 01:10:00"),
    (6, "normal", "pending", None, None, None, None),  # no emergency deadline
]


def fill(legacy) -> None:
    for sql in (
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 1, :now),"
        " (2, '医院乙', 0, :now)",
        "INSERT INTO departments (id, institution_id, name, created_at) VALUES (1, 1, '口腔科', :now)",
        "INSERT INTO users (id, username, password_hash, display_name, role, institution_id, is_active, token_version,"
        " created_at) VALUES (1, 'zhangsan', 'x', '张三', 'equipment_manager', 1, TRUE, 1, :now)",
        "INSERT INTO devices (id, institution_id, unique_code, link_token, archive_status, name, department_id,"
        " search_text, created_at, updated_at)"
        " VALUES (1, 1, '000001', 'tok', 'in_archive', '监护仪', 1, '', :now, :now)",
    ):
        legacy.execute(sql, {"now": NOW})
    legacy.execute(
        f"INSERT INTO work_orders ({ORDER_COLUMNS}) VALUES (:id, 1, 1, 'repair', :urgency, :status, 1, 1, '张三',"
        " '[]', '{}', '2026-12-01 01:00:00', :now, :respond_by, :escalated_at, :accepted_at, :cancelled_at)",
        [
            dict(
                zip(
                    ("id", "urgency", "status", "respond_by", "escalated_at", "accepted_at", "cancelled_at"),
                    row,
                    strict=True,
                )
            )
            | {"now": NOW}
            for row in ORDERS
        ],
    )
    # Order 2 was reported at 00:35 (its 15 minutes ran out at 00:50).
    legacy.execute("UPDATE work_orders SET created_at = '2026-12-01 00:35:00' WHERE id = 2")


def test_the_emergency_setting_becomes_the_downtime_response_deadline(legacy_database, monkeypatch):
    monkeypatch.setenv("WORK_ORDER_EMERGENCY_ACCEPT_MINUTES", "20")
    legacy = legacy_database(BEFORE)
    fill(legacy)
    legacy.upgrade()

    policies = legacy.execute("SELECT id, sla_policy FROM institutions ORDER BY id")
    for row in policies:
        policy = row["sla_policy"] if isinstance(row["sla_policy"], dict) else json.loads(row["sla_policy"])
        resolved = sla_policy.resolve(policy)
        for kind in ("repair", "maintenance", "metrology"):
            figures = resolved["targets"][kind]["downtime"]
            assert (figures["response"], figures["arrival"], figures["completion"]) == (20, 120, 480)
        assert resolved["targets"]["repair"]["normal"]["response"] == 120  # the rest are the defaults
    rows = legacy.execute(
        "SELECT work_order_id, minutes, due_at, outcome, done_at, breached_at, escalated_at"
        " FROM work_order_deadlines ORDER BY work_order_id"
    )

    def moment(value):
        if value is None:
            return None
        value = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return value.replace(tzinfo=None).strftime("%H:%M")

    assert [
        (row["work_order_id"], row["minutes"], moment(row["due_at"]), row["outcome"], moment(row["done_at"]))
        for row in rows
    ] == [
        (1, 20, "01:20", None, None),  # the open order keeps its deadline, the sweep watches it
        (2, 15, "00:50", "missed", None),
        (3, 20, "01:20", "met", "01:05"),
        (4, 20, "01:20", "missed", "01:30"),
        (5, 20, "01:20", "void", "01:10"),
    ]
    # Already escalated by the old path: nothing of it is sent again.
    assert moment(rows[1]["breached_at"]) == moment(rows[1]["escalated_at"]) == "00:50"
    kept = legacy.execute("SELECT id, status, accepted_at FROM work_orders ORDER BY id")
    assert [(row["id"], row["status"]) for row in kept] == [(row[0], row[2]) for row in ORDERS]

    # The sweep now takes the open one: the dispatcher at its deadline, once.
    from jobs.work_orders import sweep_work_orders
    from operations.clock import frozen

    with legacy.app.app_context(), frozen(datetime(2026, 12, 1, 1, 21, tzinfo=UTC)):
        counts = sweep_work_orders()
        assert (counts["missed"], counts["escalated"]) == (1, 0)
        assert sweep_work_orders()["missed"] == 0
        db.session.remove()

    with legacy.app.app_context():  # and back: the emergency columns return with their values
        downgrade(revision=BEFORE)
    back = legacy.execute("SELECT id, respond_by, escalated_at FROM work_orders ORDER BY id")
    assert [(row["id"], moment(row["respond_by"]), moment(row["escalated_at"])) for row in back] == [
        (1, "01:20", None),
        (2, "00:50", "00:50"),
        (3, "01:20", None),
        (4, "01:20", None),
        (5, "01:20", None),
        (6, None, None),
    ]
