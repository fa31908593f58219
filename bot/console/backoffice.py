"""What the console's back-office screens do with the records: the dispatch queue with SLA clocks, a
ticket's page, status/crew/merge/note actions, crews, key customers, escalations, inspections, photos.

Like :mod:`bot.console.service`: one function per operation on a session the caller opens; each checks
the permission it needs itself; personal data leaves masked. Rules stay in :mod:`bot.domain`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import local_to_utc, to_local, utcnow
from bot.console.permissions import ConsoleError, Principal
from bot.domain import (
    accounts,
    audit,
    contacts,
    crews,
    dispatch,
    escalation,
    handoffs,
    inspections,
    key_customers,
    media,
    staff,
    tickets,
)
from bot.domain.dispatch import DispatchError, QueueFilter
from bot.domain.models import (
    OPEN_TICKET_STATUSES,
    SUPERVISOR_TICKET_TYPES,
    TICKET_TYPES,
    Account,
    Contact,
    Crew,
    Inspection,
    Ticket,
    TicketAttachment,
    TicketFollower,
)
from bot.domain.pii import mask_name, mask_phone, redact_text


def _iso(dt: datetime | None) -> str | None:
    return to_local(dt).isoformat(timespec="seconds") if dt else None


def _local_time(value: Any, field: str) -> datetime | None:
    """A time the page sends (local ``YYYY-MM-DDTHH:MM``) as naive UTC; empty = None."""
    if value in (None, ""):
        return None
    try:
        return local_to_utc(datetime.fromisoformat(str(value)))
    except ValueError:
        raise ConsoleError(400, "bad_time", field=field) from None


def dispatch_error(exc: DispatchError) -> ConsoleError:
    """The HTTP answer to a refused back-office operation."""
    if exc.reason in ("empty",):
        return ConsoleError(400, "empty")
    return ConsoleError(409, f"ticket_{exc.reason}", **{k: str(v) for k, v in exc.info.items()})


def _ticket(s: Session, ticket_no: str, p: Principal) -> Ticket:
    """The ticket numbered ``ticket_no`` as ``p`` may see it: a personal-data request is the supervisors'
    (``privacy_requests.view``) and does not exist for dispatchers (404)."""
    ticket = tickets.by_no(s, ticket_no)
    if ticket is None or (ticket.type in SUPERVISOR_TICKET_TYPES and not p.can("privacy_requests.view")):
        raise ConsoleError(404, "ticket_not_found")
    return ticket


def _crew(s: Session, crew_id: Any) -> Crew | None:
    if crew_id in (None, ""):
        return None
    try:
        crew = s.get(Crew, int(crew_id))
    except (TypeError, ValueError):
        crew = None
    if crew is None:
        raise ConsoleError(400, "bad_crew")
    return crew


# -------------------------------------------------------------------------------------------- queue


def _queue_item(item: dispatch.QueueItem) -> Dict[str, Any]:
    t = item.ticket
    return {
        "ticket_no": t.ticket_no, "type": t.type, "subtype": t.subtype, "status": t.status, "priority": t.priority,
        "channel": t.channel, "township": t.township, "village": t.village, "address": t.address,
        "description": redact_text(t.description or "")[:120],
        "crew": t.crew.name if t.crew else None, "crew_id": t.crew_id, "eta": _iso(t.eta),
        "created_at": _iso(t.created_at), "sla_deadline": _iso(t.sla_deadline),
        "seconds_left": item.seconds_left, "overdue": item.overdue, "at_risk": item.at_risk,
        "flagged": t.at_risk_flagged_at is not None, "escalated": t.escalated_at is not None,
        "urge_count": t.urge_count or 0, "last_urged_at": _iso(t.last_urged_at), "key_customer": item.key_customer,
    }


def queue_view(s: Session, p: Principal, args: Dict[str, str], now: datetime | None = None) -> Dict[str, Any]:
    """Every open ticket with its SLA clock, filtered (type, township, status, crew, overdue) and sorted by
    urgency (key customers' repairs first, then overdue, then least time left)."""
    p.require("tickets.view")
    now = now or utcnow()
    kind, status = args.get("type") or "", args.get("status") or ""
    if kind and kind not in TICKET_TYPES:
        raise ConsoleError(400, "bad_type")
    if status and status not in OPEN_TICKET_STATUSES:
        raise ConsoleError(400, "bad_status")
    crew = _crew(s, args.get("crew"))
    filters = QueueFilter(types=[kind] if kind else (), township=args.get("township") or None,
                          statuses=[status] if status else (), crew_id=crew.id if crew else None,
                          overdue_only=(args.get("overdue") or "") in ("1", "true"),
                          exclude_types=() if p.can("privacy_requests.view") else SUPERVISOR_TICKET_TYPES)
    items = dispatch.queue(s, filters, now=now)
    return {"tickets": [_queue_item(i) for i in items], "now": _iso(now),
            "townships": sorted({i.ticket.township for i in dispatch.queue(s, now=now) if i.ticket.township}),
            "crews": [_crew_json(c) for c in crews.all_crews(s)]}


# ------------------------------------------------------------------------------------------- ticket


def _may_edit(s: Session, p: Principal, ticket: Ticket) -> None:
    """Dispatchers and supervisors edit any ticket; an agent only the tickets of a conversation they
    own now (the customer of it opened, follows, or has the ticket's account bound)."""
    if p.can("tickets.work"):
        return
    p.require("ticket.update")
    user = staff.get(s, p.username)
    for handoff in handoffs.active(s, owner=user) if user else []:
        contact = handoff.contact or contacts.by_sender(s, handoff.sender_id)
        if contact is not None and tickets.visible_to(s, ticket, contact):
            return
    raise ConsoleError(403, "not_your_ticket")


def _contact_json(contact: Contact | None) -> Dict[str, Any] | None:
    if contact is None:
        return None
    shown = mask_phone(contact.external_id) if contact.channel == "sms" else f"…{contact.external_id[-4:]}"
    return {"channel": contact.channel, "ref": shown}


def _attachment(a: TicketAttachment) -> Dict[str, Any]:
    data: Dict[str, Any] = {"id": a.id, "kind": a.kind, "at": _iso(a.created_at)}
    if a.kind == "image":
        data["url"] = f"/console/media/{a.id}" if a.stored_file else None
    else:
        data["ref"] = a.ref
    return data


def ticket_view(s: Session, p: Principal, ticket_no: str, now: datetime | None = None) -> Dict[str, Any]:
    """A ticket's page: history, notes, masked contact and call-back number, account, place, photos,
    followers, the incident it was merged into, an inspection finding."""
    if not p.can("tickets.view"):
        p.require("ticket.update")
    now = now or utcnow()
    ticket = _ticket(s, ticket_no, p)
    if not p.can("tickets.view"):
        _may_edit(s, p, ticket)
    prog = tickets.progress(ticket, now)
    account: Account | None = ticket.account
    contact = s.get(Contact, ticket.contact_id) if ticket.contact_id else None
    followers = s.scalar(select(TicketFollower.id).where(TicketFollower.ticket_id == ticket.id).limit(1))
    inspection = s.scalar(select(Inspection).where(Inspection.ticket_id == ticket.id))
    merged = list(s.scalars(select(Ticket.ticket_no).where(Ticket.merged_into_id == ticket.id)))
    audit.record(s, p.actor, "ticket.view", "ticket", ticket.ticket_no)
    return {
        "ticket": {**_queue_item(dispatch.QueueItem(
            ticket, None if tickets.sla_kept(ticket.type, ticket.status) or not ticket.sla_deadline
            else int((ticket.sla_deadline - now).total_seconds()), prog.overdue, prog.at_risk,
            bool(account and account.key_customer))),
            "description": redact_text(ticket.description or ""),
            "merged_into": ticket.merged_into.ticket_no if ticket.merged_into else None, "merged": merged},
        "history": [{"at": _iso(e.at), "status": e.status, "note": redact_text(e.note or ""), "actor": e.actor}
                    for e in ticket.events],
        "notes": [{"at": _iso(n.at), "kind": n.kind, "text": redact_text(n.text), "author": n.author}
                  for n in ticket.notes],
        "contact": _contact_json(contact),
        "callback_phone": mask_phone(ticket.callback_phone) if ticket.callback_phone else None,
        "has_followers": followers is not None,
        "account": {"account_no": account.account_no, "name": mask_name(account.name),
                    "phone": mask_phone(account.phone), "address": account.address, "township": account.township,
                    "key_customer": account.key_customer, "key_customer_reason": account.key_customer_reason}
        if account else None,
        "place": {"township": ticket.township, "village": ticket.village, "address": ticket.address,
                  "area_type": ticket.area_type},
        "attachments": [_attachment(a) for a in ticket.attachments],
        "inspection": {"equipment_kind": inspection.equipment_kind, "equipment_ref": inspection.equipment_ref,
                       "readings": inspection.readings, "severity": inspection.severity,
                       "latitude": str(inspection.latitude) if inspection.latitude is not None else None,
                       "longitude": str(inspection.longitude) if inspection.longitude is not None else None,
                       "inspector": inspection.inspector} if inspection else None,
        "may_work": p.can("tickets.work"),
        "next_statuses": sorted(dispatch.TRANSITIONS.get(ticket.status, ())) if ticket.merged_into_id is None else [],
    }


def set_status(s: Session, p: Principal, ticket_no: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Move a ticket along the life cycle with a note, optionally a crew and an ETA (dispatchers)."""
    p.require("tickets.work")
    ticket = _ticket(s, ticket_no, p)
    status = str(body.get("status") or "")
    if status not in dispatch.TRANSITIONS:
        raise ConsoleError(400, "bad_status")
    crew, eta = _crew(s, body.get("crew_id")), _local_time(body.get("eta"), "eta")
    try:
        dispatch.transition(s, ticket, status, p.actor, note=str(body.get("note") or "")[:dispatch.MAX_NOTE],
                            crew=crew, eta=eta)
    except DispatchError as exc:
        raise dispatch_error(exc) from None
    return {"ticket_no": ticket.ticket_no, "status": ticket.status}


def assign(s: Session, p: Principal, ticket_no: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Give a ticket to a crew (and an ETA) without changing its status."""
    p.require("tickets.work")
    ticket = _ticket(s, ticket_no, p)
    crew = _crew(s, body.get("crew_id"))
    if crew is None:
        raise ConsoleError(400, "bad_crew")
    try:
        dispatch.assign(s, ticket, crew, p.actor, eta=_local_time(body.get("eta"), "eta"))
    except DispatchError as exc:
        raise dispatch_error(exc) from None
    return {"ticket_no": ticket.ticket_no, "crew": crew.name}


def merge(s: Session, p: Principal, ticket_no: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Merge this ticket (a duplicate) into the incident ``into``."""
    p.require("tickets.work")
    duplicate, into = _ticket(s, ticket_no, p), _ticket(s, str(body.get("into") or ""), p)
    try:
        survivor = dispatch.merge(s, duplicate, into, p.actor, note=str(body.get("note") or ""))
    except DispatchError as exc:
        raise dispatch_error(exc) from None
    return {"ticket_no": duplicate.ticket_no, "merged_into": survivor.ticket_no}


def add_note(s: Session, p: Principal, ticket_no: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """An internal note (dispatchers; agents on tickets of their conversations)."""
    ticket = _ticket(s, ticket_no, p)
    _may_edit(s, p, ticket)
    try:
        note = dispatch.add_note(s, ticket, str(body.get("text") or ""), p.actor)
    except DispatchError as exc:
        raise dispatch_error(exc) from None
    return {"at": _iso(note.at), "kind": note.kind, "text": note.text, "author": note.author}


def correct(s: Session, p: Principal, ticket_no: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Correct the description (dispatchers; agents on tickets of their conversations)."""
    ticket = _ticket(s, ticket_no, p)
    _may_edit(s, p, ticket)
    try:
        dispatch.correct_description(s, ticket, str(body.get("description") or ""), p.actor)
    except DispatchError as exc:
        raise dispatch_error(exc) from None
    return {"ticket_no": ticket.ticket_no, "description": ticket.description}


# -------------------------------------------------------------------------------------------- crews


def _crew_json(c: Crew) -> Dict[str, Any]:
    return {"id": c.id, "name": c.name, "township": c.township, "active": c.active}


def crew_list(s: Session, p: Principal) -> Dict[str, Any]:
    p.require("crews.view")
    return {"crews": [_crew_json(c) for c in crews.all_crews(s)]}


def crew_add(s: Session, p: Principal, body: Dict[str, Any]) -> Dict[str, Any]:
    p.require("crews.manage")
    try:
        crew = crews.add(s, str(body.get("name") or ""), p.actor, township=str(body.get("township") or ""))
    except crews.CrewError as exc:
        raise ConsoleError(400 if exc.reason == "name" else 409, f"crew_{exc.reason}") from None
    return {"crew": _crew_json(crew)}


def crew_update(s: Session, p: Principal, crew_id: int, body: Dict[str, Any]) -> Dict[str, Any]:
    p.require("crews.manage")
    crew = _crew(s, crew_id)
    assert crew is not None
    active = body.get("active")
    try:
        crews.update(s, crew, p.actor, name=body.get("name"), township=body.get("township"),
                     active=bool(active) if active is not None else None)
    except crews.CrewError as exc:
        raise ConsoleError(400 if exc.reason == "name" else 409, f"crew_{exc.reason}") from None
    return {"crew": _crew_json(crew)}


# ------------------------------------------------------------------------------------ key customers


def key_customer(s: Session, p: Principal, account_no: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Flag (with a reason) or unflag an account as a key customer (supervisors; audited):
    ``{"flagged": bool, "reason": str}``. ``ConsoleError`` 400 ``bad_flag`` when ``flagged`` is not a
    boolean, ``reason_required`` when flagging without a reason, 404 for an unknown account."""
    p.require("key_customer.set")
    if not isinstance(body.get("flagged"), bool):
        raise ConsoleError(400, "bad_flag")  # a missing or odd flag must not quietly unflag the customer
    account = accounts.get_by_no(s, account_no)
    if account is None:
        raise ConsoleError(404, "account_not_found")
    try:
        key_customers.set_flag(s, account, body["flagged"], str(body.get("reason") or ""), p.actor)
    except key_customers.KeyCustomerError:
        raise ConsoleError(400, "reason_required") from None
    return {"account_no": account.account_no, "key_customer": account.key_customer,
            "key_customer_reason": account.key_customer_reason}


# ------------------------------------------------------------------------------------- escalations


def escalations_view(s: Session, p: Principal, now: datetime | None = None) -> Dict[str, Any]:
    """The supervisors' escalation list (overdue) and the tickets flagged at risk."""
    p.require("escalations.view")
    now = now or utcnow()

    def item(t: Ticket) -> Dict[str, Any]:
        return {"ticket_no": t.ticket_no, "type": t.type, "status": t.status, "township": t.township,
                "crew": t.crew.name if t.crew else None, "sla_deadline": _iso(t.sla_deadline),
                "seconds_left": int((t.sla_deadline - now).total_seconds()), "urge_count": t.urge_count or 0}

    def shown(t: Ticket) -> bool:
        return t.type not in SUPERVISOR_TICKET_TYPES or p.can("privacy_requests.view")

    return {"escalated": [item(t) for t in escalation.escalation_list(s) if shown(t)],
            "flagged": [item(t) for t in escalation.flagged(s) if t.escalated_at is None and shown(t)]}


# ------------------------------------------------------------------------------------- inspections


def inspection_add(s: Session, p: Principal, body: Dict[str, Any], photo: Tuple[bytes, str] | None = None,
                   media_dir: Path | None = None) -> Dict[str, Any]:
    """An equipment inspection finding from the phone page: it opens a defect ticket in the queue."""
    p.require("inspection.create")
    try:
        finding = inspections.Finding.from_form(body)
    except inspections.InspectionError as exc:
        raise ConsoleError(400, "bad_inspection", field=exc.field) from None
    ticket = inspections.record(s, finding, p.actor)
    if photo is not None and media_dir is not None:
        data, content_type = photo
        try:
            media.store_photo(s, ticket, data, content_type, p.actor, media_dir)
        except media.MediaError:
            raise ConsoleError(400, "bad_photo") from None
    return {"ticket_no": ticket.ticket_no, "type": ticket.type, "sla_deadline": _iso(ticket.sla_deadline)}


# ------------------------------------------------------------------------------------------- photos


def photo(s: Session, p: Principal, attachment_id: int, media_dir: Path) -> Tuple[Path, str]:
    """The stored file of a photo attachment and its content type; audited (it may show a person or a home)."""
    p.require("media.view")
    attachment = s.get(TicketAttachment, attachment_id)
    if attachment is None or attachment.kind != "image" or not attachment.stored_file:
        raise ConsoleError(404, "photo_not_found")
    path = media.path_of(media_dir, attachment.stored_file)
    if path is None:
        raise ConsoleError(404, "photo_not_found")
    with path.open("rb") as f:
        content_type = media.image_type(f.read(16))
    if content_type is None:
        raise ConsoleError(404, "photo_not_found")
    ticket_no = s.scalar(select(Ticket.ticket_no).where(Ticket.id == attachment.ticket_id))
    audit.record(s, p.actor, "media.view", "ticket", ticket_no or "", attachment_id=attachment.id)
    return path, content_type


def staff_roles() -> List[str]:
    """The roles an administrator may give (for the staff form)."""
    return sorted(staff.PERMISSIONS)
