"""Tickets (工单): numbering, SLA deadlines, duplicate suppression, status history, progress.

SLA numbers come from service_rules.yml: repair and hazard crews on site within minutes by area type
(urban/rural/remote); complaints, meter calibration, applications and call-backs in working days (the
rules' calendar: Monday–Friday, minus public holidays, plus weekends worked in exchange); a customer's
personal-data request in calendar days. A ticket
created from an inbound message carries that message's ``source_key``, so a retried message finds its
ticket instead of opening a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import List, Sequence, Tuple

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import local_to_utc, to_local, utcnow
from bot.domain import audit, locks, media
from bot.domain.models import (
    OPEN_TICKET_STATUSES,
    TICKET_STATUSES,
    TICKET_TYPES,
    Account,
    Binding,
    Contact,
    PlannedOutage,
    SatisfactionRating,
    Ticket,
    TicketAttachment,
    TicketCounter,
    TicketEvent,
    TicketFollower,
)
from bot.domain.places import Place
from bot.domain.rules import Rules, get_rules

TICKET_NO_PREFIX = "GD"


def add_working_days(start: datetime, days: int, rules: Rules | None = None) -> datetime:
    """``days`` working days (the rules' calendar, local time) after a naive-UTC ``start``, same clock time."""
    calendar = (rules or get_rules()).calendar
    local = to_local(start)
    added = 0
    while added < days:
        local += timedelta(days=1)
        if calendar.is_working_day(local.date()):
            added += 1
    return local_to_utc(local)


def sla_deadline(
    ticket_type: str, area_type: str | None, subtype: str | None, created: datetime, rules: Rules | None = None
) -> datetime | None:
    """When the service commitment for a new ticket falls due."""
    rules = rules or get_rules()
    sla = rules.sla
    area = area_type or "rural"
    if ticket_type == "repair":
        return created + timedelta(minutes=sla.repair_arrival_minutes[area])
    if ticket_type in ("hazard", "defect"):  # an inspection's defect has the hazard commitment
        return created + timedelta(minutes=sla.hazard_arrival_minutes[area])
    if ticket_type == "complaint":
        return add_working_days(created, sla.complaint_contact_working_days, rules)
    if ticket_type == "meter":
        return add_working_days(created, sla.meter_calibration_working_days, rules)
    if ticket_type == "business":
        return add_working_days(created, sla.application_working_days.get(subtype or "", 5), rules)
    if ticket_type == "callback":
        return add_working_days(created, sla.callback_working_days, rules)
    if ticket_type == "privacy":  # calendar days (bot.domain.privacy.file_request)
        return created + timedelta(days=sla.personal_data_request_days)
    return None


def next_ticket_no(s: Session, now: datetime | None = None) -> str:
    """GD + local date + 4-digit daily sequence; safe under concurrent creation."""
    day = to_local(now or utcnow()).strftime("%Y%m%d")
    for _ in range(3):
        result = s.execute(update(TicketCounter).where(TicketCounter.day == day).values(last=TicketCounter.last + 1))
        if result.rowcount:
            last = s.scalar(select(TicketCounter.last).where(TicketCounter.day == day))
            return f"{TICKET_NO_PREFIX}{day}{last:04d}"
        try:
            with s.begin_nested():
                s.add(TicketCounter(day=day, last=1))
            return f"{TICKET_NO_PREFIX}{day}0001"
        except IntegrityError:
            continue  # another transaction created today's counter first
    raise RuntimeError("could not allocate a ticket number")


def by_source(s: Session, source_key: str | None) -> Ticket | None:
    if not source_key:
        return None
    return s.scalar(select(Ticket).where(Ticket.source_key == source_key))


def by_no(s: Session, ticket_no: str) -> Ticket | None:
    return s.scalar(select(Ticket).where(Ticket.ticket_no == (ticket_no or "").strip().upper()))


def create(
    s: Session,
    ticket_type: str,
    channel: str,
    description: str = "",
    contact: Contact | None = None,
    account: Account | None = None,
    place: Place | None = None,
    address: str | None = None,
    subtype: str | None = None,
    priority: str = "normal",
    callback_phone: str | None = None,
    source_key: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
    rules: Rules | None = None,
    place_to_confirm: bool = False,
    callback_pending: bool = False,
) -> Ticket:
    """Open a ticket with its SLA deadline and first history entry (idempotent on ``source_key``).

    ``place_to_confirm``: the place could not be resolved in the chat (the dispatcher calls to confirm
    it); ``callback_pending``: filed before the customer gave a number to call back (hazards)."""
    if ticket_type not in TICKET_TYPES:
        raise ValueError(f"unknown ticket type {ticket_type!r}")
    existing = by_source(s, source_key)
    if existing is not None:
        return existing
    now = now or utcnow()
    rules = rules or get_rules()
    township = place.township if place and place.township else (account.township if account else None)
    village = place.village if place and place.village else (account.village if account else None)
    area_type = place.area_type if place and place.area_type else (account.area_type if account else None)
    ticket = Ticket(
        ticket_no=next_ticket_no(s, now),
        type=ticket_type,
        subtype=subtype,
        priority=priority,
        status="open",
        account_id=account.id if account else None,
        contact_id=contact.id if contact else None,
        channel=channel,
        township=township,
        village=village,
        area_type=area_type,
        address=(address or (account.address if account else None) or "")[:200] or None,
        description=description[:2000],
        callback_phone=callback_phone,
        place_to_confirm=place_to_confirm,
        callback_pending=callback_pending,
        sla_deadline=sla_deadline(ticket_type, area_type, subtype, now, rules),
        expected_restore_at=(
            now + timedelta(hours=rules.sla.repair_restore_hours[area_type or "rural"])
            if ticket_type == "repair"
            else None
        ),
        source_key=source_key,
        created_at=now,
        updated_at=now,
    )
    try:
        with s.begin_nested():
            s.add(ticket)
            s.flush()
    except IntegrityError:
        # the same message raced us here from another process: return its ticket
        existing = by_source(s, source_key)
        if existing is None:
            raise
        return existing
    s.add(TicketEvent(ticket_id=ticket.id, at=now, status="open", note="受理", actor=actor or "system"))
    audit.record(
        s,
        actor or (f"customer:{contact.sender_id}" if contact else "system"),
        "ticket.create",
        "ticket",
        ticket.ticket_no,
        now=now,
        type=ticket_type,
        subtype=subtype,
    )
    return ticket


@dataclass(frozen=True)
class OutageReport:
    """What happened to an outage report.

    ``outcome``: ``planned`` (a planned outage covers the place: no ticket), ``same_customer`` (their
    own open ticket from the last 24 h), ``area`` (attached to an open ticket for the same village),
    ``created``, ``needs_callback`` (a new ticket is due but no number to call back was given: nothing filed).
    """

    outcome: str
    ticket: Ticket | None = None
    planned: PlannedOutage | None = None


def active_planned_outage(s: Session, place: Place, now: datetime | None = None) -> PlannedOutage | None:
    """A planned outage in progress that covers the place."""
    if not place.township:
        return None
    now = now or utcnow()
    q = select(PlannedOutage).where(
        PlannedOutage.township == place.township, PlannedOutage.start <= now, PlannedOutage.end > now,
        PlannedOutage.kind == "planned", PlannedOutage.status == "scheduled",
    )
    for outage in s.scalars(q.order_by(PlannedOutage.end)):
        if not outage.village_list or (place.village and place.village in outage.village_list):
            return outage
    return None


def _recent_open_of_contact(
    s: Session, contact: Contact, ticket_type: str, now: datetime, rules: Rules
) -> Ticket | None:
    since = now - timedelta(hours=rules.duplicate_window_hours)
    q = (
        select(Ticket)
        .where(
            Ticket.contact_id == contact.id,
            Ticket.type == ticket_type,
            Ticket.status.in_(OPEN_TICKET_STATUSES),
            Ticket.created_at >= since,
        )
        .order_by(Ticket.created_at.desc())
        .limit(1)
    )
    return s.scalar(q)


def own_recent_repair(s: Session, contact: Contact, now: datetime | None = None, rules: Rules | None = None
                      ) -> Ticket | None:
    """The customer's own open repair ticket from within the duplicate window (service_rules.yml
    ``duplicates``), newest first; None when there is none."""
    return _recent_open_of_contact(s, contact, "repair", now or utcnow(), rules or get_rules())


def follow(s: Session, ticket: Ticket, contact: Contact, now: datetime | None = None) -> None:
    """Attach a customer to a ticket (they will hear about it like its opener)."""
    if ticket.contact_id == contact.id:
        return
    exists = s.scalar(
        select(TicketFollower).where(TicketFollower.ticket_id == ticket.id, TicketFollower.contact_id == contact.id)
    )
    if exists is None:
        try:
            with s.begin_nested():
                s.add(TicketFollower(ticket_id=ticket.id, contact_id=contact.id, created_at=now or utcnow()))
        except IntegrityError:
            pass


def report_outage(
    s: Session,
    contact: Contact,
    channel: str,
    place: Place,
    description: str,
    account: Account | None = None,
    address: str | None = None,
    source_key: str | None = None,
    now: datetime | None = None,
    rules: Rules | None = None,
    callback_phone: str | None = None,
    place_to_confirm: bool = False,
    require_callback: bool = False,
) -> OutageReport:
    """An outage report: planned outage → tell; known fault → attach; else open a repair ticket.

    The customer's own open repair ticket counts only for the same place (or when no place is known):
    an outage at another address is a new report. With ``require_callback`` no repair ticket is opened
    without ``callback_phone`` (outcome ``needs_callback``)."""
    now = now or utcnow()
    rules = rules or get_rules()
    replay = by_source(s, source_key)
    if replay is not None:
        return OutageReport("created", replay)
    if not place.known and account is not None:
        place = Place(account.township, account.village, account.area_type)
    planned = active_planned_outage(s, place, now)
    if planned is not None:
        return OutageReport("planned", planned=planned)
    own = _recent_open_of_contact(s, contact, "repair", now, rules)
    if own is not None and (not place.known or (own.township, own.village) == (place.township, place.village)
                            or (own.township == place.township and not place.village)):
        return OutageReport("same_customer", own)
    if place.village:
        # two servers taking reports from one village at once must not both open a ticket
        locks.hold(s, f"repair-area:{place.township}/{place.village}")
        area_ticket = s.scalar(
            select(Ticket)
            .where(
                Ticket.type == "repair",
                Ticket.status.in_(OPEN_TICKET_STATUSES),
                Ticket.township == place.township,
                Ticket.village == place.village,
            )
            .order_by(Ticket.created_at.desc())
            .limit(1)
        )
        if area_ticket is not None:
            follow(s, area_ticket, contact, now)
            return OutageReport("area", area_ticket)
    if require_callback and not callback_phone:
        return OutageReport("needs_callback")
    ticket = create(
        s, "repair", channel, description, contact=contact, account=account, place=place, address=address,
        source_key=source_key, now=now, rules=rules, callback_phone=callback_phone, place_to_confirm=place_to_confirm,
    )
    return OutageReport("created", ticket)


def report_hazard(
    s: Session,
    contact: Contact,
    channel: str,
    place: Place,
    address: str,
    description: str,
    subtype: str | None = None,
    source_key: str | None = None,
    now: datetime | None = None,
    rules: Rules | None = None,
    account: Account | None = None,
    callback_phone: str | None = None,
    place_to_confirm: bool = False,
) -> Ticket:
    """An urgent hazard ticket; the same customer's open hazard ticket at the same place within the window is reused.

    Filed at once (safety first): without ``callback_phone`` it is flagged ``callback_pending`` until
    :func:`set_callback_phone` gives it one."""
    now = now or utcnow()
    rules = rules or get_rules()
    replay = by_source(s, source_key)
    if replay is not None:
        return replay
    own = _recent_open_of_contact(s, contact, "hazard", now, rules)
    if own is not None and own.township == place.township and own.village == place.village and (
        own.address or "") == (address or "")[:200]:
        return own
    return create(
        s, "hazard", channel, description, contact=contact, place=place, address=address, subtype=subtype,
        priority="urgent", source_key=source_key, now=now, rules=rules, account=account, callback_phone=callback_phone,
        place_to_confirm=place_to_confirm, callback_pending=not callback_phone,
    )


def callback_known(s: Session, ticket: Ticket, contact: Contact) -> bool:
    """Do we have a number to call this customer back about this ticket (theirs, or as a follower)?"""
    if ticket.contact_id == contact.id:
        return bool(ticket.callback_phone)
    row = s.scalar(
        select(TicketFollower).where(TicketFollower.ticket_id == ticket.id, TicketFollower.contact_id == contact.id)
    )
    return bool(row is not None and row.callback_phone)


def set_callback_phone(s: Session, ticket: Ticket, contact: Contact, phone: str, actor: str,
                       now: datetime | None = None) -> None:
    """Record the number (normalised 11-digit mobile) to call ``contact`` back on about ``ticket``: the
    ticket's own number for its opener (clearing ``callback_pending``), the follower's otherwise."""
    now = now or utcnow()
    if ticket.contact_id == contact.id:
        ticket.callback_phone = phone
        ticket.callback_pending = False
        ticket.updated_at = now
    else:
        follow(s, ticket, contact, now)
        row = s.scalar(
            select(TicketFollower).where(TicketFollower.ticket_id == ticket.id, TicketFollower.contact_id == contact.id)
        )
        if row is not None:
            row.callback_phone = phone
    audit.record(s, actor, "ticket.callback_phone", "ticket", ticket.ticket_no, now=now)


def visible_to(s: Session, ticket: Ticket, contact: Contact) -> bool:
    """May this customer see this ticket? (opened it, follows it, or it is on a bound account)."""
    if ticket.contact_id == contact.id:
        return True
    if s.scalar(
        select(TicketFollower.id).where(TicketFollower.ticket_id == ticket.id, TicketFollower.contact_id == contact.id)
    ):
        return True
    if ticket.account_id is not None:
        return bool(
            s.scalar(
                select(Binding.id).where(
                    Binding.contact_id == contact.id, Binding.account_id == ticket.account_id, Binding.unbound_at.is_(None)
                )
            )
        )
    return False


def for_contact(s: Session, contact: Contact, limit: int = 3, open_only: bool = False,
                types: Sequence[str] | None = None) -> List[Ticket]:
    """The customer's tickets (opened, followed, or on bound accounts), newest first."""
    followed = select(TicketFollower.ticket_id).where(TicketFollower.contact_id == contact.id)
    bound = select(Binding.account_id).where(Binding.contact_id == contact.id, Binding.unbound_at.is_(None))
    q = select(Ticket).where(
        or_(Ticket.contact_id == contact.id, Ticket.id.in_(followed), Ticket.account_id.in_(bound))
    )
    if open_only:
        q = q.where(Ticket.status.in_(OPEN_TICKET_STATUSES))
    if types:
        q = q.where(Ticket.type.in_(list(types)))
    return list(s.scalars(q.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Progress:
    ticket: Ticket
    history: List[TicketEvent] = field(default_factory=list)
    is_open: bool = True
    overdue: bool = False
    at_risk: bool = False


def sla_kept(ticket_type: str, status: str) -> bool:
    """Does ``status`` keep the SLA commitment? Repair and hazard: the crew is on site (or later).
    Complaint and call-back: someone has taken it up (the commitment is to contact the customer).
    Meter calibration and applications: done (resolved or closed). A cancelled ticket keeps nothing."""
    if ticket_type in ("repair", "hazard", "defect"):
        return status in ("on_site", "resolved", "closed")
    if ticket_type in ("complaint", "callback"):
        return status in ("dispatched", "on_site", "resolved", "closed")
    return status in ("resolved", "closed")


def sla_met_at(ticket: Ticket) -> datetime | None:
    """When the ticket first reached a status that keeps its SLA commitment (None: not yet)."""
    return next((e.at for e in ticket.events if sla_kept(ticket.type, e.status)), None)


def progress(ticket: Ticket, now: datetime | None = None, rules: Rules | None = None) -> Progress:
    """Where a ticket stands and whether its SLA is overdue or at risk."""
    now = now or utcnow()
    rules = rules or get_rules()
    is_open = ticket.status in OPEN_TICKET_STATUSES
    met = sla_kept(ticket.type, ticket.status)
    overdue = at_risk = False
    if is_open and not met and ticket.sla_deadline is not None:
        overdue = now > ticket.sla_deadline
        span = (ticket.sla_deadline - ticket.created_at).total_seconds()
        left = (ticket.sla_deadline - now).total_seconds()
        at_risk = not overdue and span > 0 and left < span * rules.sla.at_risk_fraction
    # corrections of the description are the office's own history, not a step the customer is told about
    history = [e for e in ticket.events if not e.note.startswith(DESCRIPTION_CORRECTED + ":")]
    return Progress(ticket, history, is_open, overdue, at_risk)


def set_status(
    s: Session, ticket: Ticket, status: str, actor: str, note: str = "", now: datetime | None = None
) -> TicketEvent:
    """Move a ticket to ``status``, recording history and an audit entry."""
    if status not in TICKET_STATUSES:
        raise ValueError(f"unknown ticket status {status!r}")
    now = now or utcnow()
    before = ticket.status
    ticket.status = status
    ticket.updated_at = now
    event = TicketEvent(ticket_id=ticket.id, at=now, status=status, note=note, actor=actor)
    s.add(event)
    audit.record(s, actor, "ticket.status", "ticket", ticket.ticket_no, now=now, before=before, after=status)
    return event


#: the note of a ticket event that corrects the description; the event keeps the text it replaced
DESCRIPTION_CORRECTED = "description_corrected"


def correct_description(s: Session, ticket: Ticket, text: str, actor: str, now: datetime | None = None) -> TicketEvent:
    """Replace a ticket's description (an agent correcting "我要投诉" into what the complaint is about),
    keeping the replaced text in the ticket's history: a :class:`TicketEvent` at the unchanged status whose
    ``note`` is ``description_corrected:`` followed by the old text. ``ValueError`` on an empty text."""
    text = " ".join(str(text or "").split())[:2000]
    if not text:
        raise ValueError("empty description")
    now = now or utcnow()
    before = ticket.description or ""
    ticket.description = text
    ticket.updated_at = now
    event = TicketEvent(ticket_id=ticket.id, at=now, status=ticket.status, note=f"{DESCRIPTION_CORRECTED}:{before}",
                        actor=actor)
    s.add(event)
    audit.record(s, actor, "ticket.description", "ticket", ticket.ticket_no, now=now, chars=len(text))
    return event


def description_history(ticket: Ticket) -> List[Tuple[datetime, str, str]]:
    """(when, who, the text it had before) for every correction of the description, oldest first."""
    prefix = DESCRIPTION_CORRECTED + ":"
    return [(e.at, e.actor, e.note[len(prefix):]) for e in ticket.events if e.note.startswith(prefix)]


def attach(s: Session, ticket: Ticket, kind: str, ref: str, actor: str, now: datetime | None = None) -> None:
    """Add a photo or a location to a ticket. A photo's file is the one the channel kept under MEDIA_DIR
    for the same reference when it arrived (see :mod:`bot.domain.media`)."""
    s.add(TicketAttachment(ticket_id=ticket.id, kind=kind, ref=ref[:2000], created_at=now or utcnow(),
                           stored_file=media.file_key(ref) if kind == "image" else None))
    audit.record(s, actor, "ticket.attach", "ticket", ticket.ticket_no, now=now, kind=kind)


def rate(s: Session, contact: Contact, sender_id: str, score: int, ticket_id: int | None,
         now: datetime | None = None) -> SatisfactionRating:
    """Record the customer's 1–5 rating of how a ticket the bot opened was handled."""
    if not 1 <= score <= 5:
        raise ValueError("score must be 1..5")
    rating = SatisfactionRating(contact_id=contact.id, sender_id=sender_id, score=score, ticket_id=ticket_id,
                                created_at=now or utcnow())
    s.add(rating)
    s.flush()
    return rating
