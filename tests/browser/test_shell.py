"""Sign-in, the shell by role, the notice bell and the inbox, sign-out — in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from models.user import Role


def test_a_manager_signs_in_sees_the_office_menu_and_returns_to_the_page_they_asked_for(console, factory):
    institution = factory.institution()
    manager = factory.manager(institution)
    page = console.page

    console.open("/inbox?unread=true")
    expect(page).to_have_url(console.url("/login?redirect=/inbox?unread=true"))
    console.shot("sign-in")
    page.get_by_placeholder("请输入用户名").fill(manager.username)
    page.get_by_placeholder("请输入密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("用户名或密码错误")).to_be_visible()

    console.sign_in(manager, path="/inbox?unread=true")
    expect(page).to_have_url(console.url("/inbox?unread=true"))
    nav = page.locator(".side-nav")
    expect(nav).to_contain_text("首页")
    expect(nav).to_contain_text("首页通知")
    console.shot("shell-manager")


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.VENDOR_ENGINEER])
def test_a_clinician_or_a_vendor_engineer_gets_work_orders_and_notices_only(console, factory, role):
    institution = factory.institution()
    if role is Role.CLINICIAN:
        person = factory.user(role, institution=institution, display_name="王医生")
    else:
        person = factory.user(role, vendor=factory.accepted_vendor(institution), display_name="赵工")
    page = console.page

    console.sign_in(person, path="/")
    # No 首页 for them: the console opens on 工单, and the whole menu, in order, is two entries.
    expect(page).to_have_url(console.url("/work-orders"))
    expect(page.locator(".side-nav .t-menu__item")).to_have_text(["工单", "首页通知"])
    console.shot(f"shell-{role.value}")
    console.open("/inbox")
    expect(page.get_by_text("还没有通知")).to_be_visible()
    # The office's pages, typed in, say so rather than show anything.
    for path in ("/devices", "/stats", "/staff"):
        console.open(path)
        expect(page.get_by_text("无权访问")).to_be_visible()


def test_signing_out_ends_the_session_and_a_401_returns_to_sign_in(console, factory):
    institution = factory.institution()
    manager = factory.manager(institution)
    page = console.page

    console.sign_in(manager, path="/inbox")
    page.get_by_test_id("user-menu").click()
    page.get_by_text("退出登录").click()
    expect(page).to_have_url(console.url("/login"))
    console.open("/inbox")
    expect(page).to_have_url(console.url("/login?redirect=/inbox"))
