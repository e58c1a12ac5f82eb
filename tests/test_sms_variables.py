"""SMS template variables fitted to and checked against the attribute each is registered with at
Aliyun (channels.sms_variables): the dense rules, one value at a time."""

from __future__ import annotations

import pytest

from channels.sms_variables import ATTRIBUTES, FREE_TEXT

NUMBER, TIME, CODE = ATTRIBUTES["other_number2"], ATTRIBUTES["time"], ATTRIBUTES["numberCaptcha"]


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("开机后报错 E21", "开机后报错 E21"),
        ("说明见 https://pan.example.com/s/1AbC?pwd=x9 请查收", "说明见 … 请查收"),
        ("说明见http://10.0.0.8:8080/a，谢谢", "说明见…，谢谢"),
        ("说明见www.example.com/x", "说明见…"),
        ("短链t.cn/A6xYz9", "短链…"),
        ("见pan.baidu.com/s/1", "见…"),
        ("邮件fix@example.com.cn或电话", "邮件…或电话"),
        ("回电13912345678或０２１１２３４５６７８", "回电…或…"),
        ("见 http://a.cn 或 a@b.cn 或 13800000000", "见 … 或 … 或 …"),
        ("http://a.cn 13800000000", "…"),
        ("多行\n  文字\t对齐", "多行 文字 对齐"),
        ("电话 138 0013 8000 型号 EP-1.5 号 123456", "电话 138 0013 8000 型号 EP-1.5 号 123456"),
        ("", "-"),
        (None, "-"),
        ("   ", "-"),
        (42, "42"),
    ],
)
def test_free_text_loses_links_e_mail_addresses_and_long_digit_runs(raw, sent):
    assert FREE_TEXT.fitted(raw) == sent
    assert FREE_TEXT.problem(sent) is None


def test_free_text_is_cut_to_35_characters_after_cleaning():
    raw = "屏幕" + "http://example.com/" + "x" * 80 + "闪烁" * 20
    sent = FREE_TEXT.fitted(raw)
    assert sent == ("屏幕…" + "闪烁" * 16)[:34] + "…"
    assert len(sent) == 35


def test_what_cutting_leaves_is_cleaned_again():
    # "a.coffee" is no link, but cut after "a.co" it would read as one.
    raw = "设" * 30 + "a.coffee 机"
    assert FREE_TEXT.fitted(raw) == "设" * 30 + "…"
    assert FREE_TEXT.problem(FREE_TEXT.fitted(raw)) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("见 https://x.cn", "含链接"),
        ("见 www.x.com", "含链接"),
        ("发到 a@b.cn", "含电子邮箱"),
        ("回电1234567", "含7位以上连续数字"),
        ("设" * 36, "超过35个字符"),
        ("设" * 35, None),
    ],
)
def test_free_text_check(value, problem):
    assert FREE_TEXT.problem(value) == problem


@pytest.mark.parametrize(
    ("attribute", "value", "problem"),
    [
        (NUMBER, "GD000123", None),
        (NUMBER, "WO_2026-0001", None),
        (NUMBER, "GD-0001/2", "不是其他号码"),
        (NUMBER, "工单1", "不是其他号码"),
        (NUMBER, "G" * 21, "超过20个字符"),
        (TIME, "2026-11-22", None),
        (TIME, "2026/11/22", None),
        (TIME, "20261122", None),
        (TIME, "2026年11月22日", None),
        (TIME, "2026-11-22 10:05", None),
        (TIME, "10:05:30", None),
        (TIME, "10点05分", None),
        (TIME, "明天上午", "不是时间"),
        (TIME, "2026-11-22T10:05", "不是时间"),
        (CODE, "012345", None),
        (CODE, "123", "不是仅数字"),
        (CODE, "1234567", "超过6个字符"),
        (CODE, "12a4", "不是仅数字"),
    ],
)
def test_structured_attributes_check_the_whole_value(attribute, value, problem):
    assert attribute.problem(value) == problem


def test_structured_values_are_never_rewritten():
    # A cut or altered number would tell the person something false: it stays as it is and fails.
    assert NUMBER.fitted("  GD-0001/2 ") == "GD-0001/2"
    assert NUMBER.fitted("G" * 30) == "G" * 30
    assert TIME.fitted("2026-11-22\n10:05") == "2026-11-22 10:05"


def test_only_the_start_of_a_long_text_is_cleaned(monkeypatch):
    """The link patterns cost time growing with the square of the text: a 20,000-character
    description must not be scanned whole when 35 characters survive."""
    from channels import sms_variables

    scanned: list[int] = []
    real = sms_variables._without_contacts
    monkeypatch.setattr(sms_variables, "_without_contacts", lambda text: scanned.append(len(text)) or real(text))
    fitted = FREE_TEXT.fitted("a." * 10_000)
    assert max(scanned) <= FREE_TEXT.max_length * sms_variables.SURVIVING_FACTOR
    assert len(fitted) <= FREE_TEXT.max_length and FREE_TEXT.problem(fitted) is None
