"""Configuration is parsed strictly at start-up: a typo stops the process with the variable's name
instead of silently meaning something else (``ture`` turning secure cookies off) or reaching a
customer as an error at the first hand-over."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from tests.factories import PHONE_A


@pytest.mark.parametrize("word, meaning", [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True), (" On ", True),
    ("false", False), ("False", False), ("0", False), ("no", False), ("off", False),
])
def test_booleans_accept_the_usual_words(word, meaning):
    assert load_settings({"CONSOLE_COOKIE_SECURE": word}).console_cookie_secure is meaning
    assert load_settings({"SIMULATOR_ENABLED": word}).simulator_enabled is meaning


@pytest.mark.parametrize("typo", ["ture", "flase", "y", "enabled", "2"])
def test_a_misspelt_boolean_is_an_error_naming_the_variable(typo):
    with pytest.raises(ConfigError) as error:
        load_settings({"CONSOLE_COOKIE_SECURE": typo})
    assert str(error.value).startswith("CONSOLE_COOKIE_SECURE: ")
    assert repr(typo) in str(error.value)


def test_an_unset_or_empty_boolean_keeps_its_default():
    assert load_settings({}).console_cookie_secure is True
    assert load_settings({"CONSOLE_COOKIE_SECURE": ""}).console_cookie_secure is True
    assert load_settings({"REST_CHANNEL_ENABLED": ""}).rest_channel_enabled is False


def test_a_number_that_does_not_parse_names_the_variable_and_the_value():
    with pytest.raises(ConfigError, match=r"^CONSOLE_LOGIN_IP_LIMIT: expected an integer, got '4s'$"):
        load_settings({"CONSOLE_LOGIN_IP_LIMIT": "4s"})
    with pytest.raises(ConfigError, match=r"^WECHAT_REPLY_BUDGET_S: expected a number, got '4 s'$"):
        load_settings({"WECHAT_REPLY_BUDGET_S": "4 s"})


@pytest.mark.parametrize("name, value", [
    ("CONSOLE_SESSION_IDLE_MINUTES", "0"), ("WECHAT_MAX_CONCURRENT_TURNS", "-1"),
    ("SMS_REPLY_BUDGET_S", "-2"), ("WECHAT_SIGNATURE_MAX_AGE_S", "nan"), ("WECHAT_REPLY_BUDGET_S", "inf"),
])
def test_numbers_out_of_range_are_errors(name, value):
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings({name: value})


def test_numbers_in_range_are_read():
    settings = load_settings({"CONSOLE_LOGIN_IP_LIMIT": "5", "WECHAT_REPLY_BUDGET_S": "2.5",
                              "WECHAT_SIGNATURE_MAX_AGE_S": "0"})
    assert (settings.console_login_ip_limit, settings.wechat_reply_budget_s) == (5, 2.5)
    assert settings.wechat_signature_max_age_s == 0


@pytest.mark.parametrize("hours", ["8-20", "08:00~20:00", "08:00-24:00", "25:00-26:00", "08:00", "早八晚八"])
def test_console_hours_are_checked_at_start_up_not_at_the_first_handover(hours):
    with pytest.raises(ConfigError, match="^CONSOLE_HOURS: expected hours as HH:MM-HH:MM"):
        load_settings({"CONSOLE_HOURS": hours})


@pytest.mark.parametrize("hours, kept", [("08:00-20:00", "08:00-20:00"), (" 22:00 - 06:00 ", "22:00-06:00"),
                                         ("00:00-00:00", "00:00-00:00")])
def test_valid_console_hours_are_kept(hours, kept):
    assert load_settings({"CONSOLE_HOURS": hours}).console_hours == kept


@pytest.mark.parametrize("name, value", [
    ("TRACKER_STORE", "redis"), ("LOG_LEVEL", "verbose"), ("PUBLIC_BASE_URL", "127.0.0.1:5005"),
    ("WECHAT_API_BASE_URL", "ftp://example.invalid"), ("TWILIO_API_BASE_URL", "api.twilio.com"),
])
def test_structured_values_are_validated(name, value):
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings({name: value})


def test_structured_values_are_normalised():
    settings = load_settings({"TRACKER_STORE": "SQL", "LOG_LEVEL": "debug",
                              "PUBLIC_BASE_URL": "https://bot.example.invalid/"})
    assert (settings.tracker_store, settings.log_level) == ("sql", "DEBUG")
    assert settings.public_base_url == "https://bot.example.invalid"


@pytest.mark.parametrize("days", ["182", "90", "0"])
def test_an_audit_retention_shorter_than_six_months_is_refused(days):
    with pytest.raises(ConfigError, match="^AUDIT_RETENTION_DAYS: the audit log must be kept at least 183 days"):
        load_settings({"AUDIT_RETENTION_DAYS": days})


def test_retention_defaults_to_180_days_of_data_and_a_year_of_audit_log():
    assert (load_settings({}).data_retention_days, load_settings({}).audit_retention_days) == (180, 365)
    settings = load_settings({"DATA_RETENTION_DAYS": "30", "AUDIT_RETENTION_DAYS": "183"})
    assert (settings.data_retention_days, settings.audit_retention_days) == (30, 183)
    with pytest.raises(ConfigError, match="^DATA_RETENTION_DAYS: "):
        load_settings({"DATA_RETENTION_DAYS": "0"})


@pytest.mark.parametrize("name, value, said", [
    ("CONSOLE_GROUP_HOURS", "biling=08:00-17:00", "no skill group 'biling'"),
    ("WECHAT_AES_KEY", "short", "the EncodingAESKey is 43"),
    ("ESCALATION_SMS_TO", "abc", "expected a mobile number"),
    ("ESCALATION_SMS_TO", "0312-1234567", "expected a mobile number"),
])
def test_a_value_of_the_wrong_shape_is_refused_at_start_up_naming_the_variable(name, value, said):
    with pytest.raises(ConfigError, match=f"^{name}: {said}"):
        load_settings({name: value})


def test_the_supervisors_phone_is_read_in_any_usual_shape_and_never_repeated_in_an_error():
    settings = load_settings({"ESCALATION_SMS_TO": "+86 " + PHONE_A[:3] + "-" + PHONE_A[3:7] + "-" + PHONE_A[7:]})
    same = settings.escalation_sms_to == PHONE_A  # compared outside assert: a failure must not print it
    assert same
    with pytest.raises(ConfigError) as refused:
        load_settings({"ESCALATION_SMS_TO": PHONE_A + "0"})
    assert PHONE_A not in str(refused.value)
    assert load_settings({"WECHAT_AES_KEY": "a" * 43}).wechat_aes_key == "a" * 43


@pytest.mark.parametrize("name, value, said", [
    ("DATABASE_URL", "postgresq://powerbot:s3cret-pw@db/powerbot", "expected a sqlite:// or postgresql:// URL"),
    ("REDIS_URL", "http://:s3cret-pw@cache:6379/0", "expected a redis:// or rediss:// or unix:// URL"),
    ("SERVICE_RULES_FILE", "no-such-rules.yml", "no such file"),
])
def test_a_store_or_file_that_cannot_be_is_refused_at_start_up_without_its_password(name, value, said):
    with pytest.raises(ConfigError, match=f"^{name}: {said}") as refused:
        load_settings({name: value})
    assert "s3cret-pw" not in str(refused.value)
