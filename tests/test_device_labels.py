"""二维码打印: device QR codes (PNG, SVG), the A4 label sheet, and the public page a code opens
(more of that page, signed in, in test_device_link_page.py).

No QR decoder is a dependency, so a code is "decoded" by reading its modules back (PNG pixels,
SVG path squares) and comparing them with the matrix qrcode builds for the expected link:
qrcode is deterministic for the same data and error correction, and a different link gives a
different matrix.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
import qrcode
from PIL import Image, ImageOps
from qrcode.constants import ERROR_CORRECT_M

from models import Role, Scope
from operations.clock import today_local

SVG_NS = "{http://www.w3.org/2000/svg}"
QUIET_ZONE = 4


def expected_matrix(url: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


def png_matrix(data: bytes, modules: int) -> list[list[bool]]:
    """The module grid read from a PNG: find the symbol's extent, then sample each module's centre."""
    image = Image.open(io.BytesIO(data)).convert("L")
    left, top, right, bottom = ImageOps.invert(image).getbbox()
    assert right - left == bottom - top, "the symbol is square"
    box, remainder = divmod(right - left, modules)
    assert remainder == 0 and box >= 1, "every module is a whole number of pixels wide"
    # The quiet zone: at least four light modules around the symbol.
    assert min(left, top, image.width - right, image.height - bottom) >= QUIET_ZONE * box
    return [
        [image.getpixel((left + col * box + box // 2, top + row * box + box // 2)) < 128 for col in range(modules)]
        for row in range(modules)
    ]


def svg_matrix(svg: ET.Element, modules: int) -> list[list[bool]]:
    """The module grid drawn by the SVG's path: one `M x,y H.. V.. H.. z` square per dark module."""
    paths = svg.findall(f"{SVG_NS}path")
    assert len(paths) == 1
    _, _, width, height = (Decimal(v) for v in svg.get("viewBox").split())
    assert width == height
    unit = width / (modules + 2 * QUIET_ZONE)
    dark = set()
    for x, y in re.findall(r"M([\d.]+),([\d.]+)H", paths[0].get("d")):
        col, row = Decimal(x) / unit - QUIET_ZONE, Decimal(y) / unit - QUIET_ZONE
        assert col == int(col) and row == int(row)
        dark.add((int(row), int(col)))
    return [[(row, col) in dark for col in range(modules)] for row in range(modules)]


def assert_encodes(matrix: list[list[bool]], url: str) -> None:
    assert matrix == expected_matrix(url)


def link_url(app, device) -> str:
    return f"{app.config['PUBLIC_BASE_URL']}/d/{device.link_token}"


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("第一人民医院")
    manager = factory.manager(institution)
    return institution, factory.api(client, manager)


# --- PNG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "size"), [("", 512), ("?size=128", 128), ("?size=300", 300), ("?size=2048", 2048)])
def test_png_is_a_valid_png_of_the_requested_size_encoding_the_link(app, factory, hospital, query, size):
    institution, manager = hospital
    device = factory.device(institution, name="高压注射器")

    response = manager.get(f"/api/v1/devices/{device.id}/qrcode.png{query}")

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "private" in response.headers["Cache-Control"]
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(response.data))
    image.verify()
    assert image.format == "PNG"
    assert image.size == (size, size)
    url = link_url(app, device)
    assert_encodes(png_matrix(response.data, len(expected_matrix(url))), url)


def test_png_of_another_device_encodes_that_devices_link(app, factory, hospital):
    institution, manager = hospital
    first, second = factory.device(institution), factory.device(institution)

    first_png = manager.get(f"/api/v1/devices/{first.id}/qrcode.png").data
    second_png = manager.get(f"/api/v1/devices/{second.id}/qrcode.png").data

    assert first_png != second_png
    modules = len(expected_matrix(link_url(app, second)))
    assert png_matrix(second_png, modules) != expected_matrix(link_url(app, first))
    assert_encodes(png_matrix(second_png, modules), link_url(app, second))


@pytest.mark.parametrize("size", ["127", "2049", "0", "-5", "abc", "512px", "1e3"])
def test_png_size_out_of_range_or_malformed_is_422(factory, hospital, size):
    institution, manager = hospital
    device = factory.device(institution)

    response = manager.get(f"/api/v1/devices/{device.id}/qrcode.png?size={size}")

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["size"]


# --- SVG ---------------------------------------------------------------------------------------


def test_svg_is_well_formed_and_encodes_the_link(app, factory, hospital):
    institution, manager = hospital
    device = factory.device(institution)

    response = manager.get(f"/api/v1/devices/{device.id}/qrcode.svg")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "private" in response.headers["Cache-Control"]
    svg = ET.fromstring(response.data)
    assert svg.tag == f"{SVG_NS}svg"
    url = link_url(app, device)
    assert_encodes(svg_matrix(svg, len(expected_matrix(url))), url)


def test_without_sign_in_there_is_no_code(client, factory):
    device = factory.device(factory.institution())

    assert client.get(f"/api/v1/devices/{device.id}/qrcode.png").status_code == 401
    assert client.get(f"/api/v1/devices/{device.id}/qrcode.svg").status_code == 401
    assert client.get(f"/api/v1/devices/labels?ids={device.id}").status_code == 401


# --- the link is stable ------------------------------------------------------------------------


def test_link_and_codes_stay_the_same_across_calls_and_edits(app, factory, hospital):
    institution, manager = hospital
    device = factory.device(institution, name="心电监护仪")
    other_department = factory.departments(institution)["眼科"]

    def snapshot():
        return (
            manager.get(f"/api/v1/devices/{device.id}").get_json()["link_url"],
            manager.get(f"/api/v1/devices/{device.id}/qrcode.png?size=256").data,
            manager.get(f"/api/v1/devices/{device.id}/qrcode.svg").data,
        )

    before = snapshot()
    assert before == snapshot()
    edited = manager.patch(
        f"/api/v1/devices/{device.id}",
        json={"name": "心电监护仪（新）", "department_id": other_department, "asset_code": "ZC-9"},
    )
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["name"] == "心电监护仪（新）"

    assert snapshot() == before
    assert before[0] == link_url(app, device)


# --- who may see a code ------------------------------------------------------------------------


def test_another_institutions_device_is_not_found(factory, hospital):
    _, manager = hospital
    foreign = factory.device(factory.institution("别家医院"))

    for path in (f"/api/v1/devices/{foreign.id}/qrcode.png", f"/api/v1/devices/{foreign.id}/qrcode.svg"):
        response = manager.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert manager.get("/api/v1/devices/999999/qrcode.png").status_code == 404


def test_the_hospitals_engineers_see_its_codes_and_clinicians_have_no_archive_on_the_pc(client, factory, hospital):
    institution, _ = hospital
    device = factory.device(institution)
    engineer = factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=institution))
    clinician = factory.api(client, factory.user(Role.CLINICIAN, institution=institution))

    assert engineer.get(f"/api/v1/devices/{device.id}/qrcode.svg").status_code == 200
    # A clinician's PC has 工单 and 首页通知 only (test_console_role_access).
    assert clinician.get(f"/api/v1/devices/{device.id}/qrcode.svg").status_code == 403


def test_a_vendor_sees_the_code_only_while_authorized(app, client, factory, hospital):
    institution, _ = hospital
    vendor = factory.accepted_vendor(institution)
    # On the PC the vendor side is its admin (its engineers have 工单 only there).
    engineer = factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=vendor))
    today = today_local()
    day = timedelta(days=1)
    # A day either side so the test does not depend on the hour it runs at.
    authorized = factory.device(institution, name="授权中")
    factory.authorization(authorized, vendor, starts_on=today - day, ends_on=today + day, scopes={Scope.REPAIR})
    expired = factory.device(institution, name="已过期")
    factory.authorization(expired, vendor, starts_on=today - 30 * day, ends_on=today - day)
    upcoming = factory.device(institution, name="未开始")
    factory.authorization(upcoming, vendor, starts_on=today + day, ends_on=today + 30 * day)
    cancelled = factory.device(institution, name="已取消")
    factory.authorization(cancelled, vendor, starts_on=today - day, ends_on=today + day, cancelled=True)
    someone_elses = factory.device(institution, name="其他服务商")
    factory.authorization(
        someone_elses, factory.accepted_vendor(institution), starts_on=today - day, ends_on=today + day
    )
    never = factory.device(institution, name="未委外")

    png = engineer.get(f"/api/v1/devices/{authorized.id}/qrcode.png?size=200")
    assert png.status_code == 200
    url = link_url(app, authorized)
    assert_encodes(png_matrix(png.data, len(expected_matrix(url))), url)
    assert engineer.get(f"/api/v1/devices/{authorized.id}/qrcode.svg").status_code == 200
    for device in (expired, upcoming, cancelled, someone_elses, never):
        for kind in ("png", "svg"):
            assert engineer.get(f"/api/v1/devices/{device.id}/qrcode.{kind}").status_code == 404, device.name


# --- the label sheet ---------------------------------------------------------------------------


def inline_svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(match) for match in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def test_label_sheet_lists_each_device_in_the_order_given(app, factory, hospital):
    institution, manager = hospital
    first = factory.device(institution, name="呼吸机", department="CT室")
    second = factory.device(institution, name="牙科综合治疗台", department="口腔科")
    third = factory.device(institution, name="眼压计", department="眼科")
    ids = [third.id, first.id, second.id, first.id]  # the repeated id prints once

    response = manager.get(f"/api/v1/devices/labels?ids={','.join(map(str, ids))}")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "private" in response.headers["Cache-Control"]
    assert "script-src" not in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert "@page" in html and "A4" in html and "@media print" in html
    assert html.count('class="label"') == 3
    positions = [html.index(device.name) for device in (third, first, second)]
    assert positions == sorted(positions)
    for device, department in ((first, "CT室"), (second, "口腔科"), (third, "眼科")):
        assert device.unique_code in html
        assert re.search(rf"所属科室：</span>{department}<", html)
    assert html.count("第一人民医院") == 3
    svgs = inline_svgs(html)
    assert len(svgs) == 3
    for svg, device in zip(svgs, (third, first, second), strict=True):
        url = link_url(app, device)
        assert_encodes(svg_matrix(svg, len(expected_matrix(url))), url)


def test_label_sheet_escapes_html_in_names(factory, hospital):
    institution, manager = hospital
    hostile = factory.device(institution, name="<script>alert(1)</script>")
    department = factory.department(institution, name='科室"><img src=x onerror=alert(2)>')
    quoted = factory.device(institution, name="A&B 监护仪", department=department.name)

    response = manager.get(f"/api/v1/devices/labels?ids={hostile.id},{quoted.id}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "A&amp;B 监护仪" in html


def test_label_sheet_takes_at_most_200_distinct_devices(factory, hospital):
    institution, manager = hospital
    device = factory.device(institution)

    repeated = manager.get(f"/api/v1/devices/labels?ids={','.join([str(device.id)] * 201)}")
    assert repeated.status_code == 200
    assert repeated.get_data(as_text=True).count('class="label"') == 1

    # 200 distinct ids pass the parser (and then meet the visibility check); 201 do not.
    assert manager.get(f"/api/v1/devices/labels?ids={','.join(map(str, range(1, 201)))}").status_code == 404
    too_many = manager.get(f"/api/v1/devices/labels?ids={','.join(map(str, range(1, 202)))}")
    assert too_many.status_code == 422
    assert "200" in too_many.get_json()["error"]["fields"]["ids"]


@pytest.mark.parametrize(
    "query",
    ["", "?ids=", "?ids=abc", "?ids=0", "?ids=-1", "?ids=1,,2", "?ids=1,", "?ids=1,%202", "?ids=01", "?ids=1.5",
     "?ids=1234567890", "?ids=1&ids=2"],
)  # fmt: skip
def test_label_sheet_rejects_malformed_ids(factory, hospital, query):
    institution, manager = hospital
    factory.device(institution)

    response = manager.get(f"/api/v1/devices/labels{query}")

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert re.search(r"[\u4e00-\u9fff]", error["fields"]["ids"]), "the reason is written in Chinese"


def test_label_sheet_with_another_institutions_device_is_not_found(factory, hospital):
    institution, manager = hospital
    own = factory.device(institution)
    foreign = factory.device(factory.institution("别家医院"))

    response = manager.get(f"/api/v1/devices/labels?ids={own.id},{foreign.id}")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_label_sheet_is_for_institution_staff_only(client, factory, hospital):
    institution, _ = hospital
    device = factory.device(institution)
    vendor = factory.accepted_vendor(institution)
    today = today_local()
    factory.authorization(device, vendor, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1))
    engineer = factory.api(client, factory.user(Role.VENDOR_ENGINEER, vendor=vendor))
    clinician = factory.api(client, factory.user(Role.CLINICIAN, institution=institution))
    in_house = factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=institution))
    admin = factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=vendor))

    assert engineer.get(f"/api/v1/devices/labels?ids={device.id}").status_code == 403
    assert admin.get(f"/api/v1/devices/labels?ids={device.id}").status_code == 403
    assert clinician.get(f"/api/v1/devices/labels?ids={device.id}").status_code == 403
    assert in_house.get(f"/api/v1/devices/labels?ids={device.id}").status_code == 200


# --- the public page the code opens ------------------------------------------------------------


CONSOLE_INDEX = "<!doctype html><html><head><script type=module src=/assets/app-1a2b3c4d.js></script></head></html>"


def test_the_page_the_code_opens_is_the_consoles_with_the_devices_public_card(client, factory, configure, tmp_path):
    """Outside WeChat the code's link opens the console's device page (its mobile route), which
    reads the device's public card: what the sticker may tell anyone, no archive details."""
    (tmp_path / "index.html").write_text(CONSOLE_INDEX, encoding="utf-8")
    configure(CONSOLE_DIST_DIR=str(tmp_path))
    institution = factory.institution("第一人民医院")
    device = factory.device(institution, name="除颤仪", department="CT室", serial_number="SN-77", brand="迈瑞")

    page = client.get(f"/d/{device.link_token}")
    assert page.status_code == 200 and page.get_data(as_text=True) == CONSOLE_INDEX
    assert page.headers["Cache-Control"] == "no-store"
    page.close()
    card = client.get(f"/api/v1/device-links/{device.link_token}")
    assert card.status_code == 200
    assert card.get_json() == {
        "name": "除颤仪",
        "unique_code": device.unique_code,
        "institution": "第一人民医院",
        "department": "CT室",
        # 运行状态: whoever scans must learn when a device is 停用待修 (tests/test_device_running_state.py).
        "running_state": "normal",
        "running_state_label": "正常运行",
    }


def test_without_the_console_the_page_still_names_the_device(client, factory, configure, tmp_path):
    configure(CONSOLE_DIST_DIR=str(tmp_path / "not-built"))
    device = factory.device(factory.institution("第一人民医院"), name="除颤仪", department="CT室")

    response = client.get(f"/d/{device.link_token}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "除颤仪" in html and device.unique_code in html and "CT室" in html
    assert "微信扫描此二维码" in html


def test_public_page_of_an_unknown_token_is_404(client, factory):
    factory.device(factory.institution())

    response = client.get("/d/no-such-token")

    assert response.status_code == 404
    assert "未找到设备" in response.get_data(as_text=True)
    card = client.get("/api/v1/device-links/no-such-token")
    assert card.status_code == 404 and card.get_json()["error"]["message"] == "设备不存在"
