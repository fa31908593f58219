"""Who gets which notice and when: quiet hours, opt-outs, one per person per event, the registered phone
only when no WeChat user of the account got it, and what a killed worker leaves behind."""

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain import notices, outages
from bot.domain.models import Binding, Notice, OutageCall, OutboundMessage
from bot.domain.notices import QuietHours
from bot.messaging import outbox
from bot.nlu.commands import match
from tests.factories import PHONE_A, PHONE_B, make_account, make_bill, make_contact

QUIET = QuietHours.parse("21:00-08:00")
EVENING = datetime(2026, 12, 1, 14, 0)  # 22:00 local
MORNING_RELEASE = datetime(2026, 12, 2, 0, 0)  # 08:00 local


def register(s, now, kind="planned", **changes):
    values = dict(outage_id="JH-N-1", kind=kind, township="城关镇", villages=["东关村"], start=now + timedelta(days=8),
                  end=now + timedelta(days=8, hours=5), reason="线路检修", actor="test", now=now)
    values.update(changes)
    return outages.upsert(s, **values)[0]


def bound(s, account, openid="oWxTestOpenid0001"):
    contact = make_contact(s, "wechat", openid)
    s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
    s.flush()
    return contact


def test_quiet_hours_span_midnight_and_none_means_none():
    assert QUIET.contains(EVENING) and not QUIET.contains(datetime(2026, 12, 1, 4, 0))  # 12:00 local
    assert QUIET.release(EVENING) == MORNING_RELEASE
    assert QUIET.release(datetime(2026, 12, 1, 23, 30)) == MORNING_RELEASE  # 07:30 local next day
    assert not QuietHours.parse("00:00-00:00").contains(EVENING)
    with pytest.raises(ValueError):
        QuietHours.parse("9pm-8am")


def test_a_planned_outage_registered_in_the_evening_waits_for_the_morning_and_a_fault_does_not(db):
    notices.configure(QUIET)
    with db.session() as s:
        bound(s, make_account(s))
        register(s, EVENING)
        register(s, EVENING, kind="fault", outage_id="GZ-N-1", start=EVENING - timedelta(hours=1),
                 end=EVENING + timedelta(hours=3))
        due = {n.kind: n.not_before for n in s.scalars(select(Notice).where(Notice.only_if_unreached.is_(False)))}
        assert due == {"planned": MORNING_RELEASE, "fault": EVENING}
        assert [j.kind for j in notices.claim_due(s, now=EVENING)] == ["fault"]
        assert [j.kind for j in notices.claim_due(s, now=MORNING_RELEASE)] == ["planned"]


def test_the_registered_phone_waits_for_the_wechat_user_and_is_skipped_when_they_got_it(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        reached = make_account(s)
        bound(s, reached)
        make_account(s, account_no="5100000102", phone=PHONE_B, address="城关镇东关村7号")
        register(s, EVENING)
        first = notices.claim_due(s, now=EVENING)
        assert [(j.channel, j.person_key.startswith("w:")) for j in first] == [("wechat", True), ("sms", False)]
        notices.finish(s, first[0].notice_id, "sent", "wechat", now=EVENING)
        notices.finish(s, first[1].notice_id, "sent", "sms", now=EVENING)
        assert notices.claim_due(s, now=EVENING) == []
        statuses = sorted((n.person_key[:2], n.only_if_unreached, n.status) for n in s.scalars(select(Notice)))
        assert statuses == [("p:", True, "covered"), ("p:", True, "sent"), ("w:", False, "sent")]


def test_the_registered_phone_gets_it_when_the_wechat_user_could_not_be_reached(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        bound(s, make_account(s))
        register(s, EVENING)
        (wechat,) = notices.claim_due(s, now=EVENING)
        notices.finish(s, wechat.notice_id, "failed", "wechat", "no template, no phone", now=EVENING)
        (sms,) = notices.claim_due(s, now=EVENING)
        assert sms.channel == "sms" and sms.phone == "13900001111"


def test_opted_out_people_get_nothing_and_one_person_with_two_accounts_gets_one(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        first = make_account(s)
        second = make_account(s, account_no="5100000102", phone=PHONE_B, address="城关镇东关村7号")
        contact = bound(s, first)
        s.add(Binding(contact_id=contact.id, account_id=second.id, method="sms_code"))
        notices.set_preference(s, notices.person_of_phone(PHONE_B), "outage", False)
        register(s, EVENING)
        jobs = notices.claim_due(s, now=EVENING)
        assert [j.person_key for j in jobs] == [f"w:{contact.id}"]
        statuses = sorted(n.status for n in s.scalars(select(Notice)))
        assert statuses == ["opted_out", "pending", "sending"]  # the first phone waits for the WeChat user


def test_a_killed_worker_leaves_sent_unknown_or_unsent_notices_and_none_is_sent_twice(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        for i in range(3):
            make_account(s, account_no=f"510000020{i}", phone=f"1390000300{i}", address=f"城关镇东关村{i}号")
        register(s, EVENING)
        accepted, unanswered, never = notices.claim_due(s, now=EVENING)
        message = outbox.record(s, "sms", "notice", accepted.phone, accepted.text, notice_id=accepted.notice_id)
        message.provider_id = "SMfake0001"
        outbox.record(s, "sms", "notice", unanswered.phone, unanswered.text, notice_id=unanswered.notice_id)
        counts = notices.recover_stale(s, timedelta(seconds=30), now=EVENING + timedelta(minutes=1))
        assert counts == {"sent": 1, "unknown": 1, "pending": 1}
        assert [j.notice_id for j in notices.claim_due(s, now=EVENING)] == [never.notice_id]
        assert s.scalar(select(OutboundMessage.notice_id).where(OutboundMessage.provider_id == "SMfake0001")) == \
            accepted.notice_id


def test_a_cancelled_outage_is_announced_to_those_told_and_unsent_notices_are_withdrawn(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        contact = bound(s, make_account(s))
        make_account(s, account_no="5100000102", phone=PHONE_B, address="城关镇东关村7号")
        register(s, EVENING)
        told = notices.claim_due(s, now=EVENING, limit=1)
        notices.finish(s, told[0].notice_id, "sent", "wechat", now=EVENING)
        outages.cancel(s, "JH-N-1", "天气原因", "test", now=EVENING)
        rows = [(n.kind, n.person_key == f"w:{contact.id}", n.status) for n in s.scalars(select(Notice).order_by(Notice.id))]
        assert ("planned_cancelled", True, "pending") in rows
        assert not [r for r in rows if r[0] == "planned" and r[2] == "pending"]


def test_key_customers_of_the_area_are_on_the_call_list(db):
    with db.session() as s:
        account = make_account(s)
        account.key_customer, account.key_customer_reason = True, "独居老人"
        make_account(s, account_no="5100000102", phone=PHONE_B, address="城关镇东关村7号")
        outage = register(s, EVENING)
        assert [(c.account_id, c.reason) for c in notices.call_list(s, outage)] == [(account.id, "独居老人")]
        assert len(list(s.scalars(select(OutageCall)))) == 1


def test_the_day_before_reminder_and_bill_notices_are_planned_once(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    now = datetime(2026, 12, 1, 2, 0)  # 10:00 local
    with db.session() as s:
        account = make_account(s)
        make_bill(s, account, "2026-11", 200, paid=False, due=date(2026, 12, 3))
        make_bill(s, account, "2026-10", 180, paid=False, due=date(2026, 11, 30))
        register(s, now, start=now + timedelta(days=1), end=now + timedelta(days=1, hours=4))
        assert notices.plan_reminders(s, now) == 1 and notices.plan_reminders(s, now) == 0
        assert notices.plan_bill_notices(s, now) == 2 and notices.plan_bill_notices(s, now) == 0
        kinds = sorted(n.kind for n in s.scalars(select(Notice)))
        assert kinds == ["bill_due", "bill_overdue", "planned_reminder", "planned_short"]


def test_workers_planning_the_same_event_at_once_record_it_once_and_none_fails(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    now = datetime(2026, 12, 1, 2, 0)
    with db.session() as s:
        bound(s, make_account(s))
        register(s, now, start=now + timedelta(days=1), end=now + timedelta(days=1, hours=4))
    barrier = threading.Barrier(4)
    failures = []

    def sweep():  # the minute's sweep on four workers (or a ticket's job beside it)
        barrier.wait()
        try:
            with db.session() as s:
                notices.plan_reminders(s, now)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with db.session() as s:
        people = [n.person_key for n in s.scalars(select(Notice).where(Notice.kind == "planned_reminder"))]
        assert len(people) == 2 and len(set(people)) == 2  # the WeChat user, and their phone if WeChat fails


@pytest.mark.parametrize("text,intent,topic", [
    ("不要再通知我停电", "notice_off", "outage"), ("别给我发停电通知了", "notice_off", "outage"),
    ("恢复停电通知", "notice_on", "outage"), ("取消电费提醒", "notice_off", "bill"),
    ("还没来电", "power_not_restored", None), ("我家还是没电呢", "power_not_restored", None),
])
def test_notice_commands_are_recognised(text, intent, topic):
    command = match(text)
    assert command is not None and command.intent == intent and command.entities.get("notice_topic") == topic


@pytest.mark.parametrize("text", ["家里停电了", "明天停电吗", "什么时候来电", "不要通知", "停电通知在哪看"])
def test_ordinary_questions_are_no_commands(text):
    assert match(text) is None


def test_ticket_news_dispatch_with_crew_and_eta_only_for_field_tickets_and_the_rating_after_resolved(db):
    from bot.domain import dispatch, tickets
    from bot.domain.models import Crew
    from bot.domain.places import Place

    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        contact = make_contact(s)
        crew = Crew(name="城关抢修一班", township="城关镇")
        s.add(crew)
        repair = tickets.create(s, "repair", "wechat", "没电", contact=contact, place=Place("城关镇", "东关村", "urban"))
        complaint = tickets.create(s, "complaint", "wechat", "服务态度", contact=contact)
        s.flush()
        for ticket in (repair, complaint):
            dispatch.transition(s, ticket, "dispatched", "staff:disp", crew=crew if ticket is repair else None,
                                eta=EVENING + timedelta(minutes=40) if ticket is repair else None, now=EVENING)
            dispatch.transition(s, ticket, "on_site", "staff:disp", now=EVENING)
            dispatch.transition(s, ticket, "resolved", "staff:disp", now=EVENING)
        notices.plan_recent_ticket_events(s, now=EVENING)
        texts = [(n.kind, n.text) for n in s.scalars(select(Notice).order_by(Notice.id))]
        assert [k for k, _ in texts] == ["ticket_dispatched", "ticket_on_site", "ticket_resolved", "ticket_resolved"]
        assert "城关抢修一班" in texts[0][1] and "12月1日 22:40" in texts[0][1]
        assert "还没来电" in texts[2][1] and "还没来电" not in texts[3][1] and "回复1到5" in texts[3][1]
        assert notices.plan_recent_ticket_events(s, now=EVENING) == 0


def test_a_resolved_hazard_thanks_the_customer_and_asks_for_a_rating_without_speaking_of_power(db):
    from bot.domain import dispatch, tickets
    from bot.domain.places import Place

    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        contact = make_contact(s)
        hazard = tickets.report_hazard(s, contact, "wechat", Place("城关镇", "东关村", "urban"), "东关村口", "电线杆歪了",
                                       "leaning_pole", now=EVENING)
        for status in ("dispatched", "on_site", "resolved"):
            dispatch.transition(s, hazard, status, "staff:disp", now=EVENING)
        notices.plan_recent_ticket_events(s, now=EVENING)
        (resolved,) = [n for n in s.scalars(select(Notice)) if n.kind == "ticket_resolved"]
        assert "安全隐患" in resolved.text and "回复1到5" in resolved.text and "来电" not in resolved.text


# --- one channel per customer: WeChat when bound and reachable, SMS otherwise -------------------------------


def deliver(s, now, refusing=()):
    """Send what is due as the worker does, the WeChat users in ``refusing`` answering 43004 (unsubscribed):
    their notice falls back to its SMS phone when it has one. Returns ``(channel, person)`` of what went."""
    went = []
    while jobs := notices.claim_due(s, now=now):
        for job in jobs:
            if job.channel == "wechat" and job.openid not in refusing:
                notices.finish(s, job.notice_id, "sent", "wechat", now=now)
                went.append(("wechat", job.person_key))
            elif job.phone:
                notices.finish(s, job.notice_id, "sent", "sms", now=now)
                went.append(("sms", job.person_key))
            else:
                notices.finish(s, job.notice_id, "failed", "wechat", "wechat 43004", now=now)
    return went


def sms_customer_who_bound_in_wechat(s):
    """A customer who texted from their registered phone (bound by phone) and later bound the account in
    WeChat: (account, sms contact, wechat contact)."""
    from bot.domain import bindings

    account = make_account(s)
    by_sms = make_contact(s, "sms", PHONE_A)
    assert [a.id for a in bindings.bind_by_phone(s, by_sms)] == [account.id]
    return account, by_sms, bound(s, account)


def test_a_customer_bound_in_wechat_with_a_registered_phone_gets_one_wechat_notice_and_no_sms(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        _account, _by_sms, wechat = sms_customer_who_bound_in_wechat(s)
        register(s, EVENING)
        assert deliver(s, EVENING) == [("wechat", f"w:{wechat.id}")]
        statuses = sorted((n.person_key[:2], n.status) for n in s.scalars(select(Notice)))
        assert statuses == [("p:", "covered"), ("w:", "sent")]


def test_a_changed_or_cancelled_outage_told_by_sms_before_the_binding_goes_to_wechat_only(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        account = make_account(s)
        register(s, EVENING)
        assert [channel for channel, _ in deliver(s, EVENING)] == ["sms"]  # nobody bound yet: the phone
        wechat = bound(s, account)
        register(s, EVENING, start=EVENING + timedelta(days=9), end=EVENING + timedelta(days=9, hours=5))
        assert deliver(s, EVENING) == [("wechat", f"w:{wechat.id}")]
        outages.cancel(s, "JH-N-1", "天气原因", "test", now=EVENING)
        assert deliver(s, EVENING) == [("wechat", f"w:{wechat.id}")]


def test_ticket_news_reaches_a_customer_on_both_their_contacts_once_on_wechat(db):
    from bot.domain import dispatch, tickets
    from bot.domain.places import Place

    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        account, by_sms, wechat = sms_customer_who_bound_in_wechat(s)
        ticket = tickets.create(s, "repair", "sms", "没电", contact=by_sms, account=account,
                                place=Place("城关镇", "东关村", "urban"), callback_phone=PHONE_A)
        tickets.follow(s, ticket, wechat, now=EVENING)  # they wrote about it in WeChat too
        dispatch.transition(s, ticket, "on_site", "staff:disp", now=EVENING)
        notices.plan_recent_ticket_events(s, now=EVENING)
        assert deliver(s, EVENING) == [("wechat", f"w:{wechat.id}")]


def test_when_wechat_refuses_for_good_the_customer_gets_the_sms_instead_once(db):
    notices.configure(QuietHours.parse("00:00-00:00"))
    with db.session() as s:
        _account, _by_sms, wechat = sms_customer_who_bound_in_wechat(s)
        register(s, EVENING)
        assert [channel for channel, _ in deliver(s, EVENING, refusing={wechat.external_id})] == ["sms"]
