"""计划导入: the template and the upload of 保养计划 / 计量计划, one plan a row, all or nothing."""

from __future__ import annotations

from flask import current_app, jsonify, request

from console_api.device_workbook import XLSX_MIMETYPE
from console_api.device_workbook_views import WORKBOOK, all_or_nothing
from console_api.http import commit, current_actor, file_response
from console_api.routes import ONE_FILE, route
from console_api.service_plan_workbook import read_plans, write_template
from operations.access import require_manager
from operations.errors import InvalidInput
from operations.service_plans.imports import import_plans


@route("GET", "/service-plans/import-template.xlsx", "保养 / 计量计划导入模板", content=WORKBOOK)
def service_plan_import_template():
    require_manager(current_actor())
    return file_response(
        write_template(),
        XLSX_MIMETYPE,
        filename="保养计量计划导入模板.xlsx",
        ascii_filename="service-plan-import-template.xlsx",
    )


@route(
    "POST",
    "/service-plans/import",
    "保养 / 计量计划导入（一行一个计划；任何一行有错误时全部不导入，422 列出每个错误行）",
    upload=ONE_FILE,
    response="ServicePlanImport",
    status=201,
)
def import_service_plans():
    """Multipart `file` (.xlsx), at most IMPORT_SYNC_MAX_ROWS rows, read and written in the request."""
    actor = current_actor()
    require_manager(actor)  # before reading a file the domain would refuse anyway
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": "请上传文件"})
    sheet = read_plans(upload.read(), max_rows=current_app.config["IMPORT_SYNC_MAX_ROWS"])
    counts = all_or_nothing(sheet, lambda: import_plans(actor, sheet.rows))
    commit()
    return jsonify(counts), 201
