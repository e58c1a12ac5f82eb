"""Shared moves of the 工单 browser tests: an order brought to a stage through the operations (the
steps before the one a test is about), and the dialogs of the detail page.

A test clicks through the step it is about; the steps before it are the operations the API calls,
so each test starts where the SOP has the order and stays short.
"""

from __future__ import annotations

import base64
from io import BytesIO
from pathlib import Path

from playwright.sync_api import expect

from models import Device, User, WorkOrder, WorkOrderKind, db
from models.work_order import DeviceCondition, Urgency

# A real 1×1 PNG, so the page can show it.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
# The stages an order is brought to, in the SOP's order (each includes those before it).
STAGES = ("reported", "assigned", "accepted", "on_site", "completed")


def in_dialog(page):
    """The dialog on top (a step's form, or the confirmation asked over it)."""
    return page.locator(".t-dialog").last


def confirm_in_dialog(page, button: str) -> None:
    """Answer confirmAction's question with its danger button, and wait for it to go."""
    question = page.locator(".t-dialog", has=page.locator(".t-dialog__header", has_text="？")).last
    question.get_by_role("button", name=button).click()
    expect(question).to_be_hidden()


def order_path(order_id: int) -> str:
    return f"/work-orders/{order_id}"


def _actor(user_id: int):
    from operations.actors import Actor

    return Actor.of(db.session.get(User, user_id))


def prepare_order(
    app,
    hospital,
    stage: str = "reported",
    *,
    device=None,
    engineer=None,
    fault: str = "开机后报错 E21",
    urgency: Urgency = Urgency.NORMAL,
) -> int:
    """A repair reported by the hospital's clinician and taken to `stage` by the manager (派工)
    and the engineer (接单, 到场, 完成 with the service report). Answers the order's id."""
    from operations.work_orders import dispatch, flow
    from operations.work_orders import orders as work_orders

    engineer = engineer or hospital["engineer"]
    reached = STAGES.index(stage)
    with app.app_context():
        intake = work_orders.Intake(
            kind=WorkOrderKind.REPAIR,
            urgency=urgency,
            contact_name="王医生",
            contact_methods=[
                work_orders.ContactMethod("mobile", "13800000001"),
                work_orders.ContactMethod("landline", "8021"),
            ],
            fault_description=fault,
        )
        order = work_orders.create_work_order(
            _actor(hospital["clinician"].id),
            db.session.get(Device, (device or hospital["device"]).id),
            intake,
        )
        db.session.commit()
        order_id = order.id
        engineer_actor = _actor(engineer.id)
        if reached >= STAGES.index("assigned"):
            dispatch.assign(_actor(hospital["manager"].id), order_id, engineer_id=engineer.id)
        if reached >= STAGES.index("accepted"):
            flow.accept(engineer_actor, order_id)
        if reached >= STAGES.index("on_site"):
            flow.arrive(engineer_actor, order_id)
        if reached >= STAGES.index("completed"):
            flow.diagnose(engineer_actor, order_id, diagnosis="电源板电容鼓包")
            flow.complete(
                engineer_actor,
                order_id,
                work_done="更换电源板",
                test_result="自检通过",
                test_passed=True,
                device_condition=DeviceCondition.NORMAL,
            )
        db.session.commit()
    return order_id


def act(app, user, step: str, order_id: int, **values) -> None:
    """One step of the SOP (operations.work_orders.flow's `step`) taken by `user`, committed."""
    from operations.work_orders import flow

    with app.app_context():
        getattr(flow, step)(_actor(user.id), order_id, **values)
        db.session.commit()


def stored_order(app, order_id: int) -> WorkOrder:
    """The order as the database has it now (detached: read its columns, not its relations)."""
    with app.app_context():
        order = db.session.get(WorkOrder, order_id)
        db.session.expunge(order)
        return order


def expect_status(page, label: str) -> None:
    expect(page.get_by_test_id("order-status")).to_have_text(label)


def step_with_dialog(page, button: str, confirm: str, fill: dict[str, str] | None = None) -> None:
    """A step whose button opens a form: fill its fields (by placeholder) and submit it."""
    page.get_by_role("button", name=button, exact=True).click()
    dialog = in_dialog(page)
    for placeholder, value in (fill or {}).items():
        dialog.get_by_placeholder(placeholder).fill(value)
    dialog.get_by_role("button", name=confirm, exact=True).click()
    expect(dialog).to_be_hidden()


def export_stats(page):
    """统计's 导出Excel: the downloaded workbook (a real .xlsx), and its 概览 as {label: figures}."""
    from openpyxl import load_workbook

    with page.expect_download() as download_info:
        page.get_by_role("button", name="导出Excel").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    book = load_workbook(BytesIO(Path(download.path()).read_bytes()))
    summary = {row[0]: row[1:] for row in book["概览"].iter_rows(values_only=True) if row and row[0]}
    return book, summary


# 统计's colour per status group (console/src/pages/stats/options.ts), as the canvas paints it.
STATUS_COLOURS = {
    "未完结": (227, 115, 24),
    "已完成待归档": (43, 164, 113),
    "已归档": (0, 82, 217),
    "已撤销": (139, 139, 139),
}
PAINTED = """([testid, [r, g, b], least]) => {
  const canvas = document.querySelector(`[data-testid="${testid}"] canvas`)
  if (!canvas) return false
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
  let count = 0
  for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) count += 1
  return count >= least
}"""


def expect_painted(page, testid: str, group: str, at_least: int = 3000) -> None:
    """Wait until the chart shows the status group's colour over `at_least` pixels: a slice or a
    bar once drawn (a legend mark alone is a few hundred)."""
    page.wait_for_function(PAINTED, arg=[testid, list(STATUS_COLOURS[group]), at_least])
