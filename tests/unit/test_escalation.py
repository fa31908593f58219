"""Escalation without anyone acting: the periodic scan, run with a stated clock, flags a ticket at 80 %
of its SLA and puts an overdue one on the supervisors' list — once, however often it runs."""

from datetime import datetime, timedelta

from bot.domain import dispatch, escalation, tickets
from bot.domain.places import Place
from tests.factories import make_contact

T0 = datetime(2026, 11, 27, 2, 0)  # 10:00 local; an urban repair is due 45 minutes later
URBAN = Place("城关镇", "东关村", "urban")


def _repair(s, external="oWxEsc01"):
    return tickets.create(s, "repair", "wechat", "停电", contact=make_contact(s, external=external), place=URBAN,
                          now=T0)


def test_a_ticket_past_80_percent_of_its_sla_is_flagged_to_the_supervisor_once(db):
    with db.session() as s:
        ticket = _repair(s)
        assert escalation.scan(s, T0 + timedelta(minutes=35)) == []            # 78 %
        changes = escalation.scan(s, T0 + timedelta(minutes=36))               # 80 %
        assert [(c.ticket_no, c.kind) for c in changes] == [(ticket.ticket_no, "at_risk")]
        assert escalation.scan(s, T0 + timedelta(minutes=37)) == []            # idempotent
        assert [t.id for t in escalation.flagged(s)] == [ticket.id]
        assert escalation.escalation_list(s) == []


def test_an_overdue_ticket_goes_on_the_escalation_list_once(db):
    with db.session() as s:
        ticket = _repair(s)
        changes = escalation.scan(s, T0 + timedelta(minutes=50))
        assert sorted(c.kind for c in changes) == ["at_risk", "escalated"]
        assert escalation.scan(s, T0 + timedelta(minutes=51)) == []
        assert [t.ticket_no for t in escalation.escalation_list(s)] == [ticket.ticket_no]
        assert [n.kind for n in ticket.notes] == ["at_risk", "escalated"]


def test_a_crew_on_site_keeps_the_commitment_and_is_not_flagged(db):
    with db.session() as s:
        ticket = _repair(s)
        dispatch.transition(s, ticket, "on_site", "staff:d1", now=T0 + timedelta(minutes=30))
        assert escalation.scan(s, T0 + timedelta(minutes=60)) == []
        assert escalation.escalation_list(s) == []


def test_two_scans_at_once_flag_a_ticket_once(db):
    with db.session() as s:
        ticket_no = _repair(s).ticket_no
    with db.session() as a, db.session() as b:
        first = escalation.scan(a, T0 + timedelta(minutes=40))
        a.commit()
        second = escalation.scan(b, T0 + timedelta(minutes=40))
    assert [c.ticket_no for c in first] == [ticket_no] and second == []
