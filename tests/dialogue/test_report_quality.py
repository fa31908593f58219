"""Issue 13: never file a ticket nobody can act on, answer what the bot should know, word money right,
and never trap the customer. A Chinese answer in, the reply and the rows out (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.accounts import ActionBindAccount, ValidateBindForm
from actions.billing import ActionQueryBalance
from actions.callback import (
    ActionAskContactPhone,
    ActionComplaint,
    ActionComplaintWords,
    ActionSubmitContact,
    ValidateContactForm,
)
from actions.faq import ActionFaq
from actions.handoff import ActionFallback, ActionRequestHuman
from actions.hazards import ActionShareImage, ActionSubmitHazard
from actions.outages import ActionAskOutageAddress, ActionSubmitOutage, ValidateOutageForm
from actions.switch import ActionSwitchTopic
from bot.clock import local_today
from bot.config import get_settings, load_settings
from bot.db import session_scope
from bot.domain import accounts, contacts
from bot.domain.models import Handoff, Ticket, TicketFollower
from tests.dialogue.conftest import DOMAIN, Conversation, bind
from tests.dialogue.test_actions import count
from tests.factories import make_bill

GIVEN = "13812345678"  # a number customers type (made up)


def ask_place(conversation: Conversation, text: str, intent: str = "inform", form: str = "outage_form"):
    """The customer answers "哪里停电？" with ``text`` (mapped from the text, as domain.yml maps it)."""
    conversation.slots["requested_slot"] = "address"
    return conversation.validate(ValidateOutageForm(), "address", text, intent=intent, form=form)


def give_phone(conversation: Conversation, text: str, intent: str = "inform"):
    conversation.slots["requested_slot"] = "callback_phone"
    return conversation.validate(ValidateContactForm(), "callback_phone", text, intent=intent, form="contact_form")


def only_ticket() -> Ticket:
    with session_scope() as s:
        tickets = list(s.scalars(select(Ticket)))
        assert len(tickets) == 1
        s.expunge_all()
        return tickets[0]


# ---------------------------------------------------------------- 7. an answer that is not an answer

@pytest.mark.parametrize("text", ["全村都停了", "停电多久能来电", "只有我家，空开没跳", "就我们家没电了", "啥时候来电啊",
                                  "我家", "在家里", "不知道咋说"])
def test_an_answer_that_names_no_place_of_the_county_is_never_the_address(customer, text):
    turn = ask_place(customer, text)
    assert turn.slot("address") is None and turn.slot("place_tries") == 1
    assert "哪个乡镇" in turn.text or "停电的地点" in turn.text


def test_a_description_given_for_the_place_is_kept_as_what_happened(customer):
    turn = ask_place(customer, "全村都停了")
    assert turn.slot("detail") == "全村都停了" and turn.slot("address") is None


@pytest.mark.parametrize("text,township", [("银坊镇", "银坊镇"), ("在城关镇那边", "城关镇")])
def test_a_township_without_its_village_is_asked_for_the_village(customer, text, township):
    turn = ask_place(customer, text)
    assert turn.slot("address") is None and f"{township}哪个村" in turn.text


@pytest.mark.parametrize("text", ["银坊镇北庄村63号", "北庄村", "城关镇东关村12号", "烟煤洞乡大安村"])
def test_a_township_and_village_of_the_county_is_taken(customer, text):
    turn = ask_place(customer, text)
    assert turn.slot("address") == text and not turn.slot("place_to_confirm") and turn.text == ""


def test_the_form_does_not_repeat_its_question_after_saying_what_is_missing(customer):
    ask_place(customer, "全村都停了")
    asked = customer.run(ActionAskOutageAddress(), "全村都停了")
    assert asked.text == "" and asked.slot("place_prompted") is None
    again = customer.run(ActionAskOutageAddress(), "你们客服电话多少")
    assert "哪里停电" in again.text


@pytest.mark.parametrize("text,expected", [("你们客服电话多少", "95598"), ("供电所电话是多少", "0312-73001"),
                                           ("营业厅在哪", "地址"), ("供电所几点上班", "8:30")])
def test_a_question_inside_the_report_is_answered_and_the_report_goes_on(customer, text, expected):
    turn = ask_place(customer, text)
    assert expected in turn.text and turn.slot("address") is None and turn.slot("place_tries") is None
    assert count(Handoff) == 0


def test_the_station_answered_is_the_one_of_the_customers_township(customer):
    bind(customer.sender_id, "5100000103")  # 银坊镇
    turn = customer.run(ActionRequestHuman(), "供电所电话是多少", "request_human")
    assert "银坊供电所" in turn.text and "0312-7300102" in turn.text and count(Handoff) == 0


@pytest.mark.parametrize("intent", ["request_human", "out_of_scope", "nlu_fallback", "payment_methods"])
def test_a_service_question_the_nlu_takes_for_something_else_still_resumes_the_report(customer, intent):
    tracker = customer.tracker("你们客服电话多少", intent, active_loop="outage_form")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionSwitchTopic().run(dispatcher, tracker, DOMAIN))
    assert {"event": "slot", "timestamp": None, "name": "next_step", "value": "resume_outage_form"} in events
    assert not any(e.get("event") == "active_loop" for e in events) and count(Handoff) == 0


@pytest.mark.parametrize("action,intent", [(ActionRequestHuman(), "request_human"), (ActionFallback(), "nlu_fallback")])
def test_the_hotline_question_is_answered_not_queued(customer, action, intent):
    turn = customer.run(action, "你们客服电话多少", intent)
    assert "95598" in turn.text and count(Handoff) == 0


def test_after_two_failed_answers_the_ticket_is_filed_with_the_place_to_confirm_by_phone(customer):
    ask_place(customer, "全村都停了")
    second = ask_place(customer, "就是我家那边")
    assert second.slot("place_to_confirm") is True and second.slot("address")
    customer.slots["callback_phone"] = GIVEN
    turn = customer.run(ActionSubmitOutage(), "就是我家那边")
    ticket = only_ticket()
    assert (ticket.place_to_confirm, ticket.township, ticket.address) == (True, None, None)
    assert ticket.description == "全村都停了"
    assert "电话" in turn.text and "核实" in turn.text


def test_a_resolved_place_never_promises_a_call_about_the_place(customer):
    ask_place(customer, "银坊镇北庄村63号")
    customer.slots.update(detail="全村都停了", callback_phone=GIVEN)
    turn = customer.run(ActionSubmitOutage(), "全村都停了")
    ticket = only_ticket()
    assert (ticket.place_to_confirm, ticket.township, ticket.village) == (False, "银坊镇", "北庄村")
    assert "核实" not in turn.text


# ---------------------------------------------------------------- 8. a number to call back

def test_no_repair_ticket_is_filed_without_a_number_to_call_back(customer):
    customer.slots.update(address="银坊镇北庄村63号", detail="全村都停了")
    turn = customer.run(ActionSubmitOutage(), "全村都停了")
    assert turn.slot("next_step") == "ask_phone" and turn.slot("report_kind") == "outage" and count(Ticket) == 0
    asked = customer.run(ActionAskContactPhone(), "")
    assert "手机号" in asked.text
    assert give_phone(customer, "139-1234-5678").slot("callback_phone") == "13912345678"
    done = customer.run(ActionSubmitContact(), "139-1234-5678")
    ticket = only_ticket()
    assert "已为您登记抢修工单" in done.text and ticket.callback_phone == "13912345678"


def test_a_bound_customer_confirms_the_registered_phone_in_one_question(customer):
    bind(customer.sender_id, "5100000101")
    customer.slots.update(address="城关镇东关村12号", detail="家里没电了", account_choice="5100000101")
    assert customer.run(ActionSubmitOutage(), "家里没电了").slot("next_step") == "ask_phone"
    asked = customer.run(ActionAskContactPhone(), "")
    assert "尾号1111的手机能联系到您吗" in asked.text
    assert give_phone(customer, "能", intent="affirm").slot("callback_phone") == "13900001111"
    customer.run(ActionSubmitContact(), "能")
    ticket = only_ticket()
    with session_scope() as s:
        linked = s.get(Ticket, ticket.id).account.account_no
    assert ticket.callback_phone == "13900001111" and linked == "5100000101"


@pytest.mark.parametrize("answer", ["不能", "那个号早换了", "打不通"])
def test_a_registered_phone_that_no_longer_reaches_them_is_replaced_by_one_they_give(customer, answer):
    bind(customer.sender_id, "5100000101")
    customer.run(ActionAskContactPhone(), "")
    refused = give_phone(customer, answer, intent="deny")
    assert refused.slot("callback_phone") is None and "请发一个能联系到您的手机号" in refused.text
    assert customer.run(ActionAskContactPhone(), answer).text == ""  # the refusal reply asked already
    assert "尾号" not in customer.run(ActionAskContactPhone(), answer).text
    assert give_phone(customer, "+86 138 1234 5678").slot("callback_phone") == GIVEN


@pytest.mark.parametrize("text", ["12345", "1381234567", "23812345678", "好的"])
def test_a_number_that_is_not_an_11_digit_mobile_is_asked_again(customer, text):
    turn = give_phone(customer, text)
    assert turn.slot("callback_phone") is None and "手机号格式不对" in turn.text


def test_an_sms_customer_is_called_back_on_the_number_they_text_from(records):
    with session_scope() as s:
        sender = contacts.get_or_create(s, "sms", GIVEN).sender_id
    sms = Conversation(sender)
    sms.slots.update(address="银坊镇北庄村63号", detail="全村都停了")
    turn = sms.run(ActionSubmitOutage(), "全村都停了")
    assert "已为您登记抢修工单" in turn.text and only_ticket().callback_phone == GIVEN


def test_a_hazard_is_filed_at_once_and_flagged_until_it_has_a_number(customer):
    customer.slots.update(address="银坊镇北庄村村口", detail="电线断了掉地上了", offer_detail="fallen_wire")
    filed = customer.run(ActionSubmitHazard(), "电线断了掉地上了")
    ticket = only_ticket()
    assert (ticket.type, ticket.callback_pending, ticket.callback_phone) == ("hazard", True, None)
    assert filed.slot("next_step") == "ask_phone" and filed.slot("report_ticket") == ticket.ticket_no
    give_phone(customer, GIVEN)
    noted = customer.run(ActionSubmitContact(), GIVEN)
    ticket = only_ticket()
    assert (ticket.callback_pending, ticket.callback_phone == GIVEN) == (False, True) and "138****5678" in noted.text


def test_a_hazard_photo_is_acknowledged_and_not_asked_for_again(customer):
    tracker = customer.tracker("[图片]", "share_image", {"media": "http://img.example/1.jpg"}, active_loop="hazard_form")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionShareImage().run(dispatcher, tracker, DOMAIN))
    assert "照片收到了" in Conversation._texts(dispatcher)[0]
    customer.slots.update(address="银坊镇北庄村村口", detail="电线杆歪了", media=["http://img.example/1.jpg"],
                          callback_phone=GIVEN)
    filed = customer.run(ActionSubmitHazard(), "电线杆歪了")
    assert "照片已附在工单上" in filed.text and "可以发送现场照片" not in filed.text


def test_a_hazard_links_the_account_it_was_reported_for(customer):
    bind(customer.sender_id, "5100000103")
    customer.slots.update(address="银坊镇北庄村8号", detail="表箱门掉了", account_choice="5100000103", callback_phone=GIVEN)
    customer.run(ActionSubmitHazard(), "表箱门掉了")
    with session_scope() as s:
        assert s.scalar(select(Ticket)).account.account_no == "5100000103"


def test_a_neighbour_joining_a_ticket_is_asked_for_a_number_only_when_we_have_none(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=GIVEN)
    customer.run(ActionSubmitOutage(), "没电")
    neighbour = Conversation("wechat:oNeighbourBob")
    neighbour.slots.update(address="东关村8号", detail="我家也停了")
    joined = neighbour.run(ActionSubmitOutage(), "我家也停了")
    assert "附近已有报修工单" in joined.text and joined.slot("next_step") == "ask_phone"
    give_phone(neighbour, "13711112222")
    neighbour.run(ActionSubmitContact(), "13711112222")
    with session_scope() as s:
        sender = contacts.get_or_create(s, "sms", "13711113333").sender_id
        follower = s.scalar(select(TicketFollower))
        stored = follower.callback_phone == "13711112222"
    assert stored and count(Ticket) == 1
    texting = Conversation(sender)
    texting.slots.update(address="东关村9号", detail="也没电")
    assert texting.run(ActionSubmitOutage(), "也没电").slot("next_step") == "done"


@pytest.mark.parametrize("text", ["我要投诉", "投诉", "我要投诉你们", "我想投诉一下"])
def test_a_complaint_without_words_asks_what_happened_and_files_the_customers_words(customer, text):
    asked = customer.run(ActionComplaint(), text, "complaint")
    assert asked.slot("next_step") == "ask_complaint" and count(Ticket) == 0
    words = "抄表员上门态度很差，还多收了我二十块钱"
    customer.slots.update(report_text=words, callback_phone=GIVEN)
    customer.run(ActionComplaintWords(), words, "inform")
    ticket = only_ticket()
    assert (ticket.type, ticket.description, ticket.callback_phone == GIVEN) == ("complaint", words, True)


def test_a_complaint_waits_for_a_number_before_it_is_filed(customer):
    words = "营业厅的人说话太冲了 我要投诉"
    turn = customer.run(ActionComplaint(), words, "complaint")
    assert turn.slot("next_step") == "ask_phone" and count(Ticket) == 0
    give_phone(customer, GIVEN)
    done = customer.run(ActionSubmitContact(), GIVEN)
    assert "已登记您的投诉" in done.text and only_ticket().description == words


# ---------------------------------------------------------------- 10. answers the bot should know

def test_the_hotline_and_every_townships_station_are_in_the_service_rules():
    from bot.domain.rules import get_rules

    rules = get_rules()
    assert rules.contacts.hotline == "95598"
    for township in ("城关镇", "银坊镇", "走马驿镇", "烟煤洞乡", "金家井乡", "杨家庄镇", "王安镇"):
        point = rules.contacts.for_township(township)
        assert point.phone.startswith("0312-") and point.address and point.hours


def test_a_code_that_does_not_arrive_says_when_where_to_and_what_if_the_phone_is_gone(customer):
    customer.validate(ValidateBindForm(), "account_no", "5100000101", form="bind_form")
    turn = customer.run(ActionBindAccount(), "我收不到验证码", "bind_account")
    assert "139****1111" in turn.text and "重新获取" in turn.text and "身份证" in turn.text
    assert turn.slot("next_step") == "done"


def test_a_code_question_typed_for_the_code_is_not_a_wrong_code(customer):
    customer.validate(ValidateBindForm(), "account_no", "5100000101", form="bind_form")
    customer.slots["requested_slot"] = "verification_code"
    turn = customer.validate(ValidateBindForm(), "verification_code", "验证码一直没收到", form="bind_form")
    assert "139****1111" in turn.text and "不正确" not in turn.text


# ---------------------------------------------------------------- 11. money wording

def _unpaid(account_no: str, days_to_due: int) -> None:
    today = local_today()
    with session_scope() as s:
        account = accounts.get_by_no(s, account_no)
        make_bill(s, account, f"{today.year:04d}-{today.month:02d}", 150, paid=False,
                  due=today + timedelta(days=days_to_due))


def test_a_bill_not_yet_due_is_to_be_paid_by_its_due_date_not_arrears(customer):
    bind(customer.sender_id, "5100000104")
    _unpaid("5100000104", 10)
    turn = customer.run(ActionQueryBalance(), "我欠费吗", "query_balance")
    due = local_today() + timedelta(days=10)
    assert f"{due.month}月{due.day}日前交清即可" in turn.text and "待缴" in turn.text
    assert "欠费" not in turn.text and "违约金" not in turn.text and "停电" not in turn.text


def test_arrears_and_late_fees_come_only_after_the_due_date(customer):
    bind(customer.sender_id, "5100000104")
    _unpaid("5100000104", -5)
    turn = customer.run(ActionQueryBalance(), "我欠费吗", "query_balance")
    assert "欠费" in turn.text and "违约金" in turn.text


def test_how_to_pay_lists_wechat_pay_and_the_accounts_own_payment_entry(customer, monkeypatch):
    monkeypatch.setenv("PAYMENT_URL_TEMPLATE", "https://pay.example.cn/elec?acct={account_no}")
    get_settings.cache_clear()
    bind(customer.sender_id, "5100000101")
    turn = customer.run(ActionFaq(), "电费怎么交", "payment_methods", response_key="payment_methods/general")
    assert "微信支付" in turn.text and "https://pay.example.cn/elec?acct=5100000101" in turn.text


def test_without_a_payment_url_no_entry_is_offered(customer):
    bind(customer.sender_id, "5100000101")
    turn = customer.run(ActionFaq(), "电费怎么交", "payment_methods", response_key="payment_methods/online")
    assert "微信支付" in turn.text and "交费入口" not in turn.text


@pytest.mark.parametrize("value", ["pay.example.cn/{account_no}", "https://pay.example.cn/elec"])
def test_a_payment_url_template_without_a_scheme_or_the_account_is_refused_at_start(value):
    with pytest.raises(ValueError, match="PAYMENT_URL_TEMPLATE"):
        load_settings({"PAYMENT_URL_TEMPLATE": value})


# ---------------------------------------------------------------- 13. flows that trap

def _required(conversation: Conversation, text: str):
    tracker = conversation.tracker(text, "report_outage", active_loop="outage_form")
    return asyncio.run(ValidateOutageForm().required_slots(["address", "detail"], CollectingDispatcher(), tracker,
                                                           DOMAIN))


def test_a_second_report_the_same_day_is_told_about_the_open_ticket_up_front(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=GIVEN)
    number = customer.run(ActionSubmitOutage(), "没电").text.split("工单")[1][:14]
    assert _required(customer, "还是没电 都俩小时了") == []  # no triage questions again
    turn = customer.run(ActionSubmitOutage(), "还是没电 都俩小时了")
    assert number in turn.text and "查进度" in turn.text and "别的地方" in turn.text and count(Ticket) == 1


def test_a_second_report_for_another_place_is_a_new_report(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=GIVEN)
    customer.run(ActionSubmitOutage(), "没电")
    assert _required(customer, "银坊镇北庄村我妈家也停电了") == ["address", "detail"]
    customer.slots.update(address="银坊镇北庄村", detail="我妈家也停电了", callback_phone=GIVEN)
    turn = customer.run(ActionSubmitOutage(), "我妈家也停电了")
    assert "已为您登记抢修工单" in turn.text and count(Ticket) == 2


def test_a_first_report_asks_where(customer):
    assert _required(customer, "我家停电了") == ["address", "detail"]



def test_a_number_given_for_what_happened_is_the_call_back_number_not_the_description(customer):
    customer.slots["requested_slot"] = "detail"
    turn = customer.validate(ValidateOutageForm(), "detail", "138 1234 5678", form="outage_form")
    assert turn.slot("callback_phone") == GIVEN and "1234" not in (turn.slot("detail") or "")


def test_the_place_of_the_only_bound_account_links_the_account(customer):
    bind(customer.sender_id, "5100000103")
    turn = customer.validate(ValidateOutageForm(), "address", "银坊镇北庄村8号", text="我家停电了",
                             intent="report_outage", form="outage_form")
    assert turn.slot("account_choice") == "5100000103"


def test_a_hazard_report_is_its_own_description(customer):
    from actions.hazards import ValidateHazardForm

    tracker = customer.tracker("电缆井盖没了", "report_hazard", active_loop="hazard_form")
    extracted = asyncio.run(ValidateHazardForm().extract_detail(CollectingDispatcher(), tracker, DOMAIN))
    assert extracted == {"detail": "电缆井盖没了"}


def test_a_report_for_the_only_bound_account_links_it_when_the_form_starts(customer):
    bind(customer.sender_id, "5100000103")
    tracker = customer.tracker("我家停电了", "report_outage", active_loop="outage_form")
    events = asyncio.run(ValidateOutageForm().run(CollectingDispatcher(), tracker, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["address"] == "银坊镇北庄村8号" and slots["account_choice"] == "5100000103"
