"""Binding in the mini-program and following the official account is enough for template messages
(as the certificate guide tells people to do), when both apps are bound to one 开放平台 account:
the follow event carries no unionid; once the webhook has answered, a job looks it up (user/info)
and links the follower to the account whose mini-program identity has it. Without a unionid
nothing is linked; with WeChat slow or down the job tries again later. The welcome never waits.

李工 signs in to the mini-program (its login code carries his unionid when the 开放平台 binds the
apps), binds with a PC bind code over /mp/v1, then follows the official account as `oa-li`; a
new work order on a device his vendor services is then sent by a real worker.
"""

from __future__ import annotations

from datetime import date

import pytest
from rq.registry import ScheduledJobRegistry
from test_bot_webhook import OfficialAccount, bind_code_for
from test_miniprogram_session import sign_in
from test_subscribe_messages import at, create_order, drain

from jobs.queues import BULK, job_queues
from jobs.runtime import make_worker
from models import Role, User, db
from simulators import wechat as wx_api

TEMPLATE_SEND = "/cgi-bin/message/template/send"
UNIONID = "u-li-0001"


@pytest.fixture
def cast(app, factory, client, wechat_sim):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    li = factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="李工", phone="13900000003")
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    device = factory.device(institution, name="高压注射器")
    factory.authorization(device, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31))
    # The same person in both apps: one unionid, an openid per app.
    wechat_sim.state.set_user("oa-li", unionid=UNIONID)
    phone = sign_in(client, wechat_sim, "mp-li", unionid=UNIONID)
    bound = phone.post("/bind", json={"bind_code": bind_code_for(app, li)})
    assert bound.status_code == 200, bound.get_json()
    return {"people": {"clinician": clinician}, "device": device, "ids": {"li": li.id}}


def official_binding(app, user_id: int) -> tuple[str | None, bool]:
    with app.app_context():
        user = db.session.get(User, user_id)
        result = (user.wechat_openid, user.wechat_following)
        db.session.remove()
    return result


def template_messages_to(wechat_sim, openid: str) -> list[dict]:
    return [r.payload["body"] for r in wechat_sim.state.records(TEMPLATE_SEND) if r.payload["body"]["touser"] == openid]


def follow(client, app) -> str:
    """李工 follows; the webhook answers, then the queue runs what the follow left for it."""
    reply = OfficialAccount(client, safe=True).event("oa-li", "subscribe")
    with app.app_context():
        make_worker(app, simple=True).work(burst=True)
    return reply


def test_following_after_binding_in_the_mini_program_is_enough(app, client, cast, wechat_sim):
    assert "欢迎关注微修" in follow(client, app)
    assert official_binding(app, cast["ids"]["li"]) == ("oa-li", True)
    assert {r.payload["openid"] for r in wechat_sim.state.records(wx_api.USER_INFO)} == {"oa-li"}

    order_id = create_order(app, cast, at(9, 0))
    drain(app, at(9, 0))
    (sent,) = template_messages_to(wechat_sim, "oa-li")
    assert sent["miniprogram"]["pagepath"] == f"pages/work-orders/detail?id={order_id}"


def test_without_a_unionid_the_follower_is_not_linked(app, client, cast, wechat_sim):
    wechat_sim.state.bind_open_platform()  # the two apps are not bound to one 开放平台 account
    assert "欢迎关注微修" in follow(client, app)
    assert official_binding(app, cast["ids"]["li"]) == (None, True)
    create_order(app, cast, at(9, 0))
    drain(app, at(9, 0))
    assert template_messages_to(wechat_sim, "oa-li") == []


@pytest.mark.parametrize("fault", [{"status": 502}, {"delay": 6}, {"errcode": -1}], ids=["down", "slow", "busy"])
def test_wechat_failing_the_lookup_is_tried_again_later(app, client, cast, wechat_sim, fault):
    wechat_sim.state.inject(wx_api.USER_INFO, **fault)
    # OfficialAccount.post asserts the answer comes well within WeChat's 5 seconds: nobody waited.
    assert "欢迎关注微修" in follow(client, app)
    assert official_binding(app, cast["ids"]["li"]) == (None, True)
    with app.app_context():
        waiting = ScheduledJobRegistry(queue=job_queues.queue(BULK))
        (job_id,) = waiting.get_job_ids()  # the lookup, with its retry scheduled
        assert job_queues.queue(BULK).fetch_job(job_id).func_name == "jobs.followers.link_new_follower"


def test_an_account_bound_to_another_follower_is_not_taken_over(app, client, cast, wechat_sim):
    with app.app_context():
        db.session.get(User, cast["ids"]["li"]).wechat_openid = "oa-li-by-bind-qr"
        db.session.commit()
    assert "欢迎关注微修" in follow(client, app)
    assert official_binding(app, cast["ids"]["li"]) == ("oa-li-by-bind-qr", True)
