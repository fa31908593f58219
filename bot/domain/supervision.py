"""What supervisors watch and check: the live wall of open hand-overs against the service targets, and
quality sampling of closed ones against the checklist.

Targets and the checklist are the service rules' (``supervision:`` in service_rules.yml). The first
response of a hand-over is the owner's first message to the customer after taking it over (a transcript
entry ``agent:<username>`` at or after ``taken_at``); a forced takeover or a transfer to an agent starts
the clock again, since the new owner must answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import audit, handoffs
from bot.domain.models import Handoff, QualityScore, StaffUser, TranscriptEntry
from bot.domain.rules import Supervision


class QualityError(Exception):
    """A quality check refused; ``reason`` is stable (``not_found``, ``not_closed``, ``no_agent``,
    ``scored``, ``bad_items``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WallLine:
    """One open hand-over on the wall. Seconds are whole; ``first_response_s`` is None while the owner
    has not answered (``responding_s`` then counts since the take-over)."""

    handoff: Handoff
    wait_s: int
    wait_over: bool
    first_response_s: int | None
    responding_s: int | None
    first_response_over: bool


def first_response_at(s: Session, handoff: Handoff) -> datetime | None:
    """When the owner first wrote to the customer after taking ``handoff`` over (naive UTC), or None."""
    if handoff.taken_at is None or handoff.owner is None:
        return None
    return s.scalar(
        select(func.min(TranscriptEntry.created_at)).where(
            TranscriptEntry.sender_id == handoff.sender_id, TranscriptEntry.direction == "out",
            TranscriptEntry.author == f"agent:{handoff.owner.username}",
            TranscriptEntry.created_at >= handoff.taken_at,
            *([TranscriptEntry.created_at <= handoff.closed_at] if handoff.closed_at else []))
    )


def wall(s: Session, targets: Supervision, now: datetime | None = None) -> List[WallLine]:
    """Every waiting conversation (in queue order) and every active one (longest-owned first), with the
    customer's wait for an agent (request → take, or → now while waiting) and the owner's first-response
    time (take → first message, or → now while unanswered), each flagged when over its target."""
    now = now or utcnow()
    lines = []
    for h in handoffs.queue(s) + handoffs.active(s):
        wait = int(((h.taken_at or now) - h.requested_at).total_seconds())
        first = responding = None
        if h.status == "active" and h.taken_at is not None:
            answered = first_response_at(s, h)
            if answered is not None:
                first = int((answered - h.taken_at).total_seconds())
            else:
                responding = int((now - h.taken_at).total_seconds())
        elapsed = first if first is not None else responding
        lines.append(WallLine(h, wait, wait > targets.wait_target_seconds, first, responding,
                              elapsed is not None and elapsed > targets.first_response_target_seconds))
    return lines


def sample(s: Session, since: datetime, until: datetime, size: int, agent: StaffUser | None = None,
           rng: random.Random | None = None) -> List[Handoff]:
    """A random draw of up to ``size`` hand-overs closed between ``since`` and ``until`` (naive UTC) by
    an agent (``agent``'s only, when given) and not yet checked, oldest first."""
    scored = select(QualityScore.handoff_id)
    q = select(Handoff).where(Handoff.status == "closed", Handoff.owner_id.is_not(None),
                              Handoff.closed_at.between(since, until), Handoff.id.not_in(scored))
    if agent is not None:
        q = q.where(Handoff.owner_id == agent.id)
    candidates = list(s.scalars(q.order_by(Handoff.id)))
    drawn = (rng or random.SystemRandom()).sample(candidates, min(size, len(candidates)))
    return sorted(drawn, key=lambda h: (h.closed_at, h.id))


def score(s: Session, handoff_id: int, scorer: StaffUser, results: Mapping[str, Mapping[str, object]],
          checklist: Sequence[str], now: datetime | None = None) -> QualityScore:
    """Record ``scorer``'s check of a closed hand-over: ``results`` gives, for every checklist item,
    ``{"passed": bool, "comment": str}`` (comment up to 500 characters). The score is the share of items
    passed in percent, rounded. Audited (``quality.score``). Raises :class:`QualityError`."""
    handoff = s.get(Handoff, handoff_id)
    if handoff is None:
        raise QualityError("not_found")
    if handoff.status != "closed":
        raise QualityError("not_closed")
    if handoff.owner_id is None:
        raise QualityError("no_agent")
    if not checklist or set(results) != set(checklist):
        raise QualityError("bad_items")
    items: Dict[str, Dict[str, object]] = {}
    for code in checklist:
        passed = results[code].get("passed")
        if not isinstance(passed, bool):
            raise QualityError("bad_items")
        items[code] = {"passed": passed, "comment": str(results[code].get("comment") or "").strip()[:500]}
    percent = round(100 * sum(1 for i in items.values() if i["passed"]) / len(items))
    check = QualityScore(handoff_id=handoff.id, staff_id=handoff.owner_id, scorer=f"staff:{scorer.username}",
                         items=items, score=percent, created_at=now or utcnow())
    try:
        with s.begin_nested():
            s.add(check)
    except IntegrityError:
        raise QualityError("scored") from None
    audit.record(s, f"staff:{scorer.username}", "quality.score", "conversation", handoff.sender_id, now=now,
                 handoff=handoff.id, score=percent)
    return check


def scores_of(s: Session, handoff_ids: Sequence[int]) -> Dict[int, QualityScore]:
    """The quality checks of these hand-overs, by hand-over id."""
    if not handoff_ids:
        return {}
    return {q.handoff_id: q for q in s.scalars(select(QualityScore).where(QualityScore.handoff_id.in_(handoff_ids)))}
