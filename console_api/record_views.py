"""A device's 维修 / 保养 / 计量 records; vendors read only the kinds their authorization grants."""

from flask import jsonify

from console_api.http import commit, current_actor, file_response
from console_api.route_table import request_body
from console_api.routes import DOCUMENTS, INLINE_QUERY, route
from console_api.serializers import record_with_document_json
from console_api.validation import Field
from console_api.work_order_serializers import certificate_json
from models import RecordKind
from operations import device_records
from operations.work_orders import certificates

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
    if kind != RecordKind.METROLOGY:
        return jsonify({"items": [record_with_document_json(record) for record in records]})
    # 计量 records: those filed from a certificate show its 证书编号, 有效期至, 结论 and 发证机构.
    filed = certificates.by_records([record.id for record in records])
    return jsonify(
        {
            "items": [
                record_with_document_json(record) | {"certificate": certificate_json(filed.get(record.id))}
                for record in records
            ]
        }
    )


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
    return jsonify(record_with_document_json(record)), 201


@route(
    "GET",
    f"/devices/<int:device_id>/records/{KINDS}/<int:record_id>/document",
    "记录的附件：归档的服务报告 PDF 或计量证书（?inline=1 在浏览器中打开）",
    query=INLINE_QUERY,
    content=DOCUMENTS,
)
def record_document(device_id: int, kind: str, record_id: int):
    record = device_records.record_document(current_actor(), device_id, RecordKind(kind), record_id)
    return file_response(
        record.document,
        record.document_type or "application/pdf",
        filename=record.document_name or f"record-{record.id}.pdf",
        ascii_filename=f"record-{record.id}.{(record.document_name or '.pdf').rsplit('.', 1)[-1]}",
    )
