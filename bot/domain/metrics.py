"""Service quality over a period: what supervisors steer by.

Four views of the same records, all computed from what the product already stores (no counters to
drift out of step): the bot (conversations, how many it handled without an agent), the agents (wait
for an agent, conversations taken, first-response and handle time, ratings and supervisors' quality
scores per agent), tickets (opened by type, SLA met or missed) and
customer satisfaction (1–5 ratings after tickets and agent conversations).

A ticket's SLA counts as met when the commitment was kept before its deadline (``tickets.sla_kept``:
crew on site for repairs and hazards, the customer contacted for complaints and call-backs, the work
done for meter calibration and applications). Tickets whose deadline has not passed and that are not
yet done are "pending"; tickets cancelled before they were done are not counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.clock import utcnow
from bot.domain import supervision
from bot.domain.models import (
    OPEN_TICKET_STATUSES,
    TICKET_TYPES,
    Handoff,
    QualityScore,
    SatisfactionRating,
    StaffUser,
    Ticket,
    TranscriptEntry,
)
from bot.domain.tickets import progress, sla_met_at

MAX_DAYS = 366


@dataclass
class AgentLine:
    username: str
    display_name: str
    taken: int = 0
    closed: int = 0
    ratings: int = 0
    average_rating: float | None = None
    first_response_p50_s: float | None = None  # take-over → the agent's first message, median
    handle_p50_s: float | None = None  # take-over → close or hand-back, median
    quality_checks: int = 0
    average_quality: float | None = None  # supervisors' checklist scores, percent


@dataclass
class Report:
    since: datetime
    until: datetime
    conversations: int
    customer_messages: int
    conversations_by_channel: Dict[str, int]
    handed_to_agents: int
    bot_containment: float | None  # share of conversations that never needed an agent
    handoffs_by_reason: Dict[str, int]
    handoffs_taken: int
    waiting_now: int
    wait_p50_s: float | None
    wait_p90_s: float | None
    agents: List[AgentLine]
    tickets_opened: Dict[str, int]
    sla_met: int
    sla_missed: int
    sla_pending: int
    sla_met_rate: float | None
    overdue_open_now: int
    ratings: int
    average_rating: float | None
    rating_distribution: Dict[int, int]
    average_rating_bot: float | None  # ratings after tickets the bot opened
    average_rating_agents: float | None
    generated_at: datetime = field(default_factory=utcnow)

    def as_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        for key in ("since", "until", "generated_at"):
            data[key] = data[key].isoformat() + "Z"
        data["rating_distribution"] = {str(k): v for k, v in self.rating_distribution.items()}
        return data


def _percentile(values: Sequence[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[index], 1)


def _average(scores: Sequence[int]) -> float | None:
    return round(sum(scores) / len(scores), 2) if scores else None


def period(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last ``days`` days up to ``now`` (1 ≤ days ≤ 366)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS}")
    until = now or utcnow()
    return until - timedelta(days=days), until


def report(s: Session, since: datetime, until: datetime, now: datetime | None = None) -> Report:
    """Service quality between ``since`` and ``until`` (naive UTC); ``now`` for what is open right now."""
    now = now or utcnow()
    in_period = TranscriptEntry.created_at.between(since, until)
    customer = (TranscriptEntry.direction == "in") & (TranscriptEntry.author == "customer")
    by_channel = dict(
        s.execute(
            select(TranscriptEntry.channel, func.count(func.distinct(TranscriptEntry.sender_id)))
            .where(in_period, customer)
            .group_by(TranscriptEntry.channel)
        ).all()
    )
    conversations = int(
        s.scalar(select(func.count(func.distinct(TranscriptEntry.sender_id))).where(in_period, customer)) or 0
    )
    messages = int(s.scalar(select(func.count()).select_from(TranscriptEntry).where(in_period, customer)) or 0)

    handoffs = s.scalars(select(Handoff).where(Handoff.requested_at.between(since, until))).all()
    handed = len({h.sender_id for h in handoffs})
    waits = [(h.taken_at - h.requested_at).total_seconds() for h in handoffs if h.taken_at is not None]
    waiting_now = int(s.scalar(select(func.count()).select_from(Handoff).where(Handoff.status == "waiting")) or 0)

    agents: Dict[int, AgentLine] = {}
    scores_by_agent: Dict[int, List[int]] = defaultdict(list)
    owners = {u.id: u for u in s.scalars(select(StaffUser)).all()}

    def line(staff_id: int) -> AgentLine:
        if staff_id not in agents:
            user = owners[staff_id]
            agents[staff_id] = AgentLine(user.username, user.display_name)
        return agents[staff_id]

    first_responses: Dict[int, List[float]] = defaultdict(list)
    handle_times: Dict[int, List[float]] = defaultdict(list)
    for h in handoffs:
        if h.owner_id is not None:
            line(h.owner_id).taken += 1
            answered = supervision.first_response_at(s, h)
            if answered is not None and h.taken_at is not None:
                first_responses[h.owner_id].append((answered - h.taken_at).total_seconds())
            if h.status == "closed":
                line(h.owner_id).closed += 1
                if h.taken_at is not None and h.closed_at is not None:
                    handle_times[h.owner_id].append((h.closed_at - h.taken_at).total_seconds())
    for staff_id, agent in agents.items():
        agent.first_response_p50_s = _percentile(first_responses[staff_id], 50)
        agent.handle_p50_s = _percentile(handle_times[staff_id], 50)
    checks = s.scalars(select(QualityScore).where(QualityScore.created_at.between(since, until))).all()
    quality_by_agent: Dict[int, List[int]] = defaultdict(list)
    for q in checks:
        quality_by_agent[q.staff_id].append(q.score)
    for staff_id, percents in quality_by_agent.items():
        agent = line(staff_id)
        agent.quality_checks = len(percents)
        agent.average_quality = round(sum(percents) / len(percents), 1)

    ratings = s.scalars(select(SatisfactionRating).where(SatisfactionRating.created_at.between(since, until))).all()
    for r in ratings:
        if r.staff_id is not None:
            scores_by_agent[r.staff_id].append(r.score)
    for staff_id, scores in scores_by_agent.items():
        agent = line(staff_id)
        agent.ratings, agent.average_rating = len(scores), _average(scores)

    tickets = s.scalars(
        select(Ticket).where(Ticket.created_at.between(since, until)).options(selectinload(Ticket.events))
    ).all()
    met = missed = pending = 0
    for t in tickets:
        if t.sla_deadline is None:
            continue
        done_at = sla_met_at(t)
        if done_at is None and t.status == "cancelled":
            continue
        if done_at is not None and done_at <= t.sla_deadline:
            met += 1
        elif done_at is not None or now > t.sla_deadline:
            missed += 1
        else:
            pending += 1
    opened = Counter(t.type for t in tickets)
    overdue_open = sum(
        1
        for t in s.scalars(
            select(Ticket)
            .where(Ticket.sla_deadline < now, Ticket.status.in_(OPEN_TICKET_STATUSES))
            .options(selectinload(Ticket.events))
        ).all()
        if progress(t, now).overdue  # the same verdict the customer hears when asking for progress
    )

    scores = [r.score for r in ratings]
    return Report(
        since=since,
        until=until,
        conversations=conversations,
        customer_messages=messages,
        conversations_by_channel={k: int(v) for k, v in sorted(by_channel.items())},
        handed_to_agents=handed,
        bot_containment=round(1 - handed / conversations, 3) if conversations else None,
        handoffs_by_reason=dict(sorted(Counter(h.reason for h in handoffs).items())),
        handoffs_taken=len(waits),
        waiting_now=waiting_now,
        wait_p50_s=_percentile(waits, 50),
        wait_p90_s=_percentile(waits, 90),
        agents=sorted(agents.values(), key=lambda a: a.username),
        tickets_opened={t: opened.get(t, 0) for t in TICKET_TYPES},
        sla_met=met,
        sla_missed=missed,
        sla_pending=pending,
        sla_met_rate=round(met / (met + missed), 3) if met + missed else None,
        overdue_open_now=overdue_open,
        ratings=len(scores),
        average_rating=_average(scores),
        rating_distribution={n: scores.count(n) for n in range(1, 6)},
        average_rating_bot=_average([r.score for r in ratings if r.staff_id is None]),
        average_rating_agents=_average([r.score for r in ratings if r.staff_id is not None]),
        generated_at=now,
    )
