"""设备档案导入 above 2,000 rows: 202 and a job id, run on the real queue, progress and row errors
at GET /imports/<id>, all or nothing as the synchronous import."""

from __future__ import annotations

import io
import json

import pytest
from test_device_workbook import row, upload, workbook_bytes

from connections import redis as redis_connection
from jobs import device_imports
from jobs.runtime import make_worker
from models import AuditEntry, Device, Institution, Role, db


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "眼科"))
    manager = factory.manager(institution)
    return {"institution": institution, "manager": manager, "api": factory.api(client, manager), "factory": factory}


def drain(app) -> None:
    make_worker(app, simple=True).work(burst=True)


def device_count(app) -> int:
    with app.app_context():
        return db.session.query(Device).count()


def good_rows(count: int) -> list[list]:
    return [row(设备名称=f"输液泵{n}", 所属科室="口腔科" if n % 2 else "眼科", 序列号=f"SN{n}") for n in range(count)]


def test_a_workbook_above_two_thousand_rows_is_imported_on_the_queue(app, hospital):
    api = hospital["api"]
    answer = upload(api, workbook_bytes(good_rows(2001)))
    assert answer.status_code == 202, answer.get_json()
    queued = answer.get_json()
    assert queued["status"] == "queued" and queued["total"] == 2001 and queued["percent"] == 0
    assert device_count(app) == 0  # nothing yet: the worker does it
    waiting = api.get(f"/api/v1/imports/{queued['id']}").get_json()
    assert waiting["status"] == "queued" and waiting["stage_label"] == "排队中"

    drain(app)
    done = api.get(f"/api/v1/imports/{queued['id']}")
    assert done.status_code == 200
    body = done.get_json()
    assert body["status"] == "succeeded", body
    assert body["percent"] == 100 and body["stage_label"] == "导入成功"
    assert body["result"] == {"created": 2001, "updated": 0, "unchanged": 0}
    assert body["rows"] == []
    assert device_count(app) == 2001
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)).all()
        codes = sorted(db.session.scalars(db.select(Device.unique_code)))
        assert db.session.scalar(db.select(Institution.last_device_number)) == 2001
    assert actions == ["import_queued", "import"]
    assert codes[0] == "000001" and codes[-1] == "002001"


def test_two_thousand_rows_stay_synchronous(app, hospital):
    answer = upload(hospital["api"], workbook_bytes(good_rows(2000)))
    assert answer.status_code == 200
    assert answer.get_json() == {"created": 2000, "updated": 0, "unchanged": 0}


def test_one_bad_row_imports_nothing_and_is_listed(app, hospital):
    app.config["IMPORT_SYNC_MAX_ROWS"] = 3  # the same path as 2,000, with a small workbook
    try:
        rows = good_rows(5)
        rows[2] = row(设备名称="监护仪", 所属科室="手术室")  # no such department: sheet row 4
        rows[3] = row(设备名称="监护仪", 所属科室="眼科", 生产日期="去年")  # an unreadable date: row 5
        answer = upload(hospital["api"], workbook_bytes(rows))
        assert answer.status_code == 202
        drain(app)
        body = hospital["api"].get(f"/api/v1/imports/{answer.get_json()['id']}").get_json()
    finally:
        app.config["IMPORT_SYNC_MAX_ROWS"] = 2000
    assert body["status"] == "failed"
    assert body["message"] == "导入文件中有错误，未导入任何数据"
    assert [entry["row"] for entry in body["rows"]] == [4, 5]
    assert body["rows"][0]["reasons"] == ["所属科室“手术室”不存在"]
    assert body["rows"][1]["reasons"][0].startswith("生产日期：")
    assert device_count(app) == 0
    with app.app_context():
        assert db.session.scalar(db.select(Institution.last_device_number)) == 0


def test_only_the_importing_institutions_manager_reads_the_import(app, client, hospital):
    app.config["IMPORT_SYNC_MAX_ROWS"] = 1
    try:
        answer = upload(hospital["api"], workbook_bytes(good_rows(2)))
    finally:
        app.config["IMPORT_SYNC_MAX_ROWS"] = 2000
    import_id = answer.get_json()["id"]
    factory = hospital["factory"]
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"])
    assert factory.api(client, engineer).get(f"/api/v1/imports/{import_id}").status_code == 403
    other = factory.manager(factory.institution("医疗机构测试2", departments=("眼科",)))
    assert factory.api(client, other).get(f"/api/v1/imports/{import_id}").status_code == 404
    vendor_admin = factory.user(Role.VENDOR_ADMIN, vendor=factory.vendor("服务商测试1"))
    assert factory.api(client, vendor_admin).get(f"/api/v1/imports/{import_id}").status_code == 403
    assert hospital["api"].get("/api/v1/imports/0123456789abcdef01234567").status_code == 404
    # Another manager of the same institution may follow it (the import is the institution's).
    colleague = factory.manager(hospital["institution"])
    assert factory.api(client, colleague).get(f"/api/v1/imports/{import_id}").status_code == 200
    drain(app)


def test_an_import_whose_worker_died_reads_as_failed(app, hospital):
    app.config["IMPORT_SYNC_MAX_ROWS"] = 1
    try:
        import_id = upload(hospital["api"], workbook_bytes(good_rows(2))).get_json()["id"]
    finally:
        app.config["IMPORT_SYNC_MAX_ROWS"] = 2000
    with app.app_context():
        key = device_imports.KEY.format(import_id)
        state = json.loads(redis_connection.redis().get(key))
        state.update(status="running", stage="save", percent=70, updated_at="2020-01-01T00:00:00+00:00")
        redis_connection.redis().set(key, json.dumps(state))
        redis_connection.redis().delete("rq:queue:default")  # the job went with the worker
    body = hospital["api"].get(f"/api/v1/imports/{import_id}").get_json()
    assert body["status"] == "failed"
    assert "导入已中断" in body["message"]
    assert device_count(app) == 0


def test_the_progress_is_kept_in_redis_with_an_expiry(app, hospital):
    app.config["IMPORT_SYNC_MAX_ROWS"] = 1
    try:
        import_id = upload(hospital["api"], workbook_bytes(good_rows(2))).get_json()["id"]
    finally:
        app.config["IMPORT_SYNC_MAX_ROWS"] = 2000
    with app.app_context():
        ttl = redis_connection.redis().ttl(device_imports.KEY.format(import_id))
    assert 0 < ttl <= 24 * 3600
    drain(app)


def test_a_non_manager_cannot_start_one(client, hospital):
    factory = hospital["factory"]
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"])
    form = {"file": (io.BytesIO(workbook_bytes(good_rows(1))), "设备.xlsx")}
    answer = factory.api(client, engineer).post("/api/v1/devices/import", data=form, content_type="multipart/form-data")
    assert answer.status_code == 403


def test_an_import_whose_job_failed_before_it_began_reads_as_failed(app, hospital):
    app.config["IMPORT_SYNC_MAX_ROWS"] = 1
    try:
        import_id = upload(hospital["api"], workbook_bytes(good_rows(2))).get_json()["id"]
    finally:
        app.config["IMPORT_SYNC_MAX_ROWS"] = 2000
    assert hospital["api"].get(f"/api/v1/imports/{import_id}").get_json()["status"] == "queued"
    with app.app_context():
        redis_connection.redis().delete(f"rq:job:{device_imports.JOB_ID.format(import_id)}")
    body = hospital["api"].get(f"/api/v1/imports/{import_id}").get_json()
    assert body["status"] == "failed"
    assert "导入已中断" in body["message"]


def test_an_import_that_committed_but_lost_its_last_progress_reads_as_succeeded(app, hospital):
    """The rows committed, then the worker died (or Redis blinked) before it could say so: the
    import must not tell the manager that nothing was imported (a second import would duplicate
    every device). The 操作日志 row committed with the rows carries the import's id."""
    app.config["IMPORT_SYNC_MAX_ROWS"] = 1
    try:
        import_id = upload(hospital["api"], workbook_bytes(good_rows(3))).get_json()["id"]
    finally:
        app.config["IMPORT_SYNC_MAX_ROWS"] = 2000
    drain(app)
    assert device_count(app) == 3
    key = device_imports.KEY.format(import_id)
    with app.app_context():
        state = json.loads(redis_connection.redis().get(key))
        state.update(status="running", stage="save", percent=99, result=None, updated_at="2020-01-01T00:00:00+00:00")
        redis_connection.redis().set(key, json.dumps(state))
    body = hospital["api"].get(f"/api/v1/imports/{import_id}").get_json()
    assert body["status"] == "succeeded"
    assert body["result"]["created"] == 3
