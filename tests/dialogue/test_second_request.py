"""Issue 13, fault 1: two requests in one WeChat message stay one turn — the first is answered and the
second offered in the same reply; a yes answers the offered one, a no closes it. The NLU's reading of
the second request (``second_request`` in the parse data) is given as the model gives it; that the
model gives it is tests/integration/test_messy_text.py's part."""

from __future__ import annotations

import json

import pytest

from actions.billing import ActionQueryBalance, ActionQueryBill
from actions.faq import ActionFaq
from actions.outages import ActionPlannedOutage
from actions.switch import ActionSwitchTopic
from tests.dialogue.conftest import Conversation, bind

TWO = "查下电费 顺便问下峰谷电咋申请"
TOU = {"second_request": {"text": "峰谷电咋申请", "intent": "business_application", "confidence": 0.93,
                          "response_key": "business_application/tou_tariff", "entities": []}}


def asks_two(customer: Conversation):
    return customer.run(ActionQueryBill(), TWO, "query_bill", parsed=TOU)


def test_the_first_request_is_answered_and_the_second_offered_in_the_same_reply(customer):
    bind(customer.sender_id, "5100000101")
    turn = asks_two(customer)
    assert "元" in turn.texts[0]  # the bill
    assert turn.texts[-1] == "还想了解峰谷电申请吗？"
    assert turn.slot("next_step") == "done"
    assert json.loads(turn.slot("offered_request"))["intent"] == "business_application"


@pytest.mark.parametrize("yes", ["好的", "是", "要"])
def test_a_yes_answers_the_offered_request(customer, yes):
    bind(customer.sender_id, "5100000101")
    asks_two(customer)
    turn = customer.run(ActionSwitchTopic(), yes, "affirm")
    assert "申请峰谷电价" in turn.text and "需要帮您登记申请" in turn.text
    assert turn.slot("next_step") == "offer_business" and turn.slot("offer_detail") == "tou_tariff"
    assert customer.slots["offered_request"] is None


def test_a_no_closes_the_offer(customer):
    bind(customer.sender_id, "5100000101")
    asks_two(customer)
    turn = customer.run(ActionSwitchTopic(), "不用了", "deny")
    assert turn.text == "好的，有需要随时找我。" and turn.slot("next_step") == "done"
    assert customer.slots["offered_request"] is None


def test_an_offer_left_unanswered_lapses(customer):
    bind(customer.sender_id, "5100000101")
    asks_two(customer)
    balance = customer.run(ActionQueryBalance(), "余额多少", "query_balance")
    assert balance.slot("offered_request") is None and "峰谷" not in balance.text
    asks_two(customer)
    customer.events.append({"event": "user", "text": "谢谢", "parse_data": {"message_id": "thanks"}})  # utter_thank
    turn = customer.run(ActionSwitchTopic(), "好的", "affirm")
    assert turn.text == "好的。还有什么可以帮您？" and "峰谷" not in turn.text


def test_a_first_request_that_needs_binding_offers_nothing_yet(customer):
    turn = asks_two(customer)
    assert turn.slot("next_step") == "bind" and "峰谷" not in turn.text and turn.slot("offered_request") is None


@pytest.mark.parametrize("second, offer", [
    ({"text": "咋交", "intent": "payment_methods", "response_key": "payment_methods/general"}, "还想了解电费怎么交吗？"),
    ({"text": "余额还有多少", "intent": "query_balance", "response_key": None}, "还想查余额吗？"),
    ({"text": "营业厅几点开门", "intent": "payment_methods", "response_key": "payment_methods/offline"},
     "还想了解电费怎么交吗？"),
])
def test_each_offer_names_the_request_in_the_customers_terms(customer, second, offer):
    bind(customer.sender_id, "5100000101")
    turn = customer.run(ActionQueryBill(), "查下电费 顺便问下" + second["text"], "query_bill",
                        parsed={"second_request": {**second, "entities": []}})
    assert turn.texts[-1] == offer


def test_an_offered_bill_question_is_answered_after_a_faq(customer):
    bind(customer.sender_id, "5100000101")
    second = {"text": "上个月电费多少", "intent": "query_bill", "response_key": None,
              "entities": [{"entity": "month", "value": "上个月"}]}
    first = customer.run(ActionFaq(), "电费咋交 顺便问下上个月电费多少", "payment_methods",
                         response_key="payment_methods/general", parsed={"second_request": second})
    assert first.texts[-1] == "还想查电费吗？"
    turn = customer.run(ActionSwitchTopic(), "好的", "affirm")
    assert "元" in turn.text and turn.slot("next_step") == "done"


@pytest.mark.parametrize("intent, offer", [
    ("report_outage", "您还提到停电了，需要现在为您报修吗？"),
    ("report_hazard", "您还提到安全隐患，需要现在为您登记吗？"),
    ("complaint", "您还有意见要反映吗？需要的话我来为您登记。"),
    ("request_human", "需要为您转人工客服吗？"),
])
def test_a_report_or_a_request_for_a_person_in_second_place_is_never_dropped(customer, intent, offer):
    bind(customer.sender_id, "5100000101")
    turn = customer.run(ActionQueryBill(), "查下电费 顺便说一下", "query_bill",
                        parsed={"second_request": {"text": "…", "intent": intent, "response_key": None, "entities": []}})
    assert "元" in turn.texts[0] and turn.texts[-1] == offer


def test_a_yes_to_an_offered_outage_report_starts_the_report(customer):
    bind(customer.sender_id, "5100000101")
    customer.run(ActionQueryBill(), "查下电费 顺便说下我家停电了", "query_bill",
                 parsed={"second_request": {"text": "我家停电了", "intent": "report_outage", "response_key": None,
                                            "entities": []}})
    turn = customer.run(ActionSwitchTopic(), "好的", "affirm")
    assert turn.slot("next_step") == "restart_report_outage"  # the rule starts the outage form


def test_an_offered_outage_question_is_answered_as_if_asked_alone(customer):
    bind(customer.sender_id, "5100000101")
    asks = customer.run(ActionQueryBill(), "查下电费 另外最近有停电计划吗", "query_bill",
                        parsed={"second_request": {"text": "最近有停电计划吗", "intent": "query_planned_outage",
                                                   "response_key": None, "entities": []}})
    assert asks.texts[-1] == "还想查停电计划吗？"
    turn = customer.run(ActionSwitchTopic(), "好的", "affirm")
    alone = Conversation(customer.sender_id).run(ActionPlannedOutage(), "最近有停电计划吗", "query_planned_outage")
    assert turn.texts == alone.texts and "城关镇东关村" in turn.text  # as if asked alone, for the bound account
    assert turn.slot("next_step") == "done"
