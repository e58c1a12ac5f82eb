"""Text commands through the webhook, as a bound follower types them: an engineer works an order
(我的工单, 接单, 出发, 到场, 完成), a second engineer loses the race, a reporter follows their
orders, a manager lists and handles alert plans (我的预警, 处理), and what the bot says to bad or
unbound input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date

import pytest
from sqlalchemy import event, select
from test_bot_webhook import OfficialAccount

from models import AlertPlan, Institution, Role, User, WorkOrder, db
from operations import wechat_accounts
from operations.errors import PermissionDenied
from operations.wechat_accounts import actor_by_official_openid, official_sender_unchanged
from operations.work_orders import orders as work_orders


@pytest.fixture
def bot(client, configure) -> OfficialAccount:
    configure(WECHAT_OFFICIAL_ENCODING_AES_KEY=None)  # 明文模式
    return OfficialAccount(client)


@pytest.fixture
def hospital(app, factory, client):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    people = {
        "manager": factory.user(
            Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", wechat_openid="openid-zhangsan"
        ),
        "clinician": factory.user(
            Role.CLINICIAN, institution=institution, display_name="王护士", wechat_openid="openid-nurse"
        ),
        "li": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="李工", wechat_openid="openid-li"),
        "zhao": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="赵工", wechat_openid="openid-zhao"),
    }
    device = factory.device(institution, name="高压注射器")
    factory.authorization(device, vendor, starts_on=date(2020, 1, 1), ends_on=date(2099, 12, 31))
    return {
        "institution": institution,
        "vendor": vendor,
        "people": people,
        "device": device,
        "client": client,
        "factory": factory,
    }


def report(hospital, device_id: int | None = None) -> dict:
    nurse = hospital["factory"].api(hospital["client"], hospital["people"]["clinician"])
    response = nurse.post(
        "/api/v1/work-orders",
        json={
            "device_id": device_id or hospital["device"].id,
            "kind": "repair",
            "contact_name": "王护士",
            "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "开机报错 E21",
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def order_row(app, order_id: int) -> WorkOrder:
    with app.app_context():
        order = db.session.get(WorkOrder, order_id)
        db.session.expunge(order)
    return order


def test_an_engineer_works_an_order_by_text(app, bot, hospital):
    order = report(hospital)
    number, li = order["number"], hospital["people"]["li"]

    queue = bot.text("openid-li", "我的工单")
    assert f"{number} 高压注射器 待接单" in queue

    accepted = bot.text("openid-li", f"接单 {number}")
    assert f"已接单：{number}" in accepted
    row = order_row(app, order["id"])
    assert row.status.value == "accepted" and row.assignee_id == li.id

    # The other engineer of the vendor is too late: the 409 the API would give, in words.
    assert bot.text("openid-zhao", f"接单 {number}") == "工单当前状态为「已接单」，不能接单"
    assert order_row(app, order["id"]).assignee_id == li.id

    assert f"已出发：{number}" in bot.text("openid-li", f"出发 {number.lower()}")
    arrived = bot.text("openid-li", f"到场{order['id']}")
    assert f"已到场：{number}" in arrived and "data-miniprogram-appid" in arrived
    assert order_row(app, order["id"]).status.value == "on_site"

    # 完成 needs the service report: the bot points to the page that takes it, and changes nothing.
    done = bot.text("openid-li", f"完成 {number} 更换了电源板")
    assert "服务报告" in done and f"pages/work-orders/detail?id={order['id']}" in done
    assert order_row(app, order["id"]).status.value == "on_site"
    assert "不是由您负责" in bot.text("openid-zhao", f"完成 {number}")

    assert f"{number} 高压注射器 已到场" in bot.text("openid-li", "我的工单")
    assert "没有待处理" in bot.text("openid-zhao", "我的工单")
    # The reporter follows their open orders.
    assert f"{number} 高压注射器 已到场" in bot.text("openid-nurse", "我的工单")


def test_full_width_input_is_read_like_half_width(app, bot, hospital):
    order = report(hospital)
    wide = "".join(chr(ord(c) + 0xFEE0) for c in order["number"])  # ＧＤ０００００１
    assert f"已接单：{order['number']}" in bot.text("openid-li", f"接单\u3000{wide}")


def test_what_the_bot_says_to_bad_or_foreign_commands(app, bot, hospital):
    order = report(hospital)
    assert bot.text("openid-li", "接单") == "请在指令后加上工单号，例如：接单 GD000123"
    assert bot.text("openid-li", "出发 abc") == "请在指令后加上工单号，例如：出发 GD000123"
    assert "不存在" in bot.text("openid-li", "接单 GD999999")
    assert "工单号" in bot.text("openid-li", "接单 " + "9" * 40)
    assert bot.text("openid-li", "接单 𐩀") == "请在指令后加上工单号，例如：接单 GD000123"  # a digit, not ASCII
    # Steps by someone who has not accepted are refused with the domain's words.
    assert bot.text("openid-li", f"到场 {order['number']}") == "只有接单的工程师可以执行此操作"
    # A clinician cannot accept.
    assert "工程师" in bot.text("openid-nurse", f"接单 {order['number']}")
    # Someone not bound is told how to bind; help for everyone.
    assert "尚未绑定" in bot.text("openid-stranger", f"接单 {order['number']}")
    assert "可用指令" in bot.text("openid-stranger", "帮助")
    assert "可用指令" in bot.text("openid-li", "今天天气怎么样")
    assert order_row(app, order["id"]).status.value == "pending"


def in_a_transaction(dbapi_connection) -> bool:
    """Whether the driver's connection runs statements in a transaction (psycopg: not autocommit;
    sqlite3: an isolation level, under which it sends BEGIN before a write)."""
    autocommit = getattr(dbapi_connection, "autocommit", None)
    if isinstance(autocommit, bool):
        return not autocommit
    return dbapi_connection.isolation_level is not None


@contextmanager
def statements_of(app) -> Iterator[list[bool]]:
    """Each SQL statement the app runs meanwhile, as whether it ran in a transaction."""
    modes: list[bool] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        modes.append(in_a_transaction(conn.connection.dbapi_connection))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield modes
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_lists_run_without_a_transaction_and_steps_in_one(app, bot, hospital):
    """我的工单 only reads: its two statements (the sender with their institution's state, the
    queue) go without BEGIN and COMMIT; the next time, one (the queue with the check that the
    sender is still the same account). A step after it, on the connection the list gave back,
    runs in a transaction again."""
    order = report(hospital)
    with statements_of(app) as listed:
        first = bot.text("openid-li", "我的工单")
    with statements_of(app) as listed_again:
        again = bot.text("openid-li", "我的工单")
    with statements_of(app) as stepped:
        assert f"已接单：{order['number']}" in bot.text("openid-li", f"接单 {order['number']}")
    assert f"{order['number']} 高压注射器 待接单" in first and again == first
    assert listed == [False, False] and listed_again == [False]
    assert stepped and all(stepped)
    assert order_row(app, order["id"]).status.value == "accepted"


@dataclass
class Wire:
    """What the pooled connections sent and received (libpq's trace), and whether each was in
    autocommit as it went back to the pool."""

    messages: list[str] = field(default_factory=list)
    returned_in_autocommit: list[bool] = field(default_factory=list)


@contextmanager
def wire_of(app, trace_dir) -> Iterator[Wire]:
    """PostgreSQL: the pooled connections' traffic meanwhile (pool events start libpq's trace at
    each checkout and end it at checkin: nothing listens to the engine's statements)."""
    from psycopg import pq

    with app.app_context():
        engine = db.engine
    wire = Wire()
    traces = []

    def traced(dbapi_connection, record, proxy):
        trace = open(trace_dir / f"trace-{len(traces)}", "w+b")  # noqa: SIM115 (closed below)
        traces.append(trace)
        dbapi_connection.pgconn.trace(trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def untraced(dbapi_connection, record):
        dbapi_connection.pgconn.untrace()
        wire.returned_in_autocommit.append(dbapi_connection.autocommit)

    event.listen(engine, "checkout", traced)
    event.listen(engine, "checkin", untraced)
    try:
        yield wire
    finally:
        event.remove(engine, "checkout", traced)
        event.remove(engine, "checkin", untraced)
        for trace in traces:
            trace.seek(0)
            wire.messages.extend(trace.read().decode().splitlines())
            trace.close()


def protocol(trace: list[str]) -> list[tuple[str, str, str]]:
    """libpq's trace as (F or B, message, what follows it); a statement's further lines are skipped."""
    found = []
    for line in trace:
        side, _, rest = line.partition("\t")
        if side in ("F", "B") and rest:
            _length, _, rest = rest.partition("\t")
            message, _, rest = rest.partition("\t")
            found.append((side, message, rest.strip()))
    return found


def test_a_list_seen_before_goes_to_the_driver_as_one_statement_outside_a_transaction(app, bot, hospital, tmp_path):
    """On PostgreSQL, 我的工单 of an engineer seen before skips SQLAlchemy's session and runs on the
    driver: on the wire, one statement answered outside a transaction (ReadyForQuery `I`), no
    BEGIN, no COMMIT. The connection goes back to the pool in its own mode (not autocommit), and
    the step after it runs in a transaction (`T`) and commits."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the driver's path is psycopg's")
    order = report(hospital)
    first = bot.text("openid-li", "我的工单")
    assert bot.text("openid-li", "我的工单") == first  # the statement rendered once, through SQLAlchemy
    with wire_of(app, tmp_path) as listed:
        again = bot.text("openid-li", "我的工单")
    with wire_of(app, tmp_path) as stepped:
        assert f"已接单：{order['number']}" in bot.text("openid-li", f"接单 {order['number']}")

    assert again == first and f"{order['number']} 高压注射器 待接单" in first
    listing = protocol(listed.messages)
    sent = [message for side, message, _ in listing if side == "F"]
    assert sent.count("Execute") == 1 and "Query" not in sent, listing  # one statement, no BEGIN / COMMIT
    assert [rest for _, message, rest in listing if message == "ReadyForQuery"] == ["I"], listing
    assert listed.returned_in_autocommit == [False]
    step = protocol(stepped.messages)
    queries = [rest for side, message, rest in step if (side, message) == ("F", "Query")]
    assert queries[0].startswith('"BEGIN') and queries[-1] == '"COMMIT"', step
    assert "T" in {rest for _, message, rest in step if message == "ReadyForQuery"}, step
    assert order_row(app, order["id"]).status.value == "accepted"
    assert "没有待处理" not in bot.text("openid-li", "我的工单")  # accepted: still theirs


def test_the_lines_of_my_orders_are_queue_of_for_every_engineer(app, bot, hospital):
    """我的工单 reads the queue as the reply's columns (work_orders.queue_lines_of): for each engineer
    role the same orders in the same order as queue_of (vendor engineers, the vendor's admin, the
    institution's own engineer; an authorization that lapsed sends the order in-house)."""
    factory, institution, vendor = hospital["factory"], hospital["institution"], hospital["vendor"]
    factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="钱经理", wechat_openid="openid-qian")
    factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="孙工", wechat_openid="openid-sun")
    in_house = factory.device(institution, name="呼吸机")
    lapsed = factory.device(institution, name="监护仪")
    factory.authorization(lapsed, vendor, starts_on=date(2020, 1, 1), ends_on=date(2021, 1, 1))
    orders = [report(hospital) for _ in range(3)] + [report(hospital, in_house.id), report(hospital, lapsed.id)]
    assert "已接单" in bot.text("openid-li", f"接单 {orders[0]['number']}")
    assert "已接单" in bot.text("openid-sun", f"接单 {orders[3]['number']}")

    with app.app_context():
        for openid in ("openid-li", "openid-zhao", "openid-qian", "openid-sun"):
            actor = actor_by_official_openid(openid)
            lines = work_orders.queue_lines_of(actor)
            assert lines, openid
            assert [line.id for line in lines] == [order.id for order in work_orders.queue_of(actor)], openid
            assert all(line.device_name in ("高压注射器", "呼吸机", "监护仪") for line in lines)
            # The statement of a sender seen before (on PostgreSQL the second time straight to the driver)
            unchanged = official_sender_unchanged(openid, actor)
            assert work_orders.queue_lines_if(actor, *unchanged) == lines, openid
            assert work_orders.queue_lines_if(actor, *unchanged) == lines, openid
            other = replace(actor, user_id=actor.user_id + 100)  # not the account the openid names
            assert work_orders.queue_lines_if(other, *official_sender_unchanged(openid, other)) is None
        assert {line.id for line in work_orders.queue_lines_of(actor_by_official_openid("openid-sun"))} == {
            orders[3]["id"],
            orders[4]["id"],
        }
    assert orders[4]["number"] in bot.text("openid-sun", "我的工单")


def change(app, model, row_id: int, **values) -> None:
    with app.app_context():
        row = db.session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


def test_my_orders_follows_the_sender_changed_between_two_pushes(app, bot, hospital):
    """The second 我的工单 of an openid reads the queue of the account it named the first time, in
    one statement with the check that it still names it: an openid bound to another account, an
    account deactivated, a role changed, an institution deactivated are answered as the first push
    of the new state is, never with the queue of what the openid was."""
    factory, institution = hospital["factory"], hospital["institution"]
    li, zhao = hospital["people"]["li"], hospital["people"]["zhao"]
    sun = factory.user(
        Role.INSTITUTION_ENGINEER, institution=institution, display_name="孙工", wechat_openid="openid-sun"
    )
    order = report(hospital)
    in_house = report(hospital, factory.device(institution, name="呼吸机").id)
    assert "已接单" in bot.text("openid-zhao", f"接单 {order['number']}")
    assert bot.text("openid-li", "我的工单") == "目前没有待处理的工单。"

    # openid-li now names 赵工 (li unbound): 赵工's queue, not li's empty one
    change(app, User, li.id, wechat_openid=None)
    change(app, User, zhao.id, wechat_openid="openid-li")
    assert f"{order['number']} 高压注射器 已接单" in bot.text("openid-li", "我的工单")
    change(app, User, zhao.id, is_active=False)
    assert "尚未绑定" in bot.text("openid-li", "我的工单")

    # 孙工 of the institution: their queue, then the same account as a clinician, then no institution
    assert f"{in_house['number']} 呼吸机 待接单" in bot.text("openid-sun", "我的工单")
    change(app, User, sun.id, role=Role.CLINICIAN)
    assert bot.text("openid-sun", "我的工单") == "您没有未完成的报修工单。"
    change(app, User, sun.id, role=Role.INSTITUTION_ENGINEER)
    assert f"{in_house['number']} 呼吸机 待接单" in bot.text("openid-sun", "我的工单")
    change(app, Institution, institution.id, is_active=False)
    assert bot.text("openid-sun", "我的工单") == "所属医疗机构已停用"


def test_the_sender_hints_are_bounded_and_follow_the_lookups(app, hospital, monkeypatch):
    """Each process keeps the last SENDER_HINTS_MAX senders it looked up, the oldest lookup
    leaving first; a lookup that finds no account, or a deactivated institution, drops its hint."""
    monkeypatch.setattr(wechat_accounts, "SENDER_HINTS_MAX", 2)
    hinted = wechat_accounts.hinted_official_sender
    with app.app_context():
        for openid in ("openid-li", "openid-zhao", "openid-li", "openid-nurse"):
            actor_by_official_openid(openid)
        assert hinted("openid-zhao") is None  # looked up before li's second lookup
        assert hinted("openid-li") == actor_by_official_openid("openid-li")
        assert hinted("openid-nurse").role is Role.CLINICIAN
    change(app, User, hospital["people"]["li"].id, wechat_openid=None)
    change(app, Institution, hospital["institution"].id, is_active=False)
    with app.app_context():
        assert actor_by_official_openid("openid-li") is None
        with pytest.raises(PermissionDenied):
            actor_by_official_openid("openid-nurse")
    assert hinted("openid-li") is None and hinted("openid-nurse") is None


def test_a_long_queue_is_cut_to_a_short_reply(app, bot, hospital):
    for _ in range(12):
        report(hospital)
    queue = bot.text("openid-li", "我的工单")
    assert queue.count("待接单") == 10 and "更多请在小程序中查看" in queue and len(queue) <= 600


def test_a_manager_lists_and_handles_alert_plans(app, bot, hospital):
    manager_api = hospital["factory"].api(hospital["client"], hospital["people"]["manager"])
    response = manager_api.post(
        "/api/v1/credentials",
        json={"kind": "operation_certificate", "device_ids": [hospital["device"].id], "valid_until": "2099-12-10"},
    )
    assert response.status_code == 201, response.get_json()
    plan_id = response.get_json()["alert"]["id"]

    listed = bot.text("openid-zhangsan", "我的预警")
    assert listed == bot.event("openid-zhangsan", "CLICK", EventKey="MY_ALERTS")
    assert f"{plan_id} 高压注射器 2099-12-10" in listed

    handled = bot.text("openid-zhangsan", f"处理 {plan_id} 已续期，新证已上传")
    assert f"预警 {plan_id} 已处理" in handled
    with app.app_context():
        plan = db.session.scalar(select(AlertPlan).where(AlertPlan.id == plan_id))
        assert plan.status.value == "handled" and plan.handled_note == "已续期，新证已上传"
        assert plan.handled_by_id == hospital["people"]["manager"].id

    assert bot.text("openid-zhangsan", f"处理 {plan_id}") == "该预警已处理"
    assert "没有预警中" in bot.text("openid-zhangsan", "我的预警")
    assert bot.text("openid-zhangsan", "处理 abc") == "请在指令后加上预警号，例如：处理 12 已续期"
    assert "备注最多" in bot.text("openid-zhangsan", f"处理 {plan_id} " + "长" * 201)
    assert "预警计划不存在" in bot.text("openid-zhangsan", "处理 999999")
    # A vendor engineer has no alert plans of the hospital to list.
    assert "可用指令" not in bot.text("openid-li", "我的预警")
