"""Delivery of notices on each person's channel: a WeChat customer-service message inside the 48-hour
window, a template message outside it, SMS when WeChat cannot reach them; in the embedded demo (no WeChat
API) the notice lands in the conversation the simulator shows."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels import simulator
from bot.clock import utcnow
from bot.config import get_settings, load_settings
from bot.db import dispose_engines, session_scope
from bot.domain import contacts, notices, outages
from bot.domain.models import Binding, Notice, OutboundMessage
from bot.messaging import sms
from bot.messaging.notify import ClaimLost, NoticeSender, send_due
from bot.messaging.wechat_api import WeChatApiClient
from tests.factories import make_account


@pytest.fixture
def records(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    get_settings.cache_clear()
    sms._sender = None
    notices.configure(notices.NO_QUIET_HOURS)
    yield db
    get_settings.cache_clear()
    sms._sender = None
    dispose_engines()


def customer(s, openid: str, wrote_hours_ago: float, account_no: str = "5100000101"):
    account = make_account(s, account_no=account_no, phone=f"1390000{account_no[-4:]}",
                           address=f"城关镇东关村{account_no[-2:]}号")
    contact = contacts.get_or_create(s, "wechat", openid)
    contacts.mark_inbound(s, contact, utcnow() - timedelta(hours=wrote_hours_ago))
    s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
    s.flush()
    return contact


def fault(s) -> None:
    now = utcnow()
    outages.upsert(s, outage_id="GZ-D-1", kind="fault", township="城关镇", villages=["东关村"],
                   start=now - timedelta(minutes=30), end=now + timedelta(hours=3), reason="线路故障", actor="test")


def send(settings) -> int:
    return asyncio.run(send_due(NoticeSender(settings, wechat=WeChatApiClient(settings, settings.database_url))))


def test_in_the_demo_a_wechat_notice_appears_in_the_simulator_conversation(records):
    settings = load_settings({"DATABASE_URL": records.url, "NOTICE_QUIET_HOURS": "00:00-00:00"})
    with session_scope() as s:
        customer(s, "oSimulatorUser01", wrote_hours_ago=1)
        fault(s)
    assert send(settings) == 1  # the WeChat user; their account's phone is covered by it
    shown = simulator._updates("oSimulatorUser01", 0, 0)["messages"]
    assert [(m["from"], m["label"]) for m in shown] == [("notice", "服务通知")]
    assert "故障停电通知" in shown[0]["text"] and "预计" in shown[0]["text"]
    assert simulator._updates("oSimulatorUser01", 0, 0)["sms"] == []


def test_customer_service_inside_the_window_template_outside_sms_when_unreachable(records, fake_wechat_api,
                                                                                 fake_twilio_api):
    env = {"DATABASE_URL": records.url, "NOTICE_QUIET_HOURS": "00:00-00:00", **fake_wechat_api.bot_env(),
           **fake_twilio_api.bot_env(), "WECHAT_TEMPLATE_IDS": "outage:TPL_FAULT_FAKE_01"}
    settings = load_settings(env)
    sms._sender = None
    sms.get_sms_sender(settings)
    with session_scope() as s:
        customer(s, "oDeliveryRecent01", wrote_hours_ago=2, account_no="5100000111")
        customer(s, "oDeliveryOld00001", wrote_hours_ago=72, account_no="5100000112")
        customer(s, "oDeliveryGone0001", wrote_hours_ago=1, account_no="5100000113")
        fault(s)
    fake_wechat_api.unsubscribed.add("oDeliveryGone0001")
    wechat_before, sms_before = len(fake_wechat_api.sent), len(fake_twilio_api.messages())
    send(settings)
    wechat = fake_wechat_api.sent[wechat_before:]  # the fakes serve the whole session (both backends)
    assert [m.path for m in wechat if m.touser == "oDeliveryRecent01"] == ["/cgi-bin/message/custom/send"]
    (template,) = [m for m in wechat if m.touser == "oDeliveryOld00001"]
    assert template.body["template_id"] == "TPL_FAULT_FAKE_01" and "故障停电" in template.body["data"]["content"]["value"]
    texts = [m.body for m in fake_twilio_api.messages()[sms_before:] if m.to == "+8613900000113"]
    assert len(texts) == 1 and "故障停电通知" in texts[0]
    with session_scope() as s:
        by_person = {n.person_key: (n.status, n.channel) for n in s.scalars(select(Notice))}
        assert sorted(v for v in by_person.values()) == [
            ("covered", None), ("covered", None), ("failed", None), ("sent", "sms"), ("sent", "wechat"),
            ("sent", "wechat_tpl")]
        carried = s.scalars(select(OutboundMessage.notice_id).where(OutboundMessage.notice_id.is_not(None))).all()
        assert len(carried) == 4  # every attempt names its notice (the refused WeChat one too)


def test_a_busy_wechat_is_tried_again_later_and_nothing_goes_twice(records, fake_wechat_api):
    settings = load_settings({"DATABASE_URL": records.url, "NOTICE_QUIET_HOURS": "00:00-00:00",
                              **fake_wechat_api.bot_env()})
    with session_scope() as s:
        customer(s, "oDeliveryBusy0001", wrote_hours_ago=1, account_no="5100000121")
        fault(s)
    before = len(fake_wechat_api.sent)
    fake_wechat_api.fail_next(-1, touser="oDeliveryBusy0001")
    started = utcnow()
    send(settings)
    with session_scope() as s:
        notice = s.scalar(select(Notice).where(Notice.person_key.like("w:%")))
        assert (notice.status, notice.attempts) == ("pending", 1)
        assert notice.not_before >= started + timedelta(seconds=30)  # backoff, not at once
    assert send(settings) == 0 and len(fake_wechat_api.sent) == before  # not due yet: nothing sent


def test_a_worker_whose_claim_went_stale_neither_sends_nor_marks_the_notice(records, fake_wechat_api):
    settings = load_settings({"DATABASE_URL": records.url, "NOTICE_QUIET_HOURS": "00:00-00:00",
                              **fake_wechat_api.bot_env()})
    with session_scope() as s:
        customer(s, "oDeliveryStale001", wrote_hours_ago=1, account_no="5100000131")
        fault(s)
    with session_scope() as s:
        (stalled,) = notices.claim_due(s)
    # the first worker stalls past the claim timeout: its claim is settled, another worker claims the notice
    with session_scope() as s:
        assert notices.recover_stale(s, timedelta(0), now=utcnow() + timedelta(seconds=1))["pending"] == 1
    with session_scope() as s:
        (fresh,) = notices.claim_due(s)
    assert fresh.notice_id == stalled.notice_id and fresh.claim_token != stalled.claim_token

    async def late_worker() -> None:
        sender = NoticeSender(settings, wechat=WeChatApiClient(settings, settings.database_url))
        try:
            with pytest.raises(ClaimLost):
                await sender.send(stalled)
        finally:
            await sender.close()

    asyncio.run(late_worker())
    with session_scope() as s:
        notices.finish_many(s, [(stalled.notice_id, "failed", "wechat", "late", None)],
                            tokens={stalled.notice_id: stalled.claim_token})
    with session_scope() as s:
        notice = s.get(Notice, fresh.notice_id)
        assert (notice.status, notice.claim_token) == ("sending", fresh.claim_token)
        assert not s.scalars(select(OutboundMessage).where(OutboundMessage.notice_id == notice.id)).all()
    assert fake_wechat_api.sent_to("oDeliveryStale001") == []
