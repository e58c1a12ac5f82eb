"""0018 gives every device a 运行状态: 正常运行, or the state its last completed service report left
it in (with a period from that report's completion, so downtime counts from then); every other
value of the previous release's rows stays."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from models import Device, DeviceStatePeriod, db
from models.work_order import DeviceCondition

NOW = "2026-12-01 00:00:00"


def test_0016_upgrades_and_each_device_takes_the_state_of_its_last_report(legacy_database):
    legacy = legacy_database("0016_device_record_documents")
    for sql in (
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 4, :now)",
        "INSERT INTO departments (id, institution_id, name, created_at) VALUES (1, 1, '口腔科', :now)",
        "INSERT INTO users (id, username, password_hash, display_name, role, institution_id, is_active, token_version,"
        " created_at) VALUES (1, 'zhangsan', 'x', '张三', 'equipment_manager', 1, TRUE, 1, :now)",
    ):
        legacy.execute(sql, {"now": NOW})
    for device_id, name in ((1, "监护仪"), (2, "呼吸机"), (3, "注射泵"), (4, "检眼镜")):
        legacy.execute(
            "INSERT INTO devices (id, institution_id, unique_code, link_token, archive_status, name, department_id,"
            " search_text, created_at, updated_at)"
            " VALUES (:id, 1, :code, :token, 'in_archive', :name, 1, :search, :now, :now)",
            {
                "id": device_id,
                "code": f"00000{device_id}",
                "token": f"tok{device_id}",
                "name": name,
                "search": name,
                "now": NOW,
            },
        )
    # 1: 停用待修 after 正常运行 (the last one counts); 2: 停用待修, then repaired (正常运行);
    # 3: 建议报废, plus an open order without a report; 4: no order at all.
    orders = [
        (1, 1, "normal", "2026-11-01 02:00:00"),
        (2, 1, "out_of_service", "2026-11-20 03:30:00"),
        (3, 2, "out_of_service", "2026-11-02 02:00:00"),
        (4, 2, "normal", "2026-11-03 02:00:00"),
        (5, 3, "scrap_suggested", "2026-11-10 06:00:00"),
        (6, 3, None, None),
    ]
    for order_id, device_id, condition, completed_at in orders:
        legacy.execute(
            "INSERT INTO work_orders (id, institution_id, device_id, kind, urgency, status, reporter_id, department_id,"
            " contact_name, contact_methods, device_snapshot, device_condition, completed_at, created_at, updated_at)"
            " VALUES (:id, 1, :device, 'repair', 'normal', :status, 1, 1, '张三', '[]', '{}', :condition, :completed,"
            " :now, :now)",
            {
                "id": order_id,
                "device": device_id,
                "status": "completed" if completed_at else "pending",
                "condition": condition,
                "completed": completed_at,
                "now": NOW,
            },
        )

    legacy.upgrade()

    rows = legacy.execute("SELECT id, name, running_state, archive_status FROM devices ORDER BY id")
    assert [tuple(row.values()) for row in rows] == [
        (1, "监护仪", "out_of_service", "in_archive"),
        (2, "呼吸机", "normal", "in_archive"),
        (3, "注射泵", "scrap_suggested", "in_archive"),
        (4, "检眼镜", "normal", "in_archive"),
    ]
    assert len(legacy.execute("SELECT id FROM work_orders")) == 6
    with legacy.app.app_context():
        periods = db.session.scalars(select(DeviceStatePeriod).order_by(DeviceStatePeriod.device_id)).all()
        assert [(p.device_id, p.state, p.started_at, p.ended_at, p.source.value, p.work_order_id) for p in periods] == [
            (1, DeviceCondition.OUT_OF_SERVICE, datetime(2026, 11, 20, 3, 30, tzinfo=UTC), None, "migration", 2),
            (3, DeviceCondition.SCRAP_SUGGESTED, datetime(2026, 11, 10, 6, 0, tzinfo=UTC), None, "migration", 5),
        ]
        # A new device (the ORM, no value given) starts 正常运行 too.
        assert db.session.get(Device, 4).running_state is DeviceCondition.NORMAL
