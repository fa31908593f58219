"""Working tickets in the back office (供电所 / 抢修班): status along the allowed transitions, crews,
ETAs, merging duplicates into one incident, internal notes, description corrections and urges (催办).

Every status change writes a :class:`TicketEvent` in the same transaction as the change — the notices
worker reads those rows to tell the customer who opened the ticket and its followers — and every action
is audited. Times are naive UTC. Rules: the ticket life cycle of the utility's repair process
(受理 → 派单 → 到达现场 → 处理完毕 → 归档, or 撤销; a resolved ticket the customer disputes is reopened).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, FrozenSet, List, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import audit
from bot.domain.models import (
    OPEN_TICKET_STATUSES,
    Account,
    Contact,
    Crew,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketNote,
)
from bot.domain.rules import Rules, get_rules
from bot.domain.tickets import progress, sla_kept

#: Where a ticket may go from each status. Forward moves may skip a step (a dispatch system sometimes
#: reports "on site" without "dispatched"); ``dispatched`` → ``dispatched`` re-dispatches (new crew or
#: ETA); ``resolved`` → ``open`` reopens; final statuses go nowhere.
TRANSITIONS: Dict[str, FrozenSet[str]] = {
    "open": frozenset({"dispatched", "on_site", "resolved", "cancelled"}),
    "dispatched": frozenset({"dispatched", "on_site", "resolved", "cancelled"}),
    "on_site": frozenset({"resolved", "cancelled"}),
    "resolved": frozenset({"closed", "open"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
NOTE_KINDS = ("note", "correction", "urge", "at_risk", "escalated", "merged")
MAX_NOTE = 1000


class DispatchError(Exception):
    """A refused back-office operation. ``reason``: ``transition`` (not allowed from the current status),
    ``merged`` (the ticket was merged into another), ``crew`` (unknown or inactive crew), ``merge``
    (the two tickets cannot be merged), ``empty`` (no text), ``eta`` (an ETA in the past)."""

    def __init__(self, reason: str, **info: object) -> None:
        super().__init__(reason)
        self.reason, self.info = reason, info


def allowed(before: str, after: str) -> bool:
    """May a ticket move from ``before`` to ``after``?"""
    return after in TRANSITIONS.get(before, frozenset())


def surviving(s: Session, ticket: Ticket) -> Ticket:
    """The ticket that stands for ``ticket``: itself, or the incident it was merged into (followed to
    the end of the chain)."""
    seen = {ticket.id}
    while ticket.merged_into_id is not None:
        nxt = s.get(Ticket, ticket.merged_into_id)
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        ticket = nxt
    return ticket


def _note(s: Session, ticket: Ticket, kind: str, text: str, author: str, now: datetime) -> TicketNote:
    note = TicketNote(ticket_id=ticket.id, kind=kind, text=text[:MAX_NOTE], author=author, at=now)
    s.add(note)
    s.flush()
    return note


def transition(
    s: Session,
    ticket: Ticket,
    status: str,
    actor: str,
    note: str = "",
    crew: Crew | None = None,
    eta: datetime | None = None,
    now: datetime | None = None,
) -> TicketEvent:
    """Move ``ticket`` to ``status`` (``open`` from ``resolved`` reopens), optionally assigning ``crew``
    and an ``eta`` (naive UTC), with a history event and an audit entry in the caller's transaction.

    A repeat of the ticket's current status with nothing new (no note, the same crew and ETA) changes
    nothing and returns the latest event: the customer is not told the same news twice.

    Raises :class:`DispatchError` ``merged`` for a ticket merged into another (act on
    :func:`surviving`), ``transition`` when :data:`TRANSITIONS` does not allow it.
    """
    now = now or utcnow()
    if ticket.merged_into_id is not None:
        raise DispatchError("merged", into=surviving(s, ticket).ticket_no)
    before = ticket.status
    if not allowed(before, status):
        raise DispatchError("transition", before=before, after=status)
    if (status == before and not note and (crew is None or crew.id == ticket.crew_id)
            and (eta is None or eta == ticket.eta)):
        latest = s.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                          .order_by(TicketEvent.id.desc()).limit(1))
        if latest is not None and latest.status == status:
            return latest  # the same news again (a repeated click, another system's copy): nothing happens
    if crew is not None:
        _check_crew(crew)
        ticket.crew_id = crew.id
    if eta is not None:
        ticket.eta = eta
    if status == "open":  # reopened: the escalation marks start afresh, the crew keeps the ticket
        ticket.at_risk_flagged_at = ticket.escalated_at = None
    ticket.status = status
    ticket.updated_at = now
    event = TicketEvent(ticket_id=ticket.id, at=now, status=status, note=note[:MAX_NOTE], actor=actor)
    s.add(event)
    s.flush()
    audit.record(s, actor, "ticket.status", "ticket", ticket.ticket_no, now=now, before=before, after=status,
                 crew=crew.name if crew else None, eta=eta.isoformat() if eta else None)
    return event


def _check_crew(crew: Crew) -> None:
    if not crew.active:
        raise DispatchError("crew", crew=crew.name)


def assign(s: Session, ticket: Ticket, crew: Crew, actor: str, eta: datetime | None = None,
           now: datetime | None = None) -> Ticket:
    """Give the ticket to ``crew`` (and an ETA) without changing its status; audited. An open ticket
    assigned to a crew is *not* dispatched until someone says so (that is what the customer hears)."""
    now = now or utcnow()
    if ticket.merged_into_id is not None:
        raise DispatchError("merged", into=surviving(s, ticket).ticket_no)
    _check_crew(crew)
    before = ticket.crew.name if ticket.crew else None
    ticket.crew_id = crew.id
    if eta is not None:
        ticket.eta = eta
    ticket.updated_at = now
    s.flush()
    audit.record(s, actor, "ticket.assign", "ticket", ticket.ticket_no, now=now, before=before, crew=crew.name,
                 eta=eta.isoformat() if eta else None)
    return ticket


def add_note(s: Session, ticket: Ticket, text: str, actor: str, now: datetime | None = None) -> TicketNote:
    """An internal note (never shown to the customer); audited without its text."""
    text = " ".join(str(text or "").split())
    if not text:
        raise DispatchError("empty")
    now = now or utcnow()
    note = _note(s, ticket, "note", text, actor, now)
    audit.record(s, actor, "ticket.note", "ticket", ticket.ticket_no, now=now, note_id=note.id)
    return note


def correct_description(s: Session, ticket: Ticket, text: str, actor: str, now: datetime | None = None) -> Ticket:
    """Replace the description (an agent's correction of what the bot understood); the old text is kept
    as a ``correction`` note so the history stays whole."""
    text = str(text or "").strip()
    if not text:
        raise DispatchError("empty")
    now = now or utcnow()
    _note(s, ticket, "correction", ticket.description or "", actor, now)
    ticket.description = text[:2000]
    ticket.updated_at = now
    audit.record(s, actor, "ticket.correct", "ticket", ticket.ticket_no, now=now, chars=len(text))
    return ticket


@dataclass(frozen=True)
class Urge:
    """What an urge did: the ticket it was recorded on, how many urges it has now, and whether this one
    was recorded (``False`` when the ticket is finished — nothing to hurry)."""

    ticket: Ticket
    count: int
    recorded: bool


def urge(s: Session, ticket: Ticket, contact: Contact | None, actor: str, channel: str = "",
         now: datetime | None = None) -> Urge:
    """A customer's 催办 (``催一下``/``怎么还没来``) on an open ticket: counted on the ticket (the queue
    shows it), noted in its history and audited. On a merged ticket it lands on the surviving incident."""
    now = now or utcnow()
    ticket = surviving(s, ticket)
    if ticket.status not in OPEN_TICKET_STATUSES:
        return Urge(ticket, ticket.urge_count or 0, False)
    s.execute(update(Ticket).where(Ticket.id == ticket.id)
              .values(urge_count=Ticket.urge_count + 1, last_urged_at=now))
    s.refresh(ticket)
    _note(s, ticket, "urge", channel or "customer", actor, now)
    audit.record(s, actor, "ticket.urge", "ticket", ticket.ticket_no, now=now, count=ticket.urge_count,
                 contact_id=contact.id if contact else None)
    return Urge(ticket, ticket.urge_count, True)


def merge(s: Session, duplicate: Ticket, into: Ticket, actor: str, note: str = "",
          now: datetime | None = None) -> Ticket:
    """Merge ``duplicate`` into the incident ``into``: the duplicate keeps its row, gets ``merged_into_id``
    and a ``cancelled`` history event (so it leaves the queue), and its opener and followers follow
    ``into`` — they hear its notices from now on. Its urges add to the incident's.

    Raises :class:`DispatchError` ``merge`` when the two are the same, either is finished, or ``into``
    was itself merged away.
    """
    now = now or utcnow()
    duplicate, into = surviving(s, duplicate), surviving(s, into)
    if duplicate.id == into.id:
        raise DispatchError("merge", why="same")
    if duplicate.status not in OPEN_TICKET_STATUSES or into.status not in OPEN_TICKET_STATUSES:
        raise DispatchError("merge", why="finished")
    contact_ids: List[int] = [duplicate.contact_id] if duplicate.contact_id else []
    contact_ids += list(s.scalars(select(TicketFollower.contact_id).where(TicketFollower.ticket_id == duplicate.id)))
    present = set(s.scalars(select(TicketFollower.contact_id).where(TicketFollower.ticket_id == into.id)))
    for contact_id in contact_ids:
        if contact_id != into.contact_id and contact_id not in present:
            s.add(TicketFollower(ticket_id=into.id, contact_id=contact_id, created_at=now))
            present.add(contact_id)
    duplicate.merged_into_id = into.id
    into.urge_count = (into.urge_count or 0) + (duplicate.urge_count or 0)
    if duplicate.last_urged_at and (not into.last_urged_at or duplicate.last_urged_at > into.last_urged_at):
        into.last_urged_at = duplicate.last_urged_at
    text = note or f"并入{into.ticket_no}"
    duplicate.status = "cancelled"
    duplicate.updated_at = into.updated_at = now
    s.add(TicketEvent(ticket_id=duplicate.id, at=now, status="cancelled", note=text[:MAX_NOTE], actor=actor))
    _note(s, into, "merged", duplicate.ticket_no, actor, now)
    s.flush()
    audit.record(s, actor, "ticket.merge", "ticket", duplicate.ticket_no, now=now, into=into.ticket_no,
                 followers_moved=len(contact_ids))
    return into


# ----------------------------------------------------------------------------------------- the queue


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters; ``None``/empty means any."""

    types: Sequence[str] = ()
    township: str | None = None
    statuses: Sequence[str] = ()
    crew_id: int | None = None
    overdue_only: bool = False
    exclude_types: Sequence[str] = ()  # e.g. personal-data requests, which only supervisors see


@dataclass(frozen=True)
class QueueItem:
    ticket: Ticket
    seconds_left: int | None  # until the SLA deadline; negative = overdue; None = no deadline or kept
    overdue: bool
    at_risk: bool
    key_customer: bool


def urgency_key(item: QueueItem) -> tuple:
    """Sort order of the queue: key customers' repair tickets first, then overdue, then least time
    left, then urged more often, then oldest."""
    key_repair = item.key_customer and item.ticket.type in ("repair", "hazard")
    left = item.seconds_left if item.seconds_left is not None else 10**9
    return (not key_repair, not item.overdue, left, -(item.ticket.urge_count or 0), item.ticket.created_at,
            item.ticket.id)


def queue(s: Session, filters: QueueFilter | None = None, now: datetime | None = None,
          rules: Rules | None = None, limit: int = 500) -> List[QueueItem]:
    """Every not-finished ticket of every type and channel (merged duplicates left out), with its SLA
    clock, filtered and sorted by :func:`urgency_key`."""
    now = now or utcnow()
    rules = rules or get_rules()
    f = filters or QueueFilter()
    statuses = [st for st in (f.statuses or OPEN_TICKET_STATUSES) if st in OPEN_TICKET_STATUSES]
    q = select(Ticket).where(Ticket.status.in_(statuses), Ticket.merged_into_id.is_(None))
    if f.types:
        q = q.where(Ticket.type.in_(list(f.types)))
    if f.exclude_types:
        q = q.where(Ticket.type.notin_(list(f.exclude_types)))
    if f.township:
        q = q.where(Ticket.township == f.township)
    if f.crew_id is not None:
        q = q.where(Ticket.crew_id == f.crew_id)
    keyed = set(s.scalars(select(Account.id).where(Account.key_customer.is_(True))))
    items = []
    for ticket in s.scalars(q.limit(limit * 4)):
        p = progress(ticket, now, rules)
        kept = sla_kept(ticket.type, ticket.status)
        left = None if ticket.sla_deadline is None or kept else int((ticket.sla_deadline - now).total_seconds())
        item = QueueItem(ticket, left, p.overdue, p.at_risk, ticket.account_id in keyed)
        if f.overdue_only and not item.overdue:
            continue
        items.append(item)
    items.sort(key=urgency_key)
    return items[:limit]
