"""发送内容模板: placeholders filled per subject, unknown ones refused when saved."""

from __future__ import annotations

import pytest

from models import AlertSubject, CredentialKind
from operations.alerts.templates import check_template, default_template, render, status_text
from operations.errors import InvalidInput

VALUES = {
    "subject": "检眼镜",
    "kind": "设备操作证",
    "due_on": "2026-12-10",
    "days_left": 3,
    "number": "C000000001",
    "holder_name": "李工",
    "vendor_name": "服务商测试1",
    "unique_codes": "000075",
}


def test_the_guides_default_renders_as_in_the_guide():
    template = default_template(AlertSubject.CREDENTIAL, CredentialKind.OPERATION_CERTIFICATE)
    assert render(template, AlertSubject.CREDENTIAL, VALUES) == (
        "检眼镜已经快到设备操作证到期日了, 设备操作证到期日是: 2026-12-10, 请及时处理!"
    )


def test_every_placeholder_of_a_subject_is_filled():
    text = "[设备名称]/[唯一码]/[证件号]/[姓名]/[剩余天数]天/[到期日]"
    assert render(text, AlertSubject.CREDENTIAL, VALUES) == "检眼镜/000075/C000000001/李工/3天/2026-12-10"
    assert render("[服务商名称]的授权[授权到期日]到期", AlertSubject.AUTHORIZATION, VALUES) == (
        "服务商测试1的授权2026-12-10到期"
    )


def test_placeholders_of_the_other_subject_are_refused():
    with pytest.raises(InvalidInput) as refused:
        check_template("[服务商名称]的证照", AlertSubject.CREDENTIAL)
    assert "[服务商名称]" in refused.value.fields["template"]
    assert "[设备名称]" in refused.value.fields["template"]  # the message lists what may be used
    assert check_template(" [姓名]的证照 ", AlertSubject.CREDENTIAL) == "[姓名]的证照"


def test_brackets_that_are_not_placeholders_stay_text_on_render():
    assert render("[未知]与[设备名称]", AlertSubject.CREDENTIAL, VALUES) == "[未知]与检眼镜"


def test_status_words():
    assert [status_text(days) for days in (3, 1, 0, -1)] == ["还剩3天到期", "还剩1天到期", "今天到期", "已过期"]
