"""The console's back office as its service functions see it: who may see and work the dispatch queue,
the SLA clock and filters, the ticket page masked, agents limited to tickets of their conversations, crews
for administrators, key customers for supervisors, inspections opening defect tickets, photos served
only from MEDIA_DIR."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import utcnow
from bot.console import backoffice, service
from bot.console.permissions import ConsoleError, Principal
from bot.domain import accounts, audit, escalation, handoffs, media, staff, tickets
from bot.domain.models import Binding, Ticket
from bot.domain.places import Place
from tests.factories import make_account, make_contact

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def office(db):
    with db.session() as s:
        people = {}
        for name, role in (("ag", "agent"), ("dsp", "dispatcher"), ("sup", "supervisor"), ("adm", "admin")):
            user, _ = staff.add(s, name, role, "correct-horse-battery")
            people[name] = Principal.of(user)
        account = make_account(s)
        contact = make_contact(s)
        s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
        ticket = tickets.create(s, "repair", "wechat", f"停电了，电话{'13900001111'}", contact=contact,
                                account=account, place=Place("城关镇", "东关村", "urban"),
                                callback_phone="13900001111")
        other = tickets.create(s, "complaint", "sms", "态度差", contact=make_contact(s, "sms", "13900002222"))
        people["ticket"], people["other"] = ticket.ticket_no, other.ticket_no
        people["sender"] = contact.sender_id
    return db, people


def _denied(code: str):
    return pytest.raises(ConsoleError, match=code)


def test_dispatchers_supervisors_and_admins_see_the_queue_agents_do_not(office):
    db, p = office
    with db.session() as s:
        with _denied("forbidden"):
            backoffice.queue_view(s, p["ag"], {})
        for who in ("dsp", "sup", "adm"):
            view = backoffice.queue_view(s, p[who], {}, now=utcnow() + timedelta(minutes=50))
            assert [t["ticket_no"] for t in view["tickets"]] == [p["ticket"], p["other"]]
        first = view["tickets"][0]
        assert first["overdue"] and first["seconds_left"] < 0 and "13900001111" not in first["description"]
        assert backoffice.queue_view(s, p["dsp"], {"type": "complaint"})["tickets"][0]["ticket_no"] == p["other"]
        with _denied("bad_type"):
            backoffice.queue_view(s, p["dsp"], {"type": "party"})


def test_the_ticket_page_masks_the_contact_and_is_audited(office):
    db, p = office
    with db.session() as s:
        view = backoffice.ticket_view(s, p["dsp"], p["ticket"])
        assert view["callback_phone"] == "139****1111" and view["account"]["phone"] == "139****1111"
        assert view["account"]["name"] == "张**" and view["history"][0]["status"] == "open"
        assert view["next_statuses"] == ["cancelled", "dispatched", "on_site", "resolved"]
        assert "13900001111" not in str(view)
        assert audit.entries(s, action="ticket.view")[0].actor == "staff:dsp"


def test_dispatchers_work_tickets_along_the_life_cycle_with_crews(office):
    db, p = office
    with db.session() as s:
        crew = backoffice.crew_add(s, p["adm"], {"name": "城关抢修一班", "township": "城关镇"})["crew"]
        with _denied("forbidden"):
            backoffice.crew_add(s, p["dsp"], {"name": "二班"})
        backoffice.set_status(s, p["dsp"], p["ticket"], {"status": "dispatched", "crew_id": crew["id"],
                                                          "eta": "2026-12-01T15:30", "note": "已派单"})
        with _denied("ticket_transition"):
            backoffice.set_status(s, p["dsp"], p["ticket"], {"status": "open"})
        with _denied("forbidden"):
            backoffice.set_status(s, p["ag"], p["ticket"], {"status": "on_site"})
        row = tickets.by_no(s, p["ticket"])
        assert (row.status, row.crew.name, row.eta.isoformat()) == ("dispatched", "城关抢修一班", "2026-12-01T07:30:00")
        assert backoffice.queue_view(s, p["dsp"], {"crew": str(crew["id"])})["tickets"][0]["ticket_no"] == p["ticket"]


def test_agents_correct_and_note_only_tickets_of_conversations_they_own(office):
    db, p = office
    with db.session() as s:
        with _denied("not_your_ticket"):
            backoffice.add_note(s, p["ag"], p["ticket"], {"text": "客户在家"})
        handoff = handoffs.request(s, p["sender"], "wechat", "asked")
    with db.session() as s:
        service.take(s, p["ag"], handoff.id)
    with db.session() as s:
        backoffice.add_note(s, p["ag"], p["ticket"], {"text": "客户在家"})
        backoffice.correct(s, p["ag"], p["ticket"], {"description": "全村停电"})
        with _denied("not_your_ticket"):
            backoffice.correct(s, p["ag"], p["other"], {"description": "x"})
        assert tickets.by_no(s, p["ticket"]).description == "全村停电"


def test_supervisors_flag_key_customers_with_a_reason(office):
    db, p = office
    with db.session() as s:
        with _denied("forbidden"):
            backoffice.key_customer(s, p["dsp"], "5100000101", {"flagged": True, "reason": "独居老人"})
        with _denied("reason_required"):
            backoffice.key_customer(s, p["sup"], "5100000101", {"flagged": True, "reason": " "})
        answer = backoffice.key_customer(s, p["sup"], "5100000101", {"flagged": True, "reason": "独居老人"})
        assert answer["key_customer"] and answer["key_customer_reason"] == "独居老人"
        assert backoffice.queue_view(s, p["dsp"], {})["tickets"][0]["key_customer"] is True


def test_a_key_customer_request_without_a_true_or_false_flag_is_refused_and_changes_nothing(office):
    db, p = office
    with db.session() as s:
        backoffice.key_customer(s, p["sup"], "5100000101", {"flagged": True, "reason": "独居老人"})
    with db.session() as s:
        for body in ({}, {"flagged": None}, {"flagged": "false"}, {"flagged": 0}, {"reason": "x"}):
            with pytest.raises(ConsoleError) as refused:
                backoffice.key_customer(s, p["sup"], "5100000101", body)
            assert refused.value.status == 400 and refused.value.code == "bad_flag", body
            assert "flagged" in refused.value.message
        assert accounts.get_by_no(s, "5100000101").key_customer is True  # not quietly unflagged


def test_an_inspection_finding_opens_a_defect_ticket_with_the_hazard_sla_and_its_photo(office, tmp_path):
    db, p = office
    with db.session() as s:
        with _denied("bad_inspection"):
            backoffice.inspection_add(s, p["dsp"], {"equipment_kind": "pole", "severity": "serious"})
        answer = backoffice.inspection_add(
            s, p["dsp"], {"equipment_kind": "pole", "equipment_ref": "10kV东关线 #37杆", "severity": "critical",
                          "township": "城关镇", "village": "东关村", "readings": {"倾斜角": "12°"},
                          "description": "杆身倾斜"},
            photo=(PNG, "image/png"), media_dir=tmp_path)
        ticket = tickets.by_no(s, answer["ticket_no"])
        assert (ticket.type, ticket.priority, ticket.area_type) == ("defect", "urgent", "urban")
        assert ticket.sla_deadline == ticket.created_at + timedelta(minutes=45)
        (photo,) = ticket.attachments
        path, content_type = backoffice.photo(s, p["dsp"], photo.id, tmp_path)
        assert path.read_bytes() == PNG and content_type == "image/png"
        with _denied("forbidden"):
            backoffice.photo(s, p["ag"], photo.id, tmp_path)
        with _denied("photo_not_found"):  # kept nowhere (a simulator's picture, a lost file): said as such
            backoffice.photo(s, p["dsp"], photo.id, tmp_path / "elsewhere")
        with _denied("bad_photo"):
            backoffice.inspection_add(s, p["dsp"], {"equipment_kind": "line", "equipment_ref": "x",
                                                    "severity": "general", "township": "城关镇"},
                                      photo=(b"<svg/>", "image/png"), media_dir=tmp_path)


def test_a_stored_photo_name_cannot_leave_the_media_folder(tmp_path: Path):
    assert media.path_of(tmp_path, "../../etc/passwd") is None
    assert media.path_of(tmp_path, media.save(tmp_path, "wx-media-1", PNG)) is not None


def test_merging_from_the_console(office):
    db, p = office
    with db.session() as s:
        contact = make_contact(s, external="oWxDup")
        dup = tickets.create(s, "repair", "wechat", "也停电", contact=contact, place=Place("城关镇", "东关村", "urban"))
        answer = backoffice.merge(s, p["dsp"], dup.ticket_no, {"into": p["ticket"]})
        assert answer["merged_into"] == p["ticket"]
        assert s.get(Ticket, dup.id).merged_into_id is not None
        with _denied("ticket_merged"):
            backoffice.set_status(s, p["dsp"], dup.ticket_no, {"status": "dispatched"})


def test_a_ticket_past_80_percent_of_its_sla_shows_flagged_to_the_supervisor_without_anyone_acting(office):
    db, p = office
    with db.session() as s:
        created = tickets.by_no(s, p["ticket"]).created_at
        escalation.scan(s, created + timedelta(minutes=37))  # the periodic job, with a stated clock
    with db.session() as s:
        view = backoffice.escalations_view(s, p["sup"], now=created + timedelta(minutes=37))
        assert [e["ticket_no"] for e in view["flagged"]] == [p["ticket"]] and view["escalated"] == []
        (row,) = [t for t in backoffice.queue_view(s, p["dsp"], {})["tickets"] if t["ticket_no"] == p["ticket"]]
        assert row["flagged"] and not row["escalated"]
        with _denied("forbidden"):
            backoffice.escalations_view(s, p["ag"])
