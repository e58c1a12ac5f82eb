"""The service report PDF of a 计量 order (issue 15 items 3, 4, 8): the checklist with each value,
unit, limits and 合格 / 不合格 with the note, and the calibration certificate's fields. Needs the CJK
font and pdftotext, as tests/test_service_report_pdf.py does (its `report_font` fixture)."""

from __future__ import annotations

from datetime import date

from operations.clock import frozen
from tests.test_checklists_and_metrology import complete, on_site
from tests.test_service_plans import (
    at,
    attach_certificate,
    make_plan,
    office,  # noqa: F401 - fixture
    orders_of,
    sweep,
)
from tests.test_service_report_pdf import report_font, text_of  # noqa: F401 - autouse fixture


def test_the_report_pdf_prints_the_checklist_values_limits_and_the_certificate(
    office,  # noqa: F811
    app,
    report_font,  # noqa: F811
    tmp_path,
):
    plan = make_plan(
        office,
        at(date(2026, 12, 20)),
        kind="metrology",
        first_due_on="2027-01-31",
        checklist=["外观检查", {"label": "接地电阻", "kind": "measurement", "unit": "Ω", "upper": 0.2}],
    )
    sweep(app, at(date(2027, 1, 24)))
    [order] = orders_of(app, plan["id"])
    day = date(2027, 1, 28)
    on_site(office, order.id, at(day, 9))
    with frozen(at(day, 9)):
        attach_certificate(
            office["engineer"],
            order.id,
            number="JL2027-0888",
            calibrated_on="2027-01-27",
            valid_until="2028-01-20",
            conclusion="restricted",
        )
    done = complete(office, order.id, at(day, 10), [{"result": "pass"}, {"value": 0.35, "note": "接地线松动"}])
    assert done.status_code == 200, done.get_json()
    with frozen(at(day, 11)):
        pdf = office["manager"].get(f"/api/v1/work-orders/{order.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = " ".join(text_of(pdf.data, tmp_path).split())
    for expected in ("检查项目", "接地电阻", "≤0.2 Ω", "0.35 Ω", "不合格", "接地线松动", "外观检查", "合格"):
        assert expected in text, expected
    for expected in ("计量证书", "JL2027-0888", "2027-01-27", "2028-01-20", "限用", "市计量检定测试所", "限制使用"):
        assert expected in text, expected
