"""Working tickets in the back office: allowed transitions with a history event each, crews and ETAs,
merging duplicates (the customers follow the surviving incident), notes, urges, key customers first."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain import audit, crews, dispatch, key_customers, tickets
from bot.domain.dispatch import DispatchError, QueueFilter
from bot.domain.models import TicketEvent, TicketFollower, TicketNote
from bot.domain.places import Place
from tests.factories import make_account, make_contact

T0 = datetime(2026, 11, 27, 2, 0)  # 10:00 local, a Friday
URBAN = Place("城关镇", "东关村", "urban")


def _repair(s, external="oWxDispatch01", place=URBAN, now=T0, account=None):
    contact = make_contact(s, external=external)
    return tickets.create(s, "repair", "wechat", "家里停电", contact=contact, place=place, account=account, now=now)


def _events(s, ticket):
    return [(e.status, e.actor) for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                                   .order_by(TicketEvent.id))]


def test_the_same_news_twice_is_one_history_event_and_a_new_crew_or_eta_is_news(db):
    with db.session() as s:
        ticket = _repair(s)
        crew = crews.add(s, "城关抢修一班", "staff:admin", township="城关镇")
        eta = T0 + timedelta(minutes=40)
        first = dispatch.transition(s, ticket, "dispatched", "system:dispatch", crew=crew, eta=eta, now=T0)
        again = dispatch.transition(s, ticket, "dispatched", "system:dispatch", crew=crew, eta=eta, now=T0)
        assert again.id == first.id and [status for status, _ in _events(s, ticket)] == ["open", "dispatched"]
        later = dispatch.transition(s, ticket, "dispatched", "system:dispatch", eta=eta + timedelta(minutes=20), now=T0)
        assert later.id != first.id and [status for status, _ in _events(s, ticket)] == [
            "open", "dispatched", "dispatched"]


def test_every_status_change_writes_a_history_event_with_crew_and_eta_on_the_ticket(db):
    with db.session() as s:
        ticket = _repair(s)
        crew = crews.add(s, "城关抢修一班", "staff:admin", township="城关镇")
        eta = T0 + timedelta(minutes=40)
        dispatch.transition(s, ticket, "dispatched", "staff:d1", note="已派单", crew=crew, eta=eta,
                            now=T0 + timedelta(minutes=5))
        dispatch.transition(s, ticket, "on_site", "staff:d1", now=T0 + timedelta(minutes=35))
        dispatch.transition(s, ticket, "resolved", "staff:d1", note="更换熔断器", now=T0 + timedelta(minutes=80))
        assert (ticket.status, ticket.crew.name, ticket.eta) == ("resolved", "城关抢修一班", eta)
        assert _events(s, ticket) == [("open", "system"), ("dispatched", "staff:d1"), ("on_site", "staff:d1"),
                                      ("resolved", "staff:d1")]
        assert [e.action for e in reversed(audit.entries(s)) if e.target_id == ticket.ticket_no][-3:] == [
            "ticket.status"] * 3


@pytest.mark.parametrize("path, illegal", [
    ((), "closed"),                                  # open → closed skips the work
    (("dispatched", "on_site"), "dispatched"),       # no going back
    (("resolved", "closed"), "open"),                # closed is final
    (("cancelled",), "dispatched"),                  # cancelled is final
])
def test_a_transition_outside_the_life_cycle_is_refused_and_writes_nothing(db, path, illegal):
    with db.session() as s:
        ticket = _repair(s)
        for status in path:
            dispatch.transition(s, ticket, status, "staff:d1", now=T0)
        before = len(_events(s, ticket))
        with pytest.raises(DispatchError) as refused:
            dispatch.transition(s, ticket, illegal, "staff:d1", now=T0)
        assert refused.value.reason == "transition"
        assert len(_events(s, ticket)) == before


def test_a_resolved_ticket_can_be_reopened_and_its_escalation_marks_start_afresh(db):
    with db.session() as s:
        ticket = _repair(s)
        ticket.at_risk_flagged_at = T0
        dispatch.transition(s, ticket, "resolved", "staff:d1", now=T0)
        dispatch.transition(s, ticket, "open", "customer:wechat:x", note="客户反映还没来电", now=T0)
        assert ticket.status == "open" and ticket.at_risk_flagged_at is None
        assert _events(s, ticket)[-1] == ("open", "customer:wechat:x")


def test_merging_a_duplicate_moves_its_customers_onto_the_surviving_incident(db):
    with db.session() as s:
        incident = _repair(s, "oWxFirst", now=T0)
        duplicate = _repair(s, "oWxSecond", place=Place("城关镇", "西关村", "urban"), now=T0 + timedelta(minutes=3))
        neighbour = make_contact(s, external="oWxThird")
        tickets.follow(s, duplicate, neighbour)
        dispatch.urge(s, duplicate, None, "customer:wechat:oWxSecond", now=T0 + timedelta(minutes=4))
        survivor = dispatch.merge(s, duplicate, incident, "staff:d1", now=T0 + timedelta(minutes=10))
        assert survivor.id == incident.id and duplicate.merged_into_id == incident.id
        followers = set(s.scalars(select(TicketFollower.contact_id).where(TicketFollower.ticket_id == incident.id)))
        assert followers == {duplicate.contact_id, neighbour.id}
        assert duplicate.status == "cancelled" and _events(s, duplicate)[-1] == ("cancelled", "staff:d1")
        assert incident.urge_count == 1
        # the duplicate leaves the queue; acting on it is refused with the incident's number
        assert [i.ticket.id for i in dispatch.queue(s, now=T0 + timedelta(minutes=11))] == [incident.id]
        with pytest.raises(DispatchError) as refused:
            dispatch.transition(s, duplicate, "dispatched", "staff:d1")
        assert refused.value.info["into"] == incident.ticket_no
        with pytest.raises(DispatchError):
            dispatch.merge(s, incident, duplicate, "staff:d1")  # the same incident


def test_an_urge_on_an_open_ticket_is_counted_and_noted_but_not_on_a_finished_one(db):
    with db.session() as s:
        ticket = _repair(s)
        first = dispatch.urge(s, ticket, None, "customer:wechat:oWxDispatch01", "wechat", now=T0 + timedelta(minutes=20))
        second = dispatch.urge(s, ticket, None, "customer:wechat:oWxDispatch01", "wechat", now=T0 + timedelta(minutes=30))
        assert (first.recorded, second.count, ticket.last_urged_at) == (True, 2, T0 + timedelta(minutes=30))
        assert [n.kind for n in s.scalars(select(TicketNote))] == ["urge", "urge"]
        dispatch.transition(s, ticket, "resolved", "staff:d1")
        assert dispatch.urge(s, ticket, None, "customer:x").recorded is False


def test_notes_and_corrections_keep_the_old_text_and_refuse_empty_text(db):
    with db.session() as s:
        ticket = _repair(s)
        dispatch.correct_description(s, ticket, "东关村3组变压器跳闸，全组停电", "staff:agent1")
        dispatch.add_note(s, ticket, "已电话联系客户", "staff:agent1")
        assert ticket.description == "东关村3组变压器跳闸，全组停电"
        assert [(n.kind, n.text) for n in ticket.notes] == [("correction", "家里停电"), ("note", "已电话联系客户")]
        with pytest.raises(DispatchError):
            dispatch.add_note(s, ticket, "   ", "staff:agent1")


def test_the_queue_puts_key_customers_repairs_first_then_the_most_urgent(db):
    with db.session() as s:
        key = make_account(s, "5100000201", township="城关镇", address="城关镇南关村1号")
        key_customers.set_flag(s, key, True, "医疗设备用电", "staff:sup")
        late = _repair(s, "oWxLate", now=T0 - timedelta(minutes=50))        # overdue at T0
        soon = _repair(s, "oWxSoon", place=Place("城关镇", "北关村", "urban"), now=T0 - timedelta(minutes=30))
        keyed = _repair(s, "oWxKey", place=Place("城关镇", "南关村", "urban"), now=T0, account=key)
        complaint = tickets.create(s, "complaint", "wechat", "态度不好", contact=make_contact(s, external="oWxC"),
                                   now=T0)
        order = [i.ticket.id for i in dispatch.queue(s, now=T0)]
        assert order == [keyed.id, late.id, soon.id, complaint.id]
        (overdue,) = dispatch.queue(s, QueueFilter(overdue_only=True), now=T0)
        assert overdue.ticket.id == late.id and overdue.seconds_left == -5 * 60
        assert [i.ticket.id for i in dispatch.queue(s, QueueFilter(types=["complaint"]), now=T0)] == [complaint.id]
        entry = audit.entries(s, action="account.key_customer")[0]
        assert (entry.target_id, entry.detail["reason"]) == ("5100000201", "医疗设备用电")


def test_an_inactive_crew_gets_no_new_tickets(db):
    with db.session() as s:
        ticket = _repair(s)
        crew = crews.add(s, "银坊镇抢修班", "staff:admin")
        crews.update(s, crew, "staff:admin", active=False)
        with pytest.raises(DispatchError) as refused:
            dispatch.assign(s, ticket, crew, "staff:d1")
        assert refused.value.reason == "crew"
        with pytest.raises(crews.CrewError):
            crews.add(s, "银坊镇抢修班", "staff:admin")
