"""What the company's systems (dispatch / 供电服务指挥系统, marketing) do to tickets through the
back-office API, as domain operations: ticket events idempotent on ``event_id``, and the ticket listing.

Contract: shared spec "Back-office integration API". A retried event (same ``event_id``, same body)
changes nothing and notifies nobody — no second TicketEvent row is written, so the notices worker has
nothing new to read; the same ``event_id`` with another body is a conflict.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import crews, dispatch, tickets
from bot.domain.models import OPEN_TICKET_STATUSES, SUPERVISOR_TICKET_TYPES, TICKET_STATUSES, IntegrationEvent, Ticket

#: The statuses an event may carry; ``reopened`` moves a resolved ticket back to ``open``.
EVENT_STATUSES = ("dispatched", "on_site", "resolved", "closed", "cancelled", "reopened")


class EventConflict(Exception):
    """The ``event_id`` was used before with another body."""


@dataclass(frozen=True)
class EventResult:
    ticket_no: str
    status: str
    duplicate: bool

    def as_dict(self) -> Dict[str, Any]:
        return {"ticket_no": self.ticket_no, "status": self.status, "duplicate": self.duplicate}


def body_hash(ticket_no: str, body: Dict[str, Any]) -> str:
    """A fingerprint of an event: the ticket it was posted to and its body (key order ignored)."""
    canonical = json.dumps({"ticket_no": ticket_no.upper(), "body": body}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _previous(s: Session, system: str, event_id: str) -> IntegrationEvent | None:
    return s.scalar(select(IntegrationEvent).where(IntegrationEvent.system == system,
                                                   IntegrationEvent.event_id == event_id))


def _replay(previous: IntegrationEvent, fingerprint: str) -> EventResult:
    if previous.body_hash != fingerprint:
        raise EventConflict(previous.event_id)
    return EventResult(previous.result["ticket_no"], previous.result["status"], True)


def ticket_event(
    s: Session,
    system: str,
    ticket_no: str,
    body: Dict[str, Any],
    eta: datetime | None = None,
    now: datetime | None = None,
) -> EventResult:
    """Apply a validated event body (``status``, ``event_id``, optional ``note``, ``crew``; ``eta`` already
    parsed to naive UTC) to ``ticket_no`` — or to the incident it was merged into — on behalf of
    ``system``.

    Raises LookupError for an unknown ticket (and for a customer's personal-data request, which no outside
    system may see or change), :class:`EventConflict` for an ``event_id`` reused with
    another body, :class:`bot.domain.dispatch.DispatchError` for a transition not allowed (or an
    inactive crew). A crew the dispatch system names that we do not know yet is added.
    """
    now = now or utcnow()
    event_id = body["event_id"]
    fingerprint = body_hash(ticket_no, body)
    previous = _previous(s, system, event_id)
    if previous is not None:
        return _replay(previous, fingerprint)
    ticket = tickets.by_no(s, ticket_no)
    if ticket is None or ticket.type in SUPERVISOR_TICKET_TYPES:  # personal-data requests: supervisors only
        raise LookupError(ticket_no)
    ticket = dispatch.surviving(s, ticket)
    actor = f"system:{system}"
    crew = None
    if body.get("crew"):
        crew = crews.by_name(s, body["crew"]) or crews.add(s, body["crew"], actor, now=now)
    status = "open" if body["status"] == "reopened" else body["status"]
    try:
        with s.begin_nested():
            dispatch.transition(s, ticket, status, actor, note=body.get("note") or "", crew=crew, eta=eta, now=now)
            result = EventResult(ticket.ticket_no, ticket.status, False)
            s.add(IntegrationEvent(system=system, event_id=event_id, body_hash=fingerprint,
                                   ticket_no=ticket.ticket_no, result=result.as_dict(), at=now))
            s.flush()
    except IntegrityError:
        # the same event raced us in from another request: answer as its retry
        previous = _previous(s, system, event_id)
        if previous is None:
            raise
        return _replay(previous, fingerprint)
    return result


def listing(
    s: Session,
    status: str | None = None,
    types: Sequence[str] = (),
    township: str | None = None,
    updated_since: datetime | None = None,
    limit: int = 1000,
) -> List[Ticket]:
    """Tickets for an outside system, oldest change first. ``status="open"`` means every not-final status
    (open, dispatched, on_site); another status matches exactly; ``None`` any. ``updated_since`` is
    naive UTC. Customers' personal-data requests (``SUPERVISOR_TICKET_TYPES``) are not listed: they are the
    supervisors' work, not the dispatch or marketing system's."""
    q = select(Ticket).where(Ticket.type.notin_(list(SUPERVISOR_TICKET_TYPES)))
    if status == "open":
        q = q.where(Ticket.status.in_(OPEN_TICKET_STATUSES))
    elif status in TICKET_STATUSES:
        q = q.where(Ticket.status == status)
    if types:
        q = q.where(Ticket.type.in_(list(types)))
    if township:
        q = q.where(Ticket.township == township)
    if updated_since is not None:
        q = q.where(Ticket.updated_at >= updated_since)
    return list(s.scalars(q.order_by(Ticket.updated_at, Ticket.id).limit(limit)))
