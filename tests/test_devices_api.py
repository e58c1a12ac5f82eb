"""设备档案 through the PC API: create, edit, detail, list, and the bad input each refuses."""

from __future__ import annotations

import pytest

from models import Role


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "CT室", "MR室"))
    manager = factory.manager(institution)
    return {
        "institution": institution,
        "departments": factory.departments(institution),
        "api": factory.api(client, manager),
        "factory": factory,
        "client": client,
    }


def create(api, **fields):
    return api.post("/api/v1/devices", json=fields)


def device_count(api) -> int:
    return api.get("/api/v1/devices").get_json()["total"]


def test_create_assigns_unique_codes_in_sequence_and_keeps_every_form_field(hospital):
    api, departments = hospital["api"], hospital["departments"]
    assert api.post("/api/v1/device-types", json={"name": "电外科设备"}).status_code == 201
    full = {
        "name": "法国赛特力高频电刀",
        "department_id": departments["口腔科"],
        "category": "电外科设备",
        "model": "25升MOST-T",
        "asset_code": "011",
        "unit": "台(套)",
        "brand": "赛特力",
        "origin": "法国",
        "manufacturer": "赛特力医疗",
        "serial_number": "SN-0001",
        "warranty_type": "原厂保修",
        "udi": "(01)06901234567892",
        "manufactured_on": "2020-01-15",
        "warranty_ends_on": "2025-01-14",
        "purchased_on": "2020-03-01",
        "installed_on": "2020-03-20",
        "metrology_method": "外检",
        "maintenance_method": "季度保养",
        "description": "口腔科主用电刀",
    }
    first = create(api, **full)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["unique_code"] == "000001"
    for field, value in full.items():
        assert body[field] == value, field
    assert body["department"] == "口腔科"
    assert body["archive_status"] == "in_archive" and body["archive_status_label"] == "在档"
    assert body["link_url"].startswith("https://weixiu.test/d/")

    second = create(api, name="电动吸引器 (斯曼峰)", department_id=departments["口腔科"])
    assert second.get_json()["unique_code"] == "000002"
    detail = api.get(f"/api/v1/devices/{body['id']}").get_json()
    assert detail == body


def test_a_given_unique_code_moves_the_sequence_past_it(hospital):
    api, departments = hospital["api"], hospital["departments"]
    assert create(api, name="A", department_id=departments["CT室"], unique_code="000036").status_code == 201
    assert create(api, name="B", department_id=departments["CT室"]).get_json()["unique_code"] == "000037"
    duplicate = create(api, name="C", department_id=departments["CT室"], unique_code="000036")
    assert duplicate.status_code == 409
    assert "000036" in duplicate.get_json()["error"]["message"]
    # Named on its field, so the form shows it beside 唯一码 and not only as a toast.
    assert duplicate.get_json()["error"]["fields"] == {"unique_code": "唯一码 000036 已存在"}
    assert device_count(api) == 2


def test_unique_codes_are_per_institution(hospital, factory, client):
    other = factory.institution("医疗机构测试2")
    other_api = factory.api(client, factory.manager(other))
    other_department = factory.departments(other)["口腔科"]
    create(hospital["api"], name="A", department_id=hospital["departments"]["CT室"])
    response = create(other_api, name="A", department_id=other_department)
    assert response.get_json()["unique_code"] == "000001"


def test_edit_changes_fields_and_keeps_code_and_link(hospital):
    api, departments = hospital["api"], hospital["departments"]
    created = create(api, name="高压注射器", department_id=departments["CT室"]).get_json()
    response = api.patch(
        f"/api/v1/devices/{created['id']}",
        # The whole form comes back: its 所属科室 unchanged (a move is a 转科: test_device_transfers).
        json={"name": "高压注射器 (新)", "department_id": departments["CT室"], "archive_status": "suspended"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "高压注射器 (新)"
    assert body["department"] == "CT室"
    assert body["archive_status_label"] == "停用"
    assert body["unique_code"] == created["unique_code"]
    assert body["link_url"] == created["link_url"]
    # 唯一码 is printed on stickers: it cannot be edited.
    assert api.patch(f"/api/v1/devices/{created['id']}", json={"unique_code": "999999"}).status_code == 422


def test_list_searches_filters_and_paginates(hospital):
    api, departments = hospital["api"], hospital["departments"]
    for i in range(12):
        create(api, name=f"高压注射器{i}", model="Spectris Solaris EP", department_id=departments["MR室"])
    for i in range(3):
        create(api, name="电动吸引器", model="YX9300", department_id=departments["口腔科"], serial_number=f"ab_{i}")

    page1 = api.get("/api/v1/devices").get_json()
    assert page1["total"] == 15 and page1["per_page"] == 10 and len(page1["items"]) == 10
    assert page1["items"][0]["unique_code"] == "000015"  # newest first, as in the guide
    page2 = api.get("/api/v1/devices?page=2").get_json()
    assert len(page2["items"]) == 5
    assert api.get("/api/v1/devices?page=3").status_code == 404

    assert api.get("/api/v1/devices?q=solaris").get_json()["total"] == 12
    assert api.get("/api/v1/devices?q=注射").get_json()["total"] == 12
    assert api.get("/api/v1/devices?q=yx9300").get_json()["total"] == 3
    assert api.get("/api/v1/devices?q=000015").get_json()["total"] == 1
    # LIKE wildcards in a keyword are literal.
    assert api.get("/api/v1/devices?q=ab_").get_json()["total"] == 3
    assert api.get("/api/v1/devices?q=%25").get_json()["total"] == 0
    by_department = api.get(f"/api/v1/devices?department_id={departments['口腔科']}").get_json()
    assert by_department["total"] == 3
    assert {item["department"] for item in by_department["items"]} == {"口腔科"}
    assert api.get("/api/v1/devices?per_page=100").get_json()["total"] == 15


def test_a_keyword_matching_more_than_the_cap_reports_the_cap_and_still_pages(hospital, monkeypatch):
    from operations import devices as device_operations

    monkeypatch.setattr(device_operations, "SEARCH_TOTAL_CAP", 5)
    api, departments = hospital["api"], hospital["departments"]
    for i in range(12):
        create(api, name=f"高压注射器{i}", model="Spectris Solaris EP", department_id=departments["MR室"])
    for _ in range(3):
        create(api, name="电动吸引器", model="YX9300", department_id=departments["口腔科"])

    for keyword in ("注射", "射", "solaris", "Solaris EP"):  # gram index (PostgreSQL), trigrams, LIKE
        body = api.get(f"/api/v1/devices?q={keyword}&per_page=5").get_json()
        assert (body["total"], body["total_capped"], len(body["items"])) == (5, True, 5), keyword
        # Newest first as without a cap, and every match is still reachable page by page.
        pages = [api.get(f"/api/v1/devices?q={keyword}&per_page=5&page={n}").get_json() for n in (1, 2, 3)]
        codes = [item["unique_code"] for page in pages for item in page["items"]]
        assert codes == [f"{n:06d}" for n in range(12, 0, -1)], keyword
        assert api.get(f"/api/v1/devices?q={keyword}&per_page=5&page=4").status_code == 404

    # Below the cap, with filters, and without a keyword the total is exact.
    exact = api.get("/api/v1/devices?q=yx&per_page=5").get_json()
    assert (exact["total"], exact["total_capped"]) == (3, False)
    assert api.get("/api/v1/devices?q=器").get_json()["total"] == 5  # 12 + 3 match: capped at 5
    filtered = api.get(f"/api/v1/devices?q=器&department_id={departments['口腔科']}").get_json()
    assert (filtered["total"], filtered["total_capped"]) == (3, False)
    everything = api.get("/api/v1/devices").get_json()
    assert (everything["total"], everything["total_capped"]) == (15, False)
    # The export of a capped search still holds every match.
    workbook = api.get("/api/v1/devices/export.xlsx?q=注射")
    assert workbook.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(workbook.data), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 12


def test_short_keywords_match_exactly_what_like_matches(hospital):
    """1–2 character keywords take the gram index on PostgreSQL: same answers as LIKE, spaces,
    upper case and the LIKE wildcards included (the edge trims a keyword: " 护" is "护")."""
    api, departments = hospital["api"], hospital["departments"]
    for name, model in (("多参数监护仪", "BeneView T5"), ("注射泵", "a_b"), ("监 护", "X 5"), ("输液泵", "50%")):
        assert create(api, name=name, model=model, department_id=departments["CT室"]).status_code == 201
    expected = {"监护": 1, "监": 2, "泵": 2, "T5": 1, "t": 1, " 护": 2, "监 护": 1, "_": 1, "%": 1, "0%": 1, "护仪": 1}
    expected["无"] = 0
    for keyword, total in expected.items():
        body = api.get("/api/v1/devices", query_string={"q": keyword}).get_json()
        assert (body["total"], body["total_capped"]) == (total, False), keyword


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("per_page=101", "per_page"),
        ("per_page=-1", "per_page"),
        ("department_id=x", "department_id"),
        ("archive_status=lost", "archive_status"),
        ("outsourced=maybe", "outsourced"),
        ("q=" + "长" * 101, "q"),
    ],
)
def test_list_rejects_bad_query_parameters(hospital, query, field):
    response = hospital["api"].get(f"/api/v1/devices?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"department_id": 1}, "name", "必填"),
        ({"name": "  "}, "name", "必填"),
        ({"name": "A", "department_id": "1"}, "department_id", "应为整数"),
        ({"name": "A", "department_id": 1, "colour": "red"}, "colour", "不支持的字段"),
        ({"name": "A" * 101, "department_id": 1}, "name", "最多 100 个字符"),
        ({"name": "A", "department_id": 1, "installed_on": "2020-13-01"}, "installed_on", "不是有效的日期"),
        ({"name": "A", "department_id": 1, "installed_on": "20200101"}, "installed_on", "日期格式应为 YYYY-MM-DD"),
        ({"name": "A", "department_id": 1, "archive_status": "gone"}, "archive_status", "取值应为"),
        ({"name": "A\x00", "department_id": 1}, "name", "控制字符"),
        ({"name": "A", "department_id": 1, "unique_code": "00 1"}, "unique_code", "唯一码"),
    ],
)
def test_create_rejects_bad_fields_in_chinese_and_writes_nothing(hospital, payload, field, reason):
    if payload.get("department_id") == 1:
        payload["department_id"] = hospital["departments"]["CT室"]
    response = create(hospital["api"], **payload)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert reason in error["fields"][field]
    assert device_count(hospital["api"]) == 0


def test_malformed_bodies_are_4xx_not_500(hospital):
    api = hospital["api"]
    not_json = api.post("/api/v1/devices", data="name=A", content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 422
    broken = api.post("/api/v1/devices", data="{not json", content_type="application/json")
    assert broken.status_code == 422 and broken.get_json()["error"]["fields"]["body"] == "JSON 格式错误"
    array = api.post("/api/v1/devices", json=[1, 2])
    assert array.status_code == 422
    assert device_count(api) == 0


def test_department_of_another_institution_is_refused(hospital, factory):
    other = factory.institution("医疗机构测试2")
    foreign_department = factory.departments(other)["口腔科"]
    response = create(hospital["api"], name="A", department_id=foreign_department)
    assert response.status_code == 404
    assert device_count(hospital["api"]) == 0


def test_only_managers_write_the_archive(hospital, factory, client):
    engineer = factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"]))
    clinician = factory.api(client, factory.user(Role.CLINICIAN, institution=hospital["institution"]))
    department = hospital["departments"]["CT室"]
    assert create(engineer, name="A", department_id=department).status_code == 403
    assert create(clinician, name="A", department_id=department).status_code == 403
    created = create(hospital["api"], name="A", department_id=department).get_json()
    assert engineer.get(f"/api/v1/devices/{created['id']}").status_code == 200
    assert engineer.patch(f"/api/v1/devices/{created['id']}", json={"name": "B"}).status_code == 403
    # A clinician's PC has 工单 and 首页通知 only (test_console_role_access).
    assert clinician.get(f"/api/v1/devices/{created['id']}").status_code == 403


def test_unknown_and_foreign_ids_are_404(hospital, factory, client):
    other = factory.institution("医疗机构测试2")
    foreign = factory.device(other)
    api = hospital["api"]
    assert api.get("/api/v1/devices/999999").status_code == 404
    assert api.get(f"/api/v1/devices/{foreign.id}").status_code == 404
    assert api.patch(f"/api/v1/devices/{foreign.id}", json={"name": "x"}).status_code == 404


def test_sign_in_and_tokens(hospital, client, factory):
    manager = factory.manager(hospital["institution"])
    wrong = client.post("/api/v1/session", json={"username": manager.username, "password": "nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["message"] == "用户名或密码错误"
    assert client.post("/api/v1/session", json={"username": "nobody", "password": "x"}).status_code == 401
    assert client.get("/api/v1/devices").status_code == 401
    assert client.get("/api/v1/devices", headers={"Authorization": "Bearer forged.token"}).status_code == 401
    api = factory.api(client, manager)
    assert api.get("/api/v1/me").get_json()["role"] == "equipment_manager"
    assert api.delete("/api/v1/session").status_code == 204
    assert api.get("/api/v1/me").status_code == 401  # signed out everywhere


def test_departments(hospital, factory, client):
    api = hospital["api"]
    assert [d["name"] for d in api.get("/api/v1/departments").get_json()["items"]] == ["口腔科", "CT室", "MR室"]
    assert api.post("/api/v1/departments", json={"name": "眼科"}).status_code == 201
    assert api.post("/api/v1/departments", json={"name": "眼科"}).status_code == 409
    vendor = factory.vendor()
    vendor_api = factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=vendor))
    assert vendor_api.get("/api/v1/departments").status_code == 403


def test_a_read_ends_its_transaction_in_a_commit_and_a_refused_one_in_a_rollback(app, hospital):
    """A GET's read transaction ends in COMMIT, not the pool's ROLLBACK (psycopg forgets the
    connection's prepared statements at every rollback); one the view refuses is rolled back."""
    from test_read_transactions import transaction_ends

    api = hospital["api"]
    create(api, name="输液泵", department_id=hospital["departments"]["口腔科"])
    with transaction_ends(app) as ends:
        listed = api.get("/api/v1/devices", query_string={"q": "输液"})
        read_ends, ends[:] = list(ends), []
        missing = api.get("/api/v1/devices/999999")
    assert listed.status_code == 200 and listed.get_json()["total"] == 1
    assert read_ends == ["commit"]
    assert missing.status_code == 404 and ends == ["rollback"]
