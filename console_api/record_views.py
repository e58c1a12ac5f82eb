"""A device's 维修 / 保养 / 计量 records; vendors read only the kinds their authorization grants."""

from flask import jsonify

from console_api.http import commit, current_actor
from console_api.route_table import request_body
from console_api.routes import route
from console_api.serializers import device_record_json
from console_api.validation import Field
from models import RecordKind
from operations import device_records

RECORD_SCHEMA = {
    "performed_on": Field("date", required=True),
    "summary": Field("str", required=True, max_length=200),
    "details": Field("str", max_length=4000),
    "performed_by": Field("str", max_length=100),
}
KINDS = "<any(repair, maintenance, metrology):kind>"


@route("GET", f"/devices/<int:device_id>/records/{KINDS}", "设备的维修 / 保养 / 计量记录", response="RecordList")
def list_records(device_id: int, kind: str):
    records = device_records.list_device_records(current_actor(), device_id, RecordKind(kind))
    return jsonify({"items": [device_record_json(record) for record in records]})


@route(
    "POST",
    f"/devices/<int:device_id>/records/{KINDS}",
    "添加维修 / 保养 / 计量记录",
    body=RECORD_SCHEMA,
    response="Record",
    status=201,
)
def add_record(device_id: int, kind: str):
    body = request_body()
    record = device_records.add_device_record(current_actor(), device_id, kind=RecordKind(kind), **body)
    commit()
    return jsonify(device_record_json(record)), 201
