"""导出Excel / 设备档案导入: the archive as .xlsx, the import template, and the import."""

from __future__ import annotations

from flask import current_app, jsonify, request

from console_api.device_views import FILTERS, list_filters
from console_api.device_workbook import XLSX_MIMETYPE, read_devices, write_devices, write_template
from console_api.http import commit, current_actor, file_response
from console_api.route_table import Upload, request_query
from console_api.routes import FILE_PART, route
from jobs import device_imports
from models import db
from operations import audit, departments, devices
from operations.access import require_institution_staff, require_manager
from operations.errors import InvalidInput, RowErrors, merge_row_errors

IMPORT_MODES = ("create", "update")
WORKBOOK = {XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}
IMPORT_UPLOAD = Upload(
    {
        "file": FILE_PART,
        "mode": {
            "type": "string",
            "enum": list(IMPORT_MODES),
            "description": "create 新增（默认）；update 按唯一码更新",
        },
    },
    required=("file",),
)


@route("GET", "/devices/export.xlsx", "导出Excel：按列表的筛选条件导出设备档案", query=FILTERS, content=WORKBOOK)
def export_devices():
    """导出Excel: the archive list's filters, every matching device in 唯一码 order."""
    actor = current_actor()
    require_institution_staff(actor)
    filters = list_filters(request_query())
    limit = current_app.config["EXPORT_MAX_ROWS"]
    # Refuse before building a workbook nobody can open comfortably.
    total, too_many = devices.count_devices(actor, cap=limit, **filters)
    if too_many:
        raise InvalidInput({"export": f"超过 {total} 台设备，一次最多导出 {limit} 台，请缩小筛选范围"})
    names = devices.department_names(actor.institution_id)
    data = write_devices(devices.iter_devices(actor, **filters), names)
    return file_response(data, XLSX_MIMETYPE, filename="设备档案.xlsx", ascii_filename="devices.xlsx")


@route("GET", "/devices/import-template.xlsx", "设备档案导入模板", content=WORKBOOK)
def device_import_template():
    actor = current_actor()
    require_institution_staff(actor)
    # The departments a new device may go to, in the manager's order (a stopped one takes none).
    names = [d.name for d in departments.list_departments(actor) if d.is_active]
    return file_response(
        write_template(names),
        XLSX_MIMETYPE,
        filename="设备档案导入模板.xlsx",
        ascii_filename="device-import-template.xlsx",
    )


@route(
    "POST",
    "/devices/import",
    "设备档案导入（全部成功或全部不导入；超过 2,000 行时 202 后台导入，进度见 GET /imports/{id}）",
    upload=IMPORT_UPLOAD,
    response="ImportResult",
    accepted="ImportJob",
)
def import_devices():
    """设备档案导入: multipart `file` (.xlsx) and `mode` = create (default) or update.

    All or nothing: one 422 lists every bad row, the cells the edge could not read together
    with the domain's reasons (unknown 科室, clashing 唯一码, ...). A workbook of more than
    IMPORT_SYNC_MAX_ROWS rows goes to the queue: 202 with the import's id, its progress and
    its row errors then at GET /imports/<id>.
    """
    actor = current_actor()
    require_manager(actor)  # before reading a file the domain would refuse anyway
    mode = request.form.get("mode") or "create"
    if mode not in IMPORT_MODES:
        raise InvalidInput({"mode": f"取值应为 {'、'.join(IMPORT_MODES)} 之一"})
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": "请上传文件"})
    sheet = read_devices(upload.read(), max_rows=current_app.config["IMPORT_MAX_ROWS"])
    if len(sheet.rows) > current_app.config["IMPORT_SYNC_MAX_ROWS"]:
        state = device_imports.start_import(actor, sheet.rows, sheet.cell_errors, update_existing=mode == "update")
        audit_start(actor, state)
        commit()
        return jsonify(device_imports.public_state(state)), 202
    counts = all_or_nothing(sheet, lambda: devices.import_devices(actor, sheet.rows, update_existing=mode == "update"))
    commit()
    return jsonify(counts)


def all_or_nothing(sheet, run):
    """`run()`'s answer, or one RowErrors naming every bad row: the cells the edge could not read
    with the domain's reasons; the domain may have written the rows it found good, and a bad cell
    anywhere undoes them."""
    try:
        answer = run()
        domain_errors = []
    except RowErrors as error:
        domain_errors = error.rows
    errors = merge_row_errors(sheet.cell_errors, domain_errors, sheet.rows)
    if errors:
        db.session.rollback()
        raise RowErrors(errors)
    return answer


def audit_start(actor, state) -> None:
    """The 操作日志 notes the queued import; the import itself logs what it wrote when it commits."""
    audit.record(
        actor,
        "import_queued",
        "device",
        None,
        label=f"提交设备档案后台导入：{state['total']} 行",
        changes={"import_id": [None, state["id"]], "rows": [None, state["total"]]},
    )


@route(
    "GET",
    "/imports/<string:import_id>",
    "后台导入的进度、结果与错误行（仅导入机构的设备科管理员）",
    response="ImportJob",
)
def import_progress(import_id: str):
    return jsonify(device_imports.public_state(device_imports.read_import(current_actor(), import_id)))
