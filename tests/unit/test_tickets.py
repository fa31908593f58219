"""Tickets: SLA deadlines by area, no duplicates, planned outages answered, history kept."""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.domain import tickets
from bot.domain.models import Contact, Ticket, TicketFollower
from bot.domain.places import Place
from tests.factories import make_account, make_contact, make_outage

T0 = datetime(2026, 11, 27, 2, 0)  # 10:00 local, a Friday
URBAN = Place("城关镇", "东关村", "urban")


@pytest.mark.parametrize("area, minutes", [("urban", 45), ("rural", 90), ("remote", 120)])
def test_repair_ticket_deadline_follows_the_area_type(db, area, minutes):
    with db.session() as s:
        contact = make_contact(s)
        report = tickets.report_outage(s, contact, "wechat", Place("某镇", None, area), "家里没电", now=T0)
        assert report.outcome == "created"
        assert report.ticket.sla_deadline == T0 + timedelta(minutes=minutes)
        assert report.ticket.ticket_no == "GD202611270001"


def test_ticket_numbers_count_up_per_local_day(db):
    with db.session() as s:
        assert tickets.next_ticket_no(s, T0) == "GD202611270001"
        assert tickets.next_ticket_no(s, T0) == "GD202611270002"
        # 16:30 UTC is already the next day in Asia/Shanghai
        assert tickets.next_ticket_no(s, datetime(2026, 11, 27, 16, 30)) == "GD202611280001"


def test_the_same_customer_within_24_hours_gets_the_existing_ticket(db):
    with db.session() as s:
        contact = make_contact(s)
        first = tickets.report_outage(s, contact, "wechat", URBAN, "停电", now=T0)
        again = tickets.report_outage(s, contact, "wechat", URBAN, "还是没电", now=T0 + timedelta(hours=23))
        assert (again.outcome, again.ticket.id) == ("same_customer", first.ticket.id)
        later = tickets.report_outage(s, contact, "wechat", URBAN, "又停了", now=T0 + timedelta(hours=25))
        assert later.outcome == "area"  # the first ticket is still open for the same village
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_neighbour_is_attached_to_the_open_ticket_of_the_village(db):
    with db.session() as s:
        a, b = make_contact(s), make_contact(s, external="oWxNeighbour")
        first = tickets.report_outage(s, a, "wechat", URBAN, "停电", now=T0)
        second = tickets.report_outage(s, b, "wechat", URBAN, "我家也停了", now=T0 + timedelta(minutes=5))
        assert (second.outcome, second.ticket.id) == ("area", first.ticket.id)
        assert s.scalar(select(TicketFollower.contact_id)) == b.id
        assert tickets.visible_to(s, first.ticket, b)


def test_a_planned_outage_in_progress_answers_instead_of_a_ticket(db):
    with db.session() as s:
        make_outage(s, "城关镇", T0 - timedelta(hours=1), T0 + timedelta(hours=5), villages="东关村;西关村")
        report = tickets.report_outage(s, make_contact(s), "wechat", URBAN, "停电了", now=T0)
        assert report.outcome == "planned" and report.ticket is None
        assert report.planned.end == T0 + timedelta(hours=5)
        other_village = tickets.report_outage(s, make_contact(s, external="oWx2"), "wechat",
                                              Place("城关镇", "南屯村", "urban"), "停电", now=T0)
        assert other_village.outcome == "created"


def test_a_retried_message_returns_its_ticket_instead_of_a_second_one(db):
    with db.session() as s:
        contact = make_contact(s)
        one = tickets.report_hazard(s, contact, "wechat", URBAN, "东关村口", "电线断了", "fallen_wire",
                                    source_key="wechat:msg:1", now=T0)
        two = tickets.report_hazard(s, contact, "wechat", URBAN, "东关村口", "电线断了", "fallen_wire",
                                    source_key="wechat:msg:1", now=T0)
        assert one.id == two.id and one.priority == "urgent"
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1


def test_concurrent_creation_from_one_message_makes_one_ticket(db):
    with db.session() as s:
        make_contact(s)
    barrier = threading.Barrier(4)
    numbers = []

    def worker():
        barrier.wait()
        with db.session() as s:
            contact = make_contact(s)
            t = tickets.create(s, "complaint", "wechat", "态度差", contact=contact, source_key="wechat:msg:42", now=T0)
            numbers.append(t.ticket_no)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(numbers)) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1


def test_an_outage_storm_from_one_village_on_several_servers_opens_one_repair_ticket(db):
    with db.session() as s:
        customers = [make_contact(s, external=f"oWxStorm{i}").id for i in range(6)]
    barrier = threading.Barrier(len(customers))
    outcomes = []

    def report(contact_id):  # each a Rasa server's action taking one customer's 停电了 at the same moment
        barrier.wait()
        with db.session() as s:
            outcome = tickets.report_outage(s, s.get(Contact, contact_id), "wechat", URBAN, "停电了", now=T0)
            outcomes.append(outcome.outcome)

    threads = [threading.Thread(target=report, args=(c,)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["area"] * 5 + ["created"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        assert s.scalar(select(func.count()).select_from(TicketFollower)) == 5


def test_working_day_deadlines_skip_the_weekend(db):
    with db.session() as s:
        complaint = tickets.create(s, "complaint", "wechat", "抄表员态度差", now=T0)
        meter = tickets.create(s, "meter", "wechat", "申请校验", now=T0)
        solar = tickets.create(s, "business", "wechat", "光伏并网", subtype="solar_pv", now=T0)
        assert complaint.sla_deadline == datetime(2026, 11, 30, 2, 0)  # Friday → Monday
        assert meter.sla_deadline == datetime(2026, 12, 4, 2, 0)
        assert solar.sla_deadline == datetime(2026, 12, 29, 2, 0)  # 22 working days: 4 weeks, then Mon + Tue


def test_working_day_deadlines_skip_public_holidays_and_count_weekends_worked_in_exchange(db):
    with db.session() as s:
        before_national_day = tickets.create(s, "complaint", "wechat", "态度差", now=datetime(2026, 9, 30, 2, 0))
        before_exchange_saturday = tickets.create(s, "complaint", "wechat", "态度差",
                                                  now=datetime(2026, 10, 9, 2, 0))
        assert before_national_day.sla_deadline == datetime(2026, 10, 8, 2, 0)  # 1–7 October are holidays
        assert before_exchange_saturday.sla_deadline == datetime(2026, 10, 10, 2, 0)  # Saturday 10 October is worked


def test_progress_shows_history_and_sla_risk(db):
    with db.session() as s:
        contact = make_contact(s)
        t = tickets.report_outage(s, contact, "wechat", URBAN, "停电", now=T0).ticket
        assert not tickets.progress(t, now=T0 + timedelta(minutes=10)).at_risk
        assert tickets.progress(t, now=T0 + timedelta(minutes=40)).at_risk
        assert tickets.progress(t, now=T0 + timedelta(minutes=50)).overdue
        tickets.set_status(s, t, "on_site", "staff:demo_agent", "抢修人员已到达", now=T0 + timedelta(minutes=30))
        s.flush()
        s.refresh(t)
        p = tickets.progress(t, now=T0 + timedelta(minutes=50))
        assert not p.overdue and [e.status for e in p.history] == ["open", "on_site"]


def test_a_customer_sees_only_their_tickets(db):
    with db.session() as s:
        owner, stranger = make_contact(s), make_contact(s, external="oWxStranger")
        account = make_account(s)
        t = tickets.create(s, "meter", "wechat", "电表走得快", contact=owner, account=account, now=T0)
        assert tickets.visible_to(s, t, owner)
        assert not tickets.visible_to(s, t, stranger)
        assert tickets.for_contact(s, stranger) == []
        assert [x.id for x in tickets.for_contact(s, owner)] == [t.id]


def test_staffed_hours_including_round_the_clock_and_across_midnight():
    from bot.domain.handoffs import staffed

    noon, night = datetime(2026, 11, 27, 4, 0), datetime(2026, 11, 27, 15, 0)  # 12:00 and 23:00 local
    assert staffed("08:00-20:00", noon) and not staffed("08:00-20:00", night)
    assert staffed("22:00-06:00", night) and not staffed("22:00-06:00", noon)
    assert staffed("00:00-00:00", noon) and staffed("00:00-00:00", night)
