"""What each channel would send for a message, without sending it: the inbox's title and body, the
Aliyun SMS template's variables (fitted and checked as `channels.sms` sends them) and the WeChat
template's fields (clipped as `channels.wechat` sends them). For the preview beside a template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from channels import sms, wechat
from channels.base import OutgoingMessage


@dataclass(frozen=True)
class ChannelPreview:
    channel: str
    template_id: str | None = None  # the provider's template (Aliyun TemplateCode, WeChat template_id)
    title: str | None = None  # inbox only
    text: str | None = None  # inbox only: the filled 发送内容模板
    fields: dict[str, str] = field(default_factory=dict)  # a provider template's variables or fields
    problem: str | None = None  # why this channel would not send it (no template, a value refused)


def inbox_preview(message: OutgoingMessage) -> ChannelPreview:
    return ChannelPreview("inbox", title=message.title, text=message.body)


def sms_preview(message: OutgoingMessage, config: Mapping[str, Any]) -> ChannelPreview:
    settings = sms.SmsSettings.from_config(config)
    template = settings.templates.get(message.family)
    if template is None:
        problem = settings.template_problems.get(message.family) or sms.no_template_reason(message.family)
        return ChannelPreview("sms", problem=problem)
    try:
        return ChannelPreview("sms", template_id=template.id, fields=template.params(message))
    except sms.UnfitValue as unfit:
        return ChannelPreview("sms", template_id=template.id, problem=str(unfit))


def wechat_preview(message: OutgoingMessage, config: Mapping[str, Any]) -> ChannelPreview:
    template = wechat.WeChatSettings.from_config(config).templates.get(message.family)
    if template is None:
        return ChannelPreview("wechat", problem=wechat.no_template_reason(message.family))
    return ChannelPreview("wechat", template_id=template.id, fields=wechat.template_fields(message, template))


def previews(message: OutgoingMessage, config: Mapping[str, Any]) -> list[ChannelPreview]:
    return [inbox_preview(message), sms_preview(message, config), wechat_preview(message, config)]
