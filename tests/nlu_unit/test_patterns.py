"""Regex-shaped entities come out right even glued to Chinese text; regex.yml is generated from code."""


import pytest

from bot.config import ROOT
from bot.nlu.patterns import find, is_urge, personal_data_request, render_yaml


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


@pytest.mark.parametrize("text", ["催一下", "催一下师傅", "怎么还没来", "咋还不来修", "等了俩小时了人呢", "还要等多久啊",
                                  "你们快点来修吧", "到底啥时候来", "师傅为啥还没到", "帮我催催"])
def test_an_urge_is_recognised_for_the_ticket(text):
    assert is_urge(text)


@pytest.mark.parametrize("text", ["师傅什么时候到", "我家停电了", "查电费", "工单到哪一步了", "交电费"])
def test_a_plain_progress_question_is_no_urge(text):
    assert not is_urge(text)


@pytest.mark.parametrize("text, kind", [
    ("我的信息", "view"), ("你们存了我哪些信息", "view"), ("查看我的个人资料", "view"), ("个人信息怎么用的", "view"),
    ("删除我的个人信息", "delete"), ("把我的资料删掉", "delete"), ("注销我的个人数据", "delete"), ("清除我的信息", "delete"),
    ("销户", None), ("我要销户", None), ("查电费", None), ("户号信息不对", None),
    ("不要删除我的个人信息", None), ("别删我的资料", None), ("我的信息填错了怎么改", None),
    ("我的信息呢，上次报修的", None), ("删除我的个人信息，户号也解绑", "delete"),
])
def test_a_personal_data_request_is_its_own_pattern(text, kind):
    assert personal_data_request(text) == kind
