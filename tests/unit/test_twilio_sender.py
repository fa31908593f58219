"""The Twilio SMS sender against the local fake Twilio API: what it sends, how it retries, what it
records, and that an opted-out number gets nothing."""

from __future__ import annotations

import asyncio
import os
from typing import Iterator

import pytest
from sqlalchemy import select

from bot.config import get_settings, load_settings
from bot.domain import contacts
from bot.domain.models import AuditEntry, Contact, OutboundMessage, OutboundStatusEvent
from bot.messaging.sms import opted_out
from bot.messaging.twilio_sms import TwilioSmsSender, record_provider_status
from tests.eventually import eventually_async
from tests.fakes.twilio import AUTH_TOKEN, FakeTwilioApi

PHONE = "13900001111"
E164 = "+8613900001111"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilioApi]:
    api = FakeTwilioApi().start()
    yield api
    api.stop()


@pytest.fixture
def app_db(db):
    """Point the process's DATABASE_URL at the test database (senders open their own sessions)."""
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = db.url
    get_settings.cache_clear()
    yield db
    if old is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = old
    get_settings.cache_clear()


def make_sender(fake: FakeTwilioApi, public: str | None = None, **env: str) -> TwilioSmsSender:
    settings = load_settings({**fake.bot_env(), **({"PUBLIC_BASE_URL": public} if public else {}), **env})
    return TwilioSmsSender(settings, backoff=(0.01, 0.02, 0.04), timeout_s=5)


def stored(db, message_id: int) -> OutboundMessage:
    with db.session() as s:
        return s.get(OutboundMessage, message_id)


def events(db, message_id: int):
    with db.session() as s:
        return [(e.status, e.error_code) for e in s.scalars(
            select(OutboundStatusEvent).where(OutboundStatusEvent.message_id == message_id)
            .order_by(OutboundStatusEvent.id))]


async def test_a_message_is_posted_like_twilio_expects_and_its_sid_kept(app_db, fake):
    fake.reset()
    sender = make_sender(fake, public="https://bot.example.cn")
    result = await sender.send(PHONE, "【国网涞源县供电公司】测试短信", purpose="otp")
    assert result.status == "queued" and result.accepted
    sent = fake.messages(to=E164)[-1]
    assert sent.from_ == fake.from_number and sent.body == "【国网涞源县供电公司】测试短信"
    assert sent.status_callback == "https://bot.example.cn/webhooks/sms/status"
    message = stored(app_db, result.message_id)
    assert message.provider_id == sent.sid and message.status == "queued" and message.attempts == 1
    assert message.channel == "sms" and message.purpose == "otp" and message.recipient == PHONE


async def test_server_errors_and_throttling_are_retried(app_db, fake):
    fake.reset()
    fake.fail_next(1, 503, 20503, "Service unavailable")
    fake.fail_next(1, 429, 20429, "Too Many Requests")
    before = fake.requests
    result = await make_sender(fake).send(PHONE, "重试后送达", purpose="reply")
    assert result.status == "queued"
    assert fake.requests - before == 3
    message = stored(app_db, result.message_id)
    assert message.attempts == 3 and message.provider_id == fake.messages(to=E164)[-1].sid


async def test_when_retries_run_out_the_message_is_undelivered_with_the_error(app_db, fake):
    fake.reset()
    fake.fail_next(4, 500, 20500, "An internal server error has occurred")
    result = await make_sender(fake).send(PHONE, "发不出去", purpose="fallback")
    assert result.status == "undelivered" and not result.accepted
    message = stored(app_db, result.message_id)
    assert message.attempts == 4 and message.provider_id is None
    assert "HTTP 500" in message.error and "20500" in message.error
    assert events(app_db, result.message_id)[-1][0] == "undelivered"


async def test_an_unreachable_api_is_retried_then_recorded(app_db):
    settings = load_settings({"TWILIO_ACCOUNT_SID": "ACtest_unreachable", "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                              "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE_URL": "http://127.0.0.1:9"})
    result = await TwilioSmsSender(settings, backoff=(0.01,), timeout_s=2).send(PHONE, "网络不通", purpose="reply")
    assert result.status == "undelivered"
    message = stored(app_db, result.message_id)
    assert message.attempts == 2 and "ClientConnectorError" in message.error


async def test_a_refusal_fails_at_once_with_twilios_code(app_db, fake):
    fake.reset()
    before = fake.requests
    result = await make_sender(fake, TWILIO_AUTH_TOKEN="wrong-token").send(PHONE, "认证失败", purpose="reply")
    assert result.status == "failed" and fake.requests - before == 1  # a 4xx is not retried
    error = stored(app_db, result.message_id).error
    assert "HTTP 401" in error and "20003" in error


async def test_numbers_are_sent_in_e164(app_db, fake):
    fake.reset()
    result = await make_sender(fake).send("+86 139-0000-1111", "格式化后的号码", purpose="reply")
    assert result.status == "queued" and fake.messages(to=E164)[-1].body == "格式化后的号码"


async def test_invalid_to_is_reported_with_code_21211(app_db, fake):
    fake.reset()
    sender = make_sender(fake)
    # the base class only sends mainland numbers; call the transport the way it would with a broken one
    message_id = await asyncio.to_thread(sender._record, PHONE, "坏号码", "reply", None, "queued")
    result = await sender._deliver(message_id, "12345", "坏号码")
    assert result.status == "failed"
    assert "21211" in stored(app_db, message_id).error


async def test_an_error_quoting_the_number_is_kept_masked(app_db, fake):
    fake.reset()
    fake.fail_next(1, 400, 21211, "The 'To' number +8613900001111 is not a valid phone number.")
    result = await make_sender(fake).send(PHONE, "号码被拒", purpose="reply")
    error = stored(app_db, result.message_id).error
    assert result.status == "failed" and "21211" in error and "139****1111" in error and PHONE not in error


async def test_twilio_unsubscribed_21610_also_records_the_opt_out(app_db, fake):
    fake.reset()
    fake.unsubscribe(E164)
    sender = make_sender(fake)
    result = await sender.send(PHONE, "对方已在运营商处退订", purpose="notice")
    assert result.status == "failed" and "21610" in stored(app_db, result.message_id).error
    assert await asyncio.to_thread(opted_out, PHONE)
    with app_db.session() as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == "sms.opt_out")) == "sms.opt_out"
    before = fake.requests
    again = await sender.send(PHONE, "不会再发", purpose="notice")
    assert again.status == "suppressed" and fake.requests == before


async def test_an_opted_out_number_gets_nothing(app_db, fake):
    fake.reset()
    with app_db.session() as s:
        contacts.get_or_create(s, "sms", PHONE).active = False
    before = fake.requests
    result = await make_sender(fake).send(PHONE, "您的验证码123456", purpose="otp")
    assert result.status == "suppressed" and fake.requests == before
    assert stored(app_db, result.message_id).status == "suppressed"


async def test_sending_never_blocks_the_event_loop(app_db, fake):
    fake.reset()
    fake.set_delay(1.5)
    try:
        send = asyncio.ensure_future(make_sender(fake).send(PHONE, "慢慢发", purpose="reply"))
        loop = asyncio.get_running_loop()

        async def at_the_slow_api() -> bool:
            assert not send.done()
            return fake.in_flight > 0

        await eventually_async(at_the_slow_api, 10, interval=0.01, what="the request to reach the slow API")
        started = loop.time()
        await asyncio.sleep(0)
        await asyncio.to_thread(lambda: None)  # other work still gets the loop while the send waits
        assert loop.time() - started < 0.5 and not send.done()
        assert (await send).status == "queued"
    finally:
        fake.set_delay(0)


def test_status_reports_move_a_message_forward_only_and_are_all_kept(app_db):
    with app_db.session() as s:
        contact = contacts.get_or_create(s, "sms", PHONE)
        message = OutboundMessage(channel="sms", purpose="reply", contact_id=contact.id, recipient=PHONE,
                                  recipient_hash="x", body="正文", status="queued", provider_id="SMabc")
        s.add(message)
        s.flush()
        message_id = message.id
    assert record_provider_status("SMabc", "delivered")
    assert record_provider_status("SMabc", "sent")  # late, out of order
    assert stored(app_db, message_id).status == "delivered"
    assert [e[0] for e in events(app_db, message_id)] == ["delivered", "sent"]
    assert not record_provider_status("SMunknown", "delivered")


def test_an_undelivered_report_keeps_the_carrier_error(app_db):
    with app_db.session() as s:
        s.add(OutboundMessage(channel="sms", purpose="reply", recipient=PHONE, recipient_hash="x", body="正文",
                              status="sent", provider_id="SMdef"))
    assert record_provider_status("SMdef", "undelivered", "30003")
    with app_db.session() as s:
        message = s.scalar(select(OutboundMessage).where(OutboundMessage.provider_id == "SMdef"))
        assert message.status == "undelivered" and message.error == "twilio 30003"
        assert s.scalar(select(Contact)) is None
