"""Live updates in Chromium: two tabs of the same manager; a clinician reports a fault through the
API, the worker writes the manager's notice, and both tabs show it without a reload — the bell's
count on one, the bell and the inbox list on the other. Marking read on one tab clears the other's."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from models import Role
from operations.clock import today_local


def bell_count(page):
    """The count on the header's 首页通知 bell (TDesign's badge around the button)."""
    return page.locator(".t-badge", has=page.get_by_test_id("notice-bell")).locator(".t-badge--circle")


def test_a_new_notice_shows_on_every_open_tab_without_a_reload(console, factory, client, wait_until, app):
    institution = factory.institution("示范市第一人民医院", departments=("设备科", "急诊科"))
    vendor = factory.accepted_vendor(institution, "迈瑞医疗服务部")
    device = factory.device(institution, name="多参数监护仪", department="急诊科", category="监护仪")
    today = today_local()
    factory.authorization(device, vendor, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365))
    manager = factory.manager(institution)
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王芳")

    console.sign_in(manager, path="/")
    first = console.page
    second = console.context.new_page()
    second.goto(console.url("/inbox"))
    expect(second.get_by_text("还没有通知")).to_be_visible()
    expect(bell_count(first)).to_have_count(0)
    # Both tabs hold their stream (the server counts them) before anything happens.
    from connections import live as live_redis
    from connections.redis import redis

    def streams_open() -> int:
        with app.app_context():
            return live_redis.open_slots(redis(), manager.id)

    wait_until(lambda: streams_open() == 2)

    reported = factory.api(client, clinician).post(
        "/api/v1/work-orders",
        json={
            "device_id": device.id,
            "contact_name": "王芳",
            "contact_methods": [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "血氧探头无读数，报警灯常亮",
        },
    )
    assert reported.status_code == 201, reported.get_json()
    number = reported.get_json()["number"]

    # No reload: the stream brings the notice to both tabs (the worker writes it within a second).
    expect(bell_count(first)).to_have_text("1")
    expect(bell_count(second)).to_have_text("1")
    expect(second.get_by_text(number).first).to_be_visible()
    console.shot("live-notice-bell")

    # Marking everything read on the second tab clears the first tab's bell.
    second.get_by_test_id("notice-bell").click()
    second.locator(".notice-head").get_by_text("全部标为已读").click()
    expect(bell_count(second)).to_have_count(0)
    expect(bell_count(first)).to_have_count(0)

    # Closing a tab gives its stream back at once.
    second.close()
    wait_until(lambda: streams_open() == 1)
