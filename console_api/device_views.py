"""设备档案管理: the archive list, detail, create and edit; 科室 for the pickers."""

from contextlib import contextmanager

from flask import jsonify

from console_api.alert_views import ALERT_FIELD, SETTING_NAMES, alert_settings
from console_api.credential_views import FIELDS_SCHEMA as CREDENTIAL_FIELDS
from console_api.credential_views import form_fields as credential_form_fields
from console_api.department_views import PHONE, checked_phone, department_row_json
from console_api.http import commit, current_actor
from console_api.links import device_link_url
from console_api.route_table import body_schema, request_body, request_query
from console_api.routes import paging, route
from console_api.serializers import device_detail_json, device_summary_json
from console_api.validation import Field, all_optional, json_body, parse_fields
from models import ArchiveStatus, CredentialKind, Scope
from models.work_order import DeviceCondition
from operations import departments, devices
from operations.errors import InvalidInput

DEVICE_SCHEMA = {
    "name": Field("str", required=True, max_length=100),
    "department_id": Field("int", required=True, minimum=1),
    "category": Field("str", max_length=50),
    "model": Field("str", max_length=100),
    "asset_code": Field("str", max_length=50),
    "unit": Field("str", max_length=20),
    "brand": Field("str", max_length=100),
    "origin": Field("str", max_length=50),
    "manufacturer": Field("str", max_length=100),
    "serial_number": Field("str", max_length=100),
    "warranty_type": Field("str", max_length=50),
    "udi": Field("str", max_length=100),
    "manufactured_on": Field("date"),
    "warranty_ends_on": Field("date"),
    "purchased_on": Field("date"),
    "installed_on": Field("date"),
    "metrology_method": Field("str", max_length=50),
    "maintenance_method": Field("str", max_length=50),
    "description": Field("str", max_length=2000),
    "archive_status": Field("enum", enum=ArchiveStatus, nullable=False),
}
# 方法二: a certificate entered on the new device's 操作证 / 配置许可证 tab, as POST /credentials
# takes it but without device_ids (it covers the device being created).
DEVICE_CREDENTIAL_SCHEMA = {
    "kind": Field(
        "enum",
        required=True,
        enum=CredentialKind,
        description="operation_certificate 设备操作证 或 configuration_license 配置许可证",
    ),
    "alert": ALERT_FIELD,
    **CREDENTIAL_FIELDS,
}
CREATE_SCHEMA = {
    **DEVICE_SCHEMA,
    "unique_code": Field("str", max_length=20),
    "credentials": Field(
        "object_list",
        max_items=devices.MAX_CREDENTIALS_WITH_DEVICE,
        description="与设备同时保存的设备操作证 / 配置许可证（方法二）；任一有误则设备也不保存，"
        "错误字段名为 credentials.<序号>.<字段>",
        schema={"items": body_schema(DEVICE_CREDENTIAL_SCHEMA)},
    ),
}
EDIT_SCHEMA = all_optional(DEVICE_SCHEMA)


# The archive list's filters, shared by the list and the export.
FILTERS = {
    "q": Field("str", max_length=100, description="设备名称、唯一码、设备编码、规格型号、序列号等关键字"),
    "department_id": Field("int", minimum=1, description="所属科室"),
    "archive_status": Field("enum", enum=ArchiveStatus, description="在档状态"),
    "outsourced": Field("bool", description="true：已委外设备；false：未委外设备"),
    "running_state": Field("enum", enum=DeviceCondition, description="运行状态（停用待修、建议报废等）"),
    "metrology_overdue": Field("bool", description="true：计量逾期的设备；false：未逾期"),
}
DEPARTMENT_SCHEMA = {"name": Field("str", required=True, max_length=50), "phone": PHONE}


def list_filters(query: dict) -> dict:
    """The list operation's keyword arguments from the parsed FILTERS."""
    return {
        "keyword": query["q"],
        "department_id": query["department_id"],
        "archive_status": query["archive_status"],
        "outsourced": query["outsourced"],
        "running_state": query["running_state"],
        "metrology_overdue": query["metrology_overdue"],
    }


LIST_QUERY = {**FILTERS, **paging()}


def device_payload(device, scopes):
    department = departments.department_of_institution(device.institution_id, device.department_id).name
    return device_detail_json(device, department, scopes, device_link_url(device))


@route("GET", "/departments", "科室列表（按排序；含已停用的科室及其设备数、人员数）", response="DepartmentRows")
def list_departments():
    actor = current_actor()
    held = departments.members(actor.institution_id) if actor.institution_id else {}
    return jsonify({"items": [department_row_json(d, held.get(d.id)) for d in departments.list_departments(actor)]})


@route("POST", "/departments", "新增科室", body=DEPARTMENT_SCHEMA, response="DepartmentRow", status=201, errors=(409,))
def create_department():
    body = request_body()
    department = departments.create_department(current_actor(), body["name"], checked_phone(body))
    commit()
    return jsonify(department_row_json(department, None)), 201


@route("GET", "/devices", "查询设备档案（outsourced 为已委外 / 未委外设备）", query=LIST_QUERY, response="DevicePage")
def list_devices():
    """查询设备档案; with `outsourced=true|false` the 已委外 / 未委外设备 lists."""
    query = request_query()
    page = devices.list_devices(current_actor(), page=query["page"], per_page=query["per_page"], **list_filters(query))
    actor = current_actor()
    # Vendor users see devices of several institutions; name each device's own department.
    institution_ids = {device.institution_id for device in page.items} or {actor.institution_id}
    names = {k: v for institution_id in institution_ids for k, v in devices.department_names(institution_id).items()}
    vendors = devices.vendor_names_by_device(actor, [device.id for device in page.items])
    return jsonify(
        {
            "items": [device_summary_json(d, names, vendors.get(d.id, [])) for d in page.items],
            "total": page.total,
            "total_capped": page.total_capped,
            "page": page.page,
            "per_page": page.per_page,
        }
    )


def new_credentials(items: list[dict] | None) -> list[devices.NewCredential]:
    """The certificates of the form's tabs, typed; each error named `credentials.<n>.<field>`."""
    parsed = []
    errors: dict[str, str] = {}
    for index, item in enumerate(items or []):
        prefix = f"credentials.{index}."
        try:
            values = parse_fields(item, DEVICE_CREDENTIAL_SCHEMA)
            alert = alert_settings(values.pop("alert", None), prefix=prefix + "alert.", allow_send_time=False)
        except InvalidInput as error:
            errors |= {(name if name.startswith(prefix) else prefix + name): r for name, r in error.fields.items()}
            continue
        kind = values.pop("kind")
        parsed.append(devices.NewCredential(kind, credential_form_fields(values), alert))
    if errors:
        raise InvalidInput(errors)
    return parsed


def _certificate_errors(items) -> dict[str, str]:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return {}
    try:
        new_credentials(items)
    except InvalidInput as error:
        return error.fields
    return {}


@contextmanager
def credential_alert_errors():
    """The plan operations name 人员通知 fields plainly; on the form they live under the tab's alert."""
    try:
        yield
    except InvalidInput as error:
        fields = {}
        for name, reason in error.fields.items():
            head, _, rest = name.rpartition(".")
            fields[f"{head}.alert.{rest}" if head.startswith("credentials.") and rest in SETTING_NAMES else name] = (
                reason
            )
        raise InvalidInput(fields) from None


@route(
    "POST",
    "/devices",
    "新增设备档案（可同时保存操作证、配置许可证）",
    body=CREATE_SCHEMA,
    response="Device",
    status=201,
    errors=(409,),
)
def create_device():
    try:
        body = request_body()
    except InvalidInput as error:
        # A device field the schema refuses: the certificates' own errors in the same answer.
        raise InvalidInput(error.fields | _certificate_errors(json_body().get("credentials"))) from None
    unique_code = body.pop("unique_code", None)
    try:
        entered = new_credentials(body.pop("credentials", None))
    except InvalidInput as error:
        # The device's own problems (a taken 唯一码) in the same answer as the certificates'.
        device_problems = devices.check_new_device(current_actor(), body, unique_code)
        raise InvalidInput(device_problems.fields | error.fields) from None
    with credential_alert_errors():
        device, _ = devices.create_device_with_credentials(current_actor(), body, entered, unique_code=unique_code)
    commit()
    return jsonify(device_payload(device, frozenset(Scope))), 201


@route("GET", "/devices/<int:device_id>", "设备档案详情（服务商仅在授权含档案资料时可见档案字段）", response="Device")
def device_detail(device_id: int):
    device, scopes = devices.get_device(current_actor(), device_id)
    return jsonify(device_payload(device, scopes))


@route(
    "PATCH",
    "/devices/<int:device_id>",
    "修改设备档案（只改给出的字段）",
    body=EDIT_SCHEMA,
    response="Device",
    errors=(409,),
)
def update_device(device_id: int):
    body = request_body()
    device = devices.update_device(current_actor(), device_id, body)
    commit()
    return jsonify(device_payload(device, frozenset(Scope)))
