"""设备档案管理: the archive list, detail, create and edit; 科室 for the pickers."""

from flask import current_app, jsonify

from console_api import api
from console_api.http import commit, current_actor, signed_in
from console_api.links import device_link_url
from console_api.serializers import department_json, device_detail_json, device_summary_json
from console_api.validation import Field, parse_body, query_bool, query_enum, query_int, query_str
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


def list_filters() -> dict:
    """The archive list's filters, shared by the list and the export."""
    return {
        "keyword": query_str("q", max_length=100),
        "department_id": query_int("department_id"),
        "archive_status": query_enum("archive_status", ArchiveStatus),
        "outsourced": query_bool("outsourced"),
    }


def device_payload(device, scopes):
    department = departments.department_of_institution(device.institution_id, device.department_id).name
    return device_detail_json(device, department, scopes, device_link_url(device))


@api.get("/departments")
@signed_in
def list_departments():
    return jsonify({"items": [department_json(d) for d in departments.list_departments(current_actor())]})


@api.post("/departments")
@signed_in
def create_department():
    body = parse_body({"name": Field("str", required=True, max_length=50)})
    department = departments.create_department(current_actor(), body["name"])
    commit()
    return jsonify(department_json(department)), 201


@api.get("/devices")
@signed_in
def list_devices():
    """查询设备档案; with `outsourced=true|false` the 已委外 / 未委外设备 lists."""
    config = current_app.config
    per_page = query_int("per_page", config["DEFAULT_PAGE_SIZE"], maximum=config["MAX_PAGE_SIZE"])
    page = devices.list_devices(current_actor(), page=query_int("page", 1), per_page=per_page, **list_filters())
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


@api.post("/devices")
@signed_in
def create_device():
    body = parse_body(CREATE_SCHEMA)
    unique_code = body.pop("unique_code", None)
    device = devices.create_device(current_actor(), body, unique_code=unique_code)
    commit()
    return jsonify(device_payload(device, frozenset(Scope))), 201


@api.get("/devices/<int:device_id>")
@signed_in
def device_detail(device_id: int):
    device, scopes = devices.get_device(current_actor(), device_id)
    return jsonify(device_payload(device, scopes))


@api.patch("/devices/<int:device_id>")
@signed_in
def update_device(device_id: int):
    body = parse_body(DEVICE_SCHEMA, partial=True)
    device = devices.update_device(current_actor(), device_id, body)
    commit()
    return jsonify(device_payload(device, frozenset(Scope)))
