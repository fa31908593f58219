"""What an agent is told about a reply's delivery. In the demo, the WeChat simulator's users read their
conversation on the simulator page, so a reply to them is delivered there (no red banner, no WeChat call);
a reply that truly did not reach the customer is reported in Chinese, without internal codes."""

from __future__ import annotations

import asyncio
import re
from typing import Iterator

import pytest
from sqlalchemy import select

from bot.config import get_settings
from bot.console import labels
from bot.domain import contacts
from bot.domain.models import OutboundMessage
from bot.messaging import deliver


@pytest.fixture
def demo(db, monkeypatch) -> Iterator:
    """The embedded demo's configuration: simulator on, no WeChat credentials, this test's database."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("SIMULATOR_ENABLED", "true")
    for name in ("WECHAT_APPID", "WECHAT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_a_reply_to_a_simulator_user_is_delivered_in_the_demo_without_a_problem(demo):
    with demo.session() as s:
        sender = contacts.get_or_create(s, "wechat", "sim-abc123XYZ").sender_id
    delivery = asyncio.run(deliver.send_to_conversation(sender, "您好，我是客服小张", purpose="agent"))
    assert (delivery.channel, delivery.status) == ("simulator", "demo")
    assert labels.delivery_problem(delivery.channel, delivery.status) is None
    with demo.session() as s:
        (row,) = s.scalars(select(OutboundMessage)).all()
        assert (row.channel, row.status) == ("wechat", "demo")


def test_a_reply_that_did_not_reach_a_real_customer_is_reported_in_chinese(demo):
    with demo.session() as s:
        sender = contacts.get_or_create(s, "rest", "someone-testing").sender_id
    delivery = asyncio.run(deliver.send_to_conversation(sender, "您好", purpose="agent"))
    problem = labels.delivery_problem(delivery.channel, delivery.status)
    assert delivery.status == "undeliverable" and problem
    assert not re.search(r"[A-Za-z]", problem)  # no "wechat/failed" or other internal words
