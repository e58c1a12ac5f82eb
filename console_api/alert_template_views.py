"""发送内容模板's preview: what each channel would send today, as the user types the template.

The credential and authorization forms send the template and the subject fields they hold; the
预警计划 page sends the plan's id instead. The message is made by the sweep's code
(operations.alerts.preview) and shown per channel by the channels' own rendering (channels.previews).
"""

from __future__ import annotations

from flask import current_app, jsonify

from channels.base import OutgoingMessage
from channels.previews import previews
from console_api.http import current_actor
from console_api.route_table import request_body
from console_api.routes import route
from console_api.validation import Field
from models import CHANNEL_LABELS, AlertSubject, ChannelName, CredentialKind
from models.alert_plan import MAX_TEMPLATE_LENGTH
from operations.alerts import preview
from operations.credentials import MAX_DEVICES
from operations.errors import InvalidInput

PREVIEW_SCHEMA = {
    "template": Field("str", max_length=MAX_TEMPLATE_LENGTH, description="发送内容模板；为空时用默认模板"),
    "alert_plan_id": Field("int", minimum=1, description="已保存的预警计划：其证照或授权即预览的对象"),
    "subject": Field("enum", enum=AlertSubject, description="未保存时：credential 证照；authorization 委外授权"),
    "kind": Field("enum", enum=CredentialKind, description="证照类型（证照必填）"),
    "device_ids": Field("int_list", max_items=MAX_DEVICES, description="证照关联的设备；委外授权的一台设备"),
    "number": Field("str", max_length=50),
    "holder_name": Field("str", max_length=50),
    "issuing_authority": Field("str", max_length=100),
    "vendor_id": Field("int", minimum=1, description="委外授权的服务商"),
    "due_on": Field("date", description="有效期至 / 授权结束日期；不给出时以15天后为例"),
}


def _form_subject(body: dict) -> preview.FormSubject:
    if body.get("subject") is None:
        raise InvalidInput({"subject": "请指定预警对象（证照或委外授权），或给出预警计划"})
    return preview.FormSubject(
        subject=body["subject"],
        kind=body.get("kind"),
        device_ids=tuple(body.get("device_ids") or ()),
        number=body.get("number"),
        holder_name=body.get("holder_name"),
        issuing_authority=body.get("issuing_authority"),
        vendor_id=body.get("vendor_id"),
        due_on=body.get("due_on"),
    )


@route(
    "POST",
    "/alert-templates/preview",
    "发送内容模板预览：今天发送时各发送形式的内容（无法识别的占位符为 422）",
    body=PREVIEW_SCHEMA,
    response="AlertTemplatePreview",
)
def preview_alert_template():
    body = request_body()
    actor = current_actor()
    template = body.get("template")
    if body.get("alert_plan_id") is not None:
        shown = preview.preview_plan(actor, body["alert_plan_id"], template)
    else:
        shown = preview.preview_form(actor, template, _form_subject(body))
    message = OutgoingMessage(
        delivery_id=0,
        idempotency_key="preview",
        recipient_id=actor.user_id,
        topic=shown.content.topic,
        title=shown.content.title,
        body=shown.content.body,
        values=shown.content.values,
    )
    return jsonify(
        {
            "template": shown.template,
            "default_template": shown.default_template,
            "placeholders": shown.placeholders,
            "day": shown.day.isoformat(),
            "due_on": shown.due_on.isoformat(),
            "sample_due_on": shown.sample_due_on,
            "channels": [
                {
                    "channel": channel.channel,
                    "channel_label": CHANNEL_LABELS[ChannelName(channel.channel)],
                    "template_id": channel.template_id,
                    "title": channel.title,
                    "text": channel.text,
                    "fields": [{"name": name, "value": value} for name, value in channel.fields.items()],
                    "problem": channel.problem,
                }
                for channel in previews(message, current_app.config)
            ],
        }
    )
