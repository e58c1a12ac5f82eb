"""0021 upgrades the plans and orders of 0016 (through 0017 to 0020), whose checklists are lists of
strings: each string becomes a check item with the same label, in the same order, nothing lost; an order without a
checklist keeps none; the 设备类型 list gains an empty template, and an order raised afterwards from
an upgraded plan carries the converted items."""

from __future__ import annotations

import json

from models import Device, ServicePlan, db
from operations.service_plans.checklists import resolve_checklist

NOW = "2026-12-01 00:00:00"
PLAN_ITEMS = ["外观检查", "电气安全检测（接地电阻 ≤0.2Ω）", "功能测试"]
ORDER_ITEMS = ["外观检查", "功能测试"]


def check(label: str) -> dict:
    return {"label": label, "kind": "check", "unit": None, "lower": None, "upper": None, "photo_required": False}


def test_0016_plans_and_orders_keep_their_checklists_as_check_items(legacy_database):
    legacy = legacy_database("0016_device_record_documents")
    for sql, params in (
        ("INSERT INTO institutions (id, name, last_device_number, created_at) VALUES (1, '医院甲', 1, :now)", {}),
        ("INSERT INTO departments (id, institution_id, name, created_at) VALUES (1, 1, '口腔科', :now)", {}),
        (
            "INSERT INTO device_types (id, institution_id, name, sort_order, created_at)"
            " VALUES (1, 1, '注射泵', 1, :now)",
            {},
        ),
        (
            "INSERT INTO users (id, username, password_hash, display_name, role, institution_id, is_active,"
            " token_version, created_at) VALUES (1, 'zhangsan', 'x', '张三', 'equipment_manager', 1, TRUE, 1, :now)",
            {},
        ),
        (
            "INSERT INTO devices (id, institution_id, unique_code, link_token, archive_status, name, category,"
            " department_id, search_text, created_at, updated_at)"
            " VALUES (1, 1, '000001', 'tok', 'in_archive', '高压注射器', '注射泵', 1, '', :now, :now)",
            {},
        ),
        (
            "INSERT INTO service_plans (id, institution_id, device_id, kind, interval_count, interval_unit, lead_days,"
            " anchor, anchor_day, checklist, status, next_due_on, last_due_on, created_at, updated_at) VALUES"
            " (:id, 1, 1, :kind, 1, 'month', 7, 'schedule', 31, :checklist, 'active', '2027-02-28', '2027-01-31',"
            " :now, :now)",
            [
                {"id": 1, "kind": "maintenance", "checklist": json.dumps(PLAN_ITEMS, ensure_ascii=False)},
                {"id": 2, "kind": "metrology", "checklist": "[]"},
            ],
        ),
        (
            "INSERT INTO work_orders (id, institution_id, device_id, kind, urgency, status, reporter_id,"
            " department_id, contact_name, contact_methods, device_snapshot, service_plan_id, plan_due_on, checklist,"
            " created_at, updated_at) VALUES (:id, 1, 1, :kind, 'normal', 'pending', :reporter, 1, '张三', '[]',"
            " '{}', :plan, :due, :checklist, :now, :now)",
            [
                {
                    "id": 1,
                    "kind": "maintenance",
                    "reporter": None,
                    "plan": 1,
                    "due": "2027-01-31",
                    "checklist": json.dumps(ORDER_ITEMS, ensure_ascii=False),
                },
                {"id": 2, "kind": "repair", "reporter": 1, "plan": None, "due": None, "checklist": None},
            ],
        ),
    ):
        if isinstance(params, list):
            legacy.execute(sql, [row | {"now": NOW} for row in params])
        else:
            legacy.execute(sql, {"now": NOW})

    legacy.upgrade()

    plans = {row["id"]: row["checklist"] for row in legacy.execute("SELECT id, checklist FROM service_plans")}
    orders = {row["id"]: row["checklist"] for row in legacy.execute("SELECT id, checklist FROM work_orders")}
    loaded = {key: json.loads(value) if isinstance(value, str) else value for key, value in plans.items()}
    assert loaded == {1: [check(label) for label in PLAN_ITEMS], 2: []}
    order_items = {key: json.loads(value) if isinstance(value, str) else value for key, value in orders.items()}
    assert order_items == {1: [check(label) for label in ORDER_ITEMS], 2: None}
    assert legacy.execute("SELECT checklist FROM device_types") == [{"checklist": None}]
    assert legacy.execute("SELECT count(*) AS n FROM calibration_certificates") == [{"n": 0}]
    with legacy.app.app_context():
        plan, device = db.session.get(ServicePlan, 1), db.session.get(Device, 1)
        assert resolve_checklist(plan, device) == [check(label) for label in PLAN_ITEMS]
        assert resolve_checklist(db.session.get(ServicePlan, 2), device) == []  # no override, no template
        db.session.remove()
