"""WeChat's callback protocol: signatures (with wechatpy's own test vectors), safe mode, parsing, replies."""

from __future__ import annotations

import json
import time

import pytest
import xmltodict
import yaml
from wechatpy.crypto import WeChatCrypto

from bot import messages
from bot.channels.wechat_menu import MenuError, current_menu, load_menu, parse_menu
from bot.channels.wechat_protocol import (
    MAX_REPLY_BYTES,
    BadRequest,
    Keys,
    Refused,
    combine,
    open_envelope,
    parse_inbound,
    render_reply,
    sign,
    verify_url,
)
from bot.config import ROOT
from tests.fakes.wechat import (
    VECTOR_AES_KEY,
    VECTOR_APPID,
    VECTOR_ECHO,
    VECTOR_MESSAGE,
    VECTOR_MESSAGE_QUERY,
    VECTOR_TOKEN,
    WeChatClient,
    new_openid,
)

PLAIN = Keys(token="plain-token")
VECTORS = Keys(token=VECTOR_TOKEN, aes_key=VECTOR_AES_KEY, appid=VECTOR_APPID, max_age_s=0)
MENU = current_menu()


def plain_query(token: str = "plain-token", timestamp: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    return {"timestamp": timestamp, "nonce": "12345", "signature": sign(token, timestamp, "12345")}


# --- signatures ------------------------------------------------------------------------------------------

def test_signature_matches_wechatpy_vector():
    v = VECTOR_ECHO
    assert sign(VECTOR_TOKEN, v["timestamp"], v["nonce"], v["echostr"]) == v["msg_signature"]


def test_url_verification_plain():
    query = {**plain_query(), "echostr": "hello-123"}
    assert verify_url(PLAIN, query) == "hello-123"
    with pytest.raises(Refused):
        verify_url(PLAIN, {**query, "signature": "0" * 40})
    with pytest.raises(Refused):
        verify_url(PLAIN, {k: v for k, v in query.items() if k != "signature"})


def test_url_verification_safe_mode_with_wechatpy_vectors():
    assert verify_url(VECTORS, VECTOR_ECHO) == "5927782489442352469"
    with pytest.raises(Refused):  # wechatpy's test_check_signature_should_fail: one digit of the nonce
        verify_url(VECTORS, {**VECTOR_ECHO, "nonce": "437374424"})


def test_stale_or_future_timestamps_are_refused():
    keys = Keys(token="plain-token", max_age_s=300)
    old = str(int(time.time()) - 301)
    with pytest.raises(Refused, match="stale"):
        open_envelope(keys, plain_query(timestamp=old), b"<xml/>")
    future = str(int(time.time()) + 301)
    with pytest.raises(Refused, match="stale"):
        open_envelope(keys, plain_query(timestamp=future), b"<xml/>")
    assert open_envelope(keys, plain_query(), b"<xml/>").xml == "<xml/>"


def test_missing_timestamp_or_nonce_is_refused():
    with pytest.raises(Refused):
        open_envelope(PLAIN, {"signature": "x"}, b"<xml/>")


def test_safe_mode_decrypts_wechatpy_vector():
    envelope = open_envelope(VECTORS, VECTOR_MESSAGE_QUERY, VECTOR_MESSAGE.encode())
    assert envelope.safe and envelope.nonce == "461056294"
    message = xmltodict.parse(envelope.xml)["xml"]
    assert message["Content"] == "test" and message["FromUserName"] == "messense"


def test_safe_mode_refuses_tampering_and_plain_requests():
    with pytest.raises(Refused):
        open_envelope(VECTORS, {**VECTOR_MESSAGE_QUERY, "msg_signature": "0" * 40}, VECTOR_MESSAGE.encode())
    tampered = VECTOR_MESSAGE.replace("RgqEoJj5", "RgqEoJj6")
    with pytest.raises(Refused):
        open_envelope(VECTORS, VECTOR_MESSAGE_QUERY, tampered.encode())
    # plain-mode signature only: refused once safe mode is configured (it does not cover the body)
    query = {"timestamp": "1411525903", "nonce": "461056294", "signature": sign(VECTOR_TOKEN, "1411525903", "461056294")}
    with pytest.raises(Refused):
        open_envelope(VECTORS, query, b"<xml><Content>x</Content></xml>")
    with pytest.raises(BadRequest):
        open_envelope(VECTORS, VECTOR_MESSAGE_QUERY, b"<xml><Encrypt>")


def test_another_apps_message_is_refused():
    other = Keys(token=VECTOR_TOKEN, aes_key=VECTOR_AES_KEY, appid="wx0000000000000000", max_age_s=0)
    with pytest.raises(Refused):
        open_envelope(other, VECTOR_MESSAGE_QUERY, VECTOR_MESSAGE.encode())


def test_oversized_body_is_a_bad_request():
    with pytest.raises(BadRequest):
        open_envelope(PLAIN, plain_query(), b"<xml>" + b"x" * 70000 + b"</xml>")


# --- parsing ---------------------------------------------------------------------------------------------

CLIENT = WeChatClient("http://unused")


def test_text_strips_intent_syntax_and_keeps_the_message_id():
    openid = new_openid()
    inbound = parse_inbound(CLIENT.text(openid, '/request_human{"phone": "13900001111"}', msg_id=1234567), MENU)
    assert inbound.rasa_text is not None and not inbound.rasa_text.startswith("/")
    assert inbound.message_id == "wx-1234567" and inbound.sender_id == f"wechat:{openid}"
    assert inbound.metadata["msg_id"] == "1234567" and inbound.metadata["channel"] == "wechat"


def test_empty_text_is_answered_by_the_channel():
    inbound = parse_inbound(CLIENT.text(new_openid(), " / "), MENU)
    assert inbound.rasa_text is None and inbound.channel_reply == messages.WECHAT_EMPTY_TEXT


def test_voice_uses_recognition_or_asks_to_type():
    heard = parse_inbound(CLIENT.xml(new_openid(), "voice", MediaId="m1", Format="amr", Recognition="我家停电了。",
                                     MsgId=11), MENU)
    assert heard.rasa_text == "我家停电了。"
    unheard = parse_inbound(CLIENT.xml(new_openid(), "voice", MediaId="m1", Format="amr", Recognition="", MsgId=12),
                            MENU)
    assert unheard.rasa_text == "/voice_unrecognized"


def test_location_gives_an_address_and_coordinates():
    inbound = parse_inbound(CLIENT.xml(new_openid(), "location", Location_X="39.3535", Location_Y="114.6942",
                                       Scale="15", Label="涞源县城关镇东关村", MsgId=13), MENU)
    intent, _, entities = inbound.rasa_text.partition("{")
    assert intent == "/share_location"
    assert json.loads("{" + entities) == {"address": "涞源县城关镇东关村"}
    assert inbound.metadata["location"]["latitude"] == pytest.approx(39.3535)
    assert inbound.metadata["location"]["longitude"] == pytest.approx(114.6942)
    unlabelled = parse_inbound(CLIENT.xml(new_openid(), "location", Location_X="39.1", Location_Y="114.2",
                                          Scale="15", Label="", MsgId=14), MENU)
    assert "39.100000,114.200000" in unlabelled.rasa_text


def test_image_names_the_picture():
    inbound = parse_inbound(CLIENT.xml(new_openid(), "image", PicUrl="http://mmbiz.example/pic.jpg",
                                       MediaId="media-1", MsgId=15), MENU)
    assert inbound.rasa_text == '/share_image{"media": "http://mmbiz.example/pic.jpg"}'
    assert inbound.metadata["media_id"] == "media-1"


def test_subscribe_records_the_scene_and_unsubscribe_stops():
    sub = parse_inbound(CLIENT.event(new_openid(), "subscribe", "qrscene_yingfang-office"), MENU)
    assert sub.rasa_text == "/subscribe" and sub.subscribe_scene == "yingfang-office"
    plain_sub = parse_inbound(CLIENT.event(new_openid(), "subscribe", ""), MENU)
    assert plain_sub.rasa_text == "/subscribe" and plain_sub.subscribe_scene is None
    unsub = parse_inbound(CLIENT.event(new_openid(), "unsubscribe"), MENU)
    assert unsub.unsubscribe and unsub.rasa_text is None and not unsub.opens_window


def test_menu_clicks_map_to_intents_from_the_menu_file():
    assert parse_inbound(CLIENT.event(new_openid(), "CLICK", "QUERY_BILL"), MENU).rasa_text == "/query_bill"
    assert parse_inbound(CLIENT.event(new_openid(), "CLICK", "REQUEST_HUMAN"), MENU).rasa_text == "/request_human"
    stale = parse_inbound(CLIENT.event(new_openid(), "CLICK", "NO_SUCH_KEY"), MENU)
    assert stale.rasa_text is None and stale.channel_reply == messages.WECHAT_MENU_UNAVAILABLE


def test_other_events_are_notices_and_other_messages_get_a_polite_answer():
    view = parse_inbound(CLIENT.event(new_openid(), "VIEW", "https://example.org/"), MENU)
    assert view.rasa_text is None and view.channel_reply is None and not view.opens_window
    report = parse_inbound(CLIENT.event(new_openid(), "LOCATION"), MENU)
    assert report.rasa_text is None and report.channel_reply is None
    video = parse_inbound(CLIENT.xml(new_openid(), "video", MediaId="v", ThumbMediaId="t", MsgId=16), MENU)
    assert video.rasa_text == "/unsupported_message"
    odd = parse_inbound(CLIENT.xml(new_openid(), "something_new", MsgId=17), MENU)
    assert odd.rasa_text == "/unsupported_message"


def test_retries_share_a_key_and_events_are_keyed_by_sender_time_and_event():
    openid = new_openid()
    xml = CLIENT.text(openid, "你好", msg_id=999)
    assert parse_inbound(xml, MENU).dedup_key == parse_inbound(xml, MENU).dedup_key
    a = parse_inbound(CLIENT.event(openid, "CLICK", "QUERY_BILL", create_time=1700000000), MENU)
    b = parse_inbound(CLIENT.event(openid, "CLICK", "QUERY_BILL", create_time=1700000000), MENU)
    c = parse_inbound(CLIENT.event(openid, "CLICK", "QUERY_BILL", create_time=1700000001), MENU)
    d = parse_inbound(CLIENT.event(new_openid(), "CLICK", "QUERY_BILL", create_time=1700000000), MENU)
    assert a.dedup_key == b.dedup_key and a.message_id == b.message_id
    assert len({a.dedup_key, c.dedup_key, d.dedup_key}) == 3


@pytest.mark.parametrize("xml", [
    "<xml><oops",
    "<notxml/>",
    "<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",  # no sender
    "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime></xml>",  # no MsgType
    "<xml><FromUserName>o1</FromUserName><CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>",
    "<xml><FromUserName>o 1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><FromUserName>&a;</FromUserName></xml>',
])
def test_malformed_messages_are_bad_requests(xml):
    with pytest.raises(BadRequest):
        parse_inbound(xml, MENU)


def _message(msg_type: str, fields: str, openid: str = "oMalformed01") -> str:
    return (f"<xml><ToUserName>gh_test</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType>{msg_type}</MsgType>{fields}<MsgId>42</MsgId></xml>")


_PLACE = "<Location_X>39.35</Location_X><Location_Y>114.69</Location_Y>"


@pytest.mark.parametrize("xml", [
    _message("text", "<Content><a>x</a></Content>"),
    _message("text", "<Content>一</Content><Content>二</Content>"),
    _message("text", '<Content lang="zh">你好</Content>'),
    _message("text", "<Content>" + "电" * 5000 + "</Content>"),
    _message("voice", "<MediaId>m1</MediaId><Format>amr</Format><Recognition><b>停电</b></Recognition>"),
    _message("location", _PLACE + "<Scale>15</Scale><Label><i>东关村</i></Label>"),
    _message("location", _PLACE + "<Scale><z>15</z></Scale><Label>东关村</Label>"),
    _message("location", _PLACE + "<Scale>far</Scale><Label>东关村</Label>"),
    _message("location", "<Location_X>NaN</Location_X><Location_Y>114.69</Location_Y><Scale>15</Scale>"),
    _message("location", "<Location_X>39.35</Location_X><Location_Y>inf</Location_Y><Scale>15</Scale>"),
    _message("location", "<Location_X>91</Location_X><Location_Y>114.69</Location_Y><Scale>15</Scale>"),
    _message("event", "<Event>CLICK</Event><EventKey><k>QUERY_BILL</k></EventKey>"),
    _message("event", "<Event>TEMPLATESENDJOBFINISH</Event><MsgID>not-a-number</MsgID><Status>success</Status>"),
    _message("text", "<Content>你好</Content>").replace("<CreateTime>1700000000", "<CreateTime>１７００００００００"),
    _message("text", "<Content>你好</Content>").replace("<MsgId>42</MsgId>", "<MsgId>" + "9" * 40 + "</MsgId>"),
], ids=["child-in-content", "repeated-content", "attribute-on-content", "huge-content", "child-in-recognition",
        "child-in-label", "child-in-scale", "scale-not-a-number", "latitude-nan", "longitude-inf", "latitude-91",
        "child-in-eventkey", "template-msgid-not-a-number", "full-width-createtime", "huge-msgid"])
def test_signed_but_malformed_fields_are_bad_requests_not_errors(xml):
    with pytest.raises(BadRequest):
        parse_inbound(xml, MENU)


def test_wechats_own_nested_menu_events_still_parse():
    scan = _message("event", "<Event>scancode_waitmsg</Event><EventKey>SCAN</EventKey>"
                             "<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>123</ScanResult></ScanCodeInfo>")
    pics = _message("event", "<Event>pic_sysphoto</Event><EventKey>PHOTO</EventKey><SendPicsInfo><Count>2</Count>"
                             "<PicList><item><PicMd5Sum>a1</PicMd5Sum></item><item><PicMd5Sum>b2</PicMd5Sum></item>"
                             "</PicList></SendPicsInfo>")
    for xml in (scan, pics):
        assert parse_inbound(xml, MENU).msg_type == "event"


# --- replies -------------------------------------------------------------------------------------------

def test_combine_joins_messages_within_the_limit():
    assert combine(["第一条", "", "第二条"]) == ["第一条\n\n第二条"]
    long_line = "电" * 1000  # 3000 bytes
    chunks = combine(["开头", long_line, "结尾"])
    assert all(len(c.encode()) <= MAX_REPLY_BYTES for c in chunks)
    assert "".join(chunks).replace("\n", "") == "开头" + long_line + "结尾"
    line = "一行字" * 30  # 270 bytes: seven lines fit in one message
    chunks = combine(["\n".join([line] * 20)])
    assert len(chunks) == 3 and all(len(c.encode()) <= MAX_REPLY_BYTES for c in chunks)
    assert all(set(c.split("\n")) == {line} for c in chunks)  # split at line ends only


def test_safe_mode_reply_is_encrypted_and_signed():
    keys = Keys(token=VECTOR_TOKEN, aes_key=VECTOR_AES_KEY, appid=VECTOR_APPID)
    envelope = open_envelope(VECTORS, VECTOR_MESSAGE_QUERY, VECTOR_MESSAGE.encode())
    inbound = parse_inbound(envelope.xml, MENU)
    body = render_reply(keys, envelope, inbound, "您好")
    outer = xmltodict.parse(body)["xml"]
    plain = WeChatCrypto(VECTOR_TOKEN, VECTOR_AES_KEY, VECTOR_APPID).decrypt_message(
        body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
    reply = xmltodict.parse(plain)["xml"]
    assert reply["Content"] == "您好" and reply["ToUserName"] == "messense" and reply["MsgType"] == "text"


# --- the menu file -------------------------------------------------------------------------------------

def test_menu_file_is_valid_and_uses_domain_intents():
    menu = load_menu(ROOT / "wechat_menu.yml")
    assert [b.name for b in menu.buttons] == ["查电费", "停电报修", "更多服务"]
    with open(ROOT / "domain.yml", encoding="utf-8") as fh:
        intents = set(yaml.safe_load(fh)["intents"])
    for button in menu.leaves():
        assert button.intent in intents, f"{button.name}: {button.intent} is not an intent of domain.yml"
    body = menu.to_wechat()
    assert body["button"][0]["sub_button"][0] == {"type": "click", "name": "查电费", "key": "QUERY_BILL"}


@pytest.mark.parametrize("data, problem", [
    ({"buttons": []}, "1 to 3"),
    ({"buttons": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]}, "1 to 3"),
    ({"buttons": [{"name": "查电费查电费", "key": "K", "intent": "query_bill"}]}, "16 bytes"),
    ({"buttons": [{"name": "x", "sub_buttons": [{"name": str(i), "key": f"K{i}", "intent": "greet"}
                                                for i in range(6)]}]}, "at most 5"),
    ({"buttons": [{"name": "x", "key": "K", "intent": "greet"}, {"name": "y", "key": "K", "intent": "greet"}]},
     "duplicate"),
    ({"buttons": [{"name": "x", "key": "K", "intent": "Not An Intent"}]}, "intent"),
    ({"buttons": [{"name": "x", "type": "view", "url": "ftp://x"}]}, "url"),
])
def test_menu_limits_are_enforced(data, problem):
    with pytest.raises(MenuError, match=problem):
        parse_menu(data)


def test_two_customers_whose_messages_share_a_msgid_are_two_messages():
    # WeChat's MsgId is unique per sender only: the key is ToUserName + FromUserName + MsgId
    first = parse_inbound(CLIENT.text(new_openid(), "我家停电了", msg_id=4242), MENU)
    second = parse_inbound(CLIENT.text(new_openid(), "查电费", msg_id=4242), MENU)
    assert first.dedup_key != second.dedup_key
    retry = parse_inbound(CLIENT.text(first.openid, "我家停电了", msg_id=4242), MENU)
    assert retry.dedup_key == first.dedup_key


@pytest.mark.parametrize("stickers", ["[捂脸]", "[强][强]", "[OK]", "/::)", "/:strong", "[捂脸] /::) 😂"])
def test_a_message_of_only_wechat_emoticons_gets_the_emoji_answer_and_never_reaches_the_bot(stickers):
    inbound = parse_inbound(CLIENT.text(new_openid(), stickers, msg_id=31), MENU)
    assert inbound.rasa_text is None and inbound.channel_reply == messages.WECHAT_EMPTY_TEXT


def test_emoticon_codes_and_traditional_characters_are_gone_before_the_bot_reads_a_message():
    inbound = parse_inbound(CLIENT.text(new_openid(), "上個月電費[捂脸]/:strong", msg_id=32), MENU)
    assert inbound.rasa_text == "上个月电费"
