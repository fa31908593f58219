"""Dialogue actions against the real database: a Chinese request in, a reply and the rows out."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from actions.accounts import ActionAccountChosen, ActionBindAccount, ActionBindDone, ValidateBindForm
from actions.billing import ActionQueryBalance, ActionQueryBill, ActionQueryUsage
from actions.callback import ActionComplaint
from actions.handoff import ActionFallback, ActionRecordRating, ActionRequestHuman, parse_rating
from actions.hazards import ActionHazardAdvice, ActionSubmitHazard
from actions.outages import ActionPlannedOutage, ActionRepairProgress, ActionSubmitOutage, ValidateOutageForm
from actions.services import ActionAcceptMeter, ActionSubmitCallback
from actions.tariffs import ActionTariff
from bot.clock import local_today
from bot.db import session_scope
from bot.domain import accounts
from bot.domain.models import AuditEntry, Binding, Handoff, OutboundMessage, SatisfactionRating, Ticket
from bot.nlu.months import resolve_all
from tests.dialogue.conftest import Conversation, bind, last_code_sent_to

CALLBACK = "13900009999"  # the number a customer gave in contact_form (made up)


def count(model, *where) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- bills, balance, usage

def test_an_unbound_customer_is_asked_to_bind_before_any_bill(customer):
    turn = customer.run(ActionQueryBill(), "上个月电费多少", "query_bill", {"month": "上个月"})
    assert turn.slot("next_step") == "bind" and turn.slot("pending_intent") == "query_bill"
    assert "绑定" in turn.text and "元" not in turn.text


def test_binding_with_the_code_from_the_sms_then_the_waiting_question_is_answered(customer):
    customer.run(ActionQueryBill(), "查下电费", "query_bill")
    form = ValidateBindForm()
    sent = customer.validate(form, "account_no", "5100000101", form="bind_form")
    assert "139****1111" in sent.text
    assert count(Binding) == 0
    code = last_code_sent_to("13900001111")
    customer.validate(form, "verification_code", code, form="bind_form")
    assert count(Binding) == 1
    done = customer.run(ActionBindDone())
    assert "绑定成功" in done.text and "5100000101" in done.text
    assert "电费" in done.text and "元" in done.text  # the pending bill question, answered


def test_a_wrong_code_binds_nothing_and_says_how_many_tries_are_left(customer):
    form = ValidateBindForm()
    customer.validate(form, "account_no", "5100000101", form="bind_form")
    code = last_code_sent_to("13900001111")
    wrong = "000000" if code != "000000" else "111111"
    turn = customer.validate(form, "verification_code", wrong, form="bind_form")
    assert "还可以再试4次" in turn.text and turn.slot("verification_code") is None
    assert count(Binding) == 0


def test_five_wrong_codes_through_the_dialogue_lock_the_account(customer):
    form = ValidateBindForm()
    customer.validate(form, "account_no", "5100000101", form="bind_form")
    code = last_code_sent_to("13900001111")
    guesses = [g for g in ("000001", "000002", "000003", "000004", "000005", "000006") if g != code][:5]
    replies = [customer.validate(form, "verification_code", g, form="bind_form").text for g in guesses]
    assert [("locked" if "已暂停绑定" in r else r[r.index("再试") + 2]) for r in replies] == ["4", "3", "2", "1", "locked"]
    assert count(AuditEntry, AuditEntry.action == "binding.verify", AuditEntry.outcome == "denied") == 5
    assert count(Binding) == 0


def test_a_fourth_code_within_the_hour_is_not_sent_to_the_phone_and_the_customer_is_told_when(records):
    form = ValidateBindForm()
    for i in range(3):  # three customers ask for the same account's code
        assert "139****1111" in Conversation(f"wechat:oAsker{i}").validate(
            form, "account_no", "5100000101", form="bind_form").text
    turn = Conversation("wechat:oAsker3").validate(form, "account_no", "5100000101", form="bind_form")
    assert "验证码已达上限" in turn.text and "以后再试" in turn.text and turn.slot("requested_slot") is None
    assert count(OutboundMessage, OutboundMessage.purpose == "otp") == 3


def test_a_customer_gets_codes_for_three_accounts_a_day_and_is_told_so_at_the_fourth(customer):
    form = ValidateBindForm()
    for number in ("5100000101", "5100000102", "5100000103"):
        assert "验证码已发送" in customer.validate(form, "account_no", number, form="bind_form").text
    turn = customer.validate(form, "account_no", "5100000104", form="bind_form")
    assert "每天最多为3个不同的户号获取验证码" in turn.text and turn.slot("requested_slot") is None


def test_unknown_account_number_is_refused_with_a_clear_answer(customer):
    turn = customer.validate(ValidateBindForm(), "account_no", "5199999999", form="bind_form")
    assert "没有查到户号5199999999" in turn.text and turn.slot("account_no") is None


def test_the_latest_bill_with_arrears_and_late_fee(customer):
    bind(customer.sender_id, "5100000101")
    turn = customer.run(ActionQueryBill(), "查电费", "query_bill")
    assert "户号5100000101" in turn.text and ("未缴" in turn.text or "逾期" in turn.text)


def test_why_so_high_compares_with_last_month_and_last_year_and_names_the_tier(customer):
    bind(customer.sender_id, "5100000101")
    turn = customer.run(ActionQueryBill(), "为什么这个月电费这么高", "query_bill", {"month": "这个月"})
    assert "比上月" in turn.text and "阶梯第" in turn.text


def test_colloquial_months_name_the_bills_meant(customer):
    bind(customer.sender_id, "5100000101")
    today = local_today()
    before_last = customer.run(ActionQueryBill(), "大上个月的电费", "query_bill", {"month": "大上个月"})
    assert before_last.text.count("电费") == 1 and _label(resolve_all("上上个月", today)[0]) in before_last.text
    three = customer.run(ActionQueryBill(), "最近仨月电费", "query_bill")
    assert three.text.count("元（用电") == 3 and "合计" in three.text
    both = customer.run(ActionQueryBill(), "8月9月电费各是多少", "query_bill", {"month": "9月"})
    assert all(_label(p) in both.text for p in resolve_all("8月9月", today))


def test_what_was_paid_this_year_sums_only_paid_bills(customer):
    bind(customer.sender_id, "5100000101")
    turn = customer.run(ActionQueryBill(), "今年交了多少电费", "query_bill", {"month": "今年"})
    with session_scope() as s:
        account = accounts.get_by_no(s, "5100000101")
        bills = accounts.bills_for(s, account, resolve_all("今年", local_today()))
        paid = sum((b.amount for b in bills if b.paid_at is not None), Decimal(0))
        unpaid = sum((b.amount for b in bills if b.paid_at is None), Decimal(0))
    assert f"已交合计{paid:.2f}元" in turn.text
    assert (f"另有{unpaid:.2f}元未交" in turn.text) == (unpaid > 0)


def _label(period: str) -> str:
    year, month = period.split("-")
    return f"{year}年{int(month)}月"


def test_several_months_of_usage(customer):
    bind(customer.sender_id, "5100000101")
    turn = customer.run(ActionQueryUsage(), "最近三个月用了多少度", "query_usage", {"month": "最近三个月"})
    assert turn.text.count("用电") == 3 and "合计" in turn.text


def test_prepaid_balance_with_days_left(customer):
    bind(customer.sender_id, "5100000102")
    turn = customer.run(ActionQueryBalance(), "余额还有多少", "query_balance")
    assert "费控户" in turn.text and "23.40" in turn.text


def test_an_ambiguous_account_is_asked_for_then_answered(customer):
    bind(customer.sender_id, "5100000101", "5100000102")
    turn = customer.run(ActionQueryBalance(), "我欠费了吗", "query_balance")
    assert turn.slot("next_step") == "choose_account"
    customer.slots["account_choice"] = "5100000102"
    turn = customer.run(ActionAccountChosen(), "2")
    assert "5100000102" in turn.text and "费控户" in turn.text


# ---------------------------------------------------------------- outages and hazards

def test_outage_report_opens_a_repair_ticket_with_the_urban_sla(customer):
    bind(customer.sender_id, "5100000101")
    customer.slots.update(address="城关镇东关村12号", detail="全村都没电", account_choice="5100000101",
                          callback_phone=CALLBACK)
    turn = customer.run(ActionSubmitOutage(), "全村都没电", "inform", message_id="wx-1001")
    assert "已为您登记抢修工单GD" in turn.text and "45分钟" in turn.text
    with session_scope() as s:
        ticket = s.scalar(select(Ticket))
        assert (ticket.type, ticket.township, ticket.area_type) == ("repair", "城关镇", "urban")
        assert ticket.sla_deadline - ticket.created_at == timedelta(minutes=45)


def test_remote_areas_get_two_hours(customer):
    customer.slots.update(address="烟煤洞乡大安村5号", detail="家里没电", callback_phone=CALLBACK)
    customer.run(ActionSubmitOutage(), "家里没电", "inform")
    with session_scope() as s:
        ticket = s.scalar(select(Ticket))
        assert ticket.sla_deadline - ticket.created_at == timedelta(minutes=120)


def test_a_retried_message_and_a_second_report_never_make_a_second_ticket(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电了 跳闸合不上", callback_phone=CALLBACK)
    first = customer.run(ActionSubmitOutage(), "没电了", "inform", message_id="wx-2001")
    customer.slots.update(address="城关镇东关村12号", detail="没电了 跳闸合不上")
    replay = customer.run(ActionSubmitOutage(), "没电了", "inform", message_id="wx-2001")
    customer.slots.update(address="城关镇东关村12号", detail="还是没电")
    again = customer.run(ActionSubmitOutage(), "还是没电", "inform", message_id="wx-2002")
    assert count(Ticket) == 1
    number = first.text.split("工单")[1][:14]
    assert number in replay.text and "已经报修过了" in again.text and number in again.text


def test_a_neighbour_is_told_about_the_open_ticket_instead_of_a_duplicate(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=CALLBACK)
    customer.run(ActionSubmitOutage(), "没电", "inform")
    neighbour = Conversation("wechat:oNeighbourBob")
    neighbour.slots.update(address="东关村8号", detail="我家也停了")
    turn = neighbour.run(ActionSubmitOutage(), "我家也停了", "inform")
    assert "附近已有报修工单" in turn.text and count(Ticket) == 1


def test_a_planned_outage_is_explained_instead_of_a_ticket(customer):
    customer.slots.update(address="杨家庄镇兴文村", detail="停电了")
    turn = customer.run(ActionSubmitOutage(), "停电了", "inform")
    assert "计划停电" in turn.text and "10kV线路检修" in turn.text and count(Ticket) == 0


def test_one_bound_account_is_the_default_place_of_an_outage(customer):
    bind(customer.sender_id, "5100000101")
    tracker = customer.tracker("我家停电了", "report_outage")
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    extracted = asyncio.run(ValidateOutageForm().extract_address(CollectingDispatcher(), tracker, {}))
    assert extracted == {"address": "城关镇东关村12号"}  # validate_address links the account


def test_hazard_report_gives_safety_advice_and_an_urgent_ticket(customer):
    advice = customer.run(ActionHazardAdvice(), "村口电线断了掉地上了", "report_hazard",
                          response_key="report_hazard/fallen_wire")
    assert "远离" in advice.text and "不要触碰" in advice.text
    customer.slots.update(address="银坊镇北庄村村口", detail="电线断了掉地上了", media=["http://img.example/1.jpg"])
    turn = customer.run(ActionSubmitHazard(), "银坊镇北庄村村口", "inform")
    assert "紧急隐患工单" in turn.text
    with session_scope() as s:
        ticket = s.scalar(select(Ticket))
        assert (ticket.type, ticket.priority, ticket.subtype) == ("hazard", "urgent", "fallen_wire")
        assert [a.kind for a in ticket.attachments] == ["image"]


def test_progress_of_the_customers_own_tickets(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=CALLBACK)
    created = customer.run(ActionSubmitOutage(), "没电", "inform")
    number = created.text.split("工单")[1][:14]
    by_number = customer.run(ActionRepairProgress(), f"{number}到哪了", "query_repair_progress", {"ticket_no": number})
    assert number in by_number.text and "已受理" in by_number.text
    latest = customer.run(ActionRepairProgress(), "师傅什么时候到", "query_repair_progress")
    assert number in latest.text


def test_an_urge_on_an_open_ticket_is_recorded_and_the_customer_told_what_happens_next(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=CALLBACK)
    number = customer.run(ActionSubmitOutage(), "没电", "inform").text.split("工单")[1][:14]
    turn = customer.run(ActionRepairProgress(), "怎么还没来，催一下", "query_repair_progress")
    assert "已为您催办" in turn.text and number in turn.text and "派单后会通知您" in turn.text
    with session_scope() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ticket_no == number))
        assert ticket.urge_count == 1 and ticket.notes[0].kind == "urge"
    plain = customer.run(ActionRepairProgress(), "师傅什么时候到", "query_repair_progress")
    assert "催办" not in plain.text  # asking is not urging
    with session_scope() as s:
        assert s.scalar(select(Ticket.urge_count).where(Ticket.ticket_no == number)) == 1


def test_someone_elses_ticket_number_reveals_nothing_and_is_audited(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=CALLBACK)
    number = customer.run(ActionSubmitOutage(), "没电", "inform").text.split("工单")[1][:14]
    stranger = Conversation("wechat:oStranger")
    turn = stranger.run(ActionRepairProgress(), f"查工单{number}", "query_repair_progress", {"ticket_no": number})
    assert "没有查到工单" in turn.text and "东关村" not in turn.text
    assert count(AuditEntry, AuditEntry.action == "ticket.access", AuditEntry.outcome == "denied") == 1


def test_planned_outages_by_place(customer):
    turn = customer.run(ActionPlannedOutage(), "王安镇最近停电吗", "query_planned_outage", {"address": "王安镇"})
    assert "王安镇近期的计划停电" in turn.text and "配电变压器更换" in turn.text
    asked = customer.run(ActionPlannedOutage(), "明天停电吗", "query_planned_outage")
    assert asked.slot("next_step") == "ask_place"


def test_the_place_in_the_question_is_used_even_when_the_nlu_extracted_none(customer):
    turn = customer.run(ActionPlannedOutage(), "王安镇今天停电吗", "query_planned_outage")
    assert turn.slot("next_step") != "ask_place" and "配电变压器更换" in turn.text
    remote = customer.run(ActionPlannedOutage(), "烟煤洞乡今天停电吗", "query_planned_outage")
    assert remote.slot("next_step") != "ask_place" and "烟煤洞乡" in remote.text


# ---------------------------------------------------------------- tariffs, services, agents

def test_the_cost_of_300_kwh_with_the_breakdown(customer):
    turn = customer.run(ActionTariff(), "用了300度电多少钱", "query_tariff", {"kwh": "300"},
                        response_key="query_tariff/cost")
    assert "167.00元" in turn.text and "第3档20度×0.82元=16.40元" in turn.text


def test_business_application_registered_with_a_call_back_number(customer):
    customer.slots.update(offer_detail="solar_pv", callback_phone="13900006666", pending_text="想装光伏")
    turn = customer.run(ActionSubmitCallback(), "13900006666", "inform")
    leaked = "13900006666" in turn.text
    assert "光伏并网申请" in turn.text and "139****6666" in turn.text and not leaked
    with session_scope() as s:
        ticket = s.scalar(select(Ticket))
        stored = ticket.callback_phone == "13900006666"  # compared here so a failure cannot print it
        assert (ticket.type, ticket.subtype, stored) == ("business", "solar_pv", True)


def test_complaint_is_recorded_with_the_commitment_and_queued_for_an_agent(customer):
    customer.slots.update(callback_phone=CALLBACK)  # given in contact_form (tests/dialogue/test_report_quality.py)
    turn = customer.run(ActionComplaint(), "抄表员态度太差了 我要投诉", "complaint")
    assert "1个工作日内与您联系" in turn.text and "转接人工客服" in turn.text
    assert count(Ticket, Ticket.type == "complaint") == 1
    assert count(Handoff, Handoff.reason == "complaint", Handoff.status == "waiting") == 1


def test_meter_calibration_for_the_bound_account(customer):
    bind(customer.sender_id, "5100000101")
    customer.slots.update(pending_text="电表走得太快了")
    turn = customer.run(ActionAcceptMeter(), "需要", "affirm")
    assert "电能表校验申请" in turn.text and "5个工作日" in turn.text
    assert count(Ticket, Ticket.type == "meter", Ticket.account_id.isnot(None)) == 1


def test_asking_for_a_human_puts_the_customer_in_the_queue_with_a_place_told_the_same_way_each_time(customer):
    first = Conversation("wechat:oEarlierCustomer").run(ActionRequestHuman(), "转人工", "request_human")
    assert "您目前排第1位" in first.text and "前面还有" not in first.text  # not "0 ahead", then "1st"
    turn = customer.run(ActionRequestHuman(), "转人工", "request_human")
    assert "您目前排第2位" in turn.text
    again = customer.run(ActionRequestHuman(), "人工客服", "request_human")
    assert "您目前排第2位" in again.text and count(Handoff) == 2


def test_the_agent_sees_what_brought_the_customer_not_the_no_before_asking_for_a_person(customer):
    customer.tracker("上个月电费怎么这么多", "query_bill")  # what the customer said before, as Rasa understood it
    customer.tracker("算了", "deny")
    customer.run(ActionRequestHuman(), "转人工", "request_human")
    other = Conversation("wechat:oJustWantsAPerson")
    other.tracker("算了", "deny")
    other.run(ActionRequestHuman(), "转人工", "request_human")
    with session_scope() as s:
        assert s.scalar(select(Handoff.last_intent).where(Handoff.sender_id == customer.sender_id)) == "query_bill"
        assert s.scalar(select(Handoff.last_intent).where(Handoff.sender_id == other.sender_id)) is None
        # the same intent routes the conversation: to the billing group; nothing said → the general counter
        assert s.scalar(select(Handoff.skill_group).where(Handoff.sender_id == customer.sender_id)) == "billing"


def test_a_customer_reporting_an_outage_is_routed_to_the_repair_group(customer):
    customer.tracker("俺家停电了", "report_outage")
    customer.run(ActionRequestHuman(), "转人工", "request_human")
    with session_scope() as s:
        assert s.scalar(select(Handoff.skill_group)) == "repair"
        assert s.scalar(select(Handoff.key_customer)) is False


def test_outside_staffed_hours_a_call_back_ticket_is_recorded(customer, monkeypatch):
    from bot.clock import to_local, utcnow
    from bot.config import get_settings

    hour = to_local(utcnow()).hour
    monkeypatch.setenv("CONSOLE_HOURS", f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00")
    get_settings.cache_clear()
    turn = customer.run(ActionRequestHuman(), "转人工", "request_human")
    assert "非工作时间" in turn.text and count(Ticket, Ticket.type == "callback") == 1 and count(Handoff) == 0


def test_two_misunderstandings_in_a_row_go_to_an_agent(customer):
    first = customer.run(ActionFallback(), "阿巴阿巴", "nlu_fallback")
    assert "没太明白" in first.text and count(Handoff) == 0
    second = customer.run(ActionFallback(), "呜啦啦", "nlu_fallback")
    assert "转接人工客服" in second.text and second.text.count("转接") == 1  # said once, not twice
    assert count(Handoff, Handoff.reason == "misunderstood") == 1


def test_a_new_ticket_does_not_ask_for_a_rating(customer):
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=CALLBACK)
    created = customer.run(ActionSubmitOutage(), "没电", "inform")
    assert "GD" in created.text and "1-5" not in created.text and "评价" not in created.text
    assert created.slot("rating_for") is None


def test_a_rating_nobody_asked_for_is_not_stored(customer):
    unhappy = customer.run(ActionRecordRating(), "2分", "rate")
    assert "转人工" in unhappy.text
    happy = customer.run(ActionRecordRating(), "非常满意", "rate")
    assert "感谢您的评价" not in happy.text and count(SatisfactionRating) == 0


def test_rating_words():
    assert [parse_rating(t) for t in ["5", "五分", "打4分", "非常满意", "一般", "不满意", "差评", "你好"]] == [
        5, 5, 4, 5, 3, 2, 1, None]


def test_bind_intent_with_a_number_starts_the_form_for_it(customer):
    turn = customer.run(ActionBindAccount(), "绑定户号5100000101", "bind_account", {"account_no": "5100000101"})
    assert turn.slot("next_step") == "bind" and turn.slot("account_no") == "5100000101"


def test_a_bare_digit_right_after_opening_a_ticket_is_no_rating(customer):
    from actions.inform import ActionHandleInform

    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone=CALLBACK)
    customer.run(ActionSubmitOutage(), "没电", "inform")
    turn = customer.run(ActionHandleInform(), "4", "inform")
    assert "感谢您的评价" not in turn.text and count(SatisfactionRating) == 0


def test_a_new_session_stays_paused_while_an_agent_owns_the_conversation(customer):
    from actions.handoff import ActionSessionStart
    from bot.domain import handoffs, staff

    assert [e["event"] for e in customer.run(ActionSessionStart()).events] == ["session_started", "action"]
    with session_scope() as s:
        agent, _ = staff.add(s, "agent_wang", "agent", "a-very-long-password")
        handoff = handoffs.request(s, customer.sender_id, "wechat", "asked")
        handoffs.take(s, handoff.id, agent)
    events = customer.run(ActionSessionStart()).events
    assert [e["event"] for e in events] == ["session_started", "pause", "action"]
