"""Issue 13, fault 1, through the running bot (REST channel, trained model, action server): several things
in one message. Pleasantries before a request do not hide it; of two requests the first is answered and
the second offered in the same reply, and a yes to the offer answers it — one message stays one turn."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import List

import pytest
from sqlalchemy import func, select

from bot import messages
from bot.clock import local_today, utcnow
from bot.db import dispose_engines, session_scope
from bot.domain import accounts, bindings, contacts
from bot.domain.models import Handoff
from tests.fakes.wechat import WeChatClient, new_openid

pytestmark = pytest.mark.rasa  # drives the trained model through a running bot

GREETING = "智能客服"  # in the greeting only
ASK_PLACE = "请问是哪里停电"


def say(bot, sender: str, text: str) -> List[str]:
    """What the bot answers ``sender`` to ``text``: one REST request, so one turn."""
    req = urllib.request.Request(bot.url + "/webhooks/rest/webhook", method="POST",
                                 data=json.dumps({"sender": sender, "message": text}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return [r["text"] for r in json.loads(resp.read()) if r.get("text")]


def bound_sender(records_db: str, account_no: str = "5100000101") -> str:
    """A new REST customer who has bound ``account_no`` (as if the right code had been entered)."""
    sender = f"second-{uuid.uuid4().hex[:8]}"
    with session_scope(records_db) as s:
        contact = contacts.for_sender(s, "rest:" + sender)
        bindings._bind(s, contact, accounts.get_by_no(s, account_no), "sms_code", utcnow())
    dispose_engines()
    return sender


@pytest.mark.parametrize("text", ["你好你好，在吗？我家停电了", "在吗在吗在吗，家里没电了", "您好，请问一下，俺家停电了"])
def test_pleasantries_before_a_report_do_not_hide_it(bot, text):
    replies = say(bot, f"hello-{uuid.uuid4().hex[:8]}", text)
    assert any(ASK_PLACE in r for r in replies) and not any(GREETING in r for r in replies)


@pytest.mark.parametrize("yes", ["好的", "是", "要"])
def test_two_requests_the_first_answered_the_second_offered_then_answered_on_a_yes(bot, records_db, yes):
    sender = bound_sender(records_db)
    first = say(bot, sender, "查下电费 顺便问下峰谷电咋申请")
    assert "元" in first[0] and "5100000101" in first[0]  # the bill
    assert first[-1] == "还想了解峰谷电申请吗？" and not any("申请峰谷电价：" in r for r in first)
    second = say(bot, sender, yes)
    assert "申请峰谷电价" in second[0] and "需要帮您登记申请" in second[-1]


def test_a_no_to_the_offer_closes_it(bot, records_db):
    sender = bound_sender(records_db)
    assert say(bot, sender, "查下电费 顺便问下峰谷电咋申请")[-1] == "还想了解峰谷电申请吗？"
    assert say(bot, sender, "不用了") == ["好的，有需要随时找我。"]
    assert say(bot, sender, "好的") == ["好的。还有什么可以帮您？"]  # the offer is gone


@pytest.mark.parametrize("text, offer, answer", [
    ("电费咋交 顺便问下峰谷电怎么申请", "还想了解峰谷电申请吗？", "申请峰谷电价"),
    ("上个月用了多少度电，另外电费怎么交", "还想了解电费怎么交吗？", "微信"),
    ("查下余额，还有个事，光伏并网咋办", "还想了解光伏并网申请吗？", "光伏"),
])
def test_the_whole_kind_of_two_requests(bot, records_db, text, offer, answer):
    sender = bound_sender(records_db)
    first = say(bot, sender, text)
    assert len(first) >= 2 and first[-1] == offer
    assert answer in "\n".join(say(bot, sender, "好的"))


def test_an_outage_in_second_place_is_asked_about_at_once_and_a_yes_starts_the_report(bot, records_db):
    sender = bound_sender(records_db)
    first = say(bot, sender, "查下电费 顺便说下我家停电了")
    assert "元" in first[0] and first[-1] == "您还提到停电了，需要现在为您报修吗？"
    assert any(ASK_PLACE in r or "停电" in r for r in say(bot, sender, "是的"))


def test_a_first_request_that_needs_binding_does_not_offer_the_second_yet(bot):
    replies = say(bot, f"unbound-{uuid.uuid4().hex[:8]}", "查下电费 顺便问下峰谷电咋申请")
    assert any("户号" in r for r in replies) and not any("峰谷" in r for r in replies)


# ---------------------------------------------------------------- fault 2: traditional characters

@pytest.mark.parametrize("text, month_back", [("電費多少錢", None), ("上個月電費", 1), ("上個月電費多少錢", 1)])
def test_traditional_characters_are_read_as_simplified_down_to_the_month(bot, records_db, text, month_back):
    sender = bound_sender(records_db)
    replies = say(bot, sender, text)
    answer = "\n".join(replies)
    assert "元" in answer and "服务范围" not in answer and "请问需要办理什么" not in answer
    if month_back:
        today = local_today()
        index = today.year * 12 + today.month - 1 - month_back
        assert f"{index // 12}年{index % 12 + 1}月电费" in answer


# ---------------------------------------------------------------- fault 6: long messages

def test_a_long_message_is_read_for_the_request_at_its_end(bot):
    story = ("昨天晚上刮了一宿的大风，俺家院子里的树枝都断了好几根，早上起来一看冰箱也不转了，"
             "孩子还要上网课，老人也在家，屋里黑乎乎的什么也干不了，")
    replies = say(bot, f"long-{uuid.uuid4().hex[:8]}", story + "现在家里停电了，地址是银坊镇北庄村63号")
    answer = "\n".join(replies)
    assert "没有查到您的工单" not in answer and ASK_PLACE not in answer  # a report, its place taken
    assert "全村都停了还是只有您家" in answer or "联系" in answer


# ---------------------------------------------------------------- fault 9: gibberish is not out of scope

@pytest.mark.parametrize("text", ["？？？", "啊啊啊啊", "asdfgh", "那个东西咋整啊"])
def test_gibberish_asks_to_rephrase_and_twice_in_a_row_reaches_a_person(bot, text):
    sender = f"gibberish-{uuid.uuid4().hex[:8]}"
    first = "\n".join(say(bot, sender, text))
    assert "没太明白" in first and "服务范围" not in first
    second = "\n".join(say(bot, sender, text))
    assert "转接人工客服" in second and second.count("转接") == 1


@pytest.mark.parametrize("text", ["家里自来水一直不出水", "手机欠费停机了咋弄", "天然气没气了找谁"])
def test_other_businesses_are_out_of_scope(bot, text):
    assert any("服务范围" in r for r in say(bot, f"other-{uuid.uuid4().hex[:8]}", text))


# ---------------------------------------------------------------- fault 3: WeChat emoticon codes

def test_stickers_in_a_row_get_the_emoji_answer_and_never_reach_an_agent(bot, records_db):
    wechat = WeChatClient(bot.url + "/webhooks/wechat/webhook")
    openid = new_openid()
    for stickers in ("[捂脸]", "[强][强]", "/::)", "[OK] /:strong"):
        assert wechat.post(wechat.text(openid, stickers)).text == messages.WECHAT_EMPTY_TEXT
    with session_scope(records_db) as s:
        assert s.scalar(select(func.count()).select_from(Handoff).where(Handoff.sender_id == f"wechat:{openid}")) == 0
    understood = wechat.post(wechat.text(openid, "电费怎么交[捂脸]")).text
    assert "交电费" in understood or "交费" in understood


# ---------------------------------------------------------------- fault 4: digits in groups

@pytest.mark.parametrize("typed", ["户号 5100 0001 01 查电费", "5100-0001-01的电费", "户号５１００ ０００１ ０１电费多少"])
def test_an_account_number_typed_in_groups_is_the_account(bot, records_db, typed):
    sender = bound_sender(records_db)
    answer = "\n".join(say(bot, sender, typed))
    assert "户号5100000101" in answer and "元" in answer


def test_someone_elses_account_number_in_groups_is_refused_as_that_number(bot):
    answer = "\n".join(say(bot, f"typed-{uuid.uuid4().hex[:8]}", "5100 0001 04 上个月电费"))
    assert "5100000104" in answer and "元" not in answer
