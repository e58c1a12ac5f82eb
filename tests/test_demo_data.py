"""The demo data of the reference guides, loaded by the CLI command as the embedded run does."""

from __future__ import annotations

from operations.demo_data import DEMO_PASSWORD


def test_load_demo_command_loads_the_guides_world_once(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["load-demo"])
    assert result.exit_code == 0 and "demo data loaded" in result.output
    again = runner.invoke(args=["load-demo"])
    assert "nothing loaded" in again.output

    token = client.post("/api/v1/session", json={"username": "zhangsan", "password": DEMO_PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/devices?per_page=20", headers=headers).get_json()
    assert [item["unique_code"] for item in listed["items"]] == [f"0000{n}" for n in range(36, 26, -1)]
    assert listed["items"][0]["name"] == "法国赛特力高频电刀"
    assert listed["items"][0]["vendors"] == ["服务商测试1"]
    departments = {item["name"] for item in client.get("/api/v1/departments", headers=headers).get_json()["items"]}
    assert {"口腔科", "CT室", "MR室", "影像中心", "PETMR室", "眼科"} <= departments

    device_035 = next(item for item in listed["items"] if item["unique_code"] == "000035")
    history = client.get(f"/api/v1/devices/{device_035['id']}/authorizations", headers=headers).get_json()["items"]
    assert [(h["starts_on"], h["ends_on"], h["warn_days"], h["state"]) for h in history] == [
        ("2021-12-30", "2026-01-30", 18, "expired")
    ]

    vendor = client.post("/api/v1/session", json={"username": "fuwushang1", "password": DEMO_PASSWORD}).get_json()
    vendor_headers = {"Authorization": f"Bearer {vendor['token']}"}
    seen = client.get("/api/v1/devices", headers=vendor_headers).get_json()
    assert [item["unique_code"] for item in seen["items"]] == ["000036"]
    new = client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "检眼镜", "department_id": listed["items"][0]["department_id"]},
    )
    assert new.get_json()["unique_code"] == "000037"


def test_the_demo_is_in_the_operation_log_as_loaded_by_the_operator(app, client):
    assert app.test_cli_runner().invoke(args=["load-demo"]).exit_code == 0
    token = client.post("/api/v1/session", json={"username": "zhangsan", "password": DEMO_PASSWORD}).get_json()["token"]
    rows = client.get("/api/v1/audit-log?per_page=100", headers={"Authorization": f"Bearer {token}"}).get_json()
    story = [(row["actor_name"], row["edge_label"], row["entity_type"], row["action"]) for row in rows["items"]][::-1]
    assert story[:3] == [
        ("平台运维", "平台运维", "institution", "create"),
        ("张三", "平台运维", "user", "activate"),
        ("张三", "平台运维", "department", "create"),
    ]
    assert ("赵经理", "平台运维", "invitation", "accept") in story
    assert ("王医生", "平台运维", "work_order", "create") in story
    assert {edge for _, edge, _, _ in story} == {"平台运维"}  # the loader, never 系统 for a person's step
