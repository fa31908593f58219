"""The WeChat channel of the running bot (plain mode), driven like WeChat's servers drive it.

What the customer sees is checked in the passive reply; what happened behind it in the records the bot
keeps (contacts, transcript, tickets) and at the fake WeChat API (no stray customer-service messages).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import List

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.domain.models import Contact, Ticket, TranscriptEntry
from tests.eventually import eventually
from tests.fakes.wechat import WeChatClient, new_msg_id, new_openid, signature
from tests.harness import TEST_WECHAT_TOKEN

pytestmark = pytest.mark.rasa  # talks to a running Rasa server or runs Rasa with the trained model


@pytest.fixture(scope="module")
def wechat(bot) -> WeChatClient:
    return WeChatClient(bot.url + "/webhooks/wechat/webhook")


def entries(records_db: str, openid: str) -> List[tuple]:
    with session_scope(records_db) as s:
        rows = s.scalars(select(TranscriptEntry).where(TranscriptEntry.sender_id == f"wechat:{openid}")
                         .order_by(TranscriptEntry.id))
        return [(e.direction, e.text) for e in rows]


def contact(records_db: str, openid: str) -> Contact | None:
    with session_scope(records_db) as s:
        return s.scalar(select(Contact).where(Contact.sender_id == f"wechat:{openid}"))


def wait_for_entries(records_db: str, openid: str, count: int) -> List[tuple]:
    """The transcript's bot entries are written right after the reply: poll until they are there."""
    try:
        return eventually(lambda: (lambda found: found if len(found) >= count else None)(entries(records_db, openid)),
                          10, interval=0.05, what=f"{count} transcript entries")
    except AssertionError:
        return entries(records_db, openid)  # the caller's assertion says what is missing


# --- URL verification --------------------------------------------------------------------------------

def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_url_verification(bot, wechat):
    timestamp, nonce = str(int(time.time())), "1357924680"
    query = {"signature": signature(TEST_WECHAT_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
             "echostr": "6071302519541237654"}
    assert get(wechat.url + "?" + urllib.parse.urlencode(query)) == (200, "6071302519541237654")
    wrong = {**query, "signature": signature("another-token", timestamp, nonce)}
    assert get(wechat.url + "?" + urllib.parse.urlencode(wrong))[0] == 403
    old = str(int(time.time()) - 3600)
    stale = {**query, "timestamp": old, "signature": signature(TEST_WECHAT_TOKEN, old, nonce)}
    assert get(wechat.url + "?" + urllib.parse.urlencode(stale))[0] == 403


# --- every message type --------------------------------------------------------------------------------

def test_text_gets_a_passive_reply_and_is_recorded(wechat, records_db, fake_wechat_api):
    openid = new_openid()
    reply = wechat.post(wechat.text(openid, "你好"))
    assert reply.status == 200 and reply.seconds < 4.5
    assert reply.fields["MsgType"] == "text"
    assert reply.fields["ToUserName"] == openid and reply.fields["FromUserName"] == wechat.account
    assert "智能客服" in reply.text
    assert wait_for_entries(records_db, openid, 2) == [("in", "你好"), ("out", reply.text)]
    customer = contact(records_db, openid)
    assert customer.active and customer.last_inbound_at is not None
    assert fake_wechat_api.sent_to(openid) == []  # answered passively, nothing through the API


def test_faq_answer(wechat):
    reply = wechat.post(wechat.text(new_openid(), "电费怎么交"))
    assert reply.text and "交" in reply.text


def test_customers_cannot_set_intents_by_typing(wechat, records_db):
    openid = new_openid()
    reply = wechat.post(wechat.text(openid, "/subscribe"))
    assert reply.status == 200 and reply.text  # answered, but not with the welcome of a new follower
    assert "欢迎关注" not in reply.text
    assert entries(records_db, openid)[0] == ("in", "/subscribe")


def test_subscribe_welcomes_and_records_the_scene(wechat, records_db):
    openid = new_openid()
    reply = wechat.post(wechat.event(openid, "subscribe", "qrscene_chengguan-hall"))
    assert "欢迎关注" in reply.text
    assert contact(records_db, openid).subscribe_scene == "chengguan-hall"


def test_unsubscribe_marks_the_customer_inactive_without_a_reply(wechat, records_db):
    openid = new_openid()
    wechat.post(wechat.event(openid, "subscribe", ""))
    assert contact(records_db, openid).active
    reply = wechat.post(wechat.event(openid, "unsubscribe"))
    assert reply.is_success
    assert not contact(records_db, openid).active


def test_voice_with_recognition_is_understood_as_text(wechat, records_db):
    openid = new_openid()
    reply = wechat.post(wechat.xml(openid, "voice", MediaId="media-v1", Format="amr", Recognition="你好。",
                                   MsgId=new_msg_id()))
    assert "智能客服" in reply.text
    assert entries(records_db, openid)[0] == ("in", "[语音] 你好。")


def test_voice_without_recognition_asks_to_type(wechat):
    reply = wechat.post(wechat.xml(new_openid(), "voice", MediaId="media-v2", Format="amr", Recognition="",
                                   MsgId=new_msg_id()))
    assert "文字" in reply.text


def test_location(wechat, records_db):
    openid = new_openid()
    reply = wechat.post(wechat.xml(openid, "location", Location_X="39.3535", Location_Y="114.6942", Scale="15",
                                   Label="河北省保定市涞源县城关镇东关村", MsgId=new_msg_id()))
    assert reply.status == 200 and reply.text
    assert entries(records_db, openid)[0] == ("in", "[位置] 河北省保定市涞源县城关镇东关村")


def test_image(wechat, records_db):
    openid = new_openid()
    reply = wechat.post(wechat.xml(openid, "image", PicUrl="http://mmbiz.example/hazard.jpg", MediaId="media-i1",
                                   MsgId=new_msg_id()))
    assert reply.status == 200 and reply.text
    assert entries(records_db, openid)[0] == ("in", "[图片]")


def test_a_customers_photo_is_kept_under_media_dir_when_it_arrives(bot, wechat, fake_wechat_api):
    from pathlib import Path

    from bot.domain import media

    openid, media_id = new_openid(), f"media-{new_msg_id()}"
    photo = b"\xff\xd8\xff\xe0" + b"hazard photo" * 20
    fake_wechat_api.add_media(media_id, photo)
    pic_url = f"http://mmbiz.example/{media_id}.jpg"
    assert wechat.post(wechat.xml(openid, "image", PicUrl=pic_url, MediaId=media_id, MsgId=new_msg_id())).status == 200
    media_dir = Path(bot.env["POWERBOT_VAR_DIR"]) / "media"
    deadline = time.monotonic() + 20
    while media.path_of(media_dir, media.file_key(pic_url)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    kept = media.path_of(media_dir, media.file_key(pic_url))
    assert kept is not None and kept.read_bytes() == photo


def test_menu_click(wechat, records_db):
    openid = new_openid()
    reply = wechat.post(wechat.event(openid, "CLICK", "PAYMENT_METHODS"))
    assert reply.status == 200 and reply.text
    assert entries(records_db, openid)[0] == ("in", "[菜单] 交费方式")


def test_unknown_menu_key_gets_a_polite_answer(wechat):
    reply = wechat.post(wechat.event(new_openid(), "CLICK", "MENU_FROM_LAST_YEAR"))
    assert reply.status == 200 and "菜单" in reply.text


def test_unsupported_message_types_get_a_polite_answer(wechat):
    for msg_type, fields in (("video", {"MediaId": "v1", "ThumbMediaId": "t1"}),
                             ("link", {"Title": "t", "Description": "d", "Url": "https://example.org"}),
                             ("file", {"Title": "账单.pdf"})):
        reply = wechat.post(wechat.xml(new_openid(), msg_type, MsgId=new_msg_id(), **fields))
        assert reply.status == 200 and reply.text, msg_type


def test_notices_get_success(wechat, records_db):
    openid = new_openid()
    for xml in (wechat.event(openid, "VIEW", "https://example.org/"),
                wechat.xml(openid, "event", Event="LOCATION", Latitude="39.35", Longitude="114.69", Precision="30"),
                wechat.xml(openid, "event", Event="TEMPLATESENDJOBFINISH", MsgID="200163836", Status="success")):
        assert wechat.post(xml).is_success
    assert entries(records_db, openid) == []


# --- refusals ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("signing", [
    {"tamper": "signature"},
    {"tamper": "omit"},
    {"timestamp": str(int(time.time()) - 3600)},
])
def test_bad_signatures_are_refused_before_the_bot(wechat, records_db, signing):
    openid = new_openid()
    reply = wechat.post(wechat.text(openid, "你好"), **signing)
    assert reply.status == 403
    assert entries(records_db, openid) == [] and contact(records_db, openid) is None


def test_signature_from_another_token_is_refused(bot, records_db):
    openid = new_openid()
    impostor = WeChatClient(bot.url + "/webhooks/wechat/webhook", token="guessed-token")
    assert impostor.post(impostor.text(openid, "你好")).status == 403
    assert entries(records_db, openid) == []


@pytest.mark.parametrize("body", [
    b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName",
    b"not xml at all",
    b"<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    b"<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><CreateTime>x</CreateTime></xml>",
])
def test_malformed_xml_is_a_bad_request(wechat, body):
    query, _ = wechat.signed("<xml/>")
    assert wechat.post_raw(query, body).status == 400


def _signed_message(fields: str) -> bytes:
    return (f"<xml><ToUserName>gh_test_account</ToUserName><FromUserName>{new_openid()}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>{fields}<MsgId>{new_msg_id()}</MsgId></xml>").encode()


@pytest.mark.parametrize("fields", [
    "<MsgType>text</MsgType><Content><a>x</a></Content>",
    "<MsgType>voice</MsgType><MediaId>m</MediaId><Recognition><b>停电</b></Recognition>",
    "<MsgType>location</MsgType><Location_X>39.3</Location_X><Location_Y>114.6</Location_Y>"
    "<Scale><z>15</z></Scale><Label>东关村</Label>",
    "<MsgType>location</MsgType><Location_X>NaN</Location_X><Location_Y>114.6</Location_Y><Scale>15</Scale>",
    "<MsgType>event</MsgType><Event>CLICK</Event><EventKey><k>QUERY_BILL</k></EventKey>",
    "<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>x</MsgID><Status>success</Status>",
], ids=["child-in-content", "child-in-recognition", "child-in-scale", "latitude-nan", "child-in-eventkey",
        "template-msgid-not-a-number"])
def test_signed_messages_with_malformed_fields_are_bad_requests(wechat, fields):
    query, _ = wechat.signed("<xml/>")
    assert wechat.post_raw(query, _signed_message(fields)).status == 400


def test_a_captured_signature_with_another_body_is_refused_and_wechats_own_retry_is_not(wechat, records_db):
    customer, mallory = new_openid(), new_openid()
    query, body = wechat.signed(wechat.text(customer, "你好", msg_id=new_msg_id()))
    assert wechat.post_raw(query, body).status == 200
    forged = wechat.text(mallory, "查一下户号5100000104的电费", msg_id=new_msg_id()).encode()
    assert wechat.post_raw(query, forged).status == 403
    assert contact(records_db, mallory) is None and entries(records_db, mallory) == []
    retry = wechat.post_raw(query, body)  # WeChat lost our answer: same nonce, same body
    assert retry.status == 200 and retry.is_success
    assert [d for d, _ in wait_for_entries(records_db, customer, 2)] == ["in", "out"]


# --- WeChat's retries ------------------------------------------------------------------------------------

def post_concurrently(wechat: WeChatClient, xml: str, times: int = 3):
    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(lambda _: wechat.post(xml), range(times)))


def test_three_concurrent_retries_make_one_turn_and_one_reply(wechat, records_db, fake_wechat_api):
    openid = new_openid()
    xml = wechat.text(openid, "我要投诉，你们抄表员态度太差了", msg_id=new_msg_id())
    replies = post_concurrently(wechat, xml)
    assert all(r.status == 200 and r.seconds < 4.5 for r in replies)
    answered = [r for r in replies if r.text]
    assert len(answered) == 1 and sum(r.is_success for r in replies) == 2
    found = wait_for_entries(records_db, openid, 2)
    assert [d for d, _ in found] == ["in", "out"], found  # one customer message, one bot turn
    assert found[1][1] == answered[0].text
    with session_scope(records_db) as s:
        customer = s.scalar(select(Contact).where(Contact.sender_id == f"wechat:{openid}"))
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.contact_id == customer.id)) <= 1
    # a later retry of the same message (WeChat lost our answer) is not processed again
    assert wechat.post(xml).is_success
    assert len(entries(records_db, openid)) == 2
    assert fake_wechat_api.sent_to(openid) == []


def test_retried_events_are_processed_once(wechat, records_db):
    openid = new_openid()
    xml = wechat.event(openid, "subscribe", "", create_time=int(time.time()))
    replies = post_concurrently(wechat, xml)
    assert len([r for r in replies if r.text and "欢迎关注" in r.text]) == 1
    assert [d for d, _ in wait_for_entries(records_db, openid, 2)] == ["in", "out"]


# --- load ----------------------------------------------------------------------------------------------

def test_thirty_two_customers_at_once_all_get_an_answer_within_the_deadline(wechat, fake_wechat_api):
    """WeChat gives up after 5 s: under load every request must end in time, passive or 'success' — and
    every 'success' must be followed by exactly one customer-service message with the answer."""
    questions = ["你好", "电费怎么交", "今天天气怎么样"]

    def customer(_index: int):
        openid = new_openid("oLoad")
        return openid, [wechat.post(wechat.text(openid, q)) for q in questions]

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(customer, range(32)))
    replies = [r for _openid, rs in results for r in rs]
    assert all(r.status == 200 for r in replies)
    assert max(r.seconds for r in replies) < 4.5, sorted(r.seconds for r in replies)[-5:]
    assert all(r.text or r.is_success for r in replies)
    for openid, rs in results:
        late = sum(1 for r in rs if r.is_success)
        if late:
            fake_wechat_api.wait_for(lambda openid=openid, late=late: len(fake_wechat_api.sent_to(openid)) >= late,
                                     timeout=60)
        assert len(fake_wechat_api.sent_to(openid)) == late


def test_template_receipts_update_the_outbound_record(wechat, records_db):
    """WeChat reports each template message's fate in a TEMPLATESENDJOBFINISH event."""
    from bot.domain.models import OutboundMessage
    from bot.messaging import outbox

    openid = new_openid()
    ids = {}
    with session_scope(records_db) as s:
        for status in ("success", "failed:user block"):
            message = outbox.record(s, "wechat", "notice", openid, "[TPL] 停电通知", status="sent")
            message.provider_id = f"wx-tpl:{new_msg_id()}"
            ids[status] = (message.id, message.provider_id.split(":")[1])
    for status, (_id, msgid) in ids.items():
        assert wechat.post(wechat.xml(openid, "event", Event="TEMPLATESENDJOBFINISH", MsgID=msgid,
                                      Status=status)).is_success

    def statuses():
        with session_scope(records_db) as s:
            found = {k: s.get(OutboundMessage, i).status for k, (i, _m) in ids.items()}
        return found if "sent" not in found.values() else None

    found = eventually(statuses, 10, interval=0.05, what="the delivery statuses")
    assert found == {"success": "delivered", "failed:user block": "undelivered"}
