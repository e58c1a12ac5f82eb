"""医疗机构设置: the equipment manager's settings of their hospital (汇总提醒's threshold)."""

from __future__ import annotations

from flask import jsonify

from console_api.http import commit, current_actor
from console_api.route_table import request_body
from console_api.routes import route
from console_api.validation import Field
from models.institution import DIGEST_THRESHOLD_MAX, DIGEST_THRESHOLD_MIN
from operations import institution_settings
from operations.institution_settings import InstitutionSettings

SETTINGS_SCHEMA = {
    "alert_digest_threshold": Field(
        "int",
        required=True,
        nullable=False,
        minimum=DIGEST_THRESHOLD_MIN,
        maximum=DIGEST_THRESHOLD_MAX,
        description="汇总提醒：同一发送时间、同一渠道（短信、微信）给一个人的预警超过这么多条时，合并为一条汇总",
    ),
}


def settings_json(settings: InstitutionSettings) -> dict:
    return {
        "institution_id": settings.institution_id,
        "institution_name": settings.institution_name,
        "alert_digest_threshold": settings.alert_digest_threshold,
    }


@route("GET", "/institution-settings", "本机构的设置（设备科管理员）", response="InstitutionSettings")
def institution_settings_detail():
    return jsonify(settings_json(institution_settings.get_settings(current_actor())))


@route(
    "PUT",
    "/institution-settings",
    "修改本机构的设置（设备科管理员）：汇总提醒的条数",
    body=SETTINGS_SCHEMA,
    response="InstitutionSettings",
)
def update_institution_settings():
    body = request_body()
    settings = institution_settings.update_settings(
        current_actor(), alert_digest_threshold=body["alert_digest_threshold"]
    )
    commit()
    return jsonify(settings_json(settings))
