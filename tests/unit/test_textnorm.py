"""One normaliser of digits: every shape a customer types a phone, an account number or an ID number
in is found, rewritten to its digits for the NLU and masked for people and logs.

Numbers are compared outside ``assert`` so a failure never prints a phone number in clear."""

from __future__ import annotations

import logging

import pytest

from bot import textnorm
from bot.domain import pii

PHONE = "13912345678"
MASKED = "139****5678"

PHONE_SHAPES = [
    "13912345678",
    "139-1234-5678",
    "139 1234 5678",
    "139 - 1234 - 5678",
    "139—1234—5678",
    "139－1234－5678",
    "１３９１２３４５６７８",
    "１３９　１２３４　５６７８",
    "１３９－１２３４－５６７８",
    "+86 139 1234 5678",
    "+8613912345678",
    "＋８６ １３９１２３４５６７８",
    "+86-139-1234-5678",
    "86 139 1234 5678",
    "8613912345678",
    "0086 139 1234 5678",
    "008613912345678",
    "1391 234 5678",
    "139.1234.5678",
    "一三九一二三四五六七八",
    "幺三九 幺二三四 五六七八",
]

ACCOUNT_SHAPES = [
    ("5100000001", "5100000001"),
    ("5100 0000 01", "5100000001"),
    ("5100-0000-03", "5100000003"),
    ("5100—0000—03", "5100000003"),
    ("５１００００００１２", "5100000012"),
    ("510 000 0001", "5100000001"),
    ("1300000000001", "1300000000001"),
    ("1300 0000 0000 1", "1300000000001"),
    ("五一零零零零零零零一", "5100000001"),
]


@pytest.mark.parametrize("typed", PHONE_SHAPES)
def test_every_shape_of_a_mobile_number_is_one_phone(typed):
    for text in (typed, f"我的手机是{typed}，有事打这个", f"电话{typed}"):
        spans = textnorm.find_numbers(text)
        kinds = [s.kind for s in spans]
        found = [s.digits for s in spans] == [PHONE]
        assert kinds == ["phone"] and found, text.replace(typed, "<phone>")
        normalized_ok = textnorm.normalize_numbers(text) == text.replace(typed, PHONE)
        assert normalized_ok
        masked_ok = pii.redact_text(text) == text.replace(typed, MASKED)
        assert masked_ok
        assert PHONE not in pii.redact_text(text).replace(" ", "")
    normalized = pii.normalize_phone(typed) == PHONE
    assert normalized
    assert pii.mask_phone(typed) == MASKED


@pytest.mark.parametrize("typed, digits", [a for a in ACCOUNT_SHAPES if len(a[1]) in (10, 13)])
def test_every_shape_of_an_account_number_is_one_account_number(typed, digits):
    for text in (typed, f"户号{typed}查电费", f"户号 {typed} 查电费", f"{typed}停电了"):
        assert [(s.kind, s.digits) for s in textnorm.find_numbers(text)] == [("account_no", digits)], text
        assert textnorm.normalize_numbers(text) == text.replace(typed, digits)
        assert list(textnorm.iter_account_numbers(text)) == [digits]
        # account numbers are not secret: agents see them as typed
        assert pii.redact_text(text) == text


@pytest.mark.parametrize("text", [
    "2026-10-15停电", "电费123.45元", "用了300 400度", "验证码 123 456", "5100000001 2",
    "单号GD202611270001", "工单GD2026112700012", "wx-769440198001011234", "九月份交了一百二",
    "５１００００００２", "一二三四五六", "一直一直没电",
])
def test_dates_amounts_codes_and_ticket_numbers_stay_as_typed(text):
    assert textnorm.normalize_numbers(text) == text
    assert [s.kind for s in textnorm.find_numbers(text) if s.kind != "account_no"] == []


def test_a_phone_and_an_account_number_side_by_side_stay_two_numbers():
    for text in ("5100000001 13912345678", "139 1234 5678 5100 0000 01", "户号5100-0000-01电话139-1234-5678"):
        kinds = [s.kind for s in textnorm.find_numbers(text)]
        assert sorted(kinds) == ["account_no", "phone"], text.replace(PHONE, "<phone>")
        assert PHONE not in pii.redact_text(text).replace(" ", "").replace("-", "")


def test_digits_glued_to_chinese_text_are_found():
    text = f"户号5100000001一直停电，电话{PHONE}快来"
    spans = textnorm.find_numbers(text)
    assert [s.kind for s in spans] == ["account_no", "phone"]


def test_id_numbers_are_masked_in_any_grouping_but_only_with_a_right_check_digit():
    for typed in ("130628198001011233", "130628 19800101 1233", "130628-1980-0101-1233", "１３０６２８１９８００１０１１２３３"):
        assert pii.redact_text(f"身份证{typed}") == "身份证130628********1233"
    assert pii.redact_text("身份证130628198001011234") == "身份证130628198001011234"


def test_a_country_code_alone_does_not_make_a_phone_of_other_digits():
    assert textnorm.find_numbers("+86 5100000001") == [textnorm.NumberSpan(4, 14, "account_no", "5100000001")]


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "abc", "139 1234 5678 9", "5100000001", ""])
def test_normalize_phone_refuses_what_is_not_exactly_one_mobile_number(raw):
    with pytest.raises(ValueError):
        textnorm.normalize_phone(raw)


def test_log_lines_mask_phones_in_every_shape(caplog):
    pii.install_log_redaction()
    with caplog.at_level(logging.INFO):
        for typed in PHONE_SHAPES:
            logging.getLogger("rasa.core.processor").info("Received user message '%s'", f"手机{typed}")
    leaked = [t for t in PHONE_SHAPES if t in caplog.text]
    assert not leaked
    assert caplog.text.count(MASKED) == len(PHONE_SHAPES)


def test_halfwidth_keeps_length_and_offsets():
    text = "户号５１００　ＡＢＣ＋"
    assert textnorm.to_halfwidth(text) == "户号5100 ABC+"
    assert len(textnorm.to_halfwidth(text)) == len(text)
