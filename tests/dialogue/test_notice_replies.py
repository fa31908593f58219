"""Customers answering notices: the rating after a resolved repair, "还没来电" reopening it, and turning a
kind of notice off and on — a Chinese reply in, a reply and rows out."""

from sqlalchemy import select

from actions.handoff import ActionRecordRating
from actions.notices import ActionNoticePreference, ActionPowerNotRestored
from actions.outages import ActionSubmitOutage
from bot.db import session_scope
from bot.domain import contacts, dispatch, notices
from bot.domain.models import Notice, NoticePreference, SatisfactionRating, Ticket


def resolve_and_send(ticket_no: str) -> str:
    """The dispatcher resolves the ticket; the worker plans and sends its notice. The notice's text."""
    with session_scope() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
        dispatch.transition(s, ticket, "dispatched", actor="staff:disp")
        dispatch.transition(s, ticket, "on_site", actor="staff:disp")
        dispatch.transition(s, ticket, "resolved", actor="staff:disp")
        notices.plan_recent_ticket_events(s)
    with session_scope() as s:
        for job in notices.claim_due(s):
            notices.finish(s, job.notice_id, "sent", "wechat")
    with session_scope() as s:
        return s.scalar(select(Notice.text).where(Notice.kind == "ticket_resolved"))


def open_ticket(customer) -> str:
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone="13900009999")
    customer.run(ActionSubmitOutage(), "没电", "inform")
    with session_scope() as s:
        return s.scalar(select(Ticket.ticket_no).order_by(Ticket.id.desc()))


def test_the_resolved_notice_asks_for_the_rating_and_a_digit_rates_that_ticket(customer):
    ticket_no = open_ticket(customer)
    text = resolve_and_send(ticket_no)
    assert "如果还没来电，直接回复'还没来电'" in text and "回复1到5" in text
    turn = customer.run(ActionRecordRating(), "5", "rate")
    assert "感谢您的评价" in turn.text
    with session_scope() as s:
        rating = s.scalar(select(SatisfactionRating))
        assert rating.score == 5 and s.get(Ticket, rating.ticket_id).ticket_no == ticket_no
    again = customer.run(ActionRecordRating(), "5", "rate")
    assert "感谢您的评价" not in again.text


def test_a_bare_digit_after_the_resolved_notice_is_a_rating(customer):
    from actions.inform import ActionHandleInform

    resolve_and_send(open_ticket(customer))
    turn = customer.run(ActionHandleInform(), "4", "inform")
    assert "感谢您的评价" in turn.text
    with session_scope() as s:
        assert [r.score for r in s.scalars(select(SatisfactionRating))] == [4]


def test_still_no_power_after_the_resolved_notice_reopens_the_ticket_and_says_so(customer):
    ticket_no = open_ticket(customer)
    resolve_and_send(ticket_no)
    turn = customer.run(ActionPowerNotRestored(), "还没来电", "power_not_restored")
    assert f"已为您重新打开工单{ticket_no}" in turn.text
    with session_scope() as s:
        assert s.scalar(select(Ticket.status).where(Ticket.ticket_no == ticket_no)) == "open"
        # the customer who reopened it was answered in the chat: no second notice to them
        notices.plan_recent_ticket_events(s)
        assert s.scalar(select(Notice).where(Notice.kind == "ticket_reopened")) is None


def test_still_no_power_without_a_resolved_ticket_offers_a_report(customer):
    turn = customer.run(ActionPowerNotRestored(), "还没来电", "power_not_restored")
    assert "告诉我详细地址" in turn.text


def test_outage_notices_are_turned_off_and_on_by_the_customer(customer):
    off = customer.run(ActionNoticePreference(), "不要再通知我停电", "notice_off", {"notice_topic": "outage"})
    assert "不再给您发送停电通知" in off.text
    with session_scope() as s:
        contact = contacts.by_sender(s, customer.sender_id)
        assert notices.opted_out(s, notices.person_of_contact(contact), "outage")
    on = customer.run(ActionNoticePreference(), "恢复停电通知", "notice_on", {"notice_topic": "outage"})
    assert "已为您恢复停电通知" in on.text
    with session_scope() as s:
        assert [p.enabled for p in s.scalars(select(NoticePreference))] == [True]


def test_a_report_from_a_fault_area_gets_its_cause_and_eta_and_later_the_restoration(customer):
    from datetime import timedelta

    from bot.clock import utcnow
    from bot.domain import outages

    now = utcnow()
    with session_scope() as s:
        outages.upsert(s, outage_id="GZ-CHAT-1", kind="fault", township="城关镇", villages=["东关村"],
                       start=now - timedelta(minutes=20), end=now + timedelta(hours=2), reason="变压器故障",
                       actor="system:dispatch")
    customer.slots.update(address="城关镇东关村12号", detail="没电", callback_phone="13900009999")
    turn = customer.run(ActionSubmitOutage(), "我家停电了", "inform")
    assert "故障停电通知" in turn.text and "变压器故障" in turn.text and "预计" in turn.text
    with session_scope() as s:
        assert s.scalar(select(Ticket)) is None
        outages.restored(s, "GZ-CHAT-1", None, "system:dispatch")
        contact = contacts.by_sender(s, customer.sender_id)
        restored = s.scalars(select(Notice).where(Notice.kind == "fault_restored")).all()
        assert [n.contact_id for n in restored] == [contact.id]
