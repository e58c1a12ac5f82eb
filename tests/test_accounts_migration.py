"""0009 upgrades the last release's accounts and organisations: departments keep their order,
institutions and vendors stay in use, the 设备类型 list starts from what devices and engineers
use, and a mobile shared by active accounts stays with the oldest one, the others' given up in the
操作日志 for the manager to see."""

from __future__ import annotations

from sqlalchemy import select

from models import AuditEntry, db
from operations.accounts import authenticate

NOW = "2026-12-01 00:00:00"
# werkzeug's hash of "weixiu123": the last release's accounts sign in as before.
PASSWORD = "weixiu123"


def test_the_last_release_accounts_upgrade_without_loss(legacy_database):
    from werkzeug.security import generate_password_hash

    legacy = legacy_database()  # the last release: 0008
    password_hash = generate_password_hash(PASSWORD)
    legacy.execute(
        "INSERT INTO institutions (id, name, last_device_number, created_at) VALUES"
        " (1, '医院甲', 2, :now), (2, '医院乙', 1, :now)",
        {"now": NOW},
    )
    legacy.execute(
        "INSERT INTO departments (id, institution_id, name, created_at) VALUES"
        " (3, 1, '设备科', :now), (1, 1, '口腔科', :now), (2, 2, 'CT室', :now)",
        {"now": NOW},
    )
    legacy.execute("INSERT INTO vendors (id, name, created_at) VALUES (1, '服务商甲', :now)", {"now": NOW})
    users = [
        # id, username, role, institution, vendor, phone, active
        (1, "zhangsan", "equipment_manager", 1, None, "13800000001", True),
        (2, "lisi", "clinician", 1, None, "13800000001", True),  # the same mobile, a later account
        (3, "wangwu", "institution_engineer", 2, None, "13800000001", True),  # and another hospital's
        (4, "zhaoliu", "clinician", 1, None, "13800000001", False),  # inactive: keeps it
        (5, "sungong", "vendor_engineer", None, 1, "13900000002", True),
        (6, "ligong", "institution_engineer", 1, None, "13800000003", True),
    ]
    for user_id, username, role, institution_id, vendor_id, phone, active in users:
        legacy.execute(
            "INSERT INTO users (id, username, password_hash, display_name, phone, role, institution_id, vendor_id,"
            " is_active, token_version, wechat_following, created_at)"
            " VALUES (:id, :username, :hash, :username, :phone, :role, :institution, :vendor, :active, 1, TRUE, :now)",
            {
                "id": user_id,
                "username": username,
                "hash": password_hash,
                "phone": phone,
                "role": role,
                "institution": institution_id,
                "vendor": vendor_id,
                "active": active,
                "now": NOW,
            },
        )
    for device_id, institution_id, code, category, department_id in [
        (1, 1, "000001", "高压注射器", 1),
        (2, 1, "000002", "高压注射器", 1),
        (3, 2, "000001", "CT", 2),
        (4, 1, "000003", None, 3),
    ]:
        legacy.execute(
            "INSERT INTO devices (id, institution_id, unique_code, link_token, archive_status, name, department_id,"
            " category, search_text, created_at, updated_at) VALUES (:id, :institution, :code, :token, 'in_archive',"
            " '设备', :department, :category, '', :now, :now)",
            {
                "id": device_id,
                "institution": institution_id,
                "code": code,
                "token": f"token{device_id}",
                "department": department_id,
                "category": category,
                "now": NOW,
            },
        )
    legacy.execute(
        "INSERT INTO engineer_skills (user_id, category) VALUES (6, '电刀'), (6, '高压注射器'), (5, '呼吸机')"
    )

    legacy.upgrade()

    assert legacy.execute("SELECT id, name, is_active, deactivated_at FROM institutions ORDER BY id") == [
        {"id": 1, "name": "医院甲", "is_active": True, "deactivated_at": None},
        {"id": 2, "name": "医院乙", "is_active": True, "deactivated_at": None},
    ]
    # Departments keep the order they were listed in (by id), all in use.
    rows = legacy.execute(
        "SELECT name, sort_order, is_active FROM departments WHERE institution_id = 1 ORDER BY sort_order"
    )
    assert [(row["name"], bool(row["is_active"])) for row in rows] == [("口腔科", True), ("设备科", True)]
    # The 设备类型 list: each institution's device categories and its own engineers' skills.
    types = legacy.execute(
        "SELECT institution_id, name, sort_order FROM device_types ORDER BY institution_id, sort_order"
    )
    assert [(row["institution_id"], row["name"]) for row in types] == [(1, "电刀"), (1, "高压注射器"), (2, "CT")]
    assert legacy.execute("SELECT id, credit_code FROM vendors") == [{"id": 1, "credit_code": None}]
    # One active account per mobile: the oldest keeps it; an inactive account is not in the way.
    phones = {row["id"]: row["phone"] for row in legacy.execute("SELECT id, phone FROM users")}
    assert phones == {1: "13800000001", 2: None, 3: None, 4: "13800000001", 5: "13900000002", 6: "13800000003"}
    with legacy.app.app_context():
        released = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.entity_id)))
        assert [(entry.entity_id, entry.institution_id, entry.changes) for entry in released] == [
            (2, 1, {"phone": ["13800000001", None]}),
            (3, 2, {"phone": ["13800000001", None]}),
        ]
        assert {(entry.actor_id, entry.actor_name, entry.edge.value) for entry in released} == {
            (None, "系统", "system")
        }
        # Accounts sign in as before, and are activated (they have a password).
        user = authenticate("lisi", PASSWORD)
        assert user.is_activated and user.deactivated_at is None
        db.session.remove()
