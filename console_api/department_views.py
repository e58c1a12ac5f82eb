"""科室管理 and 设备类型 (the equipment manager's lists): rename, reorder, deactivate / reactivate a
department; create, rename, merge, reorder and delete a device type. Creating a department and
the department list are in device_views."""

from __future__ import annotations

from dataclasses import replace

from flask import jsonify

from console_api.checklist_schema import CHECKLIST
from console_api.http import commit, current_actor
from console_api.route_table import request_body
from console_api.routes import route
from console_api.validation import Field
from models import Department, DeviceType
from operations import departments, device_types
from operations.account_inputs import department_phone_problem
from operations.errors import InvalidInput
from operations.service_plans import checklists

NAME = {"name": Field("str", required=True, max_length=50)}
PHONE = Field(
    "str",
    max_length=30,
    description="科室电话：手机号或固定电话（010-12345678，分机 010-12345678-123）；计划工单把它作为联系方式",
)
DEPARTMENT_EDIT = {"name": Field("str", max_length=50, nullable=False), "phone": PHONE}
DEPARTMENT_ORDER = {
    "department_ids": Field("int_list", required=True, max_items=500, description="本院全部科室的 id，按新顺序")
}
TYPE_ORDER = {
    "device_type_ids": Field("int_list", required=True, max_items=1000, description="本院全部设备类型的 id，按新顺序")
}
TEMPLATE = {"checklist": replace(CHECKLIST, required=True)}
MERGE = {"into_id": Field("int", required=True, minimum=1, description="合并到的设备类型（保留）")}


def department_row_json(department: Department, held: departments.Members | None) -> dict:
    return {
        "id": department.id,
        "name": department.name,
        "phone": department.phone,
        "sort_order": department.sort_order,
        "is_active": department.is_active,
        "device_count": held.devices if held else 0,
        "people_count": held.people if held else 0,
    }


def _department_row(department: Department) -> dict:
    return department_row_json(department, departments.members(department.institution_id).get(department.id))


def checked_phone(body: dict) -> str | None:
    """科室电话 as given (blank: none), or a 422 saying which formats are accepted."""
    phone = body.get("phone")
    if phone is not None and (problem := department_phone_problem(phone)):
        raise InvalidInput({"phone": problem})
    return phone


@route(
    "PATCH",
    "/departments/<int:department_id>",
    "修改科室：改名、科室电话（null 或空白清除）",
    body=DEPARTMENT_EDIT,
    response="DepartmentRow",
    errors=(403, 409),
)
def update_department(department_id: int):
    body = request_body()
    if "name" not in body and "phone" not in body:
        raise InvalidInput({"name": "请填写科室名称或科室电话"})
    if "name" in body and body["name"] is None:
        raise InvalidInput({"name": "科室名称不能为空"})
    phone = checked_phone(body) if "phone" in body else departments.KEEP
    department = departments.update_department(current_actor(), department_id, body.get("name"), phone)
    commit()
    return jsonify(_department_row(department))


@route(
    "PUT", "/departments/order", "科室排序（按新顺序给出全部科室）", body=DEPARTMENT_ORDER, response="DepartmentRows"
)
def reorder_departments():
    ordered = departments.reorder_departments(current_actor(), request_body()["department_ids"])
    held = departments.members(current_actor().institution_id)
    commit()
    return jsonify({"items": [department_row_json(d, held.get(d.id)) for d in ordered]})


@route(
    "POST",
    "/departments/<int:department_id>/deactivate",
    "停用科室（仍有在档设备或在用人员时不可停用）",
    response="DepartmentRow",
    errors=(409,),
)
def deactivate_department(department_id: int):
    department = departments.deactivate_department(current_actor(), department_id)
    commit()
    return jsonify(_department_row(department))


@route("POST", "/departments/<int:department_id>/reactivate", "启用科室", response="DepartmentRow", errors=(409,))
def reactivate_department(department_id: int):
    department = departments.reactivate_department(current_actor(), department_id)
    commit()
    return jsonify(_department_row(department))


# -- 设备类型 --------------------------------------------------------------------------------------


def device_type_json(device_type: DeviceType, count: int) -> dict:
    return {
        "id": device_type.id,
        "name": device_type.name,
        "sort_order": device_type.sort_order,
        "device_count": count,
        "checklist": checklists.items_of(device_type.checklist),
    }


@route("GET", "/device-types", "设备类型列表（含设备数）", response="DeviceTypeList")
def list_device_types():
    listed = device_types.list_device_types(current_actor())
    return jsonify({"items": [device_type_json(item.device_type, item.devices) for item in listed]})


@route("POST", "/device-types", "新增设备类型", body=NAME, response="DeviceType", status=201, errors=(409,))
def create_device_type():
    device_type = device_types.create_device_type(current_actor(), request_body()["name"])
    commit()
    return jsonify(device_type_json(device_type, 0)), 201


@route(
    "PATCH",
    "/device-types/<int:device_type_id>",
    "设备类型改名（同时修改本院设备和本院工程师技能中的名称）",
    body=NAME,
    response="DeviceType",
    errors=(409,),
)
def rename_device_type(device_type_id: int):
    device_type = device_types.rename_device_type(current_actor(), device_type_id, request_body()["name"])
    count = device_types.device_count(device_type)
    commit()
    return jsonify(device_type_json(device_type, count))


@route(
    "POST",
    "/device-types/<int:device_type_id>/merge",
    "合并设备类型：本类型的设备和技能改为 into_id 的类型，本类型删除",
    body=MERGE,
    response="DeviceType",
)
def merge_device_type(device_type_id: int):
    target = device_types.merge_device_types(current_actor(), device_type_id, request_body()["into_id"])
    count = device_types.device_count(target)
    commit()
    return jsonify(device_type_json(target, count))


@route(
    "PUT",
    "/device-types/<int:device_type_id>/checklist",
    "设置设备类型的检查项模板（计划未自定检查项时，生成的保养/计量工单带此模板）",
    body=TEMPLATE,
    response="DeviceType",
)
def set_device_type_checklist(device_type_id: int):
    device_type = device_types.set_checklist_template(current_actor(), device_type_id, request_body()["checklist"])
    count = device_types.device_count(device_type)
    commit()
    return jsonify(device_type_json(device_type, count))


@route("PUT", "/device-types/order", "设备类型排序（按新顺序给出全部类型）", body=TYPE_ORDER, response="DeviceTypeList")
def reorder_device_types():
    ordered = device_types.reorder_device_types(current_actor(), request_body()["device_type_ids"])
    listed = {item.device_type.id: item.devices for item in device_types.list_device_types(current_actor())}
    commit()
    return jsonify({"items": [device_type_json(t, listed.get(t.id, 0)) for t in ordered]})


@route(
    "DELETE",
    "/device-types/<int:device_type_id>",
    "删除设备类型（仅未被设备或工程师技能使用时）",
    status=204,
    errors=(409,),
)
def delete_device_type(device_type_id: int):
    device_types.delete_device_type(current_actor(), device_type_id)
    commit()
    return "", 204
