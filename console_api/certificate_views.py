"""计量证书 of a 计量 work order: the engineer's upload (multipart: the document in `file` and the
fields as form fields, what wx.uploadFile's formData sends too) and its download. The
mini-program's route reads the same form (`certificate_form`)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from console_api.http import commit, current_actor, file_response
from console_api.route_table import Upload as Multipart
from console_api.routes import DOCUMENTS, FILE_PART, INLINE_QUERY, route
from console_api.validation import Field
from console_api.work_order_serializers import certificate_json
from models import CertificateConclusion
from models.work_order import work_order_number
from operations.errors import InvalidInput
from operations.uploads import MAX_ATTACHMENT_BYTES, Upload
from operations.work_orders import certificates
from operations.work_orders.certificates import CertificateFields

FIELDS = {
    "number": Field("str", required=True, max_length=100, description="证书编号"),
    "calibrated_on": Field("date", required=True, description="检定/校准日期"),
    "valid_until": Field("date", description="有效期至（按完成日期的计量计划以它为下次计量日期）"),
    "conclusion": Field("enum", required=True, enum=CertificateConclusion, description="结论：合格 / 不合格 / 限用"),
    "issuer": Field("str", required=True, max_length=100, description="发证机构"),
}
LABELS = {
    "number": "证书编号",
    "calibrated_on": "检定/校准日期",
    "valid_until": "有效期至",
    "conclusion": "结论",
    "issuer": "发证机构",
}
UPLOAD = Multipart(
    {
        "file": {**FILE_PART, "description": "证书文件：PDF、JPG 或 PNG，不超过 10 MB；只改字段时可不传"},
        **{name: {"type": "string", "description": field.description} for name, field in FIELDS.items()},
    },
    required=("number", "calibrated_on", "conclusion", "issuer"),
)


def certificate_form() -> tuple[Upload | None, CertificateFields]:
    """The form's fields typed (422 per field, in Chinese) and its file, if any."""
    unknown = {name or "": "不支持的字段" for name in request.form if name not in FIELDS}
    unknown |= {name or "": "不支持的文件字段" for name in request.files if name != "file"}
    if unknown:
        raise InvalidInput(unknown)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, field in FIELDS.items():
        raw = request.form.get(name)
        try:
            values[name] = field.parse(None if raw is None or raw.strip() == "" else raw)
        except ValueError as reason:
            errors[name] = f"{LABELS[name]}：{reason}"
    file = request.files.get("file")
    upload = None
    if file is not None:
        # One byte past the limit is enough to refuse it; never hold more than that.
        upload = Upload(file.filename or "", file.mimetype, file.stream.read(MAX_ATTACHMENT_BYTES + 1))
    if errors:
        raise InvalidInput(errors)
    return upload, CertificateFields(**values)


@route(
    "POST",
    "/work-orders/<int:work_order_id>/certificate",
    "上传计量证书（计量工单完成前必须上传；再次上传即替换）",
    upload=UPLOAD,
    response="Certificate",
    status=201,
    errors=(409,),
)
def attach_work_order_certificate(work_order_id: int):
    return attach_from_request(work_order_id)


def attach_from_request(work_order_id: int):
    """The upload of either edge: the form read, the certificate attached, 201 with it."""
    upload, fields = certificate_form()
    certificate = certificates.attach(current_actor(), work_order_id, upload, fields)
    commit()
    return jsonify(certificate_json(certificate)), 201


@route(
    "GET",
    "/work-orders/<int:work_order_id>/certificate",
    "计量证书文件（?inline=1 在浏览器中打开）",
    query=INLINE_QUERY,
    content=DOCUMENTS,
)
def work_order_certificate(work_order_id: int):
    certificate = certificates.document(current_actor(), work_order_id)
    extension = certificate.filename.rsplit(".", 1)[-1]
    return file_response(
        certificate.data,
        certificate.content_type,
        filename=certificate.filename,
        ascii_filename=f"{work_order_number(work_order_id)}-certificate.{extension}",
    )
