"""Escalation that nobody has to remember: a periodic scan (scheduled by the job queue) flags tickets
whose SLA is ``sla.escalation_flag_fraction`` (80 %) used up without a commitment-keeping status, and
puts overdue ones on the supervisors' escalation list.

The scan is idempotent — each mark is set once, with a conditional UPDATE, so two schedulers running at
once or a scan repeated after a crash flag a ticket once — and returns what it changed, so the caller can
tell the on-duty supervisor (an SMS, when configured) about new escalations only. Rule source: 国家电网公司
供电服务"十项承诺" arrival and contact limits (service_rules.yml ``sla``) and the management mechanism with
time limits of the seed paper (2.1, 3.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.domain import audit
from bot.domain.models import OPEN_TICKET_STATUSES, Ticket, TicketNote
from bot.domain.rules import Rules, get_rules
from bot.domain.tickets import sla_kept

ACTOR = "system:escalation"


@dataclass(frozen=True)
class Change:
    """One mark the scan set: ``kind`` is ``at_risk`` (≥ the flag fraction of the SLA used) or
    ``escalated`` (past the deadline: on the escalation list)."""

    ticket_no: str
    kind: str
    ticket_type: str
    township: str | None
    sla_deadline: datetime


def used_fraction(ticket: Ticket, now: datetime) -> float:
    """How much of the SLA time has passed (0.0 at creation, 1.0 at the deadline; may exceed 1)."""
    span = (ticket.sla_deadline - ticket.created_at).total_seconds()
    if span <= 0:
        return 1.0
    return (now - ticket.created_at).total_seconds() / span


def _mark(s: Session, ticket: Ticket, column: str, kind: str, now: datetime) -> Change | None:
    col = getattr(Ticket, column)
    result = s.execute(update(Ticket).where(Ticket.id == ticket.id, col.is_(None)).values({column: now}))
    if not result.rowcount:
        return None  # another scan set it first
    s.add(TicketNote(ticket_id=ticket.id, kind=kind, text=kind, author=ACTOR, at=now))
    audit.record(s, ACTOR, f"ticket.{kind}", "ticket", ticket.ticket_no, now=now,
                 sla_deadline=ticket.sla_deadline.isoformat())
    return Change(ticket.ticket_no, kind, ticket.type, ticket.township, ticket.sla_deadline)


def scan(s: Session, now: datetime, rules: Rules | None = None) -> List[Change]:
    """Flag and escalate what is due at ``now`` (naive UTC); returns the marks set by this call
    (empty when run again with nothing new)."""
    rules = rules or get_rules()
    fraction = rules.sla.escalation_flag_fraction
    q = select(Ticket).where(
        Ticket.status.in_(OPEN_TICKET_STATUSES),
        Ticket.merged_into_id.is_(None),
        Ticket.sla_deadline.is_not(None),
        (Ticket.at_risk_flagged_at.is_(None)) | (Ticket.escalated_at.is_(None)),
    )
    changes: List[Change] = []
    for ticket in list(s.scalars(q.order_by(Ticket.sla_deadline))):
        if sla_kept(ticket.type, ticket.status):
            continue
        used = used_fraction(ticket, now)
        if used >= fraction and ticket.at_risk_flagged_at is None:
            change = _mark(s, ticket, "at_risk_flagged_at", "at_risk", now)
            if change:
                changes.append(change)
        if now > ticket.sla_deadline and ticket.escalated_at is None:
            change = _mark(s, ticket, "escalated_at", "escalated", now)
            if change:
                changes.append(change)
    s.flush()
    s.expire_all()
    return changes


def escalation_list(s: Session) -> List[Ticket]:
    """The supervisors' escalation list: open tickets past their deadline, the longest overdue first."""
    q = select(Ticket).where(
        Ticket.status.in_(OPEN_TICKET_STATUSES), Ticket.merged_into_id.is_(None), Ticket.escalated_at.is_not(None)
    )
    return [t for t in s.scalars(q.order_by(Ticket.sla_deadline)) if not sla_kept(t.type, t.status)]


def flagged(s: Session) -> List[Ticket]:
    """Open tickets flagged at risk (the crew's and supervisors' warning), soonest deadline first."""
    q = select(Ticket).where(
        Ticket.status.in_(OPEN_TICKET_STATUSES), Ticket.merged_into_id.is_(None),
        Ticket.at_risk_flagged_at.is_not(None),
    )
    return [t for t in s.scalars(q.order_by(Ticket.sla_deadline)) if not sla_kept(t.type, t.status)]
