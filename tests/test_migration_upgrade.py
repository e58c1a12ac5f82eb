"""Upgrading the last release's database keeps its data (see conftest.LegacyDatabase)."""

from sqlalchemy import inspect

from models import db


def test_the_last_release_upgrades_to_head_with_its_rows(legacy_database):
    legacy = legacy_database()
    legacy.execute(
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 0, :now)",
        {"now": "2026-11-01 00:00:00"},
    )
    legacy.upgrade()
    rows = legacy.execute("SELECT id, name FROM institutions")
    assert rows == [{"id": 1, "name": "医院甲"}]
    with legacy.app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"institutions", "users", "alert_plans", "work_orders", "subscribe_consents"} <= tables
