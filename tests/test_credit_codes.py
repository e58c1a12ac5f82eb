"""统一社会信用代码 (GB 32100-2015): the check character over the 31-character set."""

from __future__ import annotations

import pytest

from operations.credit_codes import CHARSET, check_character, normalize, parse, problem
from operations.errors import InvalidInput

# Codes of real companies, printed on their business licences (华为技术, 腾讯科技(深圳), 小米科技).
REAL = ("914403001922038216", "91440300708461136T", "91110108551385082Q")


def test_the_character_set_leaves_out_i_o_s_v_z():
    assert len(CHARSET) == 31
    assert not set("IOSVZ") & set(CHARSET)


@pytest.mark.parametrize("code", REAL)
def test_real_codes_pass_and_their_check_character_is_the_computed_one(code):
    assert problem(code) is None
    assert check_character(code[:17]) == code[17]


def test_check_character_by_hand():
    # 9 1 3 5 0 1 0 0 M(21) 0 0 0 1 0 0 Y(30) 4 with weights 3^i mod 31 =
    # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28: Σ = 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112
    # = 1640; 1640 mod 31 = 28; 31 - 28 = 3.
    assert check_character("91350100M000100Y4") == "3"
    assert problem("91350100M000100Y43") is None
    # A sum that is a multiple of 31 gives 0 (31 - 0 is 31, which stands for 0).
    assert check_character("00000000000000000") == "0"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("91350100M000100Y4", "应为 18 位"),
        ("91350100M000100Y433", "应为 18 位"),
        ("91350100M000I00Y43", "无效字符“I”"),
        ("913501O0M000100Y43", "无效字符“O”"),
        ("9135A100M000100Y43", "行政区划码"),
        ("91350100M000100Y44", "校验位不正确"),
        ("914403001922038217", "校验位不正确"),
    ],
)
def test_wrong_codes_say_why(typed, reason):
    found = problem(normalize(typed))
    assert found is not None and reason in found


def test_parse_normalizes_what_people_type():
    assert parse(" 9144 0300 7084 6113 6t ") == "91440300708461136T"
    assert parse("91440300-70846113-6T") == "91440300708461136T"
    with pytest.raises(InvalidInput) as refused:
        parse("91440300708461136X", field="new_code")
    assert refused.value.fields == {"new_code": "统一社会信用代码校验位不正确，请核对"}
