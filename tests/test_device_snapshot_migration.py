"""0022 stores work orders' device snapshots as JSONB on PostgreSQL: the orders of 0021 come through
with the same snapshots (nested values, Chinese, nulls, an empty one), read by the lists and the
models as before, and go back to JSON text on a downgrade; SQLite's text is left as it was."""

from __future__ import annotations

import json

from flask_migrate import downgrade

from models import User, WorkOrder, db
from operations.actors import Actor
from operations.work_orders import orders as work_orders

NOW = "2026-12-05 08:00:00"
SNAPSHOTS = {
    1: {
        "id": 1,
        "unique_code": "000001",
        "name": "输液泵",
        "model": "Medfusion 3500",
        "brand": "史密斯",
        "department": "重症医学科",
        "installed_on": None,
        "warranty_ends_on": "2027-06-30",
        "extra": {"udi": ["(01)069", "(17)270630"], "quote": 'a "b" \\ c'},
    },
    2: {},
}


def _fill(legacy) -> None:
    for sql in (
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 1, :now)",
        "INSERT INTO departments (id, institution_id, name, created_at) VALUES (1, 1, '重症医学科', :now)",
        "INSERT INTO users (id, username, password_hash, display_name, role, institution_id, is_active,"
        " token_version, created_at) VALUES (1, 'gongcheng', 'x', '工程师', 'institution_engineer', 1, TRUE, 1, :now)",
        "INSERT INTO devices (id, institution_id, unique_code, link_token, archive_status, name, category,"
        " department_id, search_text, created_at, updated_at)"
        " VALUES (1, 1, '000001', 'tok', 'in_archive', '输液泵', '输液泵', 1, '', :now, :now)",
    ):
        legacy.execute(sql, {"now": NOW})
    legacy.execute(
        "INSERT INTO work_orders (id, institution_id, device_id, kind, urgency, status, reporter_id, department_id,"
        " contact_name, contact_methods, device_snapshot, created_at, updated_at) VALUES (:id, 1, 1, 'repair',"
        " 'normal', 'pending', 1, 1, '张三', '[]', :snapshot, :now, :now)",
        [
            {"id": order_id, "snapshot": json.dumps(snapshot, ensure_ascii=False), "now": NOW}
            for order_id, snapshot in SNAPSHOTS.items()
        ],
    )


def _column_type(legacy) -> str | None:
    found = legacy.execute(
        "SELECT data_type FROM information_schema.columns"
        " WHERE table_name = 'work_orders' AND column_name = 'device_snapshot'"
    )
    return found[0]["data_type"] if found else None


def _snapshots(legacy) -> dict[int, dict]:
    rows = legacy.execute("SELECT id, device_snapshot FROM work_orders ORDER BY id")
    # SQLite gives the JSON as text, PostgreSQL's driver as objects
    return {
        row["id"]: json.loads(row["device_snapshot"])
        if isinstance(row["device_snapshot"], str)
        else row["device_snapshot"]
        for row in rows
    }


def test_orders_keep_their_device_snapshots_through_0022_and_back(legacy_database):
    legacy = legacy_database("0021_checklist_items")
    postgres = legacy.app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    _fill(legacy)

    legacy.upgrade()

    assert _snapshots(legacy) == SNAPSHOTS
    if postgres:
        assert _column_type(legacy) == "jsonb"
    with legacy.app.app_context():
        assert db.session.get(WorkOrder, 1).device_snapshot == SNAPSHOTS[1]
        engineer = Actor.of(db.session.get(User, 1))
        lines = work_orders.queue_lines_of(engineer)  # the list reads the name from the snapshot
        assert [(line.id, line.device_name) for line in lines] == [(1, "输液泵"), (2, None)]
        db.session.remove()

    with legacy.app.app_context():
        downgrade(revision="0021_checklist_items")
    assert _snapshots(legacy) == SNAPSHOTS
    if postgres:
        assert _column_type(legacy) == "json"
