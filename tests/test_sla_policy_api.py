"""服务时限 policy through the PC API: the manager's GET / PUT /institution-settings/sla (every
figure, checked, in the 操作日志), the contract's override on an authorization (some figures,
the rest inherited), and which figures a newly reported order gets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Authorization, db
from operations.clock import today_local
from operations.work_orders import sla_policy
from tests.test_work_orders_api import create, world  # noqa: F401 - fixture

SLA = "/api/v1/institution-settings/sla"


def defaults() -> dict:
    return sla_policy.as_json(sla_policy.resolve(None)["targets"])


def minutes(order: dict) -> list[int]:
    return [row["minutes"] for row in order["sla"]]


def test_the_manager_reads_and_sets_the_policy_and_new_orders_follow_it(world):  # noqa: F811
    manager = world["api"]["manager"]
    shown = manager.get(SLA).get_json()
    assert shown["customized"] is False and shown["targets"] == shown["defaults"] == defaults()
    assert shown["escalate_after_minutes"] == 30
    before = create(world, urgency="urgent")  # 紧急维修 by the defaults: 30 min, 4 h, 1 day

    targets = defaults()
    targets["repair"]["urgent"] = {"response": 20, "arrival": 180, "completion": 720}
    saved = manager.put(SLA, json={"targets": targets, "escalate_after_minutes": 60})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["customized"] is True and saved.get_json()["escalate_after_minutes"] == 60

    after = create(world, urgency="urgent")
    assert minutes(after) == [20, 180, 720]
    assert minutes(world["api"]["manager"].get(f"/api/v1/work-orders/{before['id']}").get_json()) == [30, 240, 1440]
    log = next(
        item
        for item in manager.get("/api/v1/audit-log?per_page=10").get_json()["items"]
        if item["entity_type"] == "institution"
    )
    changed = {line["label"]: (line.get("before"), line["after"]) for line in log["change_lines"]}
    assert changed["服务时限·维修·紧急·响应（分钟）"] == ("30", "20")
    assert changed["服务时限·超时后升级至设备科（分钟）"] == ("30", "60")


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"repair": {"normal": {"response": 0}}}, "targets.repair.normal.response", "1 到"),
        ({"repair": {"normal": {"response": "2h"}}}, "targets.repair.normal.response", "整数"),
        ({"metrology": {"downtime": {"completion": None}}}, "targets.metrology.downtime.completion", "请填写"),
        ({"repair": {"normal": {"response": 2000}}}, "targets.repair.normal", "响应 ≤ 到场 ≤ 完成"),
    ],
)
def test_bad_figures_are_refused_with_the_cell_named(world, change, field, words):  # noqa: F811
    targets = defaults()
    for kind, by_urgency in change.items():
        for urgency, cells in by_urgency.items():
            targets[kind][urgency] |= cells
    answer = world["api"]["manager"].put(SLA, json={"targets": targets, "escalate_after_minutes": 30})
    assert answer.status_code == 422
    assert words in answer.get_json()["error"]["fields"][field]
    assert world["api"]["manager"].get(SLA).get_json()["customized"] is False  # nothing changed


def test_only_the_equipment_manager_reads_or_sets_it(world):  # noqa: F811
    for who in ("clinician", "admin", "engineer", "in_house"):
        assert world["api"][who].get(SLA).status_code == 403
        assert world["api"][who].put(SLA, json={"targets": defaults(), "escalate_after_minutes": 30}).status_code == 403


def test_an_authorizations_contract_overrides_some_figures_for_its_orders(world, app):  # noqa: F811
    with app.app_context():
        authorization_id = db.session.scalar(
            db.select(Authorization.id).where(Authorization.device_id == world["device"].id)
        )
    today = today_local()
    terms = {
        "starts_on": (today - timedelta(days=30)).isoformat(),
        "ends_on": (today + timedelta(days=365)).isoformat(),
        "scopes": ["repair"],
        "warn_enabled": False,
    }
    manager = world["api"]["manager"]
    bad = manager.put(
        f"/api/v1/authorizations/{authorization_id}",
        json=terms | {"sla_targets": {"repair": {"downtime": {"response": -5}}}},
    )
    assert bad.status_code == 422 and "sla_targets.repair.downtime.response" in bad.get_json()["error"]["fields"]

    contract = {"repair": {"downtime": {"response": 10, "arrival": None, "completion": 240}}}
    saved = manager.put(f"/api/v1/authorizations/{authorization_id}", json=terms | {"sla_targets": contract})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["sla_targets"]["repair"]["downtime"] == {"response": 10, "arrival": None, "completion": 240}
    order = create(world, urgency="downtime")  # routed through the authorization
    assert order["vendor"] == "服务商测试1" and minutes(order) == [10, 120, 240]  # 到场 from the hospital's

    cleared = manager.put(f"/api/v1/authorizations/{authorization_id}", json=terms | {"sla_targets": None})
    assert cleared.get_json()["sla_targets"] is None
    assert minutes(create(world, urgency="downtime")) == [15, 120, 480]
