"""0019 adds a device's 附件 and 转科记录: the devices of 0016 keep every value and their department,
get no transfer row (their history starts with their first move), and move and take files at once."""

from __future__ import annotations

from models import AttachmentCategory, Device, DeviceAttachment, User, db
from operations.actors import Actor
from operations.clock import today_local
from operations.device_attachments import add_attachment, list_attachments
from operations.device_transfers import list_transfers, transfer_device
from operations.uploads import Upload

NOW = "2026-12-01 00:00:00"
PDF = b"%PDF-1.4\n%%EOF\n"


def test_0016_devices_upgrade_with_no_history_and_take_moves_and_files(legacy_database):
    legacy = legacy_database("0016_device_record_documents")
    for sql in (
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 2, :now)",
        "INSERT INTO departments (id, institution_id, name, created_at) VALUES (1, 1, '口腔科', :now),"
        " (2, 1, 'CT室', :now)",
        "INSERT INTO users (id, username, password_hash, display_name, role, institution_id, is_active, token_version,"
        " created_at) VALUES (1, 'zhangsan', 'x', '张三', 'equipment_manager', 1, TRUE, 1, :now)",
        "INSERT INTO devices (id, institution_id, unique_code, link_token, archive_status, name, department_id,"
        " model, search_text, created_at, updated_at) VALUES"
        " (1, 1, '000001', 'tok1', 'in_archive', '监护仪', 1, 'M-1', '监护仪', :now, :now),"
        " (2, 1, '000002', 'tok2', 'suspended', '呼吸机', 2, NULL, '呼吸机', :now, :now)",
        "INSERT INTO device_records (id, institution_id, device_id, kind, performed_on, summary, created_by_id,"
        " created_at) VALUES (1, 1, 1, 'metrology', '2026-11-01', '年度计量合格', 1, :now)",
    ):
        legacy.execute(sql, {"now": NOW})

    legacy.upgrade()

    devices = legacy.execute(
        "SELECT id, unique_code, name, department_id, model, archive_status FROM devices ORDER BY id"
    )
    assert devices == [
        {
            "id": 1,
            "unique_code": "000001",
            "name": "监护仪",
            "department_id": 1,
            "model": "M-1",
            "archive_status": "in_archive",
        },
        {
            "id": 2,
            "unique_code": "000002",
            "name": "呼吸机",
            "department_id": 2,
            "model": None,
            "archive_status": "suspended",
        },
    ]
    assert legacy.execute("SELECT summary FROM device_records") == [{"summary": "年度计量合格"}]
    assert legacy.execute("SELECT count(*) AS n FROM device_transfers") == [{"n": 0}]
    assert legacy.execute("SELECT count(*) AS n FROM device_attachments") == [{"n": 0}]

    with legacy.app.app_context():
        manager = Actor.of(db.session.get(User, 1))
        assert list_transfers(manager, 1) == []
        done = transfer_device(manager, 1, to_department_id=2, moved_on=today_local(), reason="科室调整")
        add_attachment(
            manager, 1, Upload("说明书.pdf", "application/pdf", PDF), category=AttachmentCategory.MANUAL, title="说明书"
        )
        db.session.commit()
        assert (done.record.from_department_id, done.record.to_department_id) == (1, 2)
        assert db.session.get(Device, 1).department_id == 2
        assert [(a.title, a.size) for a in list_attachments(manager, 1)] == [("说明书", len(PDF))]
        assert db.session.scalar(db.select(db.func.count()).select_from(DeviceAttachment)) == 1
