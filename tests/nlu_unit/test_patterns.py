"""Regex-shaped entities come out right even glued to Chinese text; regex.yml is generated from code."""


import pytest

from bot.config import ROOT
from bot.nlu.patterns import find, render_yaml


def test_regex_training_file_is_generated_from_the_patterns():
    assert (ROOT / "data" / "nlu" / "regex.yml").read_text(encoding="utf-8") == render_yaml(), (
        "data/nlu/regex.yml is stale: run .venv/bin/python -m bot.nlu.patterns > data/nlu/regex.yml"
    )


@pytest.mark.parametrize(
    "text, entity, found",
    [
        ("户号5100237781停电了", "account_no", ["5100237781"]),
        ("5100237781", "account_no", ["5100237781"]),
        ("客户编号1305100766658的电费", "account_no", ["1305100766658"]),
        ("户号是５１００２３７７８１", "account_no", ["５１００２３７７８１"]),
        ("我手机13912340000", "account_no", []),
        ("+8613912340000", "account_no", []),
        ("单号GD202611270012", "account_no", []),
        ("我手机13912340000换了", "phone", ["13912340000"]),
        ("电话139-1234-0000", "phone", ["139-1234-0000"]),
        ("+8613912340000", "phone", ["13912340000"]),
        ("户号5100237781", "phone", []),
        ("验证码482913", "verification_code", ["482913"]),
        ("5100237781", "verification_code", []),
        ("进度gd202611270012咋样了", "ticket_no", ["gd202611270012"]),
        ("用了三百度电多少钱", "kwh", ["三百"]),
        ("3百度电得多少钱", "kwh", ["3百"]),
        ("一度电多少钱", "kwh", []),
        ("差不多220度", "kwh", ["220"]),
        ("五百来度吧", "kwh", ["五百"]),
        ("300多度电", "kwh", ["300"]),
        ("好几百度", "kwh", []),
        ("上个月和10月份的电费", "month", ["上个月", "10月份"]),
        ("这个月用了多少", "month", ["这个月"]),
        ("一个月多少钱", "month", []),
    ],
)
def test_entities_in_glued_text(text, entity, found):
    assert find(entity, text) == found
