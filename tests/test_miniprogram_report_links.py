"""The mini-program's 报修 under an Idempotency-Key (a repeat answers the same order, a race too)
and the photos it shows through short-lived signed links (an `<image>` sends no bearer header)."""

from __future__ import annotations

import io
import types

import itsdangerous.timed
from sqlalchemy import func, select

from miniprogram_api.work_order_views import photo_url
from models import WorkOrder, WorkOrderEvent, db
from operations.work_orders import photo_links
from tests import test_miniprogram_work as work
from tests.test_miniprogram_work import CONTACTS, PNG

world = work.world  # the fixture: an institution, its vendor, a device, bound phones

BODY = {"kind": "repair", "urgency": "urgent", "contact_name": "王医生", "contact_methods": CONTACTS}


def send(world, key=None, **fields):
    headers = {"Idempotency-Key": key} if key is not None else {}
    body = {"device_token": world["device"].link_token, **BODY, "fault_description": "屏幕不亮", **fields}
    return world["mp"]["clinician"].post("/work-orders", json=body, headers=headers)


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(WorkOrder)),
            db.session.scalar(select(func.count()).select_from(WorkOrderEvent)),
        )


def test_a_repeated_report_answers_the_same_order(app, world):
    first = send(world, "draft-3f9c2a71")
    assert first.status_code == 201, first.get_json()
    before = counts(app)
    again = send(world, "draft-3f9c2a71")
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["number"] == first.get_json()["number"]
    assert counts(app) == before  # no second order, no second 受理 event or notice
    other = send(world, "draft-77aa01b2")
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    assert send(world).status_code == 201  # without a key, every send is a new order


def test_the_key_is_each_reporters_own(app, world):
    mine = send(world, "shared-key-0001")
    manager = world["mp"]["manager"].post(
        "/work-orders",
        json={"device_token": world["device"].link_token, **BODY, "fault_description": "无法开机"},
        headers={"Idempotency-Key": "shared-key-0001"},
    )
    assert manager.status_code == 201, manager.get_json()
    assert manager.get_json()["id"] != mine.get_json()["id"]


def test_a_bad_key_is_refused_in_chinese_and_changes_nothing(app, world):
    before = counts(app)
    for key in ("short", "x" * 65, "has space 123", "引号'\"<>123"):
        response = send(world, key)
        assert response.status_code == 422, key
        assert "请求标识" in response.get_json()["error"]["fields"]["Idempotency-Key"]
    # a refused body under a key leaves the key free for the corrected send
    assert send(world, "fix-later-0001", urgency="whenever").status_code == 422
    assert counts(app) == before
    assert send(world, "fix-later-0001").status_code == 201


def test_a_twin_that_loses_the_race_answers_the_winners_order(app, world):
    """Two sends with one key past the first look-up: the unique (reporter, key) decides."""
    from operations.work_orders import orders

    first = send(world, "racing-key-01").get_json()
    real = orders.order_for_key
    calls = []

    def blind_first_time(actor, key):  # the twin looked before the winner committed
        calls.append(key)
        return None if len(calls) == 1 else real(actor, key)

    orders.order_for_key = blind_first_time
    try:
        twin = send(world, "racing-key-01")
    finally:
        orders.order_for_key = real
    assert twin.status_code == 200, twin.get_json()
    assert twin.get_json()["id"] == first["id"]
    assert len(calls) == 2


def test_photos_are_shown_through_signed_links_that_expire(app, world, monkeypatch):
    clinician = world["mp"]["clinician"]
    order = send(world, "photo-order-01").get_json()
    uploaded = clinician.post(
        f"/work-orders/{order['id']}/photos",
        data={"file": (io.BytesIO(PNG), "a.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    link = uploaded.get_json()["url"]
    assert link.startswith("/mp/v1/photo-links/")
    # no bearer header, as an <image> asks
    image = clinician.client.get(link)
    assert image.status_code == 200 and image.data == PNG and image.mimetype == "image/png"
    assert "max-age=600" in image.headers["Cache-Control"]
    detail = clinician.get(f"/work-orders/{order['id']}").get_json()
    assert clinician.client.get(detail["photos"][0]["url"]).data == PNG

    # A link signed eleven minutes ago has expired: said in Chinese; the detail signs a fresh one.
    # (the detail's signing, with the clock 11 minutes back: the session's own token would not
    # pass under that clock, so the link is signed as the view signs it)
    real_time = itsdangerous.timed.time
    monkeypatch.setattr(itsdangerous.timed, "time", types.SimpleNamespace(time=lambda: real_time.time() - 660))
    with app.test_request_context():
        stale = photo_url(order["id"], detail["photos"][0]["id"])
    monkeypatch.setattr(itsdangerous.timed, "time", real_time)
    expired = clinician.client.get(stale)
    assert expired.status_code == 404
    assert expired.get_json()["error"]["message"] == photo_links.EXPIRED
    fresh = clinician.get(f"/work-orders/{order['id']}").get_json()["photos"][0]["url"]
    assert clinician.client.get(fresh).status_code == 200


def test_a_forged_or_foreign_link_shows_nothing(app, world):
    clinician = world["mp"]["clinician"]
    order = send(world, "photo-order-02").get_json()
    link = clinician.post(
        f"/work-orders/{order['id']}/photos",
        data={"file": (io.BytesIO(PNG), "a.png", "image/png")},
        content_type="multipart/form-data",
    ).get_json()["url"]
    token = link.rsplit("/", 1)[1]
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x", "a" * 600):
        response = clinician.client.get(f"/mp/v1/photo-links/{bad}")
        assert response.status_code == 404
        assert response.get_json()["error"]["message"] == photo_links.MISSING
    # signed with another secret (another deployment): refused
    foreign = photo_links.photo_token(order["id"], 1, "not-our-secret")
    assert clinician.client.get(f"/mp/v1/photo-links/{foreign}").status_code == 404
    # a well-signed link to a photo of another order names nothing
    with app.app_context():
        crossed = photo_links.photo_token(order["id"] + 999, 1, app.config["SECRET_KEY"])
    assert clinician.client.get(f"/mp/v1/photo-links/{crossed}").get_json()["error"]["message"] == "照片不存在"


def test_the_openapi_document_names_the_key_and_the_repeat(app, client):
    create = client.get("/mp/v1/openapi.json").get_json()["paths"]["/mp/v1/work-orders"]["post"]
    header = next(parameter for parameter in create["parameters"] if parameter["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert {"200", "201"} <= set(create["responses"])
    assert create["responses"]["200"]["content"] == create["responses"]["201"]["content"]
    links = client.get("/mp/v1/openapi.json").get_json()["paths"]["/mp/v1/photo-links/{token}"]["get"]
    assert "image/png" in links["responses"]["200"]["content"] and not links.get("security")
