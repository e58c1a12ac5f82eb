"""Upgrading the last release's database keeps its data (see conftest.LegacyDatabase)."""

from datetime import UTC, datetime

from sqlalchemy import inspect

from models import db
from operations import outbox


def test_the_last_release_upgrades_to_head_with_its_rows(legacy_database):
    legacy = legacy_database("0006_wechat_identities")
    legacy.execute(
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 0, :now)",
        {"now": "2026-11-01 00:00:00"},
    )
    legacy.upgrade()
    rows = legacy.execute("SELECT id, name FROM institutions")
    assert rows == [{"id": 1, "name": "医院甲"}]
    with legacy.app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"institutions", "users", "alert_plans", "work_orders", "subscribe_consents", "channel_states"} <= tables


def test_consents_keep_the_app_they_came_from(legacy_database):
    """0007 keys consents by app. The last release's rows came from the mini-program's
    POST /subscriptions (always from a signed-in identity) or from the official account's webhook
    (anyone): an openid with a wechat_identities row is the mini-program's, any other the official
    account's."""
    from flask_migrate import downgrade

    from models import WeChatApp
    from operations.subscribe_consents import use_consent

    legacy = legacy_database("0006_wechat_identities")
    now = "2026-11-20 08:00:00"
    legacy.execute(
        "INSERT INTO wechat_identities (id, miniprogram_openid, token_version, created_at) "
        "VALUES (1, 'mp-nurse', 1, :now)",
        {"now": now},
    )
    consents = [
        ("mp-nurse", "mp-alert", "reject", 0),
        ("mp-nurse", "mp-work-order", "accept", 2),
        ("oa-nurse", "oa-notice", "accept", 1),
    ]
    legacy.execute(
        "INSERT INTO subscribe_consents (openid, template_id, status, remaining, updated_at) "
        "VALUES (:openid, :template_id, :status, :remaining, :now)",
        [dict(zip(("openid", "template_id", "status", "remaining"), row, strict=True), now=now) for row in consents],
    )
    legacy.upgrade()
    rows = legacy.execute(
        "SELECT app, openid, template_id, status, remaining FROM subscribe_consents ORDER BY openid, template_id"
    )
    assert [tuple(row.values()) for row in rows] == [
        ("miniprogram", "mp-nurse", "mp-alert", "reject", 0),
        ("miniprogram", "mp-nurse", "mp-work-order", "accept", 2),
        ("official_account", "oa-nurse", "oa-notice", "accept", 1),
    ]
    with legacy.app.app_context():
        # The mini-program's subscribe messages spend only the mini-program's consents.
        assert use_consent(WeChatApp.MINIPROGRAM, "mp-nurse", "mp-work-order") is True
        assert use_consent(WeChatApp.MINIPROGRAM, "oa-nurse", "oa-notice") is False
        db.session.rollback()
        db.session.remove()

    with legacy.app.app_context():  # and back again, the rows kept
        downgrade(revision="0006_wechat_identities")
    rows = legacy.execute(
        "SELECT openid, template_id, status, remaining FROM subscribe_consents ORDER BY openid, template_id"
    )
    assert [tuple(row.values()) for row in rows] == consents


def test_deliveries_keep_their_rows_and_state_through_0010(legacy_database):
    """0010 adds deliveries.unconfirmed_since: a pending delivery claimed by a job, and a sent one,
    come through as they were, with no unknown outcome."""
    legacy = legacy_database("0009_accounts")
    now = "2026-12-05 01:30:00"
    legacy.execute(
        "INSERT INTO outbox_messages (id, key, topic, title, body, payload, created_at) "
        "VALUES (1, 'alert:1:20261205', 'alert.reminder', '提醒', '正文', '{}', :now)",
        {"now": now},
    )
    legacy.execute(
        "INSERT INTO deliveries (id, message_id, recipient_id, channel, status, attempts, next_attempt_at, "
        "enqueued_at, claimed_until, provider_id, created_at, finished_at) VALUES "
        "(1, 1, 7, 'wechat', 'pending', 1, :now, :now, :now, NULL, :now, NULL), "
        "(2, 1, 7, 'sms', 'sent', 1, :now, :now, NULL, 'biz-1', :now, :now)",
        {"now": now},
    )
    legacy.upgrade()
    rows = legacy.execute(
        "SELECT id, channel, status, attempts, provider_id, unconfirmed_since, claimed_until IS NOT NULL AS claimed "
        "FROM deliveries ORDER BY id"
    )
    assert [tuple(row.values()) for row in rows] == [
        (1, "wechat", "pending", 1, None, None, True),
        (2, "sms", "sent", 1, "biz-1", None, False),
    ]


def test_institutions_and_deliveries_come_through_0014_with_the_default_threshold(legacy_database):
    """0014 adds 汇总提醒: each institution gets the threshold 3, and no delivery is carried by a
    digest, so what was pending still goes on its own."""
    legacy = legacy_database("0013_channel_states")
    now = "2026-12-07 00:00:00"
    legacy.execute(
        "INSERT INTO institutions (id, name, last_device_number, is_active, created_at) "
        "VALUES (1, '医院甲', 0, TRUE, :now), (2, '医院乙', 0, FALSE, :now)",
        {"now": now},
    )
    legacy.execute(
        "INSERT INTO outbox_messages (id, key, topic, title, body, payload, created_at) "
        "VALUES (1, 'alert:1:20261207', 'alert.reminder', '提醒', '正文', '{}', :now)",
        {"now": now},
    )
    legacy.execute(
        "INSERT INTO deliveries (id, message_id, recipient_id, channel, status, attempts, next_attempt_at, "
        "created_at) VALUES (1, 1, 7, 'sms', 'pending', 0, :now, :now), (2, 1, 7, 'inbox', 'sent', 1, :now, :now)",
        {"now": now},
    )
    legacy.upgrade()
    assert legacy.execute("SELECT id, name, alert_digest_threshold FROM institutions ORDER BY id") == [
        {"id": 1, "name": "医院甲", "alert_digest_threshold": 3},
        {"id": 2, "name": "医院乙", "alert_digest_threshold": 3},
    ]
    rows = legacy.execute("SELECT id, status, digest_id FROM deliveries ORDER BY id")
    assert [tuple(row.values()) for row in rows] == [(1, "pending", None), (2, "sent", None)]
    with legacy.app.app_context():
        (claimed,) = outbox.claim(datetime(2026, 12, 7, 0, 1, tzinfo=UTC), message_ids=[1])
        assert claimed.id == 1


def test_0014_upgrades_with_its_work_orders_and_alert_plans(legacy_database):
    """0015 lets a planned order have no reporter and gives alert plans a third subject: the rows of
    0014 keep their reporter and subject, and the new subject check still holds them."""
    legacy = legacy_database("0014_alert_digests")
    now = "2026-12-01 00:00:00"
    for sql in (
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 1, :now)",
        "INSERT INTO departments (id, institution_id, name, created_at) VALUES (1, 1, '口腔科', :now)",
        "INSERT INTO users (id, username, password_hash, display_name, role, institution_id, is_active, token_version,"
        " created_at) VALUES (1, 'zhangsan', 'x', '张三', 'equipment_manager', 1, TRUE, 1, :now)",
        "INSERT INTO devices (id, institution_id, unique_code, link_token, archive_status, name, department_id,"
        " search_text, created_at, updated_at)"
        " VALUES (1, 1, '000001', 'tok', 'in_archive', '监护仪', 1, '', :now, :now)",
        "INSERT INTO work_orders (id, institution_id, device_id, kind, urgency, status, reporter_id, department_id,"
        " contact_name, contact_methods, device_snapshot, created_at, updated_at) VALUES (1, 1, 1, 'repair',"
        " 'normal', 'pending', 1, 1, '张三', '[]', '{}', :now, :now)",
    ):
        legacy.execute(sql, {"now": now})
    legacy.upgrade()
    rows = legacy.execute("SELECT reporter_id, contact_id, service_plan_id, plan_due_on FROM work_orders")
    assert rows == [{"reporter_id": 1, "contact_id": None, "service_plan_id": None, "plan_due_on": None}]
    assert legacy.execute("SELECT count(*) AS n FROM service_plans") == [{"n": 0}]
    assert legacy.execute("SELECT phone FROM departments") == [{"phone": None}]


def test_0016_upgrades_with_its_parts(legacy_database):
    """0017 asks a part's origin, validity and the replaced part's fate: parts recorded before keep
    every value and have none, and the report prints no empty columns for them."""
    legacy = legacy_database("0016_device_record_documents")
    now = "2026-12-04 00:00:00"
    for sql in (
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 1, :now)",
        "INSERT INTO departments (id, institution_id, name, created_at) VALUES (1, 1, '口腔科', :now)",
        "INSERT INTO users (id, username, password_hash, display_name, role, institution_id, is_active, token_version,"
        " created_at) VALUES (1, 'liu', 'x', '刘工', 'engineer', 1, TRUE, 1, :now)",
        "INSERT INTO devices (id, institution_id, unique_code, link_token, archive_status, name, department_id,"
        " search_text, created_at, updated_at)"
        " VALUES (1, 1, '000001', 'tok', 'in_archive', '监护仪', 1, '', :now, :now)",
        "INSERT INTO work_orders (id, institution_id, device_id, kind, urgency, status, reporter_id, department_id,"
        " contact_name, contact_methods, device_snapshot, created_at, updated_at) VALUES (1, 1, 1, 'repair',"
        " 'normal', 'on_site', 1, 1, '刘工', '[]', '{}', :now, :now)",
        "INSERT INTO work_order_parts (id, work_order_id, name, model, serial_number, quantity, note, added_by_id,"
        " added_at) VALUES (1, 1, '电源板', 'PB-2', 'SN1', 2, '原装', 1, :now)",
    ):
        legacy.execute(sql, {"now": now})
    legacy.upgrade()
    rows = legacy.execute(
        "SELECT name, model, serial_number, quantity, note, origin, valid_until, replaced_part FROM work_order_parts"
    )
    assert rows == [
        {
            "name": "电源板",
            "model": "PB-2",
            "serial_number": "SN1",
            "quantity": 2,
            "note": "原装",
            "origin": None,
            "valid_until": None,
            "replaced_part": None,
        }
    ]
