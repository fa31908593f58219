"""Safe mode (encrypt_type=aes) on a bot configured like production: PostgreSQL, Redis, SQL tracker store.

The bot runs with the keys of wechatpy 1.8.18's crypto tests (tests/test_crypto.py: token 123456,
EncodingAESKey kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR, appid wx49f0ab532d5d035a), so wechatpy's
recorded vectors go through our endpoint. They were signed in 2014, so this bot accepts old timestamps
(WECHAT_SIGNATURE_MAX_AGE_S=0); stale timestamps are refused in test_wechat_channel.py and unit tests.
Rasa's own record of the conversation (the ``events`` table) shows how many turns ran.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from bot.db import session_scope
from bot.domain.models import Contact, TranscriptEntry
from tests.conftest import new_database
from tests.eventually import eventually
from tests.fakes.wechat import (
    VECTOR_AES_KEY,
    VECTOR_APPID,
    VECTOR_ECHO,
    VECTOR_MESSAGE,
    VECTOR_MESSAGE_QUERY,
    VECTOR_TOKEN,
    WeChatClient,
    new_msg_id,
    new_openid,
)
from tests.harness import start_bot

pytestmark = pytest.mark.rasa  # talks to a running Rasa server or runs Rasa with the trained model

REDIS_URL = "redis://127.0.0.1:6379/11"  # this module's own Redis database, emptied when the bot starts


@pytest.fixture(scope="module")
def safe_bot(request, fake_wechat_api, fake_twilio_api, tmp_path_factory):
    fake_wechat_api.add_app(VECTOR_APPID, "vector-app-secret")
    redis.Redis.from_url(REDIS_URL).flushdb()
    databases = new_database("postgresql", request)
    database = next(databases)
    env = {**fake_twilio_api.bot_env(), **fake_wechat_api.bot_env(appid=VECTOR_APPID),
           "WECHAT_TOKEN": VECTOR_TOKEN, "WECHAT_AES_KEY": VECTOR_AES_KEY, "WECHAT_SIGNATURE_MAX_AGE_S": "0",
           "REDIS_URL": REDIS_URL, "TRACKER_STORE": "sql"}
    processes = start_bot(Path(tmp_path_factory.mktemp("safe-bot")), database.url, env)
    yield processes, database
    processes.stop()
    next(databases, None)


@pytest.fixture(scope="module")
def safe(safe_bot) -> WeChatClient:
    processes, _ = safe_bot
    return WeChatClient(processes.url + "/webhooks/wechat/webhook", token=VECTOR_TOKEN, aes_key=VECTOR_AES_KEY,
                        appid=VECTOR_APPID)


def rasa_user_turns(database, sender_id: str) -> int:
    engine = create_engine(database.url, future=True)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
                                {"s": sender_id}).scalar_one()
    finally:
        engine.dispose()


def transcript(database, openid: str):
    with session_scope(database.url) as s:
        rows = s.query(TranscriptEntry).filter(TranscriptEntry.sender_id == f"wechat:{openid}").order_by(
            TranscriptEntry.id)
        return [(e.direction, e.text) for e in rows]


def test_wechatpy_url_verification_vectors(safe):
    def get(query):
        try:
            with urllib.request.urlopen(safe.url + "?" + urllib.parse.urlencode(query), timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    assert get(VECTOR_ECHO) == (200, "5927782489442352469")
    assert get({**VECTOR_ECHO, "nonce": "437374424"})[0] == 403  # test_check_signature_should_fail


def test_wechatpy_message_vector_decrypts_and_verifies_through_the_endpoint(safe, safe_bot):
    _, database = safe_bot
    reply = safe.post_raw(VECTOR_MESSAGE_QUERY, VECTOR_MESSAGE.encode())
    assert reply.status == 200
    # the reply is encrypted for the same app, signed with the token (WeChatClient.read verified both)
    assert reply.fields["ToUserName"] == "messense" and reply.fields["FromUserName"] == "wx49f0ab532d5d035a"
    assert reply.text
    assert transcript(database, "messense")[0] == ("in", "test")
    assert rasa_user_turns(database, "wechat:messense") == 1


KINDS = {
    "text": lambda c, o: c.text(o, "你好"),
    "voice": lambda c, o: c.xml(o, "voice", MediaId="m-1", Format="amr", Recognition="你好", MsgId=new_msg_id()),
    "voice_unrecognized": lambda c, o: c.xml(o, "voice", MediaId="m-2", Format="amr", Recognition="",
                                             MsgId=new_msg_id()),
    "location": lambda c, o: c.xml(o, "location", Location_X="39.4390", Location_Y="114.8605", Scale="15",
                                   Label="河北省保定市涞源县银坊镇北庄村", MsgId=new_msg_id()),
    "image": lambda c, o: c.xml(o, "image", PicUrl="http://mmbiz.example/p.jpg", MediaId="m-3", MsgId=new_msg_id()),
    "subscribe": lambda c, o: c.event(o, "subscribe", "qrscene_yinfang"),
    "click": lambda c, o: c.event(o, "CLICK", "PAYMENT_METHODS"),
    "video": lambda c, o: c.xml(o, "video", MediaId="m-4", ThumbMediaId="t-4", MsgId=new_msg_id()),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_message_type_in_safe_mode(safe, safe_bot, kind):
    _, database = safe_bot
    openid = new_openid()
    reply = safe.post(KINDS[kind](safe, openid))
    assert reply.status == 200 and reply.seconds < 4.5
    assert reply.text, f"{kind}: no passive reply"
    assert reply.fields["ToUserName"] == openid
    if kind == "text" or kind == "voice":
        assert "智能客服" in reply.text
    if kind == "subscribe":
        assert "欢迎关注" in reply.text
    assert rasa_user_turns(database, f"wechat:{openid}") == 1


def test_notices_and_unsubscribe_in_safe_mode(safe, safe_bot):
    _, database = safe_bot
    openid = new_openid()
    assert safe.post(safe.event(openid, "VIEW", "https://example.org/")).is_success
    assert safe.post(safe.event(openid, "unsubscribe")).is_success
    with session_scope(database.url) as s:
        assert s.query(Contact).filter(Contact.sender_id == f"wechat:{openid}").one().active is False
    assert rasa_user_turns(database, f"wechat:{openid}") == 0


@pytest.mark.parametrize("how", ["plain request", "wrong msg_signature", "no signature", "other app's key"])
def test_refused_requests_never_reach_rasa(safe, safe_bot, how):
    processes, database = safe_bot
    openid = new_openid()
    if how == "plain request":
        plain = WeChatClient(safe.url, token=VECTOR_TOKEN)  # correct token, but no encryption
        reply = plain.post(plain.text(openid, "你好"))
    elif how == "other app's key":
        other = WeChatClient(safe.url, token=VECTOR_TOKEN, aes_key="A" * 43, appid=VECTOR_APPID)
        reply = other.post(other.text(openid, "你好"))
    else:
        reply = safe.post(safe.text(openid, "你好"), tamper="msg_signature" if how.startswith("wrong") else "omit")
    assert reply.status == 403
    assert rasa_user_turns(database, f"wechat:{openid}") == 0
    assert transcript(database, openid) == []


def test_concurrent_retries_make_one_rasa_turn(safe, safe_bot, fake_wechat_api):
    _, database = safe_bot
    openid = new_openid()
    xml = safe.text(openid, "电费怎么交", msg_id=new_msg_id())
    query, body = safe.signed(xml)  # WeChat retries the identical request
    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(lambda _: safe.post_raw(query, body), range(3)))
    assert all(r.status == 200 for r in replies)
    assert len([r for r in replies if r.text]) == 1
    eventually(lambda: len(transcript(database, openid)) >= 2, 10, what="the transcript of the turn")
    assert rasa_user_turns(database, f"wechat:{openid}") == 1
    assert [d for d, _ in transcript(database, openid)] == ["in", "out"]
    assert fake_wechat_api.sent_to(openid) == []
