"""服务时限达标率 in 工单统计 (GET /work-orders/stats, and its workbook's 服务时限 sheet), over the
orders of tests/test_work_order_stats.py under the default policy (普通维修: respond in 2 hours,
arrive in 24, complete in 72), asked on the 26th at 12:00:

A  vendor, 23rd 09:00: all three clocks met          B  in-house, all three met
C  vendor, 24th 08:00, accepted 08:20 (met), not on site by the 25th 08:00 (missed)
D  vendor, 24th 09:00, untouched: response and arrival missed
E  cancelled: counts neither way                      F  vendor, 25th 23:59: response missed
Completion clocks still running count neither way; G (the 26th) is outside the range.
"""

from __future__ import annotations

from tests.test_work_order_stats import Orders, ok, orders, rows_of, stats, workbook_of, world  # noqa: F401


def share(met: int, missed: int, percent: float | None) -> dict:
    return {"met": met, "missed": missed, "met_percent": percent}


def test_sla_met_percent_per_vendor_and_overall(world, orders):  # noqa: F811
    sla = ok(stats(world["manager_api"]))["sla"]
    assert {key: sla[key] for key in ("met", "missed", "met_percent")} == share(7, 4, 63.6)
    vendor, in_house = sla["per_vendor"]
    assert vendor["vendor_name"] == "服务商测试1" and in_house["vendor_name"] == "院内工程师"
    assert {key: vendor[key] for key in ("met", "missed", "met_percent")} == share(4, 4, 50.0)
    assert vendor["by_kind"] == {
        "response": share(2, 2, 50.0),
        "arrival": share(1, 2, 33.3),
        "completion": share(1, 0, 100.0),
    }
    assert in_house["met_percent"] == 100.0 and in_house["by_kind"]["completion"] == share(1, 0, 100.0)

    # A vendor admin sees their own vendor's figure only.
    own = ok(stats(world["vendor_api"]))["sla"]
    assert [item["vendor_name"] for item in own["per_vendor"]] == ["服务商测试1"]
    assert own["met_percent"] == 50.0


def test_the_workbook_has_the_sla_sheet_with_the_same_figures(world, orders):  # noqa: F811
    sla = ok(stats(world["manager_api"]))["sla"]
    rows = rows_of(workbook_of(world["manager_api"])["服务时限"])
    assert rows[0] == ("服务商", "达标", "超时", "达标率（%）", "响应达标率（%）", "到场达标率（%）", "完成达标率（%）")
    assert rows[1] == ("合计", 7, 4, 63.6, 60.0, 50.0, 100.0)
    assert rows[2] == ("服务商测试1", 4, 4, 50.0, 50.0, 33.3, 100.0)
    assert rows[3][0] == "院内工程师" and rows[3][3] == sla["per_vendor"][1]["met_percent"]
