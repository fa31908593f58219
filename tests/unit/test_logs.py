"""LOG_FORMAT=json: one JSON object per line, with the turn's request id and the sender id hashed."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot import logs
from bot.config import load_settings


def _line(record_msg: str) -> dict:
    record = logging.LogRecord("bot.test", logging.INFO, __file__, 1, record_msg, None, None)
    return json.loads(logs.JsonFormatter().format(record))


async def test_a_json_line_carries_the_request_id_and_a_hash_of_the_sender_never_the_sender():
    async def turn() -> dict:
        logs.bind("req-1234abcd", "wechat:oSecretOpenid42")
        return _line("answered")

    line = await asyncio.create_task(turn())
    assert line["message"] == "answered" and line["level"] == "INFO" and line["logger"] == "bot.test"
    assert line["request_id"] == "req-1234abcd"
    assert line["sender"] == logs.sender_hash("wechat:oSecretOpenid42")
    assert "oSecretOpenid42" not in json.dumps(line)


def test_a_load_balancers_request_id_is_kept_and_nonsense_replaced():
    assert logs.new_request_id("0123456789abcdef") == "0123456789abcdef"
    made = logs.new_request_id("<script>")
    assert made != "<script>" and len(made) == 32


def test_log_format_and_timing_settings_are_checked_naming_the_variable():
    assert load_settings({"LOG_FORMAT": "json"}).log_format == "json"
    assert load_settings({}).log_format == "text"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        load_settings({"LOG_FORMAT": "xml"})
    with pytest.raises(ValueError, match="CONVERSATION_LOCK_LIFETIME_S"):
        load_settings({"CONVERSATION_LOCK_LIFETIME_S": "0"})
    assert load_settings({}).tracker_store == "sql", "the embedded default keeps conversations across restarts"
