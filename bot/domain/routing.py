"""Routing conversations to agents: skill groups, capacity, presence, working hours and who goes first.

The rules (issue 15, as call centres of this trade work):

- the intent that brought the customer decides the skill group (:func:`group_for`); 重点关爱客户 (key
  customers: a flagged bound account) go to the ``senior`` group;
- an agent serves their skill groups (none listed = every group), at most ``max_chats`` conversations at
  once, and gets new ones only while ``online`` (not ``busy`` or ``away``);
- a group takes conversations only within its hours, which lie inside ``CONSOLE_HOURS``;
- order of precedence: key customers first; then a customer who comes back within 24 hours goes to the
  agent they had, when that agent is online with room; then the least-loaded agent of the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.config import SKILL_GROUPS
from bot.domain import handoffs
from bot.domain.models import Account, Binding, Contact, Handoff, StaffUser

GROUPS = SKILL_GROUPS
PRESENCES = ("online", "busy", "away")
RETURNING_WITHIN = timedelta(hours=24)

#: the skill group of each intent that can bring a customer to an agent (the NLU contract's names)
INTENT_GROUPS: Mapping[str, str] = {
    "query_bill": "billing",
    "query_balance": "billing",
    "query_usage": "billing",
    "payment_methods": "billing",
    "query_tariff": "billing",
    "bind_account": "billing",
    "meter_issue": "billing",
    "report_outage": "repair",
    "report_hazard": "repair",
    "query_repair_progress": "repair",
    "query_planned_outage": "repair",
    "complaint": "complaints",
    "business_application": "business",
}
DEFAULT_GROUP = "billing"  # a customer who only asked for a person: the general counter


def group_for(intent: str | None, reason: str, key_customer: bool = False) -> str:
    """The skill group of a hand-over: ``senior`` for key customers, ``complaints`` for a complaint
    hand-over, else the group of the intent that brought the customer (``billing`` when none)."""
    if key_customer:
        return "senior"
    if reason == "complaint":
        return "complaints"
    return INTENT_GROUPS.get(intent or "", DEFAULT_GROUP)


def open_group(group: str, group_hours: Mapping[str, str], now: datetime | None = None) -> str:
    """The group that takes a conversation of ``group`` now: itself within its hours
    (``CONSOLE_GROUP_HOURS``; a group not listed keeps CONSOLE_HOURS), else the general counter."""
    hours = group_hours.get(group)
    if hours is None or handoffs.staffed(hours, now):
        return group
    return DEFAULT_GROUP


def key_customer_reason(s: Session, contact: Contact | None) -> str | None:
    """Why the customer is a 重点关爱客户 (the reason on a flagged account they have bound), or None."""
    if contact is None:
        return None
    row = s.execute(
        select(Account.key_customer_reason).join(Binding, Binding.account_id == Account.id)
        .where(Binding.contact_id == contact.id, Binding.unbound_at.is_(None), Account.key_customer.is_(True))
        .limit(1)).first()
    return None if row is None else (row[0] or "")


def serves(agent: StaffUser, group: str | None) -> bool:
    """Does ``agent`` take conversations of ``group``? (no groups listed = every group; a hand-over
    without a group, from before routing, only to those)"""
    groups = [g for g in (agent.skill_groups or "").split(",") if g]
    return not groups or group in groups


def loads(s: Session) -> Dict[int, int]:
    """Active conversations per agent id."""
    rows = s.execute(select(Handoff.owner_id, func.count()).where(Handoff.status == "active")
                     .group_by(Handoff.owner_id))
    return {owner: int(n) for owner, n in rows if owner is not None}


def previous_agent(s: Session, handoff: Handoff, now: datetime | None = None) -> StaffUser | None:
    """The agent of this customer's hand-over that ended within the last 24 hours, if any."""
    now = now or utcnow()
    earlier = s.scalar(
        select(Handoff).where(Handoff.sender_id == handoff.sender_id, Handoff.id != handoff.id,
                              Handoff.status == "closed", Handoff.owner_id.isnot(None),
                              Handoff.closed_at >= now - RETURNING_WITHIN)
        .order_by(Handoff.closed_at.desc()).limit(1))
    return earlier.owner if earlier is not None else None


@dataclass(frozen=True)
class Choice:
    agent: StaffUser
    why: str  # returning | least_loaded


def choose_agent(s: Session, handoff: Handoff, agents: Sequence[StaffUser], now: datetime | None = None) -> Choice | None:
    """Who should take ``handoff`` among ``agents`` (those on duty): the customer's agent of the last
    24 hours when online with room, else the least-loaded online agent of its group with room (ties:
    the one who has waited longest since their last conversation, then the lowest id). None when nobody
    can."""
    load = loads(s)

    def room(a: StaffUser) -> bool:
        return a.active and a.presence == "online" and load.get(a.id, 0) < (a.max_chats or 0)

    before = previous_agent(s, handoff, now)
    if before is not None and room(before) and any(a.id == before.id for a in agents):
        return Choice(before, "returning")
    fit = [a for a in agents if room(a) and serves(a, handoff.skill_group)]
    if not fit:
        return None
    return Choice(min(fit, key=lambda a: (load.get(a.id, 0), a.id)), "least_loaded")


def assign_next(s: Session, agent: StaffUser, agents: Sequence[StaffUser], now: datetime | None = None) -> Handoff | None:
    """Auto-assignment as ``agent``'s console asks for work: the first waiting hand-over, in queue
    order (key customers first), that routing gives to ``agent`` is taken by them (a conditional
    update, so two consoles cannot take one conversation). None when none is theirs."""
    for handoff in handoffs.queue(s):
        choice = choose_agent(s, handoff, agents, now)
        if choice is not None and choice.agent.id == agent.id:
            try:
                return handoffs.take(s, handoff.id, agent, now=now)
            except handoffs.HandoffError:
                continue
    return None
