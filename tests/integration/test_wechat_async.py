"""WeChat's 5-second deadline with a slow back end: ``success`` in time, then the answer through the API.

The bot runs against a deliberately slow action server (tests/fakes/slow_actions.py: the real one
behind a proxy that holds ``action_faq`` back for 6 s), so "电费怎么交" cannot be answered passively, while answers that need no action
("你好") stay fast. The fake WeChat API receives the customer-service messages; with 45015 from it, the
answer goes to the SMS path (the fake Twilio API when configured, else the demo outbox).
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import threading
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import utcnow
from bot.db import dispose_engines, session_scope
from bot.domain import contacts
from bot.domain.models import Binding, OutboundMessage, TranscriptEntry
from tests.conftest import _TMP
from tests.eventually import eventually
from tests.factories import make_account
from tests.fakes.slow_actions import SlowActionServer, start_action_server
from tests.fakes.wechat import WeChatClient, new_msg_id, new_openid
from tests.harness import start_bot

pytestmark = pytest.mark.rasa  # talks to a running Rasa server or runs Rasa with the trained model

SLOW_QUESTION = "电费怎么交"
ANSWER_MARK = "交电费有这几种方式"  # utter_payment_methods/general, what the slow action answers
FALLBACK_PHONE = "13900007777"


@pytest.fixture(scope="module")
def slow_db(sqlite_template):
    path = _TMP / f"slow-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(sqlite_template, path)
    yield f"sqlite:///{path}"
    dispose_engines()


@pytest.fixture(scope="module")
def slow_actions(slow_db, tmp_path_factory):
    upstream, process = start_action_server(Path(tmp_path_factory.mktemp("slow-actions")), slow_db)
    server = SlowActionServer(upstream, delay_s=6.0)
    yield server
    server.stop()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def slow_bot(slow_db, slow_actions, fake_wechat_api, fake_twilio_api, tmp_path_factory):
    env = {**fake_twilio_api.bot_env(), **fake_wechat_api.bot_env()}
    processes = start_bot(Path(tmp_path_factory.mktemp("slow-bot")), slow_db, env,
                          action_endpoint_url=slow_actions.url)
    yield processes
    processes.stop()


@pytest.fixture(scope="module")
def wechat(slow_bot) -> WeChatClient:
    return WeChatClient(slow_bot.url + "/webhooks/wechat/webhook")


def transcript(db_url: str, openid: str):
    with session_scope(db_url) as s:
        rows = s.scalars(select(TranscriptEntry).where(TranscriptEntry.sender_id == f"wechat:{openid}")
                         .order_by(TranscriptEntry.id))
        return [(e.direction, e.text) for e in rows]


def outbound(db_url: str):
    with session_scope(db_url) as s:
        return [(m.channel, m.purpose, m.recipient, m.body, m.status)
                for m in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]


def test_slow_answer_gets_success_in_time_then_one_customer_service_message(wechat, slow_db, slow_actions,
                                                                            fake_wechat_api):
    openid = new_openid()
    reply = wechat.post(wechat.text(openid, SLOW_QUESTION))
    assert reply.is_success, reply.body
    assert reply.seconds < 4.5
    [message] = fake_wechat_api.wait_for(lambda: fake_wechat_api.sent_to(openid), timeout=20)
    assert ANSWER_MARK in message.text
    eventually(lambda: len(transcript(slow_db, openid)) == 2)
    assert transcript(slow_db, openid) == [("in", SLOW_QUESTION), ("out", message.text)]
    assert len(fake_wechat_api.sent_to(openid)) == 1
    assert slow_actions.count(f"wechat:{openid}") == 1
    # recorded before it was attempted, marked sent once WeChat accepted it
    eventually(lambda: [(c, p, s) for c, p, r, _b, s in outbound(slow_db) if r == openid] == [("wechat", "reply", "sent")])


def test_a_slow_turn_does_not_hold_up_other_customers(wechat):
    slow_openid, quick_openid = new_openid(), new_openid()
    results = {}
    slow = threading.Thread(target=lambda: results.setdefault("slow", wechat.post(wechat.text(slow_openid,
                                                                                               SLOW_QUESTION))))
    slow.start()
    quick = wechat.post(wechat.text(quick_openid, "你好"))
    slow.join()
    assert "智能客服" in quick.text and quick.seconds < 2
    assert results["slow"].is_success


def test_retries_of_a_slow_message_are_answered_once(wechat, slow_actions, fake_wechat_api):
    openid = new_openid()
    query, body = wechat.signed(wechat.text(openid, SLOW_QUESTION, msg_id=new_msg_id()))
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(wechat.post_raw(query, body))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(replies) == 3 and all(r.is_success and r.seconds < 4.5 for r in replies)
    fake_wechat_api.wait_for(lambda: fake_wechat_api.sent_to(openid), timeout=20)
    eventually(lambda: slow_actions.count(f"wechat:{openid}") == 1)
    # the one answer went out; a WeChat retry arriving now is recognised and changes nothing
    assert wechat.post_raw(query, body).is_success
    assert len(fake_wechat_api.sent_to(openid)) == 1
    assert slow_actions.count(f"wechat:{openid}") == 1


def test_when_wechat_hangs_up_the_answer_still_arrives(slow_bot, wechat, fake_wechat_api):
    openid = new_openid()
    query, body = wechat.signed(wechat.text(openid, SLOW_QUESTION))
    url = urllib.parse.urlsplit(slow_bot.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=1)
    try:
        conn.request("POST", "/webhooks/wechat/webhook?" + urllib.parse.urlencode(query), body,
                     {"Content-Type": "text/xml"})
        with pytest.raises((socket.timeout, TimeoutError)):
            conn.getresponse()
    finally:
        conn.close()  # WeChat gives up on the connection after its deadline
    [message] = fake_wechat_api.wait_for(lambda: fake_wechat_api.sent_to(openid), timeout=20)
    assert ANSWER_MARK in message.text


def test_closed_window_sends_the_answer_by_sms(wechat, slow_db, fake_wechat_api):
    """45015 (the customer's 48 hours are over): the answer goes by SMS to the bound account's phone."""
    openid = new_openid()
    with session_scope(slow_db) as s:
        account = make_account(s, "5100000201", "孙福田", FALLBACK_PHONE, "城关镇", "城关镇南关村7号")
        customer = contacts.get_or_create(s, "wechat", openid)
        s.add(Binding(contact_id=customer.id, account_id=account.id, method="sms_code", verified_at=utcnow()))
    fake_wechat_api.fail_next(45015, touser=openid)
    reply = wechat.post(wechat.text(openid, SLOW_QUESTION))
    assert reply.is_success and reply.seconds < 4.5

    def fallback():
        return [row for row in outbound(slow_db) if row[1] == "fallback" and row[2].endswith(FALLBACK_PHONE[-8:])]

    [(channel, _purpose, _to, body, status)] = eventually(fallback, timeout=20)
    assert channel in ("sms", "demo_sms") and ANSWER_MARK in body
    assert status in ("demo", "queued", "sent", "delivered")
    assert [s for c, _p, r, _b, s in outbound(slow_db) if c == "wechat" and r == openid] == ["undelivered"]
    assert fake_wechat_api.sent_to(openid) == []


def test_simulator_shows_answers_that_came_after_the_deadline(slow_bot):
    """The simulator's customer sees the late answer too (from the conversation, whatever channel carried it)."""
    openid = "sim-slowAnswer01"

    def call(path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(slow_bot.url + path, data=data, method="POST" if data else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())

    sent = call("/simulator/api/send", {"openid": openid, "kind": "text", "text": SLOW_QUESTION})
    assert sent["status"] == 200 and sent["passive"] is False and sent["seconds"] < 4.5

    def answered():
        messages = call(f"/simulator/api/updates?openid={openid}&after=0")["messages"]
        return [m for m in messages if m["from"] == "bot"]

    [answer] = eventually(answered, timeout=20)
    assert ANSWER_MARK in answer["text"]
