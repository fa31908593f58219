"""Personal data: masking for people, redaction for logs, encryption for storage."""

import logging

import pytest

from bot.domain import pii


def test_phone_is_masked_to_first_three_and_last_four():
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_phone("+86 138-1234-5678") == "138****5678"


def test_name_keeps_only_the_family_name():
    assert pii.mask_name("张三") == "张*"
    assert pii.mask_name("欧阳娜娜") == "欧***"
    assert pii.mask_name("") == ""


def test_free_text_phones_and_id_numbers_are_redacted():
    text = "我手机13812345678，身份证130628198001011233，户号5100000001"
    assert pii.redact_text(text) == "我手机138****5678，身份证130628********1233，户号5100000001"


def test_other_18_digit_numbers_keep_their_digits():
    # a WeChat MsgId of 18 digits fails the ID check digit: log lines keep it for debugging
    assert pii.redact_text("wx-769440198001011234") == "wx-769440198001011234"


def test_digits_glued_to_longer_numbers_are_not_taken_for_phones():
    assert pii.redact_text("单号GD202611270001") == "单号GD202611270001"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "abc"])
def test_normalize_phone_rejects_non_mobile_numbers(raw):
    with pytest.raises(ValueError):
        pii.normalize_phone(raw)


def test_encryption_round_trips_and_never_repeats_ciphertext():
    c = pii.cipher()
    a, b = c.encrypt("张建国"), c.encrypt("张建国")
    assert a != b and "张建国" not in a
    assert c.decrypt(a) == "张建国"


def test_lookup_hash_is_stable_and_keyed():
    assert pii.phone_hash("13812345678") == pii.phone_hash("+8613812345678")
    other = pii.Cipher(pii.Fernet.generate_key())
    assert other.lookup_hash("phone:13812345678") != pii.phone_hash("13812345678")


def test_log_records_are_redacted_for_every_logger(caplog):
    pii.install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("rasa.core.processor").info("Received user message '%s'", "我的手机13812345678")
    leaked = "13812345678" in caplog.text
    assert not leaked
    assert "138****5678" in caplog.text
