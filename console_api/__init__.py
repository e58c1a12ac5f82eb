"""The PC console's JSON API (/api/v1): what the equipment office and vendor admins use."""

from flask import Blueprint

api = Blueprint("console_api", __name__, url_prefix="/api/v1")

from console_api import (  # noqa: E402,F401 - views register themselves on the blueprint
    account_views,
    alert_template_views,
    alert_views,
    audit_views,
    authorization_views,
    certificate_views,
    credential_views,
    dashboard_views,
    department_views,
    device_attachment_views,
    device_code_views,
    device_label_views,
    device_link_views,
    device_running_state_views,
    device_transfer_views,
    device_views,
    device_workbook_views,
    inbox_views,
    institution_settings_views,
    live_stream,
    openapi,
    reconfirmation,
    record_views,
    service_plan_views,
    service_plan_workbook_views,
    session_views,
    sla_views,
    sms_sign_in,
    staff_views,
    vendor_views,
    wechat_binding_views,
    work_order_stats_views,
    work_order_views,
)
