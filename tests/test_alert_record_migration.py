"""0008 upgrades the last release's alert history: every alert message gets the day it is for
(from its key), so 发送记录 and last_sent_on read the old rows as they read new ones."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from models import AlertDroppedDay, db
from operations.alerts.plans import delivery_summaries

NOW = "2026-12-01 00:00:00"


def test_the_last_release_alert_messages_get_their_day_and_keep_their_deliveries(legacy_database):
    legacy = legacy_database("0006_wechat_identities")
    legacy.execute(
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 0, :now)",
        {"now": NOW},
    )
    legacy.execute(
        "INSERT INTO users (id, username, password_hash, display_name, role, institution_id, is_active,"
        " token_version, wechat_following, created_at)"
        " VALUES (1, 'zhangsan', 'x', '张三', 'equipment_manager', 1, TRUE, 0, TRUE, :now)",
        {"now": NOW},
    )
    legacy.execute(
        "INSERT INTO credentials (id, institution_id, kind, valid_until, warn_days, send_time, created_by_id,"
        " created_at, updated_at)"
        " VALUES (1, 1, 'operation_certificate', '2026-12-10', 3, '08:00:00', 1, :now, :now)",
        {"now": NOW},
    )
    legacy.execute(
        "INSERT INTO alert_plans (id, institution_id, subject, credential_id, due_on, warn_days, send_time,"
        " channel_inbox, channel_sms, channel_wechat, notify_related, template, status, next_run_at,"
        " last_occurrence_on, created_at, updated_at)"
        " VALUES (1, 1, 'credential', 1, '2026-12-10', 3, '08:00:00', TRUE, TRUE, FALSE, TRUE, '[设备名称]', 'active',"
        " '2026-12-09 00:00:00', '2026-12-08', :now, :now)",
        {"now": NOW},
    )
    messages = [
        (1, "alert:1:20261207", 1, "2026-12-07 00:00:00"),
        (2, "alert:1:20261208", 1, "2026-12-08 00:00:00"),
        (3, "work_order:5:9:wechat", None, "2026-12-08 01:00:00"),
    ]
    for message_id, key, plan_id, created_at in messages:
        legacy.execute(
            "INSERT INTO outbox_messages (id, key, alert_plan_id, topic, title, body, payload, created_at)"
            " VALUES (:id, :key, :plan, 'alert.reminder', '设备操作证即将到期', '…', '{}', :at)",
            {"id": message_id, "key": key, "plan": plan_id, "at": created_at},
        )
    # 12-07: both sent; 12-08: the SMS failed, the inbox one sent.
    for delivery_id, message_id, channel, status in [
        (1, 1, "inbox", "sent"),
        (2, 1, "sms", "sent"),
        (3, 2, "inbox", "sent"),
        (4, 2, "sms", "failed"),
        (5, 3, "wechat", "sent"),
    ]:
        legacy.execute(
            "INSERT INTO deliveries (id, message_id, recipient_id, channel, status, attempts, next_attempt_at,"
            " created_at) VALUES (:id, :message, 1, :channel, :status, 1, :now, :now)",
            {"id": delivery_id, "message": message_id, "channel": channel, "status": status, "now": NOW},
        )

    legacy.upgrade()

    rows = legacy.execute("SELECT id, key, occurrence_on FROM outbox_messages ORDER BY id")
    assert [(row["id"], row["key"], str(row["occurrence_on"]) if row["occurrence_on"] else None) for row in rows] == [
        (1, "alert:1:20261207", "2026-12-07"),
        (2, "alert:1:20261208", "2026-12-08"),
        (3, "work_order:5:9:wechat", None),
    ]
    assert len(legacy.execute("SELECT id FROM deliveries")) == 5
    with legacy.app.app_context():
        summary = delivery_summaries([1])[1]
        assert summary.last_sent_on == date(2026, 12, 8)
        assert summary.counts == {"sent": 3, "failed": 1}
        assert db.session.scalar(select(func.count()).select_from(AlertDroppedDay)) == 0
        db.session.remove()
