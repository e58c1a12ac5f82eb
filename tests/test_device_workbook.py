"""导出Excel / 设备档案导入 through the PC API: round trips, the template, and bad files."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook

from models import ArchiveStatus, Role
from operations.devices import EDITABLE_FIELDS

HEADERS = [
    "唯一码",
    "设备名称",
    "所属科室",
    "设备类型",
    "规格型号",
    "设备编码",
    "单位",
    "设备品牌",
    "产地",
    "生产厂家",
    "序列号",
    "质保类型",
    "UDI码",
    "生产日期",
    "质保到期日",
    "购买日期",
    "安装日期",
    "计量方式",
    "保养方式",
    "设备描述",
    "在档状态",
]
# Every archive field but the department, which is compared by name across institutions.
ARCHIVE_FIELDS = tuple(field for field in EDITABLE_FIELDS if field != "department_id")
DEPARTMENTS = ("口腔科", "CT室", "眼科", "PETMR室")
NOT_A_WORKBOOK = "文件不是有效的 Excel 工作簿（.xlsx）"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------------------------------
# Helpers


def workbook_bytes(rows, headers=HEADERS) -> bytes:
    """A workbook as a person might make it: header row, then the given rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "设备档案"
    if headers is not None:
        sheet.append(headers)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def row(**values) -> list:
    """A full row by header, blank where not given."""
    return [values.get(header) for header in HEADERS]


def upload(api, data: bytes, mode: str | None = None, filename: str = "设备.xlsx"):
    form = {"file": (io.BytesIO(data), filename)}
    if mode is not None:
        form["mode"] = mode
    return api.post("/api/v1/devices/import", data=form, content_type="multipart/form-data")


def read_sheet(data: bytes, title: str = "设备档案") -> list[tuple]:
    workbook = load_workbook(io.BytesIO(data))
    return list(workbook[title].iter_rows(values_only=True))


def archive(app, institution) -> dict[str, dict]:
    """The institution's archive by 唯一码: every field, the department by name."""
    from sqlalchemy import select

    from models import Device, db
    from operations.devices import department_names

    with app.app_context():
        names = department_names(institution.id)
        devices = db.session.scalars(select(Device).where(Device.institution_id == institution.id))
        snapshot = {
            device.unique_code: {
                "id": device.id,
                "link_token": device.link_token,
                "department": names[device.department_id],
                **{field: getattr(device, field) for field in ARCHIVE_FIELDS},
            }
            for device in devices
        }
        db.session.remove()
        return snapshot


def without_identity(snapshot: dict[str, dict]) -> dict[str, dict]:
    """What an import into another institution must reproduce (ids and QR tokens are new)."""
    return {
        code: {k: v for k, v in fields.items() if k not in ("id", "link_token")} for code, fields in snapshot.items()
    }


def device_count(app, institution) -> int:
    return len(archive(app, institution))


def varied_fields(i: int, departments: dict[str, int]) -> dict:
    """Every field filled, varied: Chinese, leading zeros, formula- and error-looking text, limits."""
    names = ("高压注射器", "电动吸引器（斯曼峰）", "=1+1 直读式x-r 辐射个人剂量当量（率）监测仪", "B-r检测仪")
    first = date(1998, 2, 28)
    return {
        "unique_code": f"{i:06d}" if i % 7 else f"SH-{i}",
        "name": "设" * 100 if i == 97 else f"{names[i % 4]} {i}",
        "department_id": departments[DEPARTMENTS[i % len(DEPARTMENTS)]],
        "category": ("放射设备", "急救设备", "检验设备")[i % 3],
        "model": "#N/A" if i % 13 == 0 else f"Spectris Solaris {'EP' if i % 2 else 'D'}",
        "asset_code": f"{i:03d}",  # leading zeros must survive as text
        "unit": ("台", "套", "台(套)")[i % 3],
        "brand": f"品牌{i % 17}",
        "origin": ("中国", "美国", "德国")[i % 3],
        "manufacturer": f"上海医疗器械{i % 11}厂",
        "serial_number": str(10_000_000_000 + i),  # digits only, still text
        "warranty_type": ("原厂保修", "第三方保修")[i % 2],
        "udi": f"(01)0064316900{i:04d}",
        "manufactured_on": first + timedelta(days=i * 3),
        "warranty_ends_on": first + timedelta(days=i * 5 + 3650),
        "purchased_on": first + timedelta(days=i * 3 + 30),
        "installed_on": first + timedelta(days=i * 3 + 45),
        "metrology_method": ("外部检定", "内部校准")[i % 2],
        "maintenance_method": ("厂家保养", "自行保养")[i % 2],
        "description": f"第一行说明 {i}\n第二行：放在 {DEPARTMENTS[i % 4]}" if i % 5 else "描" * 2000,
        "archive_status": list(ArchiveStatus)[i % 3],
    }


def insert_devices(app, factory, institution, count: int) -> None:
    """`count` devices written directly, every field filled."""
    from models import Device, db
    from operations.devices import new_link_token

    departments = factory.departments(institution)
    with app.app_context():
        for i in range(1, count + 1):
            device = Device(institution_id=institution.id, link_token=new_link_token(), **varied_fields(i, departments))
            device.refresh_search_text()
            db.session.add(device)
        db.session.commit()
        db.session.remove()


@pytest.fixture
def hospital(factory):
    return factory.institution(departments=DEPARTMENTS)


@pytest.fixture
def manager_api(factory, client, hospital):
    return factory.api(client, factory.manager(hospital))


def assert_rows(response, expected: dict[int, list[str]]):
    assert response.status_code == 422, response.get_json()
    body = response.get_json()["error"]
    assert body["code"] == "invalid_rows"
    assert {entry["row"]: entry["reasons"] for entry in body["rows"]} == expected


def assert_file_error(response, message: str):
    assert response.status_code == 422, response.get_json()
    body = response.get_json()["error"]
    assert body["code"] == "invalid_input"
    assert body["fields"]["file"] == message


# ---------------------------------------------------------------------------------------
# Round trips


def test_export_then_import_into_another_institution_reproduces_the_archive(app, factory, client, hospital):
    insert_devices(app, factory, hospital, 1000)
    source = factory.api(client, factory.manager(hospital))

    response = source.get("/api/v1/devices/export.xlsx")

    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert "filename*=UTF-8''%E8%AE%BE%E5%A4%87%E6%A1%A3%E6%A1%88.xlsx" in response.headers["Content-Disposition"]
    exported = response.data
    rows = read_sheet(exported)
    assert list(rows[0]) == HEADERS
    assert len(rows) == 1001

    other = factory.institution(departments=DEPARTMENTS)
    target = factory.api(client, factory.manager(other))
    response = upload(target, exported)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 1000, "updated": 0, "unchanged": 0}
    assert without_identity(archive(app, other)) == without_identity(archive(app, hospital))


def test_export_writes_real_dates_and_keeps_formula_like_text_as_text(app, factory, manager_api, hospital):
    insert_devices(app, factory, hospital, 13)

    response = manager_api.get("/api/v1/devices/export.xlsx")

    sheet = load_workbook(io.BytesIO(response.data))["设备档案"]
    by_code = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    device = by_code["000002"]  # 2 % 4 == 2: the name starting with "="
    assert device[1].data_type == "s"
    assert device[1].value.startswith("=1+1")
    assert by_code["000013"][4].value == "#N/A"
    assert by_code["000013"][4].data_type == "s"
    manufactured = device[HEADERS.index("生产日期")]
    assert manufactured.is_date
    assert manufactured.number_format == "yyyy-mm-dd"
    assert manufactured.value == datetime(1998, 3, 6)
    assert device[HEADERS.index("设备编码")].value == "002"
    assert device[HEADERS.index("在档状态")].value == "报废"


def test_reimport_of_the_export_with_update_changes_nothing(app, factory, manager_api, hospital):
    insert_devices(app, factory, hospital, 1000)
    before = archive(app, hospital)
    exported = manager_api.get("/api/v1/devices/export.xlsx").data

    response = upload(manager_api, exported, mode="update")

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 0, "updated": 0, "unchanged": 1000}
    assert archive(app, hospital) == before


def test_reimport_of_the_export_with_create_reports_every_existing_code_and_writes_nothing(
    app, factory, manager_api, hospital
):
    insert_devices(app, factory, hospital, 1000)
    before = archive(app, hospital)
    exported = manager_api.get("/api/v1/devices/export.xlsx").data
    codes = [r[0] for r in read_sheet(exported)[1:]]

    response = upload(manager_api, exported, mode="create")

    assert_rows(response, {n: [f"唯一码 {code} 已存在"] for n, code in enumerate(codes, start=2)})
    assert archive(app, hospital) == before


def test_update_touches_only_the_columns_in_the_file_and_creates_rows_without_code(app, factory, manager_api, hospital):
    insert_devices(app, factory, hospital, 3)
    before = archive(app, hospital)
    data = workbook_bytes(
        # 000001 keeps its department: a move is a 转科, which the import refuses (test_device_transfers).
        [["000001", "新名称", before["000001"]["department"], None], [None, "新设备", "口腔科", "2024/1/5"]],
        headers=["唯一码", "设备名称", "所属科室", "生产日期"],
    )

    response = upload(manager_api, data, mode="update")

    assert response.get_json() == {"created": 1, "updated": 1, "unchanged": 0}
    after = archive(app, hospital)
    changed = after["000001"]
    assert (changed["name"], changed["manufactured_on"]) == ("新名称", None)
    assert {k: v for k, v in changed.items() if k not in ("name", "department", "manufactured_on")} == {
        k: v for k, v in before["000001"].items() if k not in ("name", "department", "manufactured_on")
    }
    assert after["000002"] == before["000002"]
    [new_code] = set(after) - set(before)
    assert after[new_code]["name"] == "新设备"
    assert after[new_code]["manufactured_on"] == date(2024, 1, 5)
    assert after[new_code]["archive_status"] == ArchiveStatus.IN_ARCHIVE


def test_import_reads_dates_and_numbers_as_people_type_them(app, manager_api, hospital):
    data = workbook_bytes(
        [
            row(
                唯一码=42,  # typed as a number: Excel dropped the zeros of 000042
                设备名称="监护仪",
                所属科室="眼科",
                设备编码=11,  # a number typed into a text column
                序列号=12345678901.0,
                生产日期=date(2020, 1, 31),
                质保到期日=datetime(2025, 6, 1, 0, 0),
                购买日期="2020-02-03",
                安装日期="2020/2/9",
                在档状态=" 停用 ",
            )
        ]
    )

    response = upload(manager_api, data)

    assert response.get_json() == {"created": 1, "updated": 0, "unchanged": 0}
    [(code, device)] = archive(app, hospital).items()
    assert code == "000042"
    assert device["asset_code"] == "11"
    assert device["serial_number"] == "12345678901"
    assert (device["manufactured_on"], device["warranty_ends_on"]) == (date(2020, 1, 31), date(2025, 6, 1))
    assert (device["purchased_on"], device["installed_on"]) == (date(2020, 2, 3), date(2020, 2, 9))
    assert device["archive_status"] == ArchiveStatus.SUSPENDED


def test_blank_rows_are_skipped_and_rows_keep_their_excel_numbers(app, manager_api, hospital):
    data = workbook_bytes(
        [
            row(设备名称="甲", 所属科室="眼科"),
            [],
            row(设备名称="  ", 单位=" "),
            row(设备名称="  ", 所属科室="眼科"),
            row(设备名称="乙", 所属科室="无"),
        ]
    )

    response = upload(manager_api, data)

    # Rows 3 and 4 are blank (spaces only) and skipped.
    assert_rows(response, {5: ["设备名称必填"], 6: ["所属科室“无”不存在"]})
    assert device_count(app, hospital) == 0


# ---------------------------------------------------------------------------------------
# The template


def test_template_lists_the_departments_and_its_example_imports_once_its_department_is_fixed(
    app, factory, client, hospital
):
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=hospital)
    response = factory.api(client, engineer).get("/api/v1/devices/import-template.xlsx")

    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["设备档案", "填写说明"]
    rows = list(workbook["设备档案"].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    assert len(rows) == 2
    guide = [r[0] for r in workbook["填写说明"].iter_rows(values_only=True)]
    assert guide[-len(DEPARTMENTS) - 1 :] == ["本院科室", *DEPARTMENTS]
    assert set(HEADERS) <= set(guide)

    # The example is marked as one: grey italic, and its 设备描述 says it is skipped.
    example_cells = next(workbook["设备档案"].iter_rows(min_row=2, max_row=2))
    assert all(cell.font.i and cell.font.color.rgb.endswith("808080") for cell in example_cells if cell.value)
    assert "导入时自动跳过" in rows[1][HEADERS.index("设备描述")]

    # Uploaded untouched, the template has nothing to import: said so, not "示例科室 不存在".
    manager = factory.api(client, factory.manager(hospital))
    assert_file_error(upload(manager, response.data), "文件中只有示例行，请从第 3 行起填写设备")

    # Changed into a device (the 科室 fixed), it is data like any other row.
    workbook["设备档案"]["C2"] = "CT室"
    fixed = io.BytesIO()
    workbook.save(fixed)
    response = upload(manager, fixed.getvalue())

    assert response.get_json() == {"created": 1, "updated": 0, "unchanged": 0}
    [device] = archive(app, hospital).values()
    example = dict(zip(HEADERS, rows[1], strict=True))
    assert device["name"] == example["设备名称"]
    assert device["department"] == "CT室"
    assert device["model"] == example["规格型号"]
    assert device["manufactured_on"] == example["生产日期"].date()
    assert device["archive_status"] == ArchiveStatus.IN_ARCHIVE


def test_the_example_row_left_in_is_skipped_and_the_rows_below_it_import(app, factory, client, hospital):
    manager = factory.api(client, factory.manager(hospital))
    template = load_workbook(io.BytesIO(manager.get("/api/v1/devices/import-template.xlsx").data))
    sheet = template["设备档案"]
    sheet.append(row(设备名称="裂隙灯", 所属科室="眼科"))
    data = io.BytesIO()
    template.save(data)

    assert upload(manager, data.getvalue()).get_json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert [device["name"] for device in archive(app, hospital).values()] == ["裂隙灯"]


def test_an_older_templates_example_is_skipped_but_a_changed_one_is_reported_by_name(app, manager_api, hospital):
    template = load_workbook(io.BytesIO(manager_api.get("/api/v1/devices/import-template.xlsx").data))
    example = [cell.value for cell in next(template["设备档案"].iter_rows(min_row=2, max_row=2))]
    older = list(example)
    older[HEADERS.index("设备描述")] = "MR室使用"  # what templates said before the example was marked
    changed = list(example)
    changed[HEADERS.index("设备名称")] = "监护仪"
    changed[HEADERS.index("唯一码")] = "J-9"

    response = upload(manager_api, workbook_bytes([older, row(设备名称="裂隙灯", 所属科室="外星科"), changed]))

    assert_rows(response, {3: ["所属科室“外星科”不存在"], 4: ["所属科室“示例科室”不存在"]})
    named = {entry["row"]: (entry["name"], entry["unique_code"]) for entry in response.get_json()["error"]["rows"]}
    assert named == {3: ("裂隙灯", None), 4: ("监护仪", "J-9")}
    assert device_count(app, hospital) == 0


# ---------------------------------------------------------------------------------------
# Filters and permissions


def test_export_respects_the_list_filters(factory, manager_api, hospital):
    factory.device(hospital, name="高压注射器", department="CT室")
    factory.device(hospital, name="电动吸引器", department="口腔科")
    factory.device(hospital, name="高压注射器 备用", department="口腔科")

    by_keyword = read_sheet(manager_api.get("/api/v1/devices/export.xlsx", query_string={"q": "注射"}).data)
    department_id = factory.departments(hospital)["口腔科"]
    both = read_sheet(
        manager_api.get("/api/v1/devices/export.xlsx", query_string={"q": "注射", "department_id": department_id}).data
    )

    assert sorted(r[1] for r in by_keyword[1:]) == ["高压注射器", "高压注射器 备用"]
    assert [r[1] for r in both[1:]] == ["高压注射器 备用"]


def test_export_refuses_more_than_the_limit(app, factory, manager_api, hospital, monkeypatch):
    for _ in range(3):
        factory.device(hospital)
    monkeypatch.setitem(app.config, "EXPORT_MAX_ROWS", 2)

    response = manager_api.get("/api/v1/devices/export.xlsx")

    assert response.status_code == 422
    assert "最多导出 2 台" in response.get_json()["error"]["fields"]["export"]


def test_vendor_users_may_not_export_download_the_template_or_import(app, factory, client, hospital):
    vendor = factory.accepted_vendor(hospital)
    device = factory.device(hospital)
    factory.authorization(device, vendor, starts_on=date(2020, 1, 1), ends_on=date(2099, 1, 1))
    engineer = factory.api(client, factory.user(Role.VENDOR_ENGINEER, vendor=vendor))

    for path in ("/api/v1/devices/export.xlsx", "/api/v1/devices/import-template.xlsx"):
        response = engineer.get(path)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["code"] == "forbidden"
    response = upload(engineer, workbook_bytes([row(设备名称="甲", 所属科室="眼科")]))
    assert response.status_code == 403
    assert device_count(app, hospital) == 1


def test_institution_staff_may_export_but_only_the_manager_imports(app, factory, client, hospital):
    factory.device(hospital)
    engineer = factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=hospital))

    assert engineer.get("/api/v1/devices/export.xlsx").status_code == 200
    assert upload(engineer, workbook_bytes([row(设备名称="甲", 所属科室="眼科")])).status_code == 403
    assert device_count(app, hospital) == 1


# ---------------------------------------------------------------------------------------
# Bad files: one clear 422, nothing written


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive_file:
        for name, content in members.items():
            archive_file.writestr(name, content)
    return out.getvalue()


def rezipped(data: bytes, changes: dict[str, bytes]) -> bytes:
    """The workbook with some members replaced or added."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    return zip_of({**members, **changes})


GOOD_FILE = workbook_bytes([row(设备名称="甲", 所属科室="眼科")])
# Opens fine and has a good header: it breaks only when row 2 is read.
TRUNCATED_SHEET = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<dimension ref="A1:B2"/><sheetData><row r="1">'
    '<c r="A1" t="inlineStr"><is><t>设备名称</t></is></c><c r="B1" t="inlineStr"><is><t>所属科室</t></is></c>'
    '</row><row r="2"><c r="A2" t="inlineStr"><is><t>甲'
).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01 not a workbook \xff" * 100,
        "唯一码,设备名称,所属科室\n,高压注射器,口腔科\n".encode(),  # a CSV renamed to .xlsx
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,  # the old .xls (OLE) signature
        zip_of({"hello.txt": b"a zip, but no workbook in it"}),
        zip_of({"[Content_Types].xml": b"<not-xml", "xl/workbook.xml": b"<<<"}),
        rezipped(GOOD_FILE, {"xl/worksheets/sheet1.xml": TRUNCATED_SHEET}),
    ],
    ids=["empty", "random-bytes", "csv", "xls", "zip-without-workbook", "broken-xml", "truncated-sheet"],
)
def test_a_file_that_is_not_an_xlsx_workbook_is_refused(app, manager_api, hospital, data):
    assert_file_error(upload(manager_api, data), NOT_A_WORKBOOK)
    assert device_count(app, hospital) == 0


def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_unread(app, manager_api, hospital, monkeypatch):
    from console_api import device_workbook

    # The real limit is hundreds of MB; a smaller one shows the check without the memory.
    monkeypatch.setattr(device_workbook, "MAX_UNPACKED_BYTES", 1_000_000)
    bomb = rezipped(GOOD_FILE, {"xl/padding.bin": b"\0" * 2_000_000})
    assert len(bomb) < 100_000

    assert_file_error(upload(manager_api, bomb), NOT_A_WORKBOOK)
    assert device_count(app, hospital) == 0


def test_an_upload_over_the_size_limit_is_refused(app, manager_api, hospital, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)

    response = upload(manager_api, GOOD_FILE + b"\0" * 1000)

    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == "上传内容过大"
    assert device_count(app, hospital) == 0


def test_missing_file_field_and_bad_mode_are_refused(manager_api):
    response = manager_api.post("/api/v1/devices/import", data={"mode": "create"}, content_type="multipart/form-data")
    assert_file_error(response, "请上传文件")

    response = upload(manager_api, GOOD_FILE, mode="replace")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"mode": "取值应为 create、update 之一"}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (["唯一码", "设备名称", "规格型号"], "缺少必填列：所属科室"),
        (["设备名称", "所属科室", "颜色"], "无法识别的列：颜色"),
        (["设备名称", "所属科室", "设备名称"], "列重复：设备名称"),
        ([], "缺少必填列：设备名称、所属科室"),
        (["名称", "科室"], "缺少必填列：设备名称、所属科室；无法识别的列：名称、科室"),
    ],
    ids=["missing-department", "unknown", "repeated", "no-header", "both"],
)
def test_bad_header_is_refused(app, manager_api, hospital, headers, message):
    data = workbook_bytes([["高压注射器", "眼科", "x"]], headers=headers)
    assert_file_error(upload(manager_api, data), message)
    assert device_count(app, hospital) == 0


def test_header_only_and_unnamed_data_are_refused(app, manager_api, hospital):
    assert_file_error(upload(manager_api, workbook_bytes([])), "文件中没有设备数据")

    data = workbook_bytes([["高压注射器", "眼科", None, "无列名的数据"]], headers=["设备名称", "所属科室"])
    assert_file_error(upload(manager_api, data), "第 2 行的 D 列有内容，但该列没有列名")
    assert device_count(app, hospital) == 0


def test_more_rows_than_the_limit_are_refused(app, manager_api, hospital, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 2)
    data = workbook_bytes([row(设备名称=f"设备{i}", 所属科室="眼科") for i in range(3)])

    assert_file_error(upload(manager_api, data), "一次最多导入 2 行（含空行），请删除多余的行或分批导入")
    assert device_count(app, hospital) == 0


def blank_rows_sheet(data_rows: int, blank_rows: int) -> bytes:
    """A sheet of `data_rows` devices followed by `blank_rows` rows of empty cells, as a tool that
    formats whole columns writes them: each blank row still has to be parsed."""
    cells = '<c r="A{n}" t="inlineStr"><is><t>设备{n}</t></is></c><c r="B{n}" t="inlineStr"><is><t>眼科</t></is></c>'
    blank = '<row r="{n}"><c r="A{n}" t="inlineStr"><is><t> </t></is></c><c r="B{n}"/></row>'
    rows = [
        '<row r="1"><c r="A1" t="inlineStr"><is><t>设备名称</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>所属科室</t></is></c></row>',
        *(f'<row r="{n}">{cells.format(n=n)}</row>' for n in range(2, data_rows + 2)),
        *(blank.format(n=n) for n in range(data_rows + 2, data_rows + blank_rows + 2)),
    ]
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + "".join(rows)
        + "</sheetData></worksheet>"
    ).encode()
    return rezipped(GOOD_FILE, {"xl/worksheets/sheet1.xml": sheet})


def test_blank_rows_count_against_the_limit_and_reading_stops_there(app, manager_api, hospital, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    from console_api import device_workbook

    read = []
    real_rows = device_workbook.sheet_rows

    def counted(sheet):
        for values in real_rows(sheet):
            read.append(values)
            yield values

    monkeypatch.setattr(device_workbook, "sheet_rows", counted)
    # Two devices, then 40,000 blank rows: refused after the limit, not parsed to the end.
    response = upload(manager_api, blank_rows_sheet(2, 40_000))
    assert_file_error(response, "一次最多导入 5 行（含空行），请删除多余的行或分批导入")
    assert len(read) == 1 + 5 + 1  # the header, the rows allowed, and the one that broke the limit
    assert device_count(app, hospital) == 0

    # Within the limit, blank rows are skipped as before.
    response = upload(manager_api, blank_rows_sheet(2, 3))
    assert response.status_code == 200, response.get_json()
    assert device_count(app, hospital) == 2


@pytest.mark.parametrize(
    ("cells", "reasons"),
    [
        ({"所属科室": "外星科"}, ["所属科室“外星科”不存在"]),
        ({"生产日期": "2024-13-01"}, ["生产日期：不是有效的日期"]),
        ({"安装日期": "明天"}, ["安装日期：日期格式应为 YYYY-MM-DD"]),
        ({"购买日期": 45000}, ["购买日期：日期格式应为 YYYY-MM-DD"]),
        ({"在档状态": "维修中"}, ["在档状态：应为 在档、停用、报废 之一"]),
        ({"设备名称": "长" * 101}, ["设备名称：最多 100 个字符"]),
        ({"单位": "台" * 21}, ["单位：最多 20 个字符"]),
        ({"设备描述": "描" * 2001}, ["设备描述：最多 2000 个字符"]),
        (
            {"规格型号": datetime(2024, 1, 2)},
            ["规格型号：应为文本（Excel 把它当成了日期，请将单元格设为文本后重新填写）"],
        ),
        ({"序列号": "SN\x7f"}, ["序列号：包含不允许的控制字符"]),
        ({"唯一码": "00 01"}, ["唯一码只能包含数字、字母和短横线，最长20位"]),
        ({"唯一码": "1" * 21}, ["唯一码：最多 20 个字符"]),
        ({"所属科室": "科" * 51}, ["所属科室：最多 50 个字符"]),
    ],
    ids=[
        "unknown-department",
        "impossible-date",
        "text-date",
        "number-date",
        "status",
        "long-name",
        "long-unit",
        "long-description",
        "date-in-text-column",
        "control-character",
        "bad-code",
        "long-code",
        "long-department",
    ],
)
def test_a_bad_cell_names_its_row_and_column(app, manager_api, hospital, cells, reasons):
    good = {"设备名称": "高压注射器", "所属科室": "眼科"}
    data = workbook_bytes([row(**good), row(**{**good, **cells})])

    assert_rows(upload(manager_api, data), {3: reasons})
    assert device_count(app, hospital) == 0


def test_duplicate_codes_within_the_file_are_reported_on_the_later_row(app, manager_api, hospital):
    data = workbook_bytes(
        [row(唯一码="A-1", 设备名称="甲", 所属科室="眼科"), row(唯一码="A-1", 设备名称="乙", 所属科室="眼科")]
    )

    assert_rows(upload(manager_api, data), {3: ["唯一码 A-1 与第 2 行重复"]})
    assert device_count(app, hospital) == 0


def test_cell_and_domain_errors_come_back_together_sorted_by_row(app, factory, manager_api, hospital):
    factory.device(hospital)  # 000001
    data = workbook_bytes(
        [
            row(设备名称="好的一行", 所属科室="眼科"),
            row(设备名称="甲", 所属科室="外星科", 生产日期="昨天"),
            row(唯一码="000001", 设备名称="乙", 所属科室="眼科"),
            row(设备名称="丙", 所属科室="眼科", 在档状态="丢失"),
            row(设备名称="长" * 101, 所属科室="眼科"),
        ]
    )

    response = upload(manager_api, data)

    assert_rows(
        response,
        {
            3: ["生产日期：日期格式应为 YYYY-MM-DD", "所属科室“外星科”不存在"],
            4: ["唯一码 000001 已存在"],
            5: ["在档状态：应为 在档、停用、报废 之一"],
            6: ["设备名称：最多 100 个字符"],
        },
    )
    # Each bad row with its 设备名称 and 唯一码 beside the row number (none where unreadable).
    named = {entry["row"]: (entry["name"], entry["unique_code"]) for entry in response.get_json()["error"]["rows"]}
    assert named == {3: ("甲", None), 4: ("乙", "000001"), 5: ("丙", None), 6: (None, None)}
    assert device_count(app, hospital) == 1


def test_a_cell_error_alone_still_writes_nothing(app, manager_api, hospital):
    """The domain finds every row good, so it inserts them; the bad cell must undo that."""
    data = workbook_bytes([row(设备名称="甲", 所属科室="眼科"), row(设备名称="乙", 所属科室="眼科", 生产日期="x")])

    assert_rows(upload(manager_api, data), {3: ["生产日期：日期格式应为 YYYY-MM-DD"]})
    assert device_count(app, hospital) == 0
    # And the 唯一码 sequence was not used up by the undone rows.
    assert upload(manager_api, workbook_bytes([row(设备名称="甲", 所属科室="眼科")])).status_code == 200
    assert list(archive(app, hospital)) == ["000001"]


def test_a_failed_export_leaves_no_temporary_file():
    from openpyxl.worksheet import _writer

    from console_api.device_workbook import write_devices

    def devices_then_failure():
        yield from ()
        raise RuntimeError("the database went away")

    before = list(_writer.ALL_TEMP_FILES)
    with pytest.raises(RuntimeError):
        write_devices(devices_then_failure(), {})
    assert before == _writer.ALL_TEMP_FILES
