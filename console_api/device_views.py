"""设备档案管理: the archive list, detail, create and edit; 科室 for the pickers."""

from flask import jsonify

from console_api.department_views import department_row_json
from console_api.http import commit, current_actor
from console_api.links import device_link_url
from console_api.route_table import request_body, request_query
from console_api.routes import paging, route
from console_api.serializers import device_detail_json, device_summary_json
from console_api.validation import Field, all_optional
from models import ArchiveStatus, Scope
from operations import departments, devices

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
CREATE_SCHEMA = {**DEVICE_SCHEMA, "unique_code": Field("str", max_length=20)}
EDIT_SCHEMA = all_optional(DEVICE_SCHEMA)


# The archive list's filters, shared by the list and the export.
FILTERS = {
    "q": Field("str", max_length=100, description="设备名称、唯一码、设备编码、规格型号、序列号等关键字"),
    "department_id": Field("int", minimum=1, description="所属科室"),
    "archive_status": Field("enum", enum=ArchiveStatus, description="在档状态"),
    "outsourced": Field("bool", description="true：已委外设备；false：未委外设备"),
}
DEPARTMENT_SCHEMA = {"name": Field("str", required=True, max_length=50)}


def list_filters(query: dict) -> dict:
    """The list operation's keyword arguments from the parsed FILTERS."""
    return {
        "keyword": query["q"],
        "department_id": query["department_id"],
        "archive_status": query["archive_status"],
        "outsourced": query["outsourced"],
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
    department = departments.create_department(current_actor(), body["name"])
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
            "page": page.page,
            "per_page": page.per_page,
        }
    )


@route("POST", "/devices", "新增设备档案", body=CREATE_SCHEMA, response="Device", status=201, errors=(409,))
def create_device():
    body = request_body()
    unique_code = body.pop("unique_code", None)
    device = devices.create_device(current_actor(), body, unique_code=unique_code)
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
