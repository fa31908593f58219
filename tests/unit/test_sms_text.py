"""What the SMS channel makes of texts: opt-out words, TwiML, numbered choices."""

from xml.etree import ElementTree

import pytest

from bot import messages
from bot.channels.common import message_text
from bot.channels.sms import MAX_BODY, choices_of, chosen, is_opt_out, split_body, twiml
from bot.channels.sms_state import Choice
from bot.messaging.outbox import sms_segments


@pytest.mark.parametrize("text", ["退订", "TD", "td", "Td", "STOP", "stop", " Stop ", "T D", "退 订", "退订。", "STOP!",
                                  "ＴＤ", "unsubscribe", "StopAll"])
def test_opt_out_words(text):
    assert is_opt_out(text)


@pytest.mark.parametrize("text", ["", "我要退订电费短信吗", "停电了", "stop the outage", "TDS", "取消", "1"])
def test_other_texts_are_not_opt_outs(text):
    assert not is_opt_out(text)


def test_twiml_escapes_what_xml_would_misread():
    body = '电费<100元 & "急" > 明天'
    xml = twiml(body)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    root = ElementTree.fromstring(xml.encode())
    assert root.tag == "Response" and [m.text for m in root.findall("Message")] == [body]


def test_no_reply_is_an_empty_response():
    root = ElementTree.fromstring(twiml("").encode())
    assert root.tag == "Response" and list(root) == []


def test_buttons_become_numbered_choices_and_a_digit_maps_back():
    message = {"text": "请选择：", "buttons": [{"title": "查电费", "payload": "/query_bill"},
                                              {"title": "报停电", "payload": "/report_outage"}]}
    assert message_text(message) == "请选择：\n回复1 查电费\n回复2 报停电"
    offered = choices_of([{"text": "您好"}, message, {"text": "也可以直接说"}])
    assert offered == [Choice("查电费", "/query_bill"), Choice("报停电", "/report_outage")]
    assert chosen("2", offered) == Choice("报停电", "/report_outage")
    assert chosen(" 回复1 ", offered) == Choice("查电费", "/query_bill")
    assert chosen("3", offered) is None and chosen("0", offered) is None
    assert chosen("1号楼停电", offered) is None
    assert chosen("1", []) is None


def test_a_turn_without_buttons_offers_nothing():
    assert choices_of([{"text": "好的"}]) == []


def test_the_opt_out_confirmation_fits_one_segment():
    assert sms_segments(messages.SMS_OPTED_OUT) == 1


def test_a_reply_over_twilios_limit_goes_as_several_messages_cut_at_lines():
    line = "停电计划：" + "某村" * 40  # 85 characters
    body = "\n".join([line] * 40)  # 3439 characters
    parts = split_body(body)
    assert [p.count("\n") + 1 for p in parts] == [18, 18, 4] and all(len(p) <= MAX_BODY for p in parts)
    assert "\n".join(parts) == body and all(p.startswith("停电计划") for p in parts)
    root = ElementTree.fromstring(twiml(body).encode())
    assert [m.text for m in root.findall("Message")] == parts
    assert split_body("x" * 3500) == ["x" * 1600, "x" * 1600, "x" * 300]
    assert split_body("") == [] and split_body("短") == ["短"]
