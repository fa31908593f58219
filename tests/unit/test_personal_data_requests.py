"""A customer asks in the chat what we hold about them (`我的信息`) or to delete it (`删除我的个人信息`): the channel
answers at once, without the model, and the request lands in the console as a ticket for the supervisors,
due in the days of service_rules.yml, naming the command that carries it out (个人信息保护法 arts. 45, 47)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, List
from xml.etree import ElementTree

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sqlalchemy import select

from bot import messages
from bot.channels.common import personal_data_kind
from bot.channels.rest import RestInput
from bot.channels.sms import SmsInput
from bot.channels.sms_state import SmsState
from bot.channels.wechat import WeChatInput
from bot.clock import utcnow
from bot.config import get_settings, load_settings
from bot.console import backoffice
from bot.console.permissions import ConsoleError, Principal
from bot.domain import contacts, escalation, integration, privacy, staff, transcript
from bot.domain.models import AuditEntry, Ticket
from bot.domain.rules import get_rules
from tests.eventually import eventually_async
from tests.factories import make_contact
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, sign
from tests.fakes.wechat import TEST_WECHAT_TOKEN, WeChatClient, new_openid
from tests.harness import free_port

Sanic.test_mode = True
PHONE = "13900003333"


def _privacy_tickets(db) -> List[Ticket]:
    with db.session() as s:
        return list(s.scalars(select(Ticket).where(Ticket.type == "privacy").order_by(Ticket.id)))


# ------------------------------------------------------------------------------------ the domain


def test_a_request_to_see_ones_data_is_a_ticket_due_in_the_days_of_the_service_rules(db):
    days = get_rules().sla.personal_data_request_days
    assert days == 30
    with db.session() as s:
        contact = make_contact(s, "wechat", "oWxPrivacyOpenid01")
        request = privacy.file_request(s, contact, "view", source_key="wechat:oWxPrivacyOpenid01:wx-1")
        ticket = request.ticket
        assert request.created and ticket.type == "privacy" and ticket.subtype == "view" and ticket.status == "open"
        assert ticket.sla_deadline - ticket.created_at == timedelta(days=days)
        assert "bot export-customer --sender wechat:oWxPrivacyOpenid01 --out" in ticket.description
        reply = request.reply()
        assert ticket.ticket_no in reply and f"{days}天内" in reply and "个人信息" in reply
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "customer.data_request"))
        assert entry.target_id == ticket.ticket_no and entry.detail == {"kind": "view"}
        assert "oWxPrivacyOpenid01" not in entry.actor


def test_a_request_to_delete_names_the_erase_command(db):
    with db.session() as s:
        contact = make_contact(s, "sms", PHONE)
        ticket = privacy.file_request(s, contact, "delete").ticket
        assert f"bot erase-customer --sender {contact.sender_id} --confirm" in ticket.description
        assert PHONE not in ticket.description


def test_asking_again_finds_the_open_request_and_a_retried_message_gets_the_same_answer(db):
    with db.session() as s:
        contact = make_contact(s, "wechat", "oWxPrivacyOpenid02")
        first = privacy.file_request(s, contact, "delete", source_key="k:1")
        retried = privacy.file_request(s, contact, "delete", source_key="k:1")
        again = privacy.file_request(s, contact, "delete", source_key="k:2")
        assert retried.ticket.id == again.ticket.id == first.ticket.id
        assert retried.created and retried.reply() == first.reply()
        assert not again.created and again.reply().startswith("您") and "已提交过" in again.reply()
        other_kind = privacy.file_request(s, contact, "view")
        assert other_kind.created and other_kind.ticket.id != first.ticket.id


def test_supervisors_see_personal_data_requests_dispatchers_and_the_backoffice_api_do_not(db):
    with db.session() as s:
        people = {}
        for name, role in (("dsp", "dispatcher"), ("sup", "supervisor"), ("adm", "admin")):
            user, _ = staff.add(s, name, role, "correct-horse-battery")
            people[name] = Principal.of(user)
        ticket = privacy.file_request(s, make_contact(s, "wechat", "oWxPrivacyOpenid03"), "view").ticket
        ticket_no, overdue_at = ticket.ticket_no, ticket.sla_deadline + timedelta(days=1)
        escalation.scan(s, overdue_at)  # nobody answered in 30 days: on the escalation list
    with db.session() as s:
        assert [e["ticket_no"] for e in backoffice.escalations_view(s, people["sup"], overdue_at)["escalated"]] == [
            ticket_no]
        assert backoffice.escalations_view(s, people["dsp"], overdue_at)["escalated"] == []
        for who in ("sup", "adm"):
            queue = backoffice.queue_view(s, people[who], {})["tickets"]
            assert [(t["ticket_no"], t["type"]) for t in queue] == [(ticket_no, "privacy")]
        assert backoffice.queue_view(s, people["dsp"], {})["tickets"] == []
        with pytest.raises(ConsoleError, match="ticket_not_found"):
            backoffice.ticket_view(s, people["dsp"], ticket_no)
        page = backoffice.ticket_view(s, people["sup"], ticket_no)
        assert "bot export-customer" in page["ticket"]["description"]
        assert integration.listing(s, status="open") == []
    assert messages.TICKET_TYPE_LABELS["privacy"] == "个人信息请求"


@pytest.mark.parametrize("text, kind", [
    ("我的信息", "view"), ("你们存了我哪些信息？", "view"), ("删除我的个人信息", "delete"), ("把我的资料删掉", "delete"),
    ("销户", None), ("查电费", None),
    ("我的信息里登记的电话号码已经换了，帮我改成新的号码吧，谢谢你们", None),  # a longer message: the model's
])
def test_the_channels_take_short_personal_data_requests_only(text, kind):
    assert personal_data_kind(text) == kind


# ------------------------------------------------------------------------------------ the channels


class NoModel:
    """Stands in for Rasa's agent: a personal-data request must never reach it."""

    def __init__(self) -> None:
        self.received: List[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")


@pytest.fixture
def chat_env(db, monkeypatch):
    """The process configured for the test database and a WeChat token (the channels read settings)."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("WECHAT_TOKEN", TEST_WECHAT_TOKEN)
    monkeypatch.setenv("REST_CHANNEL_ENABLED", "true")
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


class ChatServer:
    """A Rasa-server-like process with the WeChat, SMS and REST channels mounted where Rasa mounts them."""

    def __init__(self, agent: NoModel) -> None:
        self.port = free_port()
        self.public = f"https://bot.example.cn/p{self.port}"
        self.sms_settings = load_settings({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                                           "TWILIO_FROM_NUMBER": FROM_NUMBER, "PUBLIC_BASE_URL": self.public})
        self.app = Sanic(f"pdrtest{uuid.uuid4().hex[:10]}")
        self.app.blueprint(WeChatInput().blueprint(agent), url_prefix="/webhooks/wechat")
        self.app.blueprint(SmsInput(self.sms_settings, SmsState(None)).blueprint(agent), url_prefix="/webhooks/sms")
        self.app.blueprint(RestInput().blueprint(agent), url_prefix="/webhooks/rest")
        self.wechat = WeChatClient(f"http://127.0.0.1:{self.port}/webhooks/wechat/webhook")
        self.server: Any = None

    async def __aenter__(self) -> ChatServer:
        self.server = await self.app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True,
                                                   access_log=False)
        await self.server.startup()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def sms(self, body: str) -> List[str]:
        sid = "SM" + uuid.uuid4().hex
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": "+86" + PHONE,
                  "To": FROM_NUMBER, "Body": body, "NumMedia": "0"}
        headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, self.public + "/webhooks/sms/webhook", params)}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{self.port}/webhooks/sms/webhook", data=params,
                                    headers=headers) as resp:
                assert resp.status == 200
                root = ElementTree.fromstring((await resp.text()).encode())
        return [m.text or "" for m in root.findall("Message")]

    async def rest(self, sender: str, message: str) -> List[str]:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{self.port}/webhooks/rest/webhook",
                                    json={"sender": sender, "message": message}) as resp:
                assert resp.status == 200
                return [m["text"] for m in await resp.json()]

    async def wechat_text(self, openid: str, text: str) -> str:
        reply = await asyncio.to_thread(self.wechat.post, self.wechat.text(openid, text))
        assert reply.status == 200
        return reply.text or ""


async def test_wechat_我的信息_is_answered_with_a_ticket_number_and_filed_for_the_supervisors(chat_env):
    agent, openid = NoModel(), new_openid()
    async with ChatServer(agent) as server:
        reply = await server.wechat_text(openid, "我的信息")
        tickets = _privacy_tickets(chat_env)
        assert len(tickets) == 1 and tickets[0].subtype == "view" and tickets[0].channel == "wechat"
        assert reply == messages.PERSONAL_DATA_REPLIES["view"].format(
            ticket_no=tickets[0].ticket_no, days=30, deadline=privacy._local_date(tickets[0].sla_deadline))
        assert f"--sender wechat:{openid}" in tickets[0].description

        def both_sides():
            with chat_env.session() as s:
                rows = [(e.author, e.text) for e in transcript.since(s, f"wechat:{openid}")]
            return rows if len(rows) >= 2 else None
        assert await eventually_async(lambda: asyncio.to_thread(both_sides), what="the transcript") == [
            ("customer", "我的信息"), ("bot", reply)]
        assert await server.wechat_text(openid, "查电费") == "收到：查电费"  # everything else goes to the model
    assert agent.received == ["查电费"]


async def test_sms_删除我的个人信息_is_answered_in_the_twiml_and_filed_for_the_supervisors(chat_env):
    agent = NoModel()
    async with ChatServer(agent) as server:
        replies = await server.sms("删除我的个人信息")
        again = await server.sms("请删除我的个人信息！")
    tickets = _privacy_tickets(chat_env)
    assert len(tickets) == 1 and tickets[0].subtype == "delete" and tickets[0].channel == "sms"
    assert len(replies) == 1 and tickets[0].ticket_no in replies[0] and "解除全部户号绑定" in replies[0]
    assert "已提交过" in again[0] and tickets[0].ticket_no in again[0]
    assert agent.received == []
    sender_id = contacts.sender_id_for("sms", PHONE)
    assert "bot erase-customer --sender " + sender_id in tickets[0].description and PHONE not in tickets[0].description
    with chat_env.session() as s:
        assert [(e.direction, e.text) for e in transcript.since(s, sender_id)][:2] == [
            ("in", "删除我的个人信息"), ("out", replies[0])]
    assert tickets[0].sla_deadline > utcnow() + timedelta(days=29)


async def test_the_rest_channel_takes_the_request_too(chat_env):
    agent = NoModel()
    async with ChatServer(agent) as server:
        replies = await server.rest("tester01", "你们存了我哪些信息")
    (ticket,) = _privacy_tickets(chat_env)
    assert ticket.channel == "rest" and ticket.subtype == "view" and "--sender rest:tester01" in ticket.description
    assert len(replies) == 1 and ticket.ticket_no in replies[0] and agent.received == []
